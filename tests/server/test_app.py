"""The collector over real HTTP (uvicorn on loopback) with the embedded ClickHouse behind it."""

import asyncio
import gzip
import json
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_http import clickhouse_http
from support import (
    CHROME,
    DAY_MS,
    NOW,
    NOW_MS,
    Collector,
    Site,
    Switchable,
    event,
    iso,
    read_events,
    serve,
    wait_until,
)

from collector import wire
from collector.enrich.salts import Salts
from collector.enrich.visitors import visitor_key
from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.migrate import migrate
from collector.storage.rows import EventRow, encode, epoch_text
from collector.storage.segments import Record, write_segment
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore
from collector.storage.store_server import ServerStore

ONE_OF_EACH = [
    event(
        "pageview",
        anonymous_id="a1",
        session_id="s1",
        url="https://shop.example/p?q=1&utm_source=news&utm_medium=mail",
        referrer="https://www.google.com/",
        title="Product",
    ),
    event("track", name="add_to_cart", user_id="u42", properties={"sku": "A1", "price": 19.99, "tags": ["x"]}),
    event("identify", anonymous_id="a1", user_id="u42", traits={"plan": "pro"}),
    event("group", user_id="u42", group_id="acme", traits={"seats": 12}),
    event("alias", user_id="u42", previous_id="a1"),
    event(
        "click",
        anonymous_id="a1",
        url="https://shop.example/p",
        x=640,
        y=1210,
        viewport_w=1280,
        viewport_h=800,
        doc_w=1280,
        doc_h=4000,
        selector="main > button.buy",
        el_x=12,
        el_y=8,
    ),
    event("rageclick", x=10, y=20, selector="#nav", clicks=5),
    event("deadclick", x=11, y=21, selector="p.copy"),
    event("move", points=[[100, 200, 3], [110, 210, 1]], doc_w=1280, doc_h=4000),
    event("scroll", depth=74.6, doc_h=4000),
]


def test_every_event_type_is_stored_and_read_back(collector: Collector) -> None:
    response = collector.post(collector.batch(*ONE_OF_EACH, context={"library": {"name": "t", "version": "9"}}))
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": len(ONE_OF_EACH), "rejected": []}

    rows = {r["event_id"]: r for r in collector.stored(count=len(ONE_OF_EACH))}
    assert set(rows) == {e["id"] for e in ONE_OF_EACH}
    by_type = {r["type"]: r for r in rows.values()}
    assert by_type["pageview"]["path"] == "/p"
    assert by_type["pageview"]["host"] == "shop.example"
    assert by_type["pageview"]["utm_source"] == "news"
    assert by_type["pageview"]["utm_medium"] == "mail"
    assert by_type["pageview"]["referrer_host"] == "www.google.com"
    assert by_type["pageview"]["title"] == "Product"
    assert json.loads(by_type["track"]["properties"]) == {"sku": "A1", "price": 19.99, "tags": ["x"]}
    assert by_type["track"]["name"] == "add_to_cart"
    assert json.loads(by_type["identify"]["traits"]) == {"plan": "pro"}
    assert by_type["group"]["group_id"] == "acme"
    assert by_type["alias"]["previous_id"] == "a1"
    click = by_type["click"]
    assert (click["x"], click["y"], click["selector"], click["el_x"], click["el_y"]) == (
        640,
        1210,
        "main > button.buy",
        12,
        8,
    )
    assert (click["viewport_w"], click["viewport_h"], click["doc_w"], click["doc_h"]) == (1280, 800, 1280, 4000)
    assert by_type["move"]["points"] == [[100, 200, 3], [110, 210, 1]]
    assert by_type["scroll"]["depth"] == 75
    assert {r["library"] for r in rows.values()} == {"t"}
    # sent_at equals our clock, so no skew: the stored time is the client's.
    assert by_type["track"]["timestamp"] == iso(NOW - timedelta(seconds=1))
    assert by_type["track"]["received_at"] == iso(NOW)

    api = collector.http.get(
        "/api/v1/events", params={"limit": 100}, headers={"Authorization": f"Bearer {collector.site.read_key}"}
    )
    assert api.status_code == 200
    listed = api.json()
    assert listed["site"] == "shop"
    assert listed["count"] == len(ONE_OF_EACH)
    assert {e["id"] for e in listed["events"]} == {e["id"] for e in ONE_OF_EACH}
    track = next(e for e in listed["events"] if e["type"] == "track")
    assert track["properties"] == {"sku": "A1", "price": 19.99, "tags": ["x"]}


