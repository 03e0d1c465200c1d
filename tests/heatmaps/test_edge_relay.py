"""Under `serve --workers N` an edge process relays the capture routes to the main process, which holds the
store and the tickets out; the upload arrives whole (gzip, Origin) and is stored without a visitor key,
since the connection's address is the edge's."""

import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.routing import Match, Route
from support import Collector, serve

from collector.server.workers import edge_app, relay
from collector.settings import Settings


def test_the_edge_app_relays_the_capture_routes(settings: Settings) -> None:
    app = edge_app(settings, "http://127.0.0.1:9", main_pid=0)
    for method, path in (("GET", "/v1/capture.js"), ("POST", "/v1/snapshot"), ("GET", "/api/v1/snapshots")):
        scope = {"type": "http", "method": method, "path": path}
        matched = next(route for route in app.routes if route.matches(scope)[0] == Match.FULL)
        assert getattr(matched, "endpoint", None) is relay, path


def test_a_relayed_upload_is_stored(collector: Collector) -> None:
    @asynccontextmanager
    async def upstream(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=collector.url) as client:
            app.state.upstream = client
            yield

    edge = Starlette(routes=[Route("/{path:path}", relay, methods=["GET", "POST"])], lifespan=upstream)
    with serve(edge) as url, httpx.Client(base_url=url, timeout=30) as client:
        params = {"key": collector.site.write_key, "url": "https://shop.example/", "w": "1280", "sig": "s"}
        script = client.get("/v1/capture.js", params=params).text
        ticket = script.split('"ticket":"')[1].split('"')[0]
        body = {
            "key": collector.site.write_key, "ticket": ticket, "url": "https://shop.example/", "html": "<p>hi</p>",
            "viewport_w": 1280, "viewport_h": 800, "doc_w": 1280, "doc_h": 800, "consent": {"heatmaps": True},
        }  # fmt: skip
        headers = {"Content-Type": "text/plain", "Origin": "https://shop.example", "User-Agent": "Mozilla/5.0"}
        answer = client.post("/v1/snapshot", content=gzip.compress(json.dumps(body).encode()), headers=headers)
    assert answer.status_code == 202, answer.text
    (row,) = collector.store.query("SELECT snapshot_id, visitor_key FROM footfall.snapshots")
    assert row == {"snapshot_id": answer.json()["stored"], "visitor_key": ""}
