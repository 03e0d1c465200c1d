"""Live events: the last events as they arrive, and what was dropped or refused and why, with the ingest
health beside them, so "why is my report empty?" has an answer on screen. The page polls live.json."""

import asyncio
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from collector.dashboard import auth
from collector.dashboard.pages import View
from collector.dashboard.web import json
from collector.reports import live as report
from collector.sites import Site
from collector.tables import Table

# What a drop reason means for the person reading the page (docs/api.md has the full table).
HINTS: Final = {
    "bot": "a bot's user agent (a headless browser is one): set keep_bots for tests",
    "no_consent": "the visitor has not consented to analytics",
    "origin_not_allowed": "the page's origin is not one of the site's: footfall site origins NAME --add URL",
    "rate_limited": "more events per second than the site's limit",
    "invalid_event": "an event the protocol refuses (the detail says what and where)",
    "timestamp_out_of_range": "an event timed too far from the collector's clock",
    "properties_too_large": "properties over the size limit",
    "duplicate_id": "the same event id twice in one batch",
}


async def answer(request: Request, site: Site, query: dict[str, str]) -> dict[str, Any]:
    state = request.app.state
    params = report.parse(query)
    probe = getattr(state, "ingest_health", None)
    health = await asyncio.to_thread(probe) if probe is not None else None
    found = await asyncio.to_thread(report.live, state.store, site, params, now_ms=state.now_ms(), health=health)
    out: dict[str, Any] = msgspec.to_builtins(found)
    for event in out["events"]:
        event["time"] = event.get("timestamp", "")
        event["page"] = event.get("page_key") or event.get("path", "")
    return out


async def view(request: Request, site: Site) -> View:
    found = await answer(request, site, {"limit": "50"})
    tables = [
        Table(
            name="events",
            title="Last events",
            columns=("time", "type", "name", "page", "country", "device", "browser"),
            rows=[
                [e["time"], e["type"], e["name"], e["page"], e["country"], e["device"], e["browser"]]
                for e in found["events"]
            ],
        ),
        Table(
            name="drops",
            title="Dropped or refused",
            columns=("time", "outcome", "reason", "type", "name", "path", "detail"),
            rows=[
                [d["time"], d["outcome"], d["reason"], d["type"], d["name"], d["path"], d["detail"]]
                for d in found["drops"]
            ],
        ),
    ]
    return View(template="live.html", context={"live": found, "hints": HINTS}, tables=tables)


async def live_json(request: Request) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return json({"error": "session_ended", "detail": "log in again"}, status=401)
    site, _ = auth.site_for(request, who)
    return json(await answer(request, site, dict(request.query_params)))
