"""Privacy transforms shared by the stages: PII scrubbing, and the heatmap keys that enrichment writes and
the reports look up (a page's key is its scrubbed path). Visitor keys are collector.enrich.visitors.

Pure functions, no I/O. They sit in the request path, so each one first makes a cheap check (a digit,
an "@", a run of 7 id-like characters) before running a full pattern: most strings have nothing to
scrub and pay one or two C-level scans.

What scrubbing removes, and how it says so:
  - URLs: query and fragment parameters named in DEFAULT_DROP_PARAMS are dropped; in the path, the
    fragment and the remaining parameters, e-mail addresses become ":email", Luhn-valid card numbers
    ":card", and ids ":id" (7+ digit runs, UUIDs, 16+ hex runs mixing digits and letters, 24+
    letter-and-digit tokens with 2+ digits). Placeholders are route-style (`/users/:id`): ":" is legal
    unescaped in a path, query and fragment, so they read the same after any URL encoder; "[id]" would not.
    Campaign parameters (utm_*) keep their ids (campaign ids are the point and are not personal) but
    still lose e-mails and card numbers. Everything else is kept byte for byte.
  - Free text: e-mails "[email]", Luhn-valid card numbers "[card]", and phone numbers written in
    international form ("+44 20 7946 0958") "[phone]". National-format numbers are left alone: in free
    text they cannot be told from dates, amounts, order numbers and ids without drowning those, so
    a site must not send them (a `phone` key is denied by name).
"""

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import unquote_plus, urlsplit

__all__ = [
    "CAMPAIGN_PARAMS",
    "DEFAULT_DENY_KEYS",
    "DEFAULT_DROP_PARAMS",
    "WIDTH_BREAKPOINTS",
    "name_set",
    "page_key",
    "scrub_cards",
    "scrub_properties",
    "scrub_text",
    "scrub_url",
    "width_bucket",
]

# -- scrubbing -----------------------------------------------------------------------------------------


def name_set(names: Iterable[str]) -> frozenset[str]:
    """Parameter or property names as the scrubbers compare them: stripped and lower-case."""
    return frozenset(name.strip().lower() for name in names)


# fmt: off
DEFAULT_DROP_PARAMS: Final = name_set(
    (
        # contact details and identity
        "email", "e-mail", "mail", "email_address", "phone", "tel", "telephone",
        "first_name", "last_name", "firstname", "lastname", "full_name", "fullname", "surname",
        "ssn", "dob", "birthdate",
        # credentials and sessions (OAuth callbacks put codes and tokens in the query or the fragment)
        "password", "passwd", "pass", "pwd", "secret", "client_secret",
        "token", "access_token", "refresh_token", "id_token", "auth", "authorization", "code",
        "key", "api_key", "apikey", "session", "sessionid", "session_id", "sid", "phpsessid", "jsessionid",
        # payment
        "card", "card_number", "cardnumber", "cc", "cc_number", "cvv", "cvc", "iban",
    )
)
# Deliberately not dropped: "name" (mostly product, filter or file names; person names come as
# first_name/last_name/full_name) and "state" (the OAuth nonce is worthless once used, and ?state=CA
# is a common, harmless filter).

DEFAULT_DENY_KEYS: Final = name_set(
    (
        "password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token",
        "id_token", "auth_token", "authorization", "api_key", "apikey", "cookie",
        "ssn", "card_number", "cardnumber", "cc_number", "cvv", "cvc", "iban", "phone",
    )
)
# fmt: on

CAMPAIGN_PARAMS: Final = name_set(("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id"))

_EMAIL_IN_URL: Final = ":email"
_CARD_IN_URL: Final = ":card"
_ID_IN_URL: Final = ":id"
_EMAIL_IN_TEXT: Final = "[email]"
_CARD_IN_TEXT: Final = "[card]"
_PHONE_IN_TEXT: Final = "[phone]"

_WORTH_A_LOOK: Final = re.compile(r"[0-9@]")  # every pattern below needs one ("%40" has digits)
# Cheap necessary conditions, checked before the full patterns (which cost ~150 ns a character):
# every URL id needs 7 characters of [0-9A-Za-z%+ -] in a row with a digit among them, and every card
# or phone number 7 digits with at most two separators between each.
_ID_LIKELY: Final = re.compile(r"[0-9][0-9A-Za-z%+ -]{6}|[0-9A-Za-z%+ -]{6}[0-9]")
_NUMBER_LIKELY: Final = re.compile(r"[0-9](?:[ .()-]{0,2}[0-9]){6}")