def test_read_api_filters_by_type_limits_and_orders_newest_first(collector: Collector) -> None:
    events = [event("track", name=f"e{i}", ts=iso(NOW - timedelta(minutes=10 - i))) for i in range(5)]
    assert collector.post(collector.batch(*events, event("pageview", url="https://shop.example/"))).status_code == 202
    collector.stored(count=6)
    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    listed = collector.http.get("/api/v1/events", params={"type": "track", "limit": 3}, headers=auth).json()
    assert [e["name"] for e in listed["events"]] == ["e4", "e3", "e2"]
    by_name = collector.http.get("/api/v1/events", params={"name": "e1"}, headers=auth).json()
    assert [e["name"] for e in by_name["events"]] == ["e1"]
    day = NOW.date()
    in_range = collector.http.get("/api/v1/events", params={"since": str(day), "until": str(day)}, headers=auth)
    assert in_range.json()["count"] == 6
    before = collector.http.get("/api/v1/events", params={"until": str(day - timedelta(days=1))}, headers=auth)
    assert before.json()["count"] == 0
    assert collector.post(collector.batch(event("track", name="x", user_id="u9", anonymous_id="a9"))).status_code == 202
    collector.stored(count=7)
    for person in ("u9", "a9"):
        mine = collector.http.get("/api/v1/events", params={"person": person}, headers=auth).json()
        assert [e["user_id"] for e in mine["events"]] == ["u9"]
    bad = collector.http.get("/api/v1/events", params={"since": "yesterday"}, headers=auth)
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_parameter")


def test_client_clock_skew_is_corrected_by_sent_at(collector: Collector) -> None:
    # The client's clock is one hour behind: it stamped the event and the batch an hour "ago".
    behind = NOW - timedelta(hours=1)
    body = collector.batch(
        event("track", name="late_clock", ts=iso(behind - timedelta(seconds=5))), sent_at=iso(behind)
    )
    assert collector.post(body).status_code == 202
    (row,) = collector.stored(count=1)
    assert row["timestamp"] == iso(NOW - timedelta(seconds=5))
    assert row["client_ts"] == iso(behind - timedelta(seconds=5))
    assert row["sent_at"] == iso(behind)


def test_partial_batch_keeps_good_events_and_reports_bad_ones_by_index(collector: Collector) -> None:
    good, bad = event("track", name="ok"), event("click", x=-1, y=3)
    response = collector.post(collector.batch(good, bad, event("track")))
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 1,
        "rejected": [
            {"index": 1, "error": "Expected `int` >= 0 - at `$.events[1].x`", "reason": "invalid_event"},
            {"index": 2, "error": "Object missing required field `name` - at `$.events[2]`", "reason": "invalid_event"},
        ],
    }
    assert [r["event_id"] for r in collector.stored(count=1)] == [good["id"]]
    expected = [
        {"outcome": "accepted", "reason": "", "n": 1},
        {"outcome": "rejected", "reason": "invalid_event", "n": 2},
    ]
    query = (
        "SELECT outcome, reason, sum(events) AS n FROM footfall.ingest_counters "
        "GROUP BY outcome, reason ORDER BY outcome"
    )
    # Counters are summed and written apart from the events, at most once a second.
    wait_until(lambda: collector.store.query(query) == expected, what="ingest counters")


