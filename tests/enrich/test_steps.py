"""Enrichment step by step, with a real GeoIP file, real user agents and salts kept in the engine."""

import asyncio
import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from support import CHROME, NOW, NOW_MS, iso

from collector import wire
from collector.enrich.agent import AgentParser
from collector.enrich.geo import GeoIP
from collector.enrich.salts import Salts
from collector.enrich.steps import Arrival, DropReason, Enricher, enrich
from collector.ingest import batch as ingest
from collector.settings import Limits
from collector.sites import PeopleSettings, Site, SiteSettings
from collector.storage.rows import EventRow
from collector.storage.store_chdb import ChdbStore

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
LONDON = "81.2.69.160"
SITE = Site(site_id=3, name="shop", allowed_origins=("*",), write_key="w", read_key_sha256="r")


def shop(settings: SiteSettings) -> Site:
    """SITE with other settings."""
    return msgspec.structs.replace(SITE, settings=settings)


def batch(*events: dict[str, Any], **context: Any) -> wire.Batch:
    body = {"sent_at": iso(NOW), "context": context, "events": list(events)}
    return ingest.decode_batch(json.dumps(body).encode(), Limits())


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": kind, "ts": iso(NOW - timedelta(seconds=1)), **fields}


@pytest.fixture
def enricher(store: ChdbStore, mmdb_path: Path, tmp_path: Path) -> Enricher:
    return Enricher(
        geoip=GeoIP.open(str(mmdb_path)),
        agents=AgentParser(),
        salts=Salts(store=store, snapshot=tmp_path / "salts.json"),
    )


def arrive(enricher: Enricher, b: wire.Batch, *, site: Site = SITE, now_ms: int = NOW_MS, **kw: Any) -> Arrival:
    options = {"peer_ip": LONDON, "user_agent": CHROME, "browser": True, **kw}
    return asyncio.run(enricher.arrival(site, b, received_ms=now_ms, **options))


def rows(b: wire.Batch, arrival: Arrival) -> list[EventRow | DropReason]:
    return [enrich(e, arrival) for e in (wire.event_decoder.decode(raw) for raw in b.events)]


def test_a_browser_request_gets_place_device_and_visitor_key(enricher: Enricher) -> None:
    b = batch(event("pageview", url="https://shop.example/"), library={"name": "footfall-js"})
    (row,) = rows(b, arrive(enricher, b, user_agent=IPHONE))
    assert isinstance(row, EventRow)
    assert (row.country, row.region, row.city) == ("GB", "ENG", "London")
    assert (row.browser, row.os, row.device, row.is_bot) == ("Mobile Safari", "iOS", "mobile", False)
    assert len(row.visitor_key) == 32
    assert LONDON not in json.dumps(row.__struct_fields__) + repr(row)


def test_visitor_keys_hold_within_a_day_and_change_across_days_and_sites(enricher: Enricher) -> None:
    b = batch(event("pageview", url="https://shop.example/"))
    first = arrive(enricher, b).visitor.key
    assert arrive(enricher, b, now_ms=NOW_MS + 3_600_000).visitor.key == first
    assert arrive(enricher, b, now_ms=NOW_MS + 86_400_000).visitor.key not in ("", first)
    other_site = Site(site_id=4, name="blog", allowed_origins=(), write_key="w2", read_key_sha256="r2")
    assert arrive(enricher, b, site=other_site).visitor.key != first
    assert arrive(enricher, b, peer_ip="216.160.83.56").visitor.key != first


def test_salts_are_shared_through_the_store(store: ChdbStore, enricher: Enricher, tmp_path: Path) -> None:
    b = batch(event("pageview"))
    key = arrive(enricher, b).visitor.key
    # Another collector (or an edge process reading the snapshot) gets the same salt, hence the same key.
    other = Enricher(geoip=GeoIP.open(None), agents=AgentParser(), salts=Salts(store=store, snapshot=None))
    edge = Enricher(
        geoip=GeoIP.open(None), agents=AgentParser(), salts=Salts(store=None, snapshot=tmp_path / "salts.json")
    )
    assert arrive(other, b).visitor.key == key
    assert arrive(edge, b).visitor.key == key
    assert len(store.query("SELECT * FROM footfall.salts")) == 2  # today's, and tomorrow's made ahead


def test_a_server_call_uses_only_what_it_forwards(enricher: Enricher) -> None:
    plain = batch(event("track", name="signup"))
    (row,) = rows(plain, arrive(enricher, plain, browser=False, user_agent="python-requests/2.32"))
    assert isinstance(row, EventRow)  # the transport's agent is not the visitor's: no bot, no device
    assert (row.country, row.device, row.visitor_key) == ("", "", "")
    forwarded = batch(event("track", name="signup"), ip="216.160.83.56", user_agent=CHROME)
    (row,) = rows(forwarded, arrive(enricher, forwarded, browser=False))
    assert isinstance(row, EventRow)
    assert (row.country, row.browser, row.device) == ("US", "Chrome", "desktop")
    assert row.visitor_key


