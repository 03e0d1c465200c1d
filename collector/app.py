"""The HTTP surface: routes, the app's lifespan (what it runs meanwhile: collector.pipeline), and the one
place errors become responses."""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector import admin, ingest, migrate, openapi, query, reports, snippet, wire
from collector.errors import ApiError, Overloaded, StoreError
from collector.faults import crash_point
from collector.metrics import Metrics
from collector.pipeline import enriching, pipeline, refresh_sites
from collector.ratelimit import RateLimiter
from collector.rows import encode
from collector.segments import Record
from collector.settings import Settings
from collector.sites import Site, Sites
from collector.store import Store, open_store

log = logging.getLogger("footfall")
_json = msgspec.json.Encoder()
BATCH_PATH = "/v1/batch"


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _json.encode(content)


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": code, "detail": detail}, status_code=status, headers=headers)


# -- ingest -------------------------------------------------------------------------------------


async def batch(request: Request) -> Response:
    state = request.app.state
    limits = state.settings.limits
    headers = request.headers
    body = await ingest.read_body(
        request.stream(),
        content_type=headers.get("content-type", ""),
        content_encoding=headers.get("content-encoding", ""),
        content_length=headers.get("content-length"),
        limits=limits,
    )
    received_ms = state.now_ms()
    decoded = ingest.decode_batch(body, limits)
    query_key = None if decoded.key else request.query_params.get("key")  # parse the URL only when needed
    site = await _site_for_write_key(state, ingest.write_key(decoded, query_key))
    origin = headers.get("origin")
    ingest.check_origin(site, origin)
    cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
    ingest.check_rate(state.rate_limiter, site, len(decoded.events), limits)
    peer = request.client.host if request.client else ""
    arrival = await state.enricher.arrival(
        site,
        decoded,
        received_ms=received_ms,
        peer_ip=ingest.client_ip(peer, headers.get("x-forwarded-for"), state.proxies),
        user_agent=headers.get("user-agent", ""),
        browser=origin is not None,
    )
    checked = ingest.check_events(decoded, arrival, limits=limits)
    _count_refusals(state.metrics, checked)
    record = Record(
        site_id=site.site_id,
        hour=received_ms // 3_600_000 * 3600,
        rows=encode(checked.rows) if checked.rows else b"",
        ids=[row.event_id for row in checked.rows],
        counters=_counters(checked, decoded.context.sdk_dropped),
    )
    # 202 only once the rows are on disk; with nothing to store the counts need not wait.
    crash_point("ingest.before_append")
    await state.spool.append(record, durable=bool(checked.rows))
    state.metrics.accepted.inc(by=len(checked.rows))
    # Events dropped by policy (no consent, bots) were taken as sent: the client must not resend them.
    answer = wire.Accepted(accepted=len(checked.rows) + checked.dropped.total(), rejected=checked.rejected)
    if not checked.rows and checked.rejected and not checked.dropped:
        first = checked.rejected[0]
        return JSON(
            {"error": "invalid_events", "detail": first.error, **msgspec.to_builtins(answer)},
            status_code=400,
            headers=cors,
        )
    return JSON(answer, status_code=202, headers=cors)


async def batch_preflight(request: Request) -> Response:
    origin = request.headers.get("origin", "")
    sites: Sites = request.app.state.sites
    key = request.query_params.get("key")
    site = sites.by_write_key(key) if key else None
    allowed = site.allows_origin(origin) if site else any(s.allows_origin(origin) for s in sites.all())
    if not origin or not allowed:
        return error_response(403, "origin_not_allowed", f"origin {origin!r} may not send events here")
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Content-Encoding",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


async def _find_site(state: Any, key: str) -> Site | None:
    sites: Sites = state.sites
    site = sites.by_write_key(key)
    if site is None and sites.reload_due_after_miss():
        # A site just added by another process: look again, at most once a second.
        with contextlib.suppress(StoreError, OSError):
            await asyncio.to_thread(sites.load)
        site = sites.by_write_key(key)
    return site


async def _site_for_write_key(state: Any, key: str) -> Site:
    site = await _find_site(state, key)
    if site is None:
        raise ApiError(401, "unknown_key", "no site has this write key; `footfall site list` shows the keys")
    return site