def test_text_plain_gzip_and_query_key_as_sendbeacon_sends_them(collector: Collector) -> None:
    body = json.dumps({"events": [event("pageview", url="https://shop.example/")]}).encode()
    response = collector.http.post(
        "/v1/batch",
        params={"key": collector.site.write_key},
        content=gzip.compress(body),
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example"},
    )
    assert response.status_code == 202, response.text
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    explicit = collector.http.post(
        "/v1/batch",
        content=gzip.compress(json.dumps(collector.batch(event("track", name="z"))).encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert explicit.status_code == 202, explicit.text
    assert len(collector.stored(count=2)) == 2


def test_cors_preflight_lets_every_origin_ask_and_the_post_decides(collector: Collector) -> None:
    # The origin check is the POST's (tests/server/test_intake_refusals.py): its 403 can be read by the page.
    for origin in ("http://localhost:3000", "https://evil.example"):
        allowed = collector.http.options(
            "/v1/batch",
            params={"key": collector.site.write_key},
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == origin
        assert "POST" in allowed.headers["access-control-allow-methods"]
    not_a_browser = collector.http.options("/v1/batch")
    assert not_a_browser.status_code == 403
    assert "access-control-allow-origin" not in not_a_browser.headers


def test_schema_health_and_metrics(collector: Collector) -> None:
    schema = collector.http.get("/v1/schema").json()
    assert schema["title"] == "footfall batch (v1)"
    assert set(schema["properties"]["events"]["items"]["discriminator"]["mapping"]) == set(wire.EVENT_TYPES)
    assert collector.http.get("/healthz").json() == {"status": "ok"}
    assert collector.http.get("/readyz").json() == {"ready": True}
    collector.post(collector.batch(event("track", name="m"), event("track")))
    collector.post(b"nope", headers={"Content-Type": "application/json"})
    collector.stored(count=1)

    def segment_stored_and_deleted() -> bool:  # the writer times the insert, then deletes the segment
        text = collector.http.get("/metrics").text
        return "footfall_insert_duration_seconds_count 1\n" in text and "footfall_spool_segments 0\n" in text

    wait_until(segment_stored_and_deleted, what="the segment stored and deleted")
    text = collector.http.get("/metrics").text
    assert "footfall_events_accepted_total 1\n" in text
    assert 'footfall_events_rejected_total{reason="invalid_event"} 1\n' in text
    assert 'footfall_batches_refused_total{error="invalid_json"} 1\n' in text
    assert 'footfall_http_requests_total{route="/v1/batch",status="202"} 1\n' in text
    assert "footfall_insert_duration_seconds_count 1\n" in text
    assert "footfall_spool_segments 0\n" in text
    # What is on disk once the writer drained: the new active segment's 8-byte header, nothing more.
    assert "footfall_spool_bytes 8\n" in text


def test_snippet_is_served_per_site_with_an_etag(collector: Collector) -> None:
    response = collector.http.get(f"/s/{collector.site.write_key}.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert json.dumps(collector.site.write_key) in response.text
    assert json.dumps(collector.url + "/v1/batch") in response.text
    again = collector.http.get(f"/s/{collector.site.write_key}.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert collector.http.get("/s/ffw_nope.js").status_code == 404


def test_a_site_added_by_another_process_is_found_on_first_use(store: ChdbStore, settings: Settings) -> None:
    app = create_app(settings.with_changes(sites_miss_reload_s=0), store=store, now_ms=lambda: NOW_MS)
    with serve(app) as url:
        keys = Sites(store).add("late", [])  # the server's registry has not seen it
        response = httpx.post(f"{url}/v1/batch", json={"key": keys.write_key, "events": [event("track", name="x")]})
        assert response.status_code == 202, response.text


# -- bad input: each gets its own status, code and a detail that says where ----------------------


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        node = {"n": node}
    return node


def _gzip_bomb() -> bytes:
    return gzip.compress(b'{"events": [' + b" " * (20 << 20) + b"]}", compresslevel=9)


KEY = object()  # replaced by the site's write key
Case = tuple[str, Any, dict[str, str], int, str, str]

BAD_INPUTS: list[Case] = [
    # id, body (dict → JSON with key filled in; bytes → as is), headers, status, error, detail fragment
    ("not json", b"hello", {}, 400, "invalid_json", "not valid JSON"),
    ("truncated json", b'{"events": [', {}, 400, "invalid_json", "truncated"),
    ("NaN literal", b'{"events": [NaN]}', {}, 400, "invalid_json", "malformed"),
    ("array not object", b"[]", {}, 400, "invalid_batch", "Expected `object`, got `array` - at `$`"),
    ("events not a list", {"events": {"a": 1}}, {}, 400, "invalid_batch", "at `$.events`"),
    ("events missing", {"sent_at": iso(NOW)}, {}, 400, "invalid_batch", "missing required field `events`"),
    ("events empty", {"events": []}, {}, 400, "empty_batch", "at `$.events`"),
    ("key missing", {"key": None, "events": [{}]}, {}, 401, "missing_key", "write key"),
    ("key unknown", {"key": "ffw_nobody", "events": [{}]}, {}, 401, "unknown_key", "no site"),
    ("read key", {"key": "ffr_x", "events": [{}]}, {}, 401, "read_key_as_write_key", "read key (ffr_...)"),
    ("key wrong type", {"key": 7, "events": [{}]}, {}, 400, "invalid_batch", "got `int` - at `$.key`"),
    ("key too long", {"key": "k" * 500, "events": [{}]}, {}, 400, "invalid_batch", "at `$.key`"),
    ("sent_at not a time", {"sent_at": "yesterday", "events": [{}]}, {}, 400, "invalid_batch", "at `$.sent_at`"),
    (
        "origin not allowed",
        {"events": [event("track", name="x")]},
        {"Origin": "https://evil.example"},
        403,
        "origin_not_allowed",
        "'https://evil.example'",
    ),
    ("opaque origin", {"events": [event("track", name="x")]}, {"Origin": "null"}, 403, "origin_not_allowed", "null"),
    ("body over limit", b"{" + b" " * (2 << 20) + b"}", {}, 413, "body_too_large", "limit is 1,048,576"),
    ("gzip bomb", _gzip_bomb(), {"Content-Encoding": "gzip"}, 413, "decompressed_too_large", "8,388,608"),
    ("not gzip", b"plain text", {"Content-Encoding": "gzip"}, 400, "invalid_gzip", "not valid gzip"),
    ("truncated gzip", gzip.compress(b'{"events": []}')[:-12], {}, 400, "invalid_gzip", "truncated"),
    ("invalid utf-8", b'{"events": [], "key": "\xff\xfe"}', {}, 400, "invalid_utf8", "not valid UTF-8 at byte 23"),
    (
        "invalid utf-8, gzip",
        gzip.compress(b'{"events": [], "key": "\xff\xfe"}'),
        {},
        400,
        "invalid_utf8",
        "not valid UTF-8 at byte 23",
    ),
    ("10,000 events", {"events": [{}] * 10_000}, {}, 413, "too_many_events", "10,000 events; the limit is 1,000"),
    ("nesting bomb", b'{"events": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}", {}, 400, "invalid_json", "too deeply"),
    (
        "deep properties",
        {"events": [event("track", name="x", properties=_deep(6))]},
        {},
        400,
        "invalid_events",
        "properties nest deeper than 5 levels - at `$.events[0].properties`",
    ),
    (
        "huge properties",
        {"events": [event("track", name="x", properties={"blob": "x" * 40_000})]},
        {},
        400,
        "invalid_events",
        "the limit is 32,768 - at `$.events[0].properties`",
    ),
    (
        "huge url",
        {"events": [event("pageview", url="https://a.example/" + "p" * 5000)]},
        {},
        400,
        "invalid_events",
        "Expected `str` of length <= 4096 - at `$.events[0].url`",
    ),
    (
        "huge number",
        b'{"events": [{"type": "track", "name": "x", "id": "'
        + str(uuid.uuid4()).encode()
        + b'", "ts": "'
        + iso(NOW).encode()
        + b'", "properties": {"n": 1e999}}]}',
        {},
        400,
        "invalid_events",
        "out of range",
    ),
    (
        "year 3000",
        {"events": [event("track", name="x", ts="3000-01-01T00:00:00Z")]},
        {},
        400,
        "invalid_events",
        "ts is more than 24h after the batch was sent - at `$.events[0].ts`",
    ),
    (
        "older than retention",
        {"events": [event("track", name="x", ts="2001-01-01T00:00:00Z")]},
        {},
        400,
        "invalid_events",
        "keeps events (400 days) - at `$.events[0].ts`",
    ),
    (
        "ts without zone",
        {"events": [event("track", name="x", ts=iso(NOW).removesuffix("Z"))]},
        {},
        400,
        "invalid_events",
        "with a timezone component - at `$.events[0].ts`",
    ),
    (
        "unknown type",
        {"events": [event("purchase")]},
        {},
        400,
        "invalid_events",
        "Invalid value 'purchase' - at `$.events[0].type`",
    ),
    (
        "missing id",
        {"events": [{"type": "track", "name": "x", "ts": iso(NOW)}]},
        {},
        400,
        "invalid_events",
        "missing required field `id` - at `$.events[0]`",
    ),
    (
        "bad uuid",
        {"events": [event("track", name="x", id="42")]},
        {},
        400,
        "invalid_events",
        "Invalid UUID - at `$.events[0].id`",
    ),
    ("track without name", {"events": [event("track")]}, {}, 400, "invalid_events", "missing required field `name`"),
    (
        "x wrong type",
        {"events": [event("click", x="10", y=2)]},
        {},
        400,
        "invalid_events",
        "got `str` - at `$.events[0].x`",
    ),
    (
        "multipart body",
        b"--x--",
        {"Content-Type": "multipart/form-data; boundary=x"},
        415,
        "unsupported_media_type",
        "multipart",
    ),
    ("brotli body", b"\x00", {"Content-Encoding": "br"}, 415, "unsupported_encoding", "'br'"),
    ("empty body", b"", {}, 400, "empty_body", "empty"),
]


@pytest.mark.parametrize(
    ("name", "body", "headers", "status", "error", "fragment"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_gets_a_specific_error(
    collector: Collector, name: str, body: Any, headers: dict[str, str], status: int, error: str, fragment: str
) -> None:
    params = {}
    if isinstance(body, dict):
        content = json.dumps({"key": collector.site.write_key, "sent_at": iso(NOW), **body}).encode()
    else:
        content, params = body, {"key": collector.site.write_key}
    response = collector.http.post(
        "/v1/batch", content=content, params=params, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"] == error
    assert fragment in answer["detail"], answer["detail"]
    assert collector.stored() == []


def test_read_api_refuses_without_the_right_key(collector: Collector) -> None:
    def get(params: dict[str, str] | None = None, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return collector.http.get("/api/v1/events", params=params, headers=headers)

    assert get().status_code == 401
    assert get().json()["error"] == "missing_read_key"
    assert get(key="ffr_wrong").json()["error"] == "unknown_read_key"
    assert "that is a write key" in get(key=collector.site.write_key).json()["detail"]
    read = collector.site.read_key
    for bad in ({"limit": "abc"}, {"limit": "0"}, {"limit": "10001"}, {"limit": "-1"}, {"type": "purchase"}):
        response = get(bad, read)
        assert response.status_code == 422, bad
        assert response.json()["error"] == "invalid_parameter"


def test_unknown_routes_and_methods_answer_json(collector: Collector) -> None:
    missing = collector.http.get("/nope")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    wrong = collector.http.get("/v1/batch")
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


def test_the_pinned_clock_is_mid_day_so_hour_offsets_stay_in_one_utc_day() -> None:
    assert (NOW.hour, NOW.minute, NOW.second, NOW_MS % 60_000) == (10, 0, 0, 0)


def test_the_same_path_on_a_clickhouse_server(tmp_path: Path, settings: Settings) -> None:
    """ServerStore (clickhouse-connect over HTTP) end to end, against the HTTP shim over the real engine."""
    with clickhouse_http(tmp_path / "shim") as url:
        store = ServerStore(url, database="footfall")
        migrate(store)
        keys = Sites(store).add("shop", [])
        assert keys.read_key
        with serve(create_app(settings.with_changes(clickhouse_url=url), store=store, now_ms=lambda: NOW_MS)) as base:
            body = {"key": keys.write_key, "sent_at": iso(NOW), "events": ONE_OF_EACH}
            response = httpx.post(f"{base}/v1/batch", json=body, timeout=30)
            assert response.status_code == 202, response.text
            listed = read_events(base, keys.read_key, expect=len(ONE_OF_EACH))
        store.close()
    assert {e["id"] for e in listed["events"]} == {e["id"] for e in ONE_OF_EACH}
    move = next(e for e in listed["events"] if e["type"] == "move")
    assert move["points"] == [[100, 200, 3], [110, 210, 1]]


def test_clickhouse_down_acks_until_the_spool_is_full_then_503_and_all_stored_after(
    store: ChdbStore, settings: Settings
) -> None:
    switch = Switchable(store)
    keys = Sites(store).add("shop", [])
    small = settings.with_changes(max_spool_bytes=70_000, retry_after_s=7)  # room for 5+ of these batches
    with serve(create_app(small, store=switch, now_ms=lambda: NOW_MS)) as url, httpx.Client(timeout=30) as http:
        switch.down = True
        acked: list[list[dict[str, Any]]] = []
        refused = None
        for _ in range(200):
            batch = [event("track", name="n", properties={"pad": "x" * 200}) for _ in range(10)]
            response = http.post(f"{url}/v1/batch", json={"key": keys.write_key, "events": batch})
            if response.status_code != 202:
                refused = response
                break
            acked.append(batch)
        assert refused is not None, "the spool never filled"
        assert len(acked) >= 5
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        assert refused.json()["error"] == "overloaded"
        # Readiness fails at once (the ping), and names the writer's failure once it has noticed.
        assert http.get(f"{url}/readyz").status_code == 503
        wait_until(
            lambda: "cannot write to ClickHouse" in http.get(f"{url}/readyz").json()["reason"],
            what="/readyz to name the writer's failure",
        )
        switch.down = False
        wanted = {e["id"] for batch in acked for e in batch}
        wait_until(
            lambda: {r["id"] for r in store.query("SELECT toString(event_id) AS id FROM footfall.events")} == wanted,
            what="every acknowledged event after recovery",
        )
        wait_until(lambda: http.get(f"{url}/readyz").status_code == 200, what="ready again")


def test_clickhouse_away_over_midnight_costs_nothing_and_the_keys_agree_with_another_collector(
    store: ChdbStore, settings: Settings
) -> None:
    """Tomorrow's salt is made while ClickHouse answers, so at midnight ingest needs nothing from it."""
    switch = Switchable(store)
    keys = Sites(store).add("shop", ["https://shop.example"])
    clock = [NOW_MS]
    midnight = (NOW_MS // DAY_MS + 1) * DAY_MS
    browser = {"Origin": "https://shop.example", "User-Agent": CHROME}
    with serve(create_app(settings, store=switch, now_ms=lambda: clock[0])) as url, httpx.Client(timeout=30) as http:
        first = http.post(
            f"{url}/v1/batch", json={"key": keys.write_key, "events": [event("pageview")]}, headers=browser
        )
        assert first.status_code == 202, first.text
        switch.down = True
        clock[0] = midnight + 1000
        late = event("pageview", ts=iso(NOW + timedelta(hours=14, seconds=1)))
        response = http.post(f"{url}/v1/batch", json={"key": keys.write_key, "events": [late]}, headers=browser)
        assert response.status_code == 202, response.text
        switch.down = False
        (row,) = Collector(url, store, Site("shop", keys.write_key, "")).stored(f"event_id = '{late['id']}'", count=1)
    salt = asyncio.run(Salts(store=store, snapshot=None).today(midnight + 1000))  # another collector's salt
    assert salt is not None
    assert row["visitor_key"] == visitor_key(site_id=row["site_id"], salt=salt, ip="127.0.0.1", user_agent=CHROME)


def test_client_addresses_are_used_for_place_and_never_stored_or_logged(
    store: ChdbStore, settings: Settings, mmdb_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keys = Sites(store).add("shop", ["https://shop.example"])
    config = settings.with_changes(geoip=str(mmdb_path), trusted_proxies="127.0.0.1/32")
    browser_ip, server_ip = "81.2.69.160", "216.160.83.56"
    with serve(create_app(config, store=store, now_ms=lambda: NOW_MS)) as url, httpx.Client(timeout=30) as http:
        page = http.post(
            f"{url}/v1/batch",
            json={"key": keys.write_key, "events": [event("pageview", url="https://shop.example/")]},
            headers={"Origin": "https://shop.example", "User-Agent": CHROME, "X-Forwarded-For": browser_ip},
        )
        backend = http.post(
            f"{url}/v1/batch",
            json={"key": keys.write_key, "context": {"ip": server_ip}, "events": [event("track", name="paid")]},
        )
        assert (page.status_code, backend.status_code) == (202, 202)
        wait_until(lambda: len(store.query("SELECT 1 FROM footfall.events")) == 2, what="both events")
        dumps = [
            json.dumps(store.query(f"SELECT * FROM footfall.{table}"))
            for table in ("events", "sites", "ingest_counters", "salts", "schema_migrations")
        ]
    assert {r["country"] for r in store.query("SELECT country FROM footfall.events")} == {"GB", "US"}
    spooled = b"".join(
        p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file() and "clickhouse" not in p.parts
    )
    for address in (browser_ip, server_ip):
        assert all(address not in dump for dump in dumps)
        assert address.encode() not in spooled
        assert address not in caplog.text


def test_a_site_over_its_rate_gets_429_with_retry_after_and_others_do_not(store: ChdbStore, settings: Settings) -> None:
    sites = Sites(store)
    busy, calm = sites.add("busy", []), sites.add("calm", [])
    limited = settings.with_changes(site_rate_eps=10, site_burst_events=20)
    with serve(create_app(limited, store=store, now_ms=lambda: NOW_MS)) as url, httpx.Client(timeout=30) as http:

        def send(key: str, n: int) -> httpx.Response:
            return http.post(
                f"{url}/v1/batch", json={"key": key, "events": [event("track", name="x") for _ in range(n)]}
            )

        assert send(busy.write_key, 20).status_code == 202
        refused = send(busy.write_key, 20)
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        assert send(calm.write_key, 20).status_code == 202


def test_a_torn_spool_tail_from_a_crash_is_recovered_at_start_and_counted(store: ChdbStore, settings: Settings) -> None:
    keys = Sites(store).add("shop", [])
    folder = Path(settings.spool_path) / "0"
    folder.mkdir(parents=True)
    (folder / "ID").write_text("c0ffee")
    good = EventRow(
        site_id=1,
        event_id=str(uuid.uuid4()),
        type="track",
        name="survivor",
        timestamp=epoch_text(NOW_MS - 1000),
        client_ts=epoch_text(NOW_MS - 1000),
        received_at=epoch_text(NOW_MS),
    )
    write_segment(
        folder / "00000000000000000007.seg",
        [
            Record(
                site_id=1,
                hour=NOW_MS // 1000 // 3600 * 3600,
                rows=encode([good]),
                ids=[good.event_id],
                counters=[("accepted", "", 1)],
            )
        ],
    )
    whole = (folder / "00000000000000000007.seg").read_bytes()
    (folder / "00000000000000000007.seg").unlink()
    (folder / "00000000000000000007.open").write_bytes(whole + whole[8:30])  # the crash cut the next record
    with serve(create_app(settings, store=store, now_ms=lambda: NOW_MS)) as url:
        wait_until(lambda: bool(store.query("SELECT 1 FROM footfall.events WHERE name = 'survivor'")), what="recovery")
        text = httpx.get(f"{url}/metrics").text
        assert "footfall_spool_damaged_records_total 1\n" in text
    assert keys.read_key


def test_events_dropped_by_policy_count_as_accepted_and_are_counted_per_reason(collector: Collector) -> None:
    bot = {
        "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Origin": "https://shop.example",
    }
    response = collector.post(collector.batch(event("pageview"), event("track", name="x")), headers=bot)
    assert response.json() == {"accepted": 2, "rejected": []}
    no_consent = collector.batch(
        event("click", x=1, y=1), event("track", name="kept"), context={"consent": {"heatmaps": False}}
    )
    assert collector.post(no_consent).json() == {"accepted": 2, "rejected": []}
    assert [r["name"] for r in collector.stored(count=1)] == ["kept"]
    query = "SELECT outcome, reason, sum(events) AS n FROM footfall.ingest_counters GROUP BY ALL ORDER BY ALL"
    expected = [
        {"outcome": "accepted", "reason": "", "n": 1},
        {"outcome": "dropped", "reason": "bot", "n": 2},
        {"outcome": "dropped", "reason": "no_consent", "n": 1},
    ]
    wait_until(lambda: collector.store.query(query) == expected, what="the drop counters")
    metrics = collector.http.get("/metrics").text
    assert 'footfall_events_dropped_total{reason="bot"} 2\n' in metrics  # once, though two places see it
    assert 'footfall_events_dropped_total{reason="no_consent"} 1\n' in metrics


def test_the_same_batch_posted_twice_is_stored_once(collector: Collector) -> None:
    body = collector.batch(*(event("track", name=f"n{i}") for i in range(5)))
    assert collector.post(body).json() == {"accepted": 5, "rejected": []}
    assert collector.post(body).json() == {"accepted": 5, "rejected": []}  # a retry after a lost answer
    collector.stored(count=5)
    query = "SELECT outcome, reason, sum(events) AS n FROM footfall.ingest_counters GROUP BY ALL ORDER BY ALL"
    expected = [{"outcome": "accepted", "reason": "", "n": 5}, {"outcome": "dropped", "reason": "duplicate", "n": 5}]
    wait_until(lambda: collector.store.query(query) == expected, what="the repeat counted as a duplicate")
    assert len(collector.stored()) == 5


def test_a_clickhouse_server_going_away_fills_the_spool_then_503_and_all_is_stored_when_back(
    tmp_path: Path, settings: Settings
) -> None:
    shim = tmp_path / "shim"
    first = clickhouse_http(shim)
    url = first.__enter__()
    store = ServerStore(url, database="footfall", connect_timeout_s=1)
    migrate(store)
    keys = Sites(store).add("shop", [])
    assert keys.read_key
    read_key = keys.read_key
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    small = settings.with_changes(clickhouse_url=url, max_spool_bytes=40_000)
    acked: list[dict[str, Any]] = []
    with serve(create_app(small, store=store, now_ms=lambda: NOW_MS)) as base, httpx.Client(timeout=30) as http:
        first.__exit__(None, None, None)  # the server goes away while the collector runs
        for _ in range(200):  # acknowledged into the spool until it is full
            batch = [event("track", name="n", properties={"pad": "x" * 200}) for _ in range(10)]
            response = http.post(f"{base}/v1/batch", json={"key": keys.write_key, "events": batch})
            if response.status_code != 202:
                break
            acked.extend(batch)
        assert (response.status_code, response.json()["error"]) == (503, "overloaded")
        assert "retry-after" in response.headers
        assert len(acked) >= 30
        with clickhouse_http(shim, port=port):  # back, at the same address
            wait_until(
                lambda: (
                    {e["id"] for e in read_events(base, read_key, limit=10_000)["events"]} == {e["id"] for e in acked}
                ),
                what="every acknowledged event once the server is back",
            )
    store.close()