def test_bots_are_dropped_unless_the_site_keeps_them(enricher: Enricher) -> None:
    b = batch(event("pageview"), event("click", x=1, y=2))
    assert rows(b, arrive(enricher, b, user_agent=GOOGLEBOT)) == [DropReason.BOT, DropReason.BOT]
    forwarded = batch(event("track", name="x"), user_agent=GOOGLEBOT)
    assert rows(forwarded, arrive(enricher, forwarded, browser=False)) == [DropReason.BOT]
    keeps = shop(SiteSettings(keep_bots=True))
    (row,) = rows(
        batch(event("pageview")), arrive(enricher, batch(event("pageview")), site=keeps, user_agent=GOOGLEBOT)
    )
    assert isinstance(row, EventRow)
    assert (row.is_bot, row.device) == (True, "bot")


@pytest.mark.parametrize(
    ("consent", "kept"),
    [
        ({}, {"pageview", "track", "click", "scroll"}),
        ({"analytics": False}, {"click", "scroll"}),
        ({"heatmaps": False}, {"pageview", "track"}),
        ({"analytics": False, "heatmaps": False, "marketing": True}, set()),
        ({"marketing": False}, {"pageview", "track", "click", "scroll"}),
    ],
)
def test_consent_tiers(enricher: Enricher, consent: dict[str, bool], kept: set[str]) -> None:
    b = batch(
        event("pageview"),
        event("track", name="t"),
        event("click", x=1, y=1),
        event("scroll", depth=50),
        consent=consent,
    )
    out = rows(b, arrive(enricher, b))
    assert {r.type for r in out if isinstance(r, EventRow)} == kept
    assert all(r == DropReason.NO_CONSENT for r in out if not isinstance(r, EventRow))


def test_pii_is_scrubbed_from_urls_referrers_properties_and_traits(enricher: Enricher) -> None:
    site = shop(SiteSettings(drop_params=("coupon",), deny_keys=("internal_note",)))
    b = batch(
        event(
            "pageview",
            url="https://shop.example/account/8723641234?email=a@b.example&coupon=X1&utm_source=news",
            referrer="https://mail.example/?to=ann@example.org",
        ),
        event(
            "track",
            name="t",
            properties={
                "note": "mail me at ann@example.org",
                "internal_note": "x",
                "password": "hunter2",
                "nested": {"card": "4111 1111 1111 1111"},
            },
        ),
        event("identify", user_id="u1", traits={"bio": "call +44 20 7946 0958", "plan": "pro"}),
    )
    page, track, identify = rows(b, arrive(enricher, b, site=site))
    assert isinstance(page, EventRow)
    assert isinstance(track, EventRow)
    assert isinstance(identify, EventRow)
    assert page.url == "https://shop.example/account/:id?utm_source=news"
    assert page.path == "/account/:id"
    assert page.utm_source == "news"
    assert "ann@example.org" not in page.referrer
    assert json.loads(track.properties) == {"note": "mail me at [email]", "nested": {"card": "[card]"}}
    # Traits a backend sends through identify are who the person is: kept (collector/enrich/customer.py).
    assert json.loads(identify.traits) == {"bio": "call +44 20 7946 0958", "plan": "pro"}


def test_identify_traits_are_kept_but_secrets_cards_and_the_sites_chosen_keys(enricher: Enricher) -> None:
    people = PeopleSettings(redact_traits=("Birthday",), hash_traits=("email",))
    site = shop(SiteSettings(deny_keys=("internal_note",), people=people))
    traits = {
        "email": " Jane@Example.com",
        "name": "Jane Doe",
        "phone": "+44 20 7946 0958",
        "note": "paid with 4111 1111 1111 1111, write to jane@example.com",
        "password": "hunter2",
        "internal_note": "x",
        "birthday": "1990-01-01",
    }
    b = batch(
        event("identify", user_id="u1", traits=traits, traits_once={"first_plan": "free"}, unset=["trial"]),
        event("group", group_id="acme", traits={"owner": "bob@acme.example"}),
    )
    identify, group = rows(b, arrive(enricher, b, site=site))
    assert isinstance(identify, EventRow)
    assert isinstance(group, EventRow)
    assert json.loads(identify.traits) == {
        "email": "sha256:" + hashlib.sha256(b"jane@example.com").hexdigest(),
        "name": "Jane Doe",
        "phone": "+44 20 7946 0958",
        "note": "paid with [card], write to jane@example.com",
        "birthday": "[redacted]",
    }
    assert json.loads(identify.traits_once) == {"first_plan": "free"}
    assert identify.traits_unset == ["trial"]
    assert json.loads(group.traits) == {"owner": "bob@acme.example"}