def _count_refusals(metrics: Metrics, checked: ingest.Checked) -> None:
    # Drops are counted by the writer, from the segment's counters, once for every process's requests.
    for rejection in checked.rejected:
        metrics.rejected.inc(rejection.reason)


def _counters(checked: ingest.Checked, sdk_dropped: dict[str, int]) -> list[tuple[str, str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for reason, n in sdk_dropped.items():
        counts[("dropped_by_sdk", reason)] += n
    if checked.rows:
        counts[("accepted", "")] = len(checked.rows)
    for rejection in checked.rejected:
        counts[("rejected", rejection.reason)] += 1
    for reason, n in checked.dropped.items():
        counts[("dropped", reason)] += n
    return [(outcome, reason, n) for (outcome, reason), n in counts.items()]


async def schema(request: Request) -> Response:
    return JSON(request.app.state.schema)


async def script(request: Request) -> Response:
    key = request.path_params["key"]
    site = await _find_site(request.app.state, key)
    if site is None:
        return Response(b"/* footfall: no site has this key */\n", status_code=404, media_type="text/javascript")
    state = request.app.state
    settings = site.settings.snippet
    public_url = state.settings.public_url
    own = None
    if not (settings.endpoint or public_url):
        scope = request.scope
        host = request.headers.get("host")
        own = snippet.own_base_url(scope["scheme"], host, scope.get("server"), bind_host=state.settings.host)
    endpoint = snippet.endpoint_for(settings, public_url, own)
    if endpoint is None:
        return _unknown_host(state, request.headers.get("host", ""))
    rendered = snippet.render(site.write_key, endpoint.url, settings)
    # Short max-age: a change of settings or key reaches pages within 5 minutes; the ETag makes the
    # revalidation a 304. Bodies are compressed once per site, when rendered. A script whose endpoint
    # came from the request's Host (development, no public URL) is for that client's cache only.
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": "public, max-age=300" if endpoint.configured else "private, max-age=300",
        "Vary": "Accept-Encoding" if endpoint.configured else "Accept-Encoding, Host",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == rendered.etag:
        return Response(status_code=304, headers=headers)
    accepted = {part.split(";")[0].strip() for part in request.headers.get("accept-encoding", "").split(",")}
    body = rendered.body
    if "br" in accepted:
        body, headers["Content-Encoding"] = rendered.brotli, "br"
    elif "gzip" in accepted:
        body, headers["Content-Encoding"] = rendered.gzip, "gzip"
    return Response(body, media_type="text/javascript", headers=headers)


def _unknown_host(state: Any, host: str) -> Response:
    """No endpoint is configured and the Host names a server this is not: say how to configure one."""
    if not state.unknown_host_logged:  # once per process: a misconfiguration, or someone probing
        state.unknown_host_logged = True
        log.warning(
            "a script was asked for under the host %r, which is not this server's address; set --public-url "
            "(FOOTFALL_PUBLIC_URL) to the URL browsers use, or the site's snippet.endpoint",
            host[:100],
        )
    detail = (
        "/* footfall: this server does not know itself under the requested host, so it cannot tell where "
        "the script should send events; set --public-url (FOOTFALL_PUBLIC_URL) or the site's "
        "snippet.endpoint */\n"
    )
    headers = {"Cache-Control": "no-store"}
    return Response(detail.encode(), status_code=421, media_type="text/javascript", headers=headers)


# -- read API -----------------------------------------------------------------------------------

# A site's data: kept out of shared caches and never sniffed as another type.
PRIVATE: Final = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


async def events(request: Request) -> Response:
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    params = dict(request.query_params)
    return JSON(await asyncio.to_thread(query.recent_events, state.store, site, params), headers=PRIVATE)


async def report(request: Request) -> Response:
    """GET /api/v1/<report>: collector/reports.py, answered from the rollups."""
    state = request.app.state
    name = request.path_params["report"]
    if name not in reports.REPORTS:
        raise ApiError(404, "not_found", f"no report named {name!r}; see /api/v1/openapi.json")
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    today = datetime.fromtimestamp(state.now_ms() / 1000, UTC).date()
    answer = reports.REPORTS[name][0]
    params = dict(request.query_params)
    result = await asyncio.to_thread(answer, state.store, site, params, today)
    if params.get("format") == "csv":  # the segment's members, for a spreadsheet or a mailing tool
        lines = ["person,first_day", *(f"{_csv(m['person'])},{m['first_day']}" for m in result["members"])]
        disposition = f'attachment; filename="{site.name}-{name}.csv"'
        return Response(
            "\r\n".join(lines) + "\r\n", media_type="text/csv", headers={"Content-Disposition": disposition, **PRIVATE}
        )
    return JSON({"site": site.name, **result}, headers=PRIVATE)


def _csv(value: str) -> str:
    """One CSV field (RFC 4180), with a leading =, +, - or @ defused for spreadsheets."""
    if value[:1] in ("=", "+", "-", "@"):
        value = "'" + value
    if any(c in value for c in ',"\r\n'):
        value = '"' + value.replace('"', '""') + '"'
    return value


async def openapi_spec(request: Request) -> Response:
    return JSON(request.app.state.openapi)


# -- operations ---------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = request.app.state
    problem = state.writer.failing()
    if problem is None:
        try:
            await asyncio.to_thread(state.store.ping)
        except StoreError as exc:
            problem = f"ClickHouse does not answer: {exc}"
    if problem:
        return JSON({"ready": False, "reason": problem}, status_code=503)
    return JSON({"ready": True})


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")


# -- errors: the one place they become responses ------------------------------------------------


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if request.url.path == BATCH_PATH:
        request.app.state.metrics.batches_refused.inc(exc.code)
    return error_response(exc.status, exc.code, exc.detail, exc.headers)


async def on_overloaded(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Overloaded)
    request.app.state.metrics.batches_refused.inc("overloaded")
    return error_response(503, "overloaded", f"{exc}; retry later", {"Retry-After": str(exc.retry_after_s)})


async def on_store_error(request: Request, exc: Exception) -> Response:
    log.error("store error on %s: %s", request.url.path, exc)
    return error_response(
        503, "store_unavailable", "the event store cannot answer right now; retry later", {"Retry-After": "5"}
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(exc.status_code, code, detail, dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "footfall hit a bug; it is logged on the server")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    Overloaded: on_overloaded,
    StoreError: on_store_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}


class CountRequests:
    """Counts responses by route template and status for /metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.metrics.requests.inc(path, str(message["status"]))
            await send(message)

        await self.app(scope, receive, counting_send)


# -- the app ------------------------------------------------------------------------------------


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    now_ms: Callable[[], int] | None = None,
    admin_token: str | None = None,
    snapshots: Path | None = None,
    around: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The collector as an ASGI app. Pass an open `store` to share one (the CLI and tests do).

    `snapshots`: a folder where sites and salts are published for HTTP worker processes without a store;
    `around`: entered once the app is serving and left first at shutdown (the CLI starts and stops
    those workers with it)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        own_store = store is None
        state.store = store if store is not None else await asyncio.to_thread(open_store, settings)
        try:
            await asyncio.to_thread(migrate.migrate, state.store, cluster=settings.cluster)
            state.sites = Sites(
                state.store,
                snapshot=snapshots / "sites.json" if snapshots else None,
                miss_reload_interval_s=settings.sites_miss_reload_s,
            )
            await asyncio.to_thread(state.sites.load)
            async with (
                enriching(state, settings, store=state.store, snapshots=snapshots),
                pipeline(state, settings, edges=snapshots is not None),
                (around or contextlib.nullcontext)(),
            ):
                refresher = asyncio.create_task(refresh_sites(state.sites, settings.sites_refresh_s))
                try:
                    yield
                finally:
                    refresher.cancel()
        finally:
            if own_store:
                await asyncio.to_thread(state.store.close)

    routes = [
        Route(BATCH_PATH, batch, methods=["POST"]),
        Route(BATCH_PATH, batch_preflight, methods=["OPTIONS"]),
        Route("/v1/schema", schema, methods=["GET"]),
        Route("/s/{key}.js", script, methods=["GET"]),
        Route("/api/v1/events", events, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi_spec, methods=["GET"]),
        Route("/api/v1/{report}", report, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *admin.routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.schema = wire.json_schema()
    app.state.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
    app.state.openapi = openapi.spec()
    app.state.admin_token = admin_token
    app.state.unknown_host_logged = False
    app.state.rate_limiter = RateLimiter()
    app.add_middleware(CountRequests, metrics=app.state.metrics)
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory collector.app:app_from_env` (one per worker process)."""
    from collector.settings import from_env

    return create_app(from_env())
