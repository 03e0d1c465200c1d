"""What the capture of heatmap backdrops calls: GET /v1/capture.js, the ask (is a snapshot of this page at
this width wanted? then the capture module with a ticket), and POST /v1/snapshot, the upload, checked
for its site as /v1/batch is (write key, allowed origin) and then by collector.heatmaps.upload.

Edge processes (`serve --workers N`) relay both to the main process, which holds the store and the
in-memory record of tickets out (collector/server/workers.py)."""

import asyncio
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from collector.enrich.visitors import visitor_key
from collector.errors import ApiError
from collector.heatmaps import module, snapshots, upload
from collector.heatmaps.capture import Tickets, excluded, reason_to_capture
from collector.ingest import batch as ingest
from collector.privacy import width_bucket
from collector.reports.api import to_page_key
from collector.server.intake import body_of, find_site, site_for_write_key
from collector.server.responses import JSON, SNAPSHOT_PATH, cors_headers
from collector.sites import Site

_NOTHING_HEADERS: Final = {
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
}
# A request relayed by an edge process carries this: the connection's address is then the edge's own.
RELAYED: Final = "x-footfall-relayed"


def _nothing(status: int = 200) -> Response:
    return Response(module.NOTHING, status_code=status, media_type="text/javascript", headers=_NOTHING_HEADERS)


def page_key_of(url: str, site: Site) -> str | None:
    """The page key of an http(s) URL, as the collector keys the page's events; None for anything else."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    return to_page_key(url, site)


async def capture_script(request: Request) -> Response:
    state = request.app.state
    params = request.query_params
    site = await find_site(state, params.get("key", ""))
    if site is None:
        return _nothing(404)
    url, sig = params.get("url", ""), params.get("sig", "")[:64]
    width = params.get("w", "")
    key = page_key_of(url, site)
    if key is None or not width.isdigit() or not site.settings.heatmaps.snapshots:
        return _nothing()
    bucket = width_bucket(int(width))
    if excluded(site.settings.heatmaps, key):
        return _nothing()
    found = await asyncio.to_thread(snapshots.versions, state.store, site.site_id, key, bucket)
    now = state.now_ms()
    if reason_to_capture(site.settings.heatmaps, key, found[0] if found else None, sig, now_ms=now) is None:
        return _nothing()
    tickets: Tickets = state.tickets
    ticket = tickets.issue(site, key, bucket)
    if ticket is None:  # another visitor has the ticket for this page and width
        return _nothing()
    public_url = state.settings.public_url
    config = module.CaptureConfig(
        key=site.write_key,
        ticket=ticket,
        upload=public_url.rstrip("/") + SNAPSHOT_PATH if public_url else "",  # else: where this script came from
        url=url,
        sig=sig,
        mask=(*site.settings.snippet.mask, *site.settings.heatmaps.private),
        opt_in=site.settings.snippet.consent == "opt-in",
        gpc=site.settings.snippet.honour_gpc,
    )
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(module.render(config), media_type="text/javascript", headers=headers)


async def snapshot(request: Request) -> Response:
    state = request.app.state
    headers = request.headers
    body = await body_of(request, upload.LIMITS)
    received_ms = state.now_ms()
    sent = upload.decode(body)
    site = await site_for_write_key(state, ingest.check_write_key(sent.key or request.query_params.get("key")))
    origin = headers.get("origin")
    ingest.check_origin(site, origin)
    page_key = page_key_of(sent.url, site)
    if page_key is None:
        raise ApiError(400, "invalid_snapshot", "the url is not an http(s) URL - at `$.url`")
    visitor = await _visitor_key(state, request, site, received_ms)
    stored = await asyncio.to_thread(
        upload.accept,
        state.store,
        state.tickets,
        site,
        sent,
        page_key=page_key,
        now_ms=received_ms,
        visitor_key=visitor,
    )
    return JSON({"stored": stored}, status_code=202, headers=cors_headers(origin))


async def _visitor_key(state: Any, request: Request, site: Site, received_ms: int) -> str:
    """The day's visitor key of the capturer, for erasure; none for an upload an edge relayed, whose
    connection address is the edge's (a client claiming to be relayed only loses its own key)."""
    if RELAYED in request.headers or request.client is None:
        return ""
    ip = ingest.client_ip(request.client.host, request.headers.get("x-forwarded-for"), state.proxies)
    salt = await state.enricher.salts.today(received_ms)
    agent = request.headers.get("user-agent", "")
    return visitor_key(site_id=site.site_id, salt=salt, ip=ip, user_agent=agent) if salt and ip else ""
