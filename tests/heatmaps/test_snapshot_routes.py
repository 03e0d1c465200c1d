"""GET /v1/capture.js, POST /v1/snapshot and the read API's snapshots, over HTTP on a real collector."""

import gzip
import json
import re
from typing import Any

import httpx
from support import Collector

PAGE_URL = "https://shop.example/pricing"
ORIGIN = {"Origin": "https://shop.example"}


def ask(collector: Collector, url: str = PAGE_URL, width: int = 1280, sig: str = "s1") -> httpx.Response:
    params = {"key": collector.site.write_key, "url": url, "w": str(width), "sig": sig}
    return collector.http.get("/v1/capture.js", params=params)


def config_of(script: httpx.Response) -> dict[str, Any]:
    found = re.search(r'\{"key":.*?"gpc":(?:true|false)\}', script.text)
    assert found, script.text[:200]
    config: dict[str, Any] = json.loads(found.group(0))
    return config


def upload_body(collector: Collector, ticket: str, **fields: Any) -> bytes:
    body = {
        "key": collector.site.write_key, "ticket": ticket, "url": PAGE_URL, "sig": "s1",
        "viewport_w": 1280, "viewport_h": 800, "doc_w": 1280, "doc_h": 2000,
        "html": "<html><head></head><body><script>alert(1)</script><h1>Pricing</h1></body></html>",
        "consent": {"heatmaps": True}, "anonymous_id": "a-1", **fields,
    }  # fmt: skip
    return json.dumps(body).encode()


def upload(collector: Collector, ticket: str, *, gzipped: bool = False, **fields: Any) -> httpx.Response:
    data = upload_body(collector, ticket, **fields)
    headers = {"Content-Type": "text/plain", **ORIGIN}
    return collector.http.post("/v1/snapshot", content=gzip.compress(data) if gzipped else data, headers=headers)


def test_ask_capture_store_once_then_stop_asking(collector: Collector) -> None:
    unknown = collector.http.get("/v1/capture.js", params={"key": "ffw_nope", "url": PAGE_URL, "w": "1280"})
    assert unknown.status_code == 404
    assert unknown.text.startswith("/*")
    wanted = ask(collector)
    assert wanted.status_code == 200
    assert wanted.headers["content-type"].startswith("text/javascript")
    assert wanted.headers["cache-control"] == "no-store"
    config = config_of(wanted)
    assert (config["url"], config["sig"], config["upload"]) == (PAGE_URL, "s1", "")
    busy = ask(collector)  # a second visitor while the first has the ticket
    assert busy.text.startswith("/*")
    assert busy.headers["cache-control"] == "private, max-age=3600"
    first = upload(collector, config["ticket"], gzipped=True)
    assert first.status_code == 202, first.text
    assert first.headers["access-control-allow-origin"] == "https://shop.example"
    again = upload(collector, config["ticket"])  # the browser retried
    assert (again.status_code, again.json()) == (202, first.json())
    (row,) = collector.store.query("SELECT anonymous_id, visitor_key, retention_days FROM footfall.snapshots")
    assert (row["anonymous_id"], len(row["visitor_key"]), row["retention_days"]) == ("a-1", 32, 400)  # for erasure
    assert ask(collector).text.startswith("/*")  # stored: nothing more wanted at this width
    assert config_of(ask(collector, width=375))["ticket"] != config["ticket"]  # another width is

    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    listed = collector.http.get("/api/v1/snapshots", params={"page": PAGE_URL}, headers=auth)
    assert listed.status_code == 200, listed.text
    answer = listed.json()
    assert (answer["site"], answer["page"], answer["width"]) == ("shop", "shop.example/pricing", 1280)
    assert answer["widths"] == [{"width": 1280, "versions": 1}]
    (version,) = answer["versions"]
    assert version["snapshot_id"] == first.json()["stored"]
    assert version["doc_h"] == 2000
    one = collector.http.get(f"/api/v1/snapshots/{version['snapshot_id']}", headers=auth)
    assert one.status_code == 200
    assert one.headers["cache-control"] == "private, no-store"
    assert one.json()["snapshot"] == version
    assert "Pricing" in one.json()["html"]
    assert "<script" not in one.json()["html"]
    assert collector.http.get("/api/v1/snapshots/nope", headers=auth).status_code == 404
    assert collector.http.get("/api/v1/snapshots", params={"page": PAGE_URL}).status_code == 401
    assert collector.http.get("/api/v1/snapshots", headers=auth).json()["error"] == "invalid_parameter"
    spec = collector.http.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/snapshots", "/api/v1/snapshots/{snapshot_id}"} <= set(spec)


def test_every_refusal_is_a_4xx_that_says_what(collector: Collector) -> None:
    ticket = config_of(ask(collector))["ticket"]

    def refused(response: httpx.Response) -> tuple[int, str]:
        assert response.headers["content-type"] == "application/json"
        assert response.json()["detail"]
        return response.status_code, response.json()["error"]

    assert refused(upload(collector, ticket, key=None)) == (401, "missing_key")
    assert refused(upload(collector, ticket, key="ffw_unknown")) == (401, "unknown_key")
    assert refused(upload(collector, ticket, consent={"heatmaps": False})) == (403, "no_heatmaps_consent")
    assert refused(upload(collector, "forged.ticket")) == (403, "bad_ticket")
    assert refused(upload(collector, ticket, url="https://shop.example/other")) == (403, "ticket_mismatch")
    assert refused(upload(collector, ticket, viewport_w="wide")) == (400, "invalid_snapshot")
    assert refused(upload(collector, ticket, html="x" * ((2 << 20) + 1))) == (413, "snapshot_too_large")
    headers = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
    evil = collector.http.post("/v1/snapshot", content=upload_body(collector, ticket), headers=headers)
    assert refused(evil) == (403, "origin_not_allowed")
    assert evil.headers["access-control-allow-origin"] == "https://evil.example"  # the page can read why
    huge = collector.http.post("/v1/snapshot", content=b"x" * (4 << 20), headers={"Content-Type": "text/plain"})
    assert refused(huge) == (413, "body_too_large")
    assert refused(collector.http.post("/v1/snapshot", content=b"{", headers=ORIGIN)) == (400, "invalid_json")
    bomb = gzip.compress(b" " * (6 << 20))
    assert refused(collector.http.post("/v1/snapshot", content=bomb, headers=ORIGIN)) == (413, "decompressed_too_large")
    preflight = collector.http.options("/v1/snapshot", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert collector.store.query("SELECT count() AS n FROM footfall.snapshots") == [{"n": 0}]


def test_no_capture_for_bad_asks(collector: Collector) -> None:
    for params in ({"url": "javascript:alert(1)", "w": "1280"}, {"url": PAGE_URL, "w": "wide"}, {"url": PAGE_URL}):
        answer = collector.http.get("/v1/capture.js", params={"key": collector.site.write_key, **params})
        assert answer.status_code == 200
        assert answer.text.startswith("/*")