# A run may start right after a percent-escape ("%2F1234567") or after a character that cannot belong
# to it, but never inside an escape: "%2012345678" keeps its "%20".
_AFTER_ESCAPE: Final = r"(?<=%[0-9A-Fa-f]{2})"
_DIGITS_START: Final = rf"(?:{_AFTER_ESCAPE}|(?<![0-9%]))(?<!%[0-9A-Fa-f])"
_WORD_START: Final = rf"(?:{_AFTER_ESCAPE}|(?<![0-9A-Za-z%]))"
_WORD_END: Final = r"(?![0-9A-Za-z])"
# Starting only where the local part starts keeps the search linear on long runs of word characters.
_EMAIL_LOCAL: Final = r"(?<![\w.%+-])[\w.%+-]+"
_EMAIL_DOMAIN: Final = r"(?:[\w-]+\.)+[^\W\d_][\w-]+"  # the last label starts with a letter (xn-- too)

# Numbers are matched as whole runs of digit groups ("4111 1111 1111 1111", "2024-11-22-1234567") and
# judged in Python: a Luhn-valid window of 13-19 digits aligned to the groups is a card, whatever digits
# stand around it; any other group of 7+ digits is an id. Runs too short for either are not matched.
_URL_SEP: Final = r"(?:[ +-]|%20)"
_URL_CARD_AHEAD: Final = rf"[0-9](?:{_URL_SEP}?[0-9]){{12}}"
_URL_NUMBER_RUN: Final = rf"[0-9]+(?:{_URL_SEP}[0-9]+)*"

_URL_EMAIL: Final = rf"(?P<email>{_EMAIL_LOCAL}(?:@|%40){_EMAIL_DOMAIN})"
_URL_IDS: Final = (
    rf"(?P<uuid>{_WORD_START}[0-9A-Fa-f]{{8}}(?:-[0-9A-Fa-f]{{4}}){{3}}-[0-9A-Fa-f]{{12}}{_WORD_END})"
    rf"|(?P<hex>{_WORD_START}(?=[A-Fa-f]*[0-9])(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{{16,}}{_WORD_END})"
    rf"|(?P<token>{_WORD_START}(?=[A-Za-z]*[0-9][A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])[0-9A-Za-z]{{24,}}{_WORD_END})"
)
# E-mails go first, in a pass of their own, so that a number run cannot swallow a local part.
_EMAIL_IN_URL_RE: Final = re.compile(_URL_EMAIL)
_IN_URL: Final = re.compile(rf"{_URL_IDS}|(?P<number>{_DIGITS_START}(?={_URL_CARD_AHEAD}|[0-9]{{7}}){_URL_NUMBER_RUN})")
_IN_CAMPAIGN: Final = re.compile(rf"(?P<number>{_DIGITS_START}(?={_URL_CARD_AHEAD}){_URL_NUMBER_RUN})")
_GROUP_IN_URL: Final = re.compile(rf"{_DIGITS_START}[0-9]+")

# In free text the local part may use every character RFC 5322 allows ("o'neil@", "a/b@"); in URLs only
# those that cannot be a parameter or path delimiter, or "to=john@" would take "to=" with it.
_TEXT_EMAIL_LOCAL: Final = r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+"
_EMAIL_IN_TEXT_RE: Final = re.compile(rf"{_TEXT_EMAIL_LOCAL}@{_EMAIL_DOMAIN}")
_IN_TEXT: Final = re.compile(
    r"(?P<number>(?<![0-9])(?=[0-9](?:[ -]?[0-9]){12})[0-9]+(?:[ -][0-9]+)*)"
    r"|(?P<phone>(?<![\w+])\+[0-9](?:[ .()-]{0,2}[0-9]){6,14}(?![0-9]))"
)
_GROUP_IN_TEXT: Final = re.compile(r"[0-9]+")

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_NAME_PARTS: Final = re.compile(r"[\[\].]+")  # user[email], user.email


def scrub_url(
    url: str,
    *,
    drop_params: frozenset[str] = DEFAULT_DROP_PARAMS,
    campaign_params: frozenset[str] = CAMPAIGN_PARAMS,
) -> str:
    """The URL without personal data (see the module docstring); never raises, whatever the input.

    `drop_params` and `campaign_params` hold lower-case names (build custom sets with `name_set`).
    User info ("user:password@") is removed from the authority; host and port are kept as they are.
    """
    if "?" not in url and "#" not in url and _WORTH_A_LOOK.search(url) is None:
        return url
    head, hashed, fragment = url.partition("#")
    base, asked, query = head.partition("?")
    origin, path = _split_origin(base)
    out = origin + _redact_in_url(path)
    if asked:
        kept = _scrub_query(query, drop_params, campaign_params)
        if kept or not query:
            out += "?" + kept
    if hashed:
        kept = _scrub_fragment(fragment, drop_params, campaign_params)
        if kept or not fragment:
            out += "#" + kept
    return out


