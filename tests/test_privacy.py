import string
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.enrich.visitors import DailySalts, new_salt, visitor_key
from collector.privacy import (
    DEFAULT_DENY_KEYS,
    DEFAULT_DROP_PARAMS,
    name_set,
    page_key,
    scrub_properties,
    scrub_text,
    scrub_url,
    width_bucket,
)

# Property tests check behaviour only: no deadline (a slow CI machine is not a failure).
properties = settings(deadline=None, max_examples=300)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def with_check_digit(payload: str) -> str:
    return next(payload + d for d in string.digits if luhn_valid(payload + d))


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """Luhn-valid 13-19 digit numbers, written plain or in groups of four with spaces or dashes."""
    size = draw(st.integers(min_value=13, max_value=19))
    digits = with_check_digit(draw(st.text(string.digits, min_size=size - 1, max_size=size - 1)))
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(digits[i : i + 4] for i in range(0, size, 4))


# Addresses as people and sites write them (hypothesis' emails() also makes RFC-legal oddities that
# cannot stand unescaped in a URL).
url_emails = st.builds(
    "{}@{}.{}".format,
    st.text(string.ascii_lowercase + string.digits + "._+-", min_size=1, max_size=30).filter(
        lambda local: local[0] not in ".-+"
    ),
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=20),
    st.sampled_from(["com", "org", "io", "co.uk", "de"]),
)
url_alphabet = string.ascii_letters + string.digits + "%@.-_/?#&=+: ;[]~"

# -- scrub_url ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # named parameters are dropped, case-insensitively and even when encoded or nested
        ("https://shop.example/a?email=jo@x.io&q=shoes", "https://shop.example/a?q=shoes"),
        ("https://shop.example/a?q=1&EMAIL=jo&Token=t&page=2", "https://shop.example/a?q=1&page=2"),
        ("https://shop.example/a?E%6Dail=jo&user%5Bemail%5D=jo&user.phone=1&x=1", "https://shop.example/a?x=1"),
        ("https://shop.example/a?password=hunter2", "https://shop.example/a"),
        ("https://shop.example/a?password=hunter2#top", "https://shop.example/a#top"),
        ("https://shop.example/callback?code=abc&state=xyz", "https://shop.example/callback?state=xyz"),
        ("https://shop.example/cb#access_token=abc&token_type=bearer", "https://shop.example/cb#token_type=bearer"),
        ("https://shop.example/cb#id_token=abc", "https://shop.example/cb"),
        # e-mails anywhere, raw or percent-encoded
        ("https://shop.example/u/jo.bloggs@mail.example.com/edit", "https://shop.example/u/:email/edit"),
        ("https://shop.example/a?to=jo.bloggs%40mail.example.com&x=1", "https://shop.example/a?to=:email&x=1"),
        ("https://shop.example/a?to=jo%2Bnews%40x.io", "https://shop.example/a?to=:email"),
        ("https://shop.example/u/0 12345678901234567890@x.io", "https://shop.example/u/0 :email"),
        # card numbers (Luhn-valid only), separated by spaces, dashes, + or %20
        ("https://shop.example/pay?n=4111111111111111", "https://shop.example/pay?n=:card"),
        ("https://shop.example/pay?n=4111+1111+1111+1111", "https://shop.example/pay?n=:card"),
        ("https://shop.example/pay?n=4111%201111%201111%201111", "https://shop.example/pay?n=:card"),
        ("https://shop.example/pay?n=4111-1111-1111-1112", "https://shop.example/pay?n=4111-1111-1111-1112"),
        ("https://shop.example/pay?n=4111111111111112", "https://shop.example/pay?n=:id"),
        ("https://shop.example/pay?n=2+4111+1111+1111+1111", "https://shop.example/pay?n=2+:card"),
        # ids: 7+ digit runs, UUIDs, long hex and long letter-and-digit tokens
        ("https://shop.example/users/12345678/orders", "https://shop.example/users/:id/orders"),
        ("https://shop.example/orders/ORD12345678", "https://shop.example/orders/ORD:id"),
        ("https://shop.example/o/550e8400-e29b-41d4-a716-446655440000", "https://shop.example/o/:id"),
        ("https://shop.example/commit/0a1b2c3d4e5f60718293", "https://shop.example/commit/:id"),
        ("https://shop.example/reset/aZ8kLm2Qp9Rt5Vw1Xy3BcD7e", "https://shop.example/reset/:id"),
        ("https://shop.example/#/orders/98765432?tab=2&Email=x", "https://shop.example/#/orders/:id?tab=2"),
        ("https://shop.example/a?ref=%2012345678", "https://shop.example/a?ref=%20:id"),
        ("https://shop.example/2024-11-22-1234567", "https://shop.example/2024-11-22-:id"),
        # campaign parameters keep their ids but not e-mails
        (
            "https://shop.example/?utm_campaign=1234567890&utm_term=jo@x.io&n=1234567890",
            "https://shop.example/?utm_campaign=1234567890&utm_term=:email&n=:id",
        ),
        # user info goes, host and port stay
        ("https://jo:secret@shop.example:8443/a", "https://shop.example:8443/a"),
        ("//jo@shop.example/a", "//shop.example/a"),
    ],
)
def test_scrub_url_removes_personal_data(url: str, expected: str) -> None:
    assert scrub_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/",
        "https://shop.example/blog/2024/11/22/a-post-title",
        "https://shop.example/search?q=Red%20Shoes&page=2&sort=price+asc#results",
        "https://shop.example/a?b=1&&c=%zz&name=Jo&state=CA&utm_campaign=1234567",
        "https://shop.example:8080/p;jsession=1?x#",
        "https://shop.example/a?",
        "/relative/path?x=y",
        "mailto:",
        "not a url at all",
        "http://[::1",
        "%%%",
        "",
    ],
)
def test_scrub_url_leaves_clean_urls_byte_for_byte(url: str) -> None:
    assert scrub_url(url) == url


