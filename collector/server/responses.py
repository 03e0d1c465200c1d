"""Responses in JSON, and the one place errors become HTTP answers."""

import logging
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from collector.dashboard import web
from collector.errors import ApiError, Overloaded, StoreError

log = logging.getLogger("footfall")
_json = msgspec.json.Encoder()
BATCH_PATH = "/v1/batch"
SNAPSHOT_PATH = "/v1/snapshot"  # page uploads too: their answers carry CORS headers as /v1/batch's do


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _json.encode(content)


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": code, "detail": detail}, status_code=status, headers=headers)


def cors_headers(origin: str | None) -> dict[str, str]:
    """What lets a page read an answer of /v1/batch (and of /v1/snapshot). Every answer of it carries them,
    refusals too (an origin refused, a rate exceeded, a bad batch), so the console shows the collector's message instead
    of an opaque CORS error. Safe for any origin: no credentials are allowed, and the body says nothing
    a client without an Origin header could not read."""
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


def _batch_cors(request: Request) -> dict[str, str]:
    return cors_headers(request.headers.get("origin")) if request.url.path in (BATCH_PATH, SNAPSHOT_PATH) else {}


# -- errors: the one place they become responses ------------------------------------------------


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if request.url.path == BATCH_PATH:
        request.app.state.metrics.batches_refused.inc(exc.code)
    if web.wants_page(request):
        return web.error_page(exc.status, exc.detail, exc.headers)
    return error_response(exc.status, exc.code, exc.detail, {**exc.headers, **_batch_cors(request)})


async def on_overloaded(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Overloaded)
    request.app.state.metrics.batches_refused.inc("overloaded")
    headers = {"Retry-After": str(exc.retry_after_s), **_batch_cors(request)}
    return error_response(503, "overloaded", f"{exc}; retry later", headers)


async def on_store_error(request: Request, exc: Exception) -> Response:
    log.error("store error on %s: %s", request.url.path, exc)
    if web.wants_page(request):
        return web.error_page(
            503, "The event store cannot answer right now; try again in a moment.", {"Retry-After": "5"}
        )
    return error_response(
        503,
        "store_unavailable",
        "the event store cannot answer right now; retry later",
        {"Retry-After": "5", **_batch_cors(request)},
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = f"{request.method} {request.url.path}: {exc.detail}"
    if web.wants_page(request):
        return web.error_page(exc.status_code, detail, dict(exc.headers or {}))
    return error_response(exc.status_code, code, detail, {**(exc.headers or {}), **_batch_cors(request)})


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "footfall hit a bug; it is logged on the server", _batch_cors(request))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    Overloaded: on_overloaded,
    StoreError: on_store_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