@pytest.mark.parametrize(
    ("people", "properties", "stored"),
    [
        (PeopleSettings(), {"revenue": 12.5, "currency": "eur"}, {"revenue": 12.5, "currency": "EUR"}),
        (PeopleSettings(), {"revenue": " 9.90 "}, {"revenue": 9.9}),
        (PeopleSettings(default_currency="EUR"), {"revenue": 3}, {"revenue": 3, "currency": "EUR"}),
        (PeopleSettings(), {"revenue": "free"}, {"revenue_unparsed": "free"}),
        (PeopleSettings(), {"revenue": True}, {"revenue_unparsed": True}),
        (
            PeopleSettings(revenue_property="total", currency_property="cur"),
            {"total": 19.99, "cur": "usd"},
            {"total": 19.99, "cur": "usd", "revenue": 19.99, "currency": "USD"},
        ),
        (PeopleSettings(revenue_property="total"), {"revenue": 5}, {"revenue_unparsed": 5}),
        (PeopleSettings(), {"total": 19.99}, {"total": 19.99}),
    ],
)
def test_orders_are_stored_under_the_names_the_rollups_count(
    enricher: Enricher, people: PeopleSettings, properties: dict[str, object], stored: dict[str, object]
) -> None:
    site = shop(SiteSettings(people=people))
    b = batch(event("track", name="order_completed", properties=properties))
    (row,) = rows(b, arrive(enricher, b, site=site))
    assert isinstance(row, EventRow)
    assert json.loads(row.properties) == stored


def test_heatmap_fields(enricher: Enricher) -> None:
    b = batch(event("click", url="https://Shop.example/p/", x=640, y=1210, viewport_w=390, doc_w=1280))
    (row,) = rows(b, arrive(enricher, b))
    assert isinstance(row, EventRow)
    assert (row.page_key, row.width_bucket, row.x_frac) == ("shop.example/p", 375, 0.5)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", None, "", "203.0.113.9"),
        ("203.0.113.9", "81.2.69.160", "", "203.0.113.9"),  # not from a trusted proxy: ignored
        ("10.0.0.2", "81.2.69.160", "10.0.0.0/8", "81.2.69.160"),
        ("10.0.0.2", "6.6.6.6, 81.2.69.160, 10.0.0.7", "10.0.0.0/8", "81.2.69.160"),  # spoofed first hop
        ("10.0.0.2", "10.0.0.5", "10.0.0.0/8", "10.0.0.5"),
    ],
)
def test_client_address_behind_proxies(peer: str, forwarded: str | None, trusted: str, expected: str) -> None:
    from collector.settings import Settings

    assert ingest.client_ip(peer, forwarded, Settings(trusted_proxies=trusted).proxy_networks) == expected


def test_a_server_batch_may_name_a_different_end_user_per_event(enricher: Enricher) -> None:
    b = batch(
        event("track", name="a", context={"ip": LONDON, "user_agent": IPHONE}),
        event(
            "track", name="b", context={"ip": "216.160.83.56", "user_agent": CHROME, "consent": {"marketing": False}}
        ),
        event("track", name="c", context={"user_agent": GOOGLEBOT}),
        event("click", x=1, y=1, context={"consent": {"heatmaps": False}}),
        event("track", name="d"),
        ip="91.198.174.10",
    )
    a, b_row, c, click, d = rows(b, arrive(enricher, b, browser=False))
    assert isinstance(a, EventRow)
    assert isinstance(b_row, EventRow)
    assert isinstance(d, EventRow)
    assert (a.country, a.device) == ("GB", "mobile")
    assert (b_row.country, b_row.browser, b_row.consent_marketing) == ("US", "Chrome", False)
    assert a.visitor_key != b_row.visitor_key
    assert c == DropReason.BOT
    assert click == DropReason.NO_CONSENT
    assert (d.country, d.browser) == ("NL", "")  # the batch's context: an address, no agent


def test_a_page_cannot_name_another_visitor_per_event(enricher: Enricher) -> None:
    b = batch(event("pageview", context={"ip": "216.160.83.56", "user_agent": GOOGLEBOT}))
    (row,) = rows(b, arrive(enricher, b))
    assert isinstance(row, EventRow)
    assert (row.country, row.is_bot) == ("GB", False)  # the peer and its User-Agent header