def test_scrub_url_takes_a_custom_parameter_list() -> None:
    drop = name_set(["Ref", " Affiliate "])
    url = "https://shop.example/a?ref=jo&affiliate=x&email=kept@x.io"
    assert scrub_url(url, drop_params=drop) == "https://shop.example/a?email=:email"


@properties
@given(st.text())
def test_scrub_url_never_raises_and_is_idempotent(text: str) -> None:
    once = scrub_url(text)
    assert scrub_url(once) == once


@properties
@given(st.text(url_alphabet, max_size=120))
def test_scrub_url_is_idempotent_on_url_like_text(text: str) -> None:
    once = scrub_url(text)
    assert scrub_url(once) == once


@properties
@given(url_emails, st.sampled_from(["/u/{}", "?to={}", "?x=1&to={}&y=2", "#/share/{}", "/a?q={}#f"]))
def test_no_email_survives_scrub_url(email: str, where: str) -> None:
    url = "https://shop.example" + where.format(email)
    assert email not in scrub_url(url)
    assert email.replace("@", "%40") not in scrub_url(url.replace("@", "%40"))


@properties
@given(card_numbers(), st.sampled_from(["/pay/{}", "?n={}", "?x=1&n={}", "#n={}"]))
def test_no_card_survives_scrub_url(card: str, where: str) -> None:
    url = "https://shop.example" + where.format(card)
    assert card not in scrub_url(url)


