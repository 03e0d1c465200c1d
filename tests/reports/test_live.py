"""GET /api/v1/live (collector/reports/live.py): what arrived and what was lost, newest first, paged
forward by since_ms, with the counters and the ingest health."""

import contextlib
from datetime import timedelta
from typing import Any

import httpx
from support import NOW, NOW_MS, Collector, Site, event, iso, serve, wait_until

from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

SHOP = {"Origin": "https://shop.example"}
GOOGLEBOT = {**SHOP, "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
HOUR_MS = 3_600_000


def test_live_shows_new_events_and_drops_newest_first_and_pages_forward(store: ChdbStore, settings: Settings) -> None:
    clock = [NOW_MS]
    keys = Sites(store).add("shop", ["https://shop.example"])
    assert keys.read_key
    with (
        contextlib.ExitStack() as stack,
        serve(create_app(settings, store=store, now_ms=lambda: clock[0])) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.read_key}"}, timeout=30) as http,
    ):
        shop = Collector(url, store, Site("shop", keys.write_key, keys.read_key))
        stack.callback(shop.http.close)

        def live(expect: int, **params: int) -> dict[str, Any]:
            """The answer once `expect` events and drops are in it (the writer stores each segment soon)."""
            answer: dict[str, Any] = {}

            def enough() -> bool:
                nonlocal answer
                response = http.get("/api/v1/live", params=params)
                assert response.status_code == 200, response.text
                answer = response.json()
                return len(answer["events"]) + len(answer["drops"]) >= expect

            wait_until(enough, what=f"{expect} events and drops in /api/v1/live")
            return answer

        page = event("pageview", url="https://shop.example/a/jane@example.com?q=1", anonymous_id="a1", viewport_w=1280)
        assert shop.post(shop.batch(page), headers=SHOP).status_code == 202
        clock[0] += 1000
        assert shop.post(shop.batch(event("track", name="signup")), headers=SHOP).status_code == 202
        assert shop.post(shop.batch(event("pageview")), headers={"Origin": "https://evil.example"}).status_code == 403

        first = live(3)
        assert first["site"] == "shop"
        assert first["now_ms"] == NOW_MS + 1000
        assert first["next_since_ms"] == NOW_MS + 1000
        signup, pageview = first["events"]
        assert (signup["name"], signup["received_ms"], pageview["received_ms"]) == ("signup", NOW_MS + 1000, NOW_MS)
        assert set(pageview) == {
            "id", "received_ms", "timestamp", "type", "name", "host", "path", "page_key", "referrer_host", "country",
            "device", "browser", "os", "library", "visitor",
        }  # fmt: skip
        assert (pageview["id"], pageview["path"], pageview["device"]) == (page["id"], "/a/:email", "desktop")
        assert first["drops"] == [
            {
                "received_ms": NOW_MS + 1000,
                "time": iso(NOW + timedelta(seconds=1)),
                "outcome": "rejected",
                "reason": "origin_not_allowed",
                "type": "pageview",
                "name": "",
                "path": "",
                "library": "",
                "detail": "origin 'https://evil.example'",
            }
        ]
        assert first["counters"]["last_hour"] == {
            "since_ms": NOW_MS - HOUR_MS,
            "accepted": 2,
            "rejected": {"origin_not_allowed": 1},
            "dropped": {},
            "dropped_by_sdk": {},
        }
        assert first["counters"]["last_24h"]["since_ms"] == NOW_MS - 24 * HOUR_MS
        assert set(first["health"]) == {"at_ms", "spool", "writer", "time_to_queryable"}

        def measured() -> bool:  # the writer's stats follow its commit by a moment
            health = http.get("/api/v1/live").json()["health"]
            return bool(health["writer"]["running"] and health["time_to_queryable"]["segments"])

        wait_until(measured, what="the time to queryable measured")
        health = http.get("/api/v1/live").json()["health"]
        assert not health["writer"]["failing"]
        # By the app's clock, which moved one second after the first request: its segment may be older.
        assert health["time_to_queryable"]["last_ms"] in (0, 1000)
        assert health["writer"]["last_commit_ms"] == NOW_MS + 1000

        clock[0] += 1000
        assert shop.post(shop.batch(event("track", name="later")), headers=SHOP).status_code == 202
        assert shop.post(shop.batch(event("track", name="crawled")), headers=GOOGLEBOT).status_code == 202
        later = live(2, since_ms=first["next_since_ms"])
        assert [e["name"] for e in later["events"]] == ["later"]
        assert [(d["reason"], d["name"]) for d in later["drops"]] == [("bot", "crawled")]
        assert later["next_since_ms"] == NOW_MS + 2000
        quiet = live(0, since_ms=later["next_since_ms"], limit=5)
        assert (quiet["events"], quiet["drops"], quiet["next_since_ms"]) == ([], [], NOW_MS + 2000)

        assert http.get("/api/v1/live", params={"limit": 0}).status_code == 422
        assert http.get("/api/v1/live", params={"since": 1}).json()["error"] == "invalid_parameter"
        assert httpx.get(f"{url}/api/v1/live").json()["error"] == "missing_read_key"
        assert "/api/v1/live" in http.get("/api/v1/openapi.json").json()["paths"]
