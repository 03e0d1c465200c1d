"""Several HTTP worker processes on one embedded store.

The embedded engine lives in one process, so `footfall serve --workers N` runs the main process (the
store, the writer, the full app) plus N-1 edge processes. All of them listen on the same port
(SO_REUSEPORT lets the kernel spread connections). An edge takes ingest on its own: it reads sites from
the snapshot file the main process publishes, appends to a spool folder of its own and answers 202 once
the rows are on disk. The main process's writer drains every folder. Whatever needs the store (the read
API, admin, readiness, metrics, and the heatmap capture: /v1/capture.js reads the snapshots and keeps the
tickets out in memory, /v1/snapshot stores) an edge relays to the main process over loopback.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import AsyncIterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import wire
from collector.dashboard.overlay import overlay_script
from collector.ingest.ratelimit import RateLimiter
from collector.metrics import Metrics
from collector.server import app as collector_app
from collector.server import http_protocol, pipeline
from collector.server.intake import batch, batch_preflight, script
from collector.server.responses import BATCH_PATH, EXCEPTION_HANDLERS, error_response
from collector.server.samples import SampleBudget
from collector.server.snapshot import RELAYED
from collector.settings import Settings
from collector.storage.site_registry import Sites

log = logging.getLogger("footfall.workers")

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length", "te", "upgrade"})
RESTART_PAUSE_S = 1.0
PARENT_CHECK_S = 0.5


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket other processes can bind to the same port too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class Edges:
    """Starts, watches (restarting any that dies) and stops the edge processes."""

    def __init__(self, settings: Settings, *, port: int, upstream: str, count: int) -> None:
        self._settings = settings
        self._port = port
        self._upstream = upstream
        self._count = count
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[BaseProcess] = []
        self._watch: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._processes = [self._spawn() for _ in range(self._count)]
        self._watch = asyncio.create_task(self._keep_alive())
        try:
            yield
        finally:
            self._watch.cancel()
            await asyncio.to_thread(self._stop_all)

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=run_edge,
            args=(self._settings, self._port, self._upstream, os.getpid()),
            name="footfall-edge",
            daemon=True,
        )
        process.start()
        return process

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(RESTART_PAUSE_S)
            for index, process in enumerate(self._processes):
                if not process.is_alive():
                    log.error("edge process %s exited with %s; starting another", process.pid, process.exitcode)
                    self._processes[index] = self._spawn()

    def _stop_all(self) -> None:
        for process in self._processes:  # SIGTERM: uvicorn stops accepting, the spool is sealed
            if process.is_alive() and process.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self._processes:
            process.join(timeout=max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                log.error("edge process %s did not stop; killing it", process.pid)
                process.kill()
                process.join()


def run_edge(settings: Settings, port: int, upstream: str, main_pid: int) -> None:
    """An edge process's main: its own socket on the shared port, its own uvicorn."""
    sock = listening_socket(settings.host, port)
    app = edge_app(settings, upstream, main_pid=main_pid)
    config = http_protocol.uvicorn_config(app, header_timeout_s=settings.header_timeout_s)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)  # see cli.cmd_serve: exit 0 after a clean stop
    uvicorn.Server(config).run(sockets=[sock])


async def _stop_with(main_pid: int) -> None:
    """An edge without its main process must stop taking events: nothing would store them while it runs.
    (What it acknowledged waits in its spool folder; the next main process stores it.)"""
    while os.getppid() == main_pid:  # noqa: ASYNC110 — no event tells us; a cheap poll does
        await asyncio.sleep(PARENT_CHECK_S)
    log.error("the main footfall process %d is gone; this edge process stops", main_pid)
    os.kill(os.getpid(), signal.SIGTERM)


def edge_app(settings: Settings, upstream: str, *, main_pid: int) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        snapshots = Path(settings.data_dir)
        state.sites = Sites(
            None, snapshot=snapshots / "sites.json", miss_reload_interval_s=settings.sites_miss_reload_s
        )
        await asyncio.to_thread(state.sites.load)
        async with (
            httpx.AsyncClient(base_url=upstream, timeout=60) as client,
            pipeline.enriching(state, settings, store=None, snapshots=snapshots),
            pipeline.spooling(state, settings),
        ):
            state.upstream = client
            refresher = asyncio.create_task(pipeline.refresh_sites(state.sites, settings.sites_refresh_s))
            orphan_check = asyncio.create_task(_stop_with(main_pid))
            try:
                yield
            finally:
                refresher.cancel()
                orphan_check.cancel()

    routes = [
        Route(BATCH_PATH, batch, methods=["POST"]),
        Route(BATCH_PATH, batch_preflight, methods=["OPTIONS"]),
        Route("/v1/schema", collector_app.schema, methods=["GET"]),
        Route("/s/overlay.js", overlay_script, methods=["GET"]),
        Route("/s/{key}.js", script, methods=["GET"]),
        Route("/healthz", collector_app.healthz, methods=["GET"]),
        Route("/{path:path}", relay, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.schema = wire.json_schema()
    app.state.now_ms = lambda: time.time_ns() // 1_000_000
    app.state.rate_limiter = RateLimiter()
    app.state.sampler = SampleBudget()
    app.state.unknown_host_logged = False
    app.add_middleware(collector_app.CountRequests, metrics=app.state.metrics)
    return app


async def relay(request: Request) -> Response:
    """Hand a request that needs the store to the main process, and its answer back."""
    client: httpx.AsyncClient = request.app.state.upstream
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers[RELAYED] = "1"  # the main process sees this edge's address, not the client's
    try:
        answer = await client.request(
            request.method,
            request.url.path,
            params=str(request.query_params),
            headers=headers,
            content=await request.body(),
        )
    except httpx.TransportError as exc:
        return error_response(
            503, "main_process_unavailable", f"the main footfall process does not answer: {exc}", {"Retry-After": "2"}
        )
    out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP and k != "content-encoding"}
    return Response(answer.content, status_code=answer.status_code, headers=out_headers)


def main_app_extras(settings: Settings, *, port: int, internal: socket.socket) -> dict[str, Any]:
    """create_app keyword arguments for the main process when edges run beside it."""
    host, internal_port = internal.getsockname()[:2]
    edges = Edges(settings, port=port, upstream=f"http://{host}:{internal_port}", count=settings.workers - 1)
    return {"snapshots": Path(settings.data_dir), "around": edges.running}