def scrub_text(text: str) -> str:
    """Free text without e-mail addresses, card numbers or international phone numbers."""
    if "@" in text:
        text = _EMAIL_IN_TEXT_RE.sub(_EMAIL_IN_TEXT, text)
    if _NUMBER_LIKELY.search(text) is None:
        return text
    return _IN_TEXT.sub(_text_placeholder, text)


_MAX_DEPTH: Final = 32  # properties arrive limited to depth 5; this only bounds the walk if that changes


def scrub_properties(
    props: Mapping[str, Any], *, deny_keys: frozenset[str] = DEFAULT_DENY_KEYS, text: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """A scrubbed copy: keys in `deny_keys` (lower-case; any depth) dropped, strings through `text`
    (default scrub_text).

    Integers that are Luhn-valid card numbers become "[card]" too; other scalars are kept as they are.
    """
    return _scrub_mapping(props, deny_keys, 0, text or scrub_text)


def scrub_cards(text: str) -> str:
    """Free text without card numbers; e-mail addresses and phone numbers kept (identify traits)."""
    if _NUMBER_LIKELY.search(text) is None:
        return text
    return _IN_TEXT.sub(lambda found: found[0] if found.lastgroup == "phone" else _text_placeholder(found), text)


def _scrub_mapping(
    props: Mapping[str, Any], deny: frozenset[str], depth: int, text: Callable[[str], str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key.lower() in deny:
            continue
        # A key can carry an e-mail as well as a value can.
        out[text(key)] = _scrub_value(value, deny, depth + 1, text)
    return out


def _scrub_value(value: Any, deny: frozenset[str], depth: int, text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return _scrub_mapping(value, deny, depth, text)
    if isinstance(value, list):
        return [_scrub_value(item, deny, depth + 1, text) for item in value]
    if type(value) is int and 10**12 <= abs(value) < 10**19 and _luhn(str(abs(value))):
        return _CARD_IN_TEXT
    return value


def _split_origin(base: str) -> tuple[str, str]:
    """("scheme://authority", "/path") without user info; ("", base) for a relative or odd URL."""
    if base.startswith("//"):
        start = 2
    else:
        colon = base.find("://")
        if colon <= 0 or _SCHEME.fullmatch(base, 0, colon) is None:
            return "", base
        start = colon + 3
    slash = base.find("/", start)
    origin, path = (base, "") if slash < 0 else (base[:slash], base[slash:])
    at = origin.rfind("@", start)
    if at >= 0:
        origin = origin[:start] + origin[at + 1 :]
    return origin, path


def _scrub_query(query: str, drop: frozenset[str], campaign: frozenset[str]) -> str:
    pieces = query.split("&")
    kept: list[str] = []
    for piece in pieces:
        key = _param_key(piece.partition("=")[0])
        if _denied(key, drop):
            continue
        kept.append(_redact_in_campaign(piece) if key in campaign else _redact_in_url(piece))
    if kept == pieces:
        return query
    return "&".join(kept)


def _scrub_fragment(fragment: str, drop: frozenset[str], campaign: frozenset[str]) -> str:
    # Fragments carry SPA routes ("#/orders/123?tab=2") and OAuth implicit-flow tokens ("#access_token=").
    route, asked, query = fragment.partition("?")
    if asked:
        kept = _scrub_query(query, drop, campaign)
        return _redact_in_url(route) + ("?" + kept if kept or not query else "")
    if "=" in fragment:
        return _scrub_query(fragment, drop, campaign)
    return _redact_in_url(fragment)


def _param_key(name: str) -> str:
    key = name.lower()
    if "%" in key or "+" in key:
        key = unquote_plus(key).lower()
    return key.strip()


def _denied(key: str, drop: frozenset[str]) -> bool:
    if key in drop:
        return True
    if "[" in key or "." in key:
        return any(part in drop for part in _NAME_PARTS.split(key))
    return False


def _redact_in_url(text: str) -> str:
    return _redact(text, _IN_URL, _url_placeholder)


def _redact_in_campaign(text: str) -> str:
    return _redact(text, _IN_CAMPAIGN, _campaign_placeholder)


def _redact(text: str, pattern: re.Pattern[str], placeholder: Callable[[re.Match[str]], str]) -> str:
    """E-mails, then `pattern`'s matches replaced, each only after a cheap check says it may be there."""
    if _WORTH_A_LOOK.search(text) is None:
        return text
    if "@" in text or "%40" in text:
        text = _EMAIL_IN_URL_RE.sub(_EMAIL_IN_URL, text)
    if _ID_LIKELY.search(text) is None:
        return text
    return pattern.sub(placeholder, text)


def _url_placeholder(match: re.Match[str]) -> str:
    if match.lastgroup == "number":
        return _redact_numbers(match[0], _GROUP_IN_URL, card=_CARD_IN_URL, ident=_ID_IN_URL)
    return _ID_IN_URL


def _campaign_placeholder(match: re.Match[str]) -> str:
    return _redact_numbers(match[0], _GROUP_IN_URL, card=_CARD_IN_URL, ident=None)


def _text_placeholder(match: re.Match[str]) -> str:
    if match.lastgroup == "phone":
        return _PHONE_IN_TEXT
    return _redact_numbers(match[0], _GROUP_IN_TEXT, card=_CARD_IN_TEXT, ident=None)


def _redact_numbers(run: str, groups: re.Pattern[str], *, card: str, ident: str | None) -> str:
    """A run of digit groups with its cards (and, given `ident`, its 7+ digit groups) replaced."""
    if run.isdigit():  # a single group, the common case
        if 13 <= len(run) <= 19 and _luhn(run):
            return card
        return ident if ident is not None and len(run) >= 7 else run
    spans = [found.span() for found in groups.finditer(run)]
    pieces: list[str] = []
    done = index = 0
    while index < len(spans):
        last = _card_end(run, spans, index)
        if last is not None:
            pieces += (run[done : spans[index][0]], card)
            done, index = spans[last][1], last + 1
            continue
        start, end = spans[index]
        if ident is not None and end - start >= 7:
            pieces += (run[done:start], ident)
            done = end
        index += 1
    if not pieces:
        return run
    pieces.append(run[done:])
    return "".join(pieces)


def _card_end(run: str, spans: list[tuple[int, int]], first: int) -> int | None:
    """The last group of the longest Luhn-valid 13-19 digit card starting at group `first`, if any."""
    digits = ""
    found = None
    for index in range(first, len(spans)):
        if index > first and spans[index - 1][1] - spans[index - 1][0] < 3:
            break  # cards are written in groups of 3-6 digits, not "1 2 3 ..."
        digits += run[spans[index][0] : spans[index][1]]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and _luhn(digits):
            found = index
    return found


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# -- heatmaps ------------------------------------------------------------------------------------------

# Widths where common layouts change: 320 small phones (iPhone SE 1st gen, old Androids), 375 most
# iPhones (390/393 fall here too), 414 large phones (414-430), 768 tablets in portrait and the usual
# md breakpoint, 1024 tablets in landscape / small laptops (lg), 1280 laptops (xl), 1440 large laptops,
# 1920 full-HD desktops, 2560 QHD and wider. Clicks are only comparable under the same layout, so a
# heatmap shows one bucket at a time; nine buckets keep every bucket well populated.
WIDTH_BREAKPOINTS: Final = (320, 375, 414, 768, 1024, 1280, 1440, 1920, 2560)


def width_bucket(viewport_w: int) -> int:
    """The largest breakpoint <= the width; 320 below that; 0 when the width is unknown (0 or less)."""
    if viewport_w <= 0:
        return 0
    index = bisect.bisect_right(WIDTH_BREAKPOINTS, viewport_w)
    return WIDTH_BREAKPOINTS[max(index - 1, 0)]


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def page_key(url: str, *, hash_routes: bool = False) -> str:
    """A page's identity for heatmaps and pages: "shop.example/products/:id". The host is lower-case,
    with its port unless that is the scheme's default ("localhost:8080/x"); the path is scrubbed, without
    query or trailing slash except for the root. Where the site's pages are hash routes, the route
    follows ("shop.example/app#/orders/:id"; an empty or "/" route is the page itself). Never raises."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket: no page
        return ""
    try:
        port = parts.port
    except ValueError:  # out of range
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host += f":{port}"
    key = host + _path_key(parts.path)
    route = _redact_in_url(parts.fragment.partition("?")[0]).rstrip("/") if hash_routes else ""
    return f"{key}#{route}" if route else key


def _path_key(path: str) -> str:
    path = _redact_in_url(path).rstrip("/")
    return path if path.startswith("/") else "/" + path
