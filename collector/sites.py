"""Sites: who may send events (write key + allowed origins) and who may read them (read key), and each
site's settings. Every stage reads them; the registry that keeps them is collector.storage.site_registry.
"""

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from collector.errors import SiteError

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ORIGIN = re.compile(r"^(https?)://(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(?::(\d{1,5}|\*))?$")
DEFAULT_ORIGINS = ("http://localhost", "http://localhost:*", "http://127.0.0.1:*")


class SnippetSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the site's generated script does (sdk-js/README.md); features switched off are left out of it."""

    clicks: bool = True  # click positions for heatmaps
    moves: bool = True  # mouse movement, aggregated in the browser into 20 px cells
    scroll: bool = True  # deepest scroll of each pageview
    rage: bool = True  # rage clicks: 3+ clicks within 30 px and 1 s
    dead: bool = True  # dead clicks: no DOM change, scroll or navigation within 2 s
    identify: bool = True  # a visitor id kept in localStorage, a session id per tab, footfall.identify()/reset()
    offline: bool = True  # failed batches wait in localStorage and are retried with backoff
    compress: bool = True  # gzip batches with CompressionStream where the browser has it
    consent: Literal["opt-out", "opt-in"] = "opt-out"  # opt-in: nothing leaves the page before footfall.consent()
    honour_gpc: bool = True  # Global Privacy Control or Do-Not-Track: nothing is sent
    cookieless: bool = False  # no identifiers (nor anything else) kept in the browser's storage
    hash_routes: bool = False  # "#/route" changes are pages of their own (hash-based SPA routers)
    # CSS selectors treated like data-footfall-mask: clicks inside are described by the masked element only
    mask: tuple[Annotated[str, Meta(min_length=1, max_length=200)], ...] = ()
    # query parameters kept in page URLs beside utm_* (all others are dropped in the browser)
    keep_params: tuple[Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-\[\]]{1,64}$")], ...] = ()
    # where the script posts; default: this server's /v1/batch; "/path" is on the page's own origin
    endpoint: Annotated[str, Meta(pattern=r"^(/|https?://)[^\s\"'<>]*$", max_length=500)] | None = None


class HeatmapSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Backdrops for heatmaps: DOM snapshots captured in visitors' browsers (docs/heatmaps.md)."""

    snapshots: bool = True  # ask browsers with heatmaps consent for snapshots of pages that lack a fresh one
    snapshot_days: Annotated[int, Meta(ge=1, le=365)] = 7  # a snapshot older than this is taken again
    # pages never captured: globs over the page key ("shop.example/account/*"), or over its path ("/account/*")
    exclude: tuple[Annotated[str, Meta(min_length=1, max_length=200)], ...] = ()
    # CSS selectors whose text is masked in snapshots, beside [data-footfall-private] and snippet.mask
    private: tuple[Annotated[str, Meta(min_length=1, max_length=200)], ...] = ()


PropertyName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_$.\-]{1,64}$")]


class PeopleSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who a person is and what they are worth: traits and orders (docs/people.md)."""

    # Traits sent through identify/group are kept as sent (a backend's explicit act), except these:
    redact_traits: tuple[PropertyName, ...] = ()  # stored as "[redacted]"
    hash_traits: tuple[PropertyName, ...] = ()  # stored as "sha256:<hex>" of the trimmed, lower-case text
    # An order is an event with a numeric `revenue_property`, in the currency its `currency_property`
    # names (upper-cased), or `default_currency` without one. Stored as `revenue` / `currency`.
    revenue_property: PropertyName = "revenue"
    currency_property: PropertyName = "currency"
    default_currency: Annotated[str, Meta(pattern=r"^([A-Z]{3})?$")] = ""


class SiteSettings(msgspec.Struct, frozen=True, kw_only=True):
    retention_days: Annotated[int, Meta(ge=1, le=3650)] = 400
    keep_bots: bool = False  # store events from bots' user agents instead of dropping them
    drop_params: tuple[str, ...] = ()  # URL parameters removed, beyond footfall's own list
    deny_keys: tuple[str, ...] = ()  # property keys removed, beyond footfall's own list
    rate_limit_eps: Annotated[int, Meta(ge=0)] | None = None  # events/s per process; None: the default
    snippet: SnippetSettings = SnippetSettings()
    heatmaps: HeatmapSettings = HeatmapSettings()
    people: PeopleSettings = PeopleSettings()
    # Pages that may show this site's share links in an iframe (CSP frame-ancestors); nothing else frames.
    embed_origins: tuple[Annotated[str, Meta(pattern=r"^https?://[A-Za-z0-9.\-*]+(:\d{1,5})?$")], ...] = ()


class Site(msgspec.Struct, frozen=True, kw_only=True):
    site_id: int
    name: str
    allowed_origins: tuple[str, ...]
    write_key: str
    read_key_sha256: str
    settings: SiteSettings = SiteSettings()

    def allows_origin(self, origin: str) -> bool:
        return _origin_matcher(self.allowed_origins)(origin.lower())


class NewKeys(msgspec.Struct, frozen=True):
    """What `site add` / `rotate-key` hand back: the read key is shown once and never stored."""

    site: str
    write_key: str
    read_key: str | None


def hash_key(key: str) -> str:
    # Read keys are 192-bit random tokens, so a plain SHA-256 is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode()).hexdigest()


def normalise_origin(pattern: str) -> str:
    """'https://Shop.example/' → 'https://shop.example'; refuses anything but scheme://host[:port]."""
    text = pattern.strip().lower().rstrip("/")
    if text == "*":
        return text
    if not _ORIGIN.match(text):
        raise SiteError(
            f"{pattern!r} is not an origin: use scheme://host[:port], e.g. https://shop.example, "
            "https://*.shop.example, http://localhost:*, or * for any"
        )
    return text


@functools.lru_cache(maxsize=4096)
def _origin_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled regex per distinct list of origin patterns."""
    if "*" in patterns:
        return lambda origin: True
    if not patterns:
        return lambda origin: False
    parts = [
        re.escape(p).replace(r"://\*\.", r"://(?:[a-z0-9-]+\.)+").replace(r":\*", r"(?::\d{1,5})?") for p in patterns
    ]
    regex = re.compile("^(?:" + "|".join(parts) + ")$")
    return lambda origin: regex.match(origin) is not None


def changed_settings(settings: SiteSettings, changes: dict[str, Any]) -> SiteSettings:
    """`settings` with `changes` applied. A list setting also takes a comma-separated string; a value of
    None puts the default back. Unknown names and bad values raise SiteError naming the setting."""
    merged = msgspec.to_builtins(settings)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = merged
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise SiteError(f"unknown setting {dotted!r}; the settings are: {', '.join(_names(merged))}")
            node = node[part]
        if leaf not in node:
            raise SiteError(f"unknown setting {dotted!r}; the settings are: {', '.join(_names(merged))}")
        if value is None:
            node.pop(leaf)
        elif isinstance(node[leaf], (list, tuple)) and isinstance(value, str):
            node[leaf] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            node[leaf] = value
    try:
        return msgspec.convert(merged, SiteSettings)
    except msgspec.ValidationError as exc:
        raise SiteError(f"setting not changed: {exc}") from exc


def _names(tree: dict[str, Any], prefix: str = "") -> list[str]:
    names: list[str] = []
    for key, value in tree.items():
        names += _names(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    return names


def site_settings(retention_days: int | None) -> SiteSettings:
    raw = {} if retention_days is None else {"retention_days": retention_days}
    try:
        return msgspec.convert(raw, SiteSettings)
    except msgspec.ValidationError as exc:
        raise SiteError(f"retention days must be from 1 to 3650, got {retention_days}") from exc