# -- scrub_text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jo.bloggs+news@mail.example.co.uk today", "write to [email] today"),
        ("O'Neil: o'neil@example.ie", "O'Neil: [email]"),
        ("ref 0 12345678901234567890@x.ac", "ref 0 [email]"),  # a digit run must not swallow the local part
        ("card 4111 1111 1111 1111, exp 12/27", "card [card], exp 12/27"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("amex 3782 822463 10005", "amex [card]"),
        ("call +44 20 7946 0958 or +1 (415) 555-2671", "call [phone] or [phone]"),
        # not cards or phones: Luhn-invalid, dates, amounts, national numbers, ids
        ("order 4111 1111 1111 1112", "order 4111 1111 1111 1112"),
        (
            "on 2024-11-22 we sold 1 2 3 4 5 6 7 8 9 10 11 12 13 14",
            "on 2024-11-22 we sold 1 2 3 4 5 6 7 8 9 10 11 12 13 14",
        ),
        (
            "total 1,299.00 EUR, order #12345678, call 020 7946 0958",
            "total 1,299.00 EUR, order #12345678, call 020 7946 0958",
        ),
        ("@mention and a@b", "@mention and a@b"),
        ("", ""),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_scrub_text_returns_plain_text_untouched() -> None:
    text = "no digits, no at-signs, nothing to do"
    assert scrub_text(text) is text


@properties
@given(st.text(), st.emails(), st.text())
def test_no_email_survives_scrub_text(before: str, email: str, after: str) -> None:
    assert email not in scrub_text(f"{before} {email} {after}")


@properties
@given(st.text(), card_numbers(), st.text())
def test_no_card_survives_scrub_text(before: str, card: str, after: str) -> None:
    assert card not in scrub_text(f"{before} {card} {after}")


@properties
@given(st.text())
def test_scrub_text_is_idempotent(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


# -- scrub_properties ----------------------------------------------------------------------------------


def test_scrub_properties_drops_denied_keys_at_any_depth_and_scrubs_strings() -> None:
    props: dict[str, Any] = {
        "plan": "pro",
        "Password": "hunter2",
        "contact": {"note": "mail jo@x.io", "API_KEY": "k", "tags": ["a", "b@c.de", {"token": "t", "n": 3}]},
        "paid_with": 4111111111111111,
        "count": 1234567890123,
        "ok": True,
        "ratio": 0.5,
        "nothing": None,
        "jo@x.io": "key with an e-mail",
    }
    assert scrub_properties(props, deny_keys=DEFAULT_DENY_KEYS) == {
        "plan": "pro",
        "contact": {"note": "mail [email]", "tags": ["a", "[email]", {"n": 3}]},
        "paid_with": "[card]",
        "count": 1234567890123,
        "ok": True,
        "ratio": 0.5,
        "nothing": None,
        "[email]": "key with an e-mail",
    }
    assert props["Password"] == "hunter2"  # a copy: the input is untouched
    assert props["contact"]["tags"][1] == "b@c.de"


def test_scrub_properties_uses_the_given_deny_list() -> None:
    props = {"password": "x", "plan": "pro"}
    assert scrub_properties(props, deny_keys=name_set(["Plan"])) == {"password": "x"}


def test_scrub_properties_stops_at_a_safe_depth() -> None:
    deep: dict[str, Any] = {"v": "x"}
    for _ in range(100):
        deep = {"d": deep}
    scrubbed = scrub_properties(deep, deny_keys=DEFAULT_DENY_KEYS)
    depth = 0
    while isinstance(scrubbed, dict):
        scrubbed = scrubbed["d"]
        depth += 1
    assert scrubbed is None
    assert 10 < depth < 100


# -- visitor keys and salts --------------------------------------------------------------------------


def test_visitor_key_is_stable_and_keyed() -> None:
    salt = bytes(range(16))
    key = visitor_key(site_id=1, salt=salt, ip="81.2.69.160", user_agent="Mozilla/5.0")
    assert key == visitor_key(site_id=1, salt=salt, ip="81.2.69.160", user_agent="Mozilla/5.0")
    assert len(key) == 32
    assert int(key, 16) >= 0
    assert "81.2.69.160" not in key


def test_visitor_key_inputs_cannot_be_shifted_into_each_other() -> None:
    salt = bytes(16)
    assert visitor_key(site_id=1, salt=salt, ip="1.2.3.4", user_agent="5x") != visitor_key(
        site_id=1, salt=salt, ip="1.2.3.45", user_agent="x"
    )
    assert visitor_key(site_id=1, salt=salt, ip="1.2.3.4", user_agent="x") != visitor_key(
        site_id=11, salt=salt, ip=".2.3.4", user_agent="x"
    )


@properties
@given(
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=16),
    st.integers(min_value=1, max_value=2**32 - 1),
    st.integers(min_value=1, max_value=2**32 - 1),
    st.ip_addresses().map(str),
    st.text(max_size=300),
)
def test_visitor_key_differs_across_salts_and_sites(
    salt: bytes, other_salt: bytes, site: int, other_site: int, ip: str, ua: str
) -> None:
    key = visitor_key(site_id=site, salt=salt, ip=ip, user_agent=ua)
    assert key == visitor_key(site_id=site, salt=salt, ip=ip, user_agent=ua)
    if other_salt != salt:
        assert key != visitor_key(site_id=site, salt=other_salt, ip=ip, user_agent=ua)
    if other_site != site:
        assert key != visitor_key(site_id=other_site, salt=salt, ip=ip, user_agent=ua)


def test_visitor_key_takes_any_user_agent_text() -> None:
    assert visitor_key(site_id=1, salt=bytes(16), ip="::1", user_agent="\ud800 lone surrogate")


def test_daily_salts_keep_yesterday_today_and_tomorrow_only() -> None:
    today = date(2026, 11, 22)
    stored = {today + timedelta(days=n): new_salt() for n in range(-4, 4)}
    salts = DailySalts(stored, today=today)
    assert salts.today == today
    assert salts.days == (today - timedelta(days=1), today, today + timedelta(days=1))
    assert salts.salt_for(today) == stored[today]
    assert salts.salt_for(today - timedelta(days=1)) == stored[today - timedelta(days=1)]
    assert salts.salt_for(today + timedelta(days=1)) == stored[today + timedelta(days=1)]
    assert today - timedelta(days=2) not in salts
    assert today + timedelta(days=2) not in salts
    with pytest.raises(KeyError, match="no salt for 2026-11-20"):
        salts.salt_for(today - timedelta(days=2))


def test_daily_salts_turn_the_day_with_what_they_hold() -> None:
    today = date(2026, 11, 22)
    stored = {today + timedelta(days=n): new_salt() for n in (-1, 0, 1)}
    turned = DailySalts(stored, today=today).as_of(today + timedelta(days=1))
    assert turned.today == today + timedelta(days=1)
    assert turned.by_day() == {d: stored[d] for d in (today, today + timedelta(days=1))}


def test_daily_salts_without_todays_salt_say_so() -> None:
    today = date(2026, 11, 22)
    salts = DailySalts({today - timedelta(days=1): new_salt()}, today=today)
    assert today not in salts
    with pytest.raises(KeyError, match="no salt for 2026-11-22"):
        salts.salt_for(today)
    assert DailySalts({}, today=today).days == ()


def test_daily_salts_refuse_short_salts() -> None:
    today = date(2026, 11, 22)
    with pytest.raises(ValueError, match="8 bytes"):
        DailySalts({today: bytes(8)}, today=today)


def test_new_salts_are_random_16_bytes() -> None:
    first, second = new_salt(), new_salt()
    assert len(first) == len(second) == 16
    assert first != second


# -- heatmaps ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "bucket"),
    [
        (0, 0),
        (-1, 0),
        (1, 320),
        (319, 320),
        (320, 320),
        (374, 320),
        (375, 375),
        (390, 375),
        (414, 414),
        (430, 414),
        (767, 414),
        (768, 768),
        (820, 768),
        (1024, 1024),
        (1279, 1024),
        (1280, 1280),
        (1440, 1440),
        (1536, 1440),
        (1920, 1920),
        (2559, 1920),
        (2560, 2560),
        (7680, 2560),
    ],
)
def test_width_bucket(width: int, bucket: int) -> None:
    assert width_bucket(width) == bucket


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://Shop.Example/", "shop.example/"),
        ("https://shop.example", "shop.example/"),
        ("https://shop.example/Pricing/", "shop.example/Pricing"),
        ("https://shop.example/pricing//", "shop.example/pricing"),
        ("https://shop.example/users/12345678/?tab=2#top", "shop.example/users/:id"),
        ("https://shop.example/u/jo@x.io", "shop.example/u/:email"),
        ("/docs", "/docs"),  # a server's path without a host
        # a port other than the scheme's default is part of the page (two apps on one host)
        ("http://localhost:8080/shop", "localhost:8080/shop"),
        ("http://localhost:80/shop", "localhost/shop"),
        ("https://shop.example:443/x", "shop.example/x"),
        ("http://[::1]:3000/a", "[::1]:3000/a"),
        ("http://[::1/a", ""),  # unreadable: no page
        ("https://shop.example:99999/x", "shop.example/x"),
        ("https://shop.example/app#/orders/1", "shop.example/app"),  # hash routes off: the fragment is no page
    ],
)
def test_page_key(url: str, key: str) -> None:
    assert page_key(url) == key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://shop.example/app#/orders/12345678?tab=2", "shop.example/app#/orders/:id"),
        ("https://shop.example/app#!/cart/", "shop.example/app#!/cart"),
        ("https://shop.example/app#/", "shop.example/app"),  # the root route is the page itself
        ("https://shop.example/app#", "shop.example/app"),
        ("https://shop.example/app", "shop.example/app"),
        ("https://shop.example/#faq", "shop.example/#faq"),
    ],
)
def test_page_key_with_hash_routes(url: str, key: str) -> None:
    assert page_key(url, hash_routes=True) == key


def test_default_lists_are_lower_case() -> None:
    assert all(name == name.lower().strip() for name in DEFAULT_DROP_PARAMS | DEFAULT_DENY_KEYS)
    assert "name" not in DEFAULT_DROP_PARAMS
    assert "state" not in DEFAULT_DROP_PARAMS
