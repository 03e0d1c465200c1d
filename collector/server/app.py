"""The collector as an ASGI app: its routes, and its lifespan, which runs the stages' parts while it serves
(collector.server.pipeline)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector import wire
from collector.accounts.sessions import Signer, shared_secret
from collector.dashboard import routes as dashboard
from collector.dashboard.auth import Accounts
from collector.dashboard.overlay import overlay_script
from collector.errors import StoreError
from collector.heatmaps.capture import SECRET_NAME, Tickets
from collector.ingest.ratelimit import RateLimiter
from collector.metrics import Metrics
from collector.people import openapi as people_openapi
from collector.reports import openapi
from collector.server import admin
from collector.server.heatmap_api import heatmap_layers, heatmap_layers_preflight, heatmap_png
from collector.server.intake import batch, batch_preflight, script
from collector.server.pipeline import enriching, pipeline, refresh_sites, roll_traffic
from collector.server.read_api import (
    events,
    live,
    openapi_spec,
    people,
    person,
    person_timeline,
    report,
    snapshot_one,
    snapshot_versions,
)
from collector.server.responses import BATCH_PATH, EXCEPTION_HANDLERS, JSON, SNAPSHOT_PATH
from collector.server.samples import SampleBudget
from collector.server.snapshot import capture_script, snapshot
from collector.settings import Settings
from collector.storage import migrate
from collector.storage.site_registry import Sites
from collector.storage.store import Store, open_store

log = logging.getLogger("footfall")


async def schema(request: Request) -> Response:
    return JSON(request.app.state.schema)


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
    setup_code: str | None = None,
) -> Starlette:
    """The collector as an ASGI app. Pass an open `store` to share one (the CLI and tests do).

    `snapshots`: a folder where sites and salts are published for HTTP worker processes without a store;
    `around`: entered once the app is serving and left first at shutdown (the CLI starts and stops
    those workers with it); `setup_code`: what creates the first dashboard account (default: a random one,
    logged), used only while there is no account."""

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
            secret = await asyncio.to_thread(shared_secret, state.store, name=SECRET_NAME)
            state.tickets = Tickets(Signer(secret), clock_ms=state.now_ms)
            state.accounts = await asyncio.to_thread(
                Accounts, state.store, clock_ms=state.now_ms, setup_code=setup_code
            )
            if state.accounts.setup_code is not None and setup_code is None:
                log.warning(
                    "no dashboard account yet: open %s/dashboard/setup?code=%s to create the first one",
                    settings.base_url,
                    state.accounts.setup_code,
                )
            async with (
                enriching(state, settings, store=state.store, snapshots=snapshots),
                pipeline(state, settings, edges=snapshots is not None),
                (around or contextlib.nullcontext)(),
            ):
                refresher = asyncio.create_task(refresh_sites(state.sites, settings.sites_refresh_s))
                roller = asyncio.create_task(roll_traffic(state.store, state.now_ms))
                try:
                    yield
                finally:
                    refresher.cancel()
                    roller.cancel()
        finally:
            if own_store:
                await asyncio.to_thread(state.store.close)

    routes = [
        Route(BATCH_PATH, batch, methods=["POST"]),
        Route(BATCH_PATH, batch_preflight, methods=["OPTIONS"]),
        Route("/v1/schema", schema, methods=["GET"]),
        Route("/s/overlay.js", overlay_script, methods=["GET"]),
        Route("/s/{key}.js", script, methods=["GET"]),
        Route("/v1/capture.js", capture_script, methods=["GET"]),
        Route(SNAPSHOT_PATH, snapshot, methods=["POST"]),
        Route(SNAPSHOT_PATH, batch_preflight, methods=["OPTIONS"]),
        Route("/api/v1/events", events, methods=["GET"]),
        Route("/api/v1/snapshots", snapshot_versions, methods=["GET"]),
        Route("/api/v1/snapshots/{snapshot_id}", snapshot_one, methods=["GET"]),
        Route("/api/v1/live", live, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi_spec, methods=["GET"]),
        Route("/api/v1/heatmap.png", heatmap_png, methods=["GET"]),
        Route("/api/v1/heatmap/layers", heatmap_layers, methods=["GET"]),
        Route("/api/v1/heatmap/layers", heatmap_layers_preflight, methods=["OPTIONS"]),
        Route("/api/v1/people", people, methods=["GET"]),
        Route("/api/v1/people/{person_id:path}/timeline", person_timeline, methods=["GET"]),
        Route("/api/v1/people/{person_id:path}", person, methods=["GET"]),
        Route("/api/v1/{report}", report, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *admin.routes(),
        *dashboard.routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.schema = wire.json_schema()
    app.state.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
    app.state.openapi = openapi.spec()
    people_openapi.add_paths(app.state.openapi)
    app.state.admin_token = admin_token
    app.state.unknown_host_logged = False
    app.state.rate_limiter = RateLimiter()
    app.state.sampler = SampleBudget()
    app.add_middleware(CountRequests, metrics=app.state.metrics)
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory collector.server.app:app_from_env` (one per worker process)."""
    import os

    from collector.settings import from_env

    return create_app(from_env(), setup_code=os.environ.get("FOOTFALL_SETUP_CODE"))
