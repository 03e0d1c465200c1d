"""What a site's refused and dropped events leave behind: an answer a page can read, counts in
ingest_counters, and samples in ingest_samples (collector/server/intake.py, samples.py)."""

from typing import Any

import pytest
from support import Collector, event, wait_until

from collector.settings import Settings

EVIL = "https://evil.example"
SHOP = "https://shop.example"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(site_rate_eps=10, site_burst_events=20)


def counted(collector: Collector, outcome: str, reason: str, n: int) -> None:
    query = "SELECT sum(events) AS n FROM footfall.ingest_counters WHERE outcome = {o:String} AND reason = {r:String}"
    params = {"o": outcome, "r": reason}
    wait_until(lambda: collector.store.query(query, params) == [{"n": n}], what=f"{n} events {outcome} ({reason})")


def samples(collector: Collector) -> list[dict[str, Any]]:
    return collector.store.query(
        "SELECT outcome, reason, type, name, path, library, detail FROM footfall.ingest_samples ORDER BY ALL"
    )


def test_a_refused_origin_is_answered_readably_counted_and_sampled(collector: Collector) -> None:
    asked = collector.http.options("/v1/batch", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert asked.status_code == 204  # so a page's JSON POST is sent, and refused where the page can read why
    assert asked.headers["access-control-allow-origin"] == EVIL
    page = {"url": "https://evil.example/u/jane@example.com?email=jane@example.com", "library": {"name": "x"}}
    first = collector.post(
        collector.batch(*(event("pageview", url=page["url"]) for _ in range(5)), context={"library": page["library"]}),
        headers={"Origin": EVIL},
    )
    assert first.status_code == 403
    assert first.json()["error"] == "origin_not_allowed"
    assert "footfall site origins shop --add https://evil.example" in first.json()["detail"]
    assert first.headers["access-control-allow-origin"] == EVIL
    assert first.headers["vary"] == "Origin"
    for _ in range(3):
        assert (
            collector.post(
                collector.batch(*(event("track", name="t") for _ in range(3))), headers={"Origin": EVIL}
            ).status_code
            == 403
        )
    counted(collector, "rejected", "origin_not_allowed", 5 + 3 * 3)
    taken = samples(collector)
    assert len(taken) == 10  # 3 of each request, 10 a minute
    assert {"outcome": "rejected", "reason": "origin_not_allowed", "type": "pageview", "name": "", "path": "/u/:email",
            "library": "x", "detail": "origin 'https://evil.example'"} in taken  # fmt: skip
    assert sum(row["type"] == "pageview" for row in taken) == 3


def test_bots_no_consent_and_invalid_events_are_sampled_with_their_reason(collector: Collector) -> None:
    headless = {"Origin": SHOP, "User-Agent": HEADLESS}
    bot = collector.post(
        collector.batch(event("pageview", url=f"{SHOP}/cart"), event("track", name="signup")), headers=headless
    )
    assert bot.json() == {"accepted": 2, "rejected": []}
    unconsented = collector.batch(event("click", x=1, y=1), context={"consent": {"heatmaps": False}})
    assert collector.post(unconsented, headers={"Origin": SHOP}).status_code == 202
    invalid = collector.post(collector.batch(event("click", x=-1, y=1)), headers={"Origin": SHOP})
    assert invalid.status_code == 400
    assert invalid.headers["access-control-allow-origin"] == SHOP
    broken = collector.http.post(
        "/v1/batch", content=b"{", params={"key": collector.site.write_key}, headers={"Origin": SHOP}
    )
    assert broken.json()["error"] == "invalid_json"
    assert (
        broken.headers["access-control-allow-origin"] == SHOP
    )  # every answer of /v1/batch, before the site is known too
    counted(collector, "rejected", "invalid_event", 1)
    counted(collector, "dropped", "bot", 2)
    bot_sample = "the user agent is a bot's (HeadlessChrome 131.0); the site setting keep_bots keeps them"
    assert samples(collector) == [
        {"outcome": "dropped", "reason": "bot", "type": "pageview", "name": "", "path": "/cart", "library": "",
         "detail": bot_sample},
        {"outcome": "dropped", "reason": "bot", "type": "track", "name": "signup", "path": "", "library": "",
         "detail": bot_sample},
        {"outcome": "dropped", "reason": "no_consent", "type": "click", "name": "", "path": "", "library": "",
         "detail": "consent.heatmaps is false"},
        {"outcome": "rejected", "reason": "invalid_event", "type": "click", "name": "", "path": "", "library": "",
         "detail": "Expected `int` >= 0 - at `$.events[0].x`"},
    ]  # fmt: skip


def test_a_rate_limited_batch_is_answered_readably_counted_and_sampled(collector: Collector) -> None:
    shop = {"Origin": SHOP}
    assert (
        collector.post(collector.batch(*(event("track", name="ok") for _ in range(20))), headers=shop).status_code
        == 202
    )
    refused = collector.post(collector.batch(*(event("track", name="late") for _ in range(20))), headers=shop)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.headers["retry-after"]
    assert refused.headers["access-control-allow-origin"] == SHOP
    counted(collector, "rejected", "rate_limited", 20)
    counted(collector, "accepted", "", 20)
    taken = samples(collector)
    assert [(row["reason"], row["name"]) for row in taken] == [("rate_limited", "late")] * 3
    assert "more than 10 events/s" in taken[0]["detail"]
