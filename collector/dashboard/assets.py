"""/dashboard/static/...: the dashboard's own files (its CSS and JS, and the vendored uPlot), read once,
compressed once (brotli or gzip, as the browser accepts), revalidated by ETag."""

import functools
import gzip
import hashlib
import mimetypes
from typing import Final

import brotli
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from collector.dashboard.web import HERE
from collector.errors import ApiError

STATIC: Final = HERE / "static"


class Asset(msgspec.Struct, frozen=True):
    body: bytes
    gzip: bytes
    brotli: bytes
    etag: str
    media_type: str


@functools.cache
def _assets() -> dict[str, Asset]:
    found = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in (".js", ".css"):
            body = path.read_bytes()
            found[path.relative_to(STATIC).as_posix()] = Asset(
                body=body,
                gzip=gzip.compress(body, 9, mtime=0),
                brotli=brotli.compress(body),
                etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
                media_type=(mimetypes.guess_type(path.name)[0] or "application/octet-stream") + "; charset=utf-8",
            )
    return found


def names() -> list[str]:
    return list(_assets())


async def static(request: Request) -> Response:
    asset = _assets().get(request.path_params["path"])
    if asset is None:
        raise ApiError(404, "not_found", f"no dashboard file {request.path_params['path'][:100]!r}")
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "public, max-age=3600",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    accepted = {p.split(";")[0].strip() for p in request.headers.get("accept-encoding", "").split(",")}
    body = asset.body
    if "br" in accepted:
        body, headers["Content-Encoding"] = asset.brotli, "br"
    elif "gzip" in accepted:
        body, headers["Content-Encoding"] = asset.gzip, "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


def size_report() -> dict[str, tuple[int, int]]:
    """Each file's bytes as stored and as gzip sends them (docs/dashboard.md, tests)."""
    return {name: (len(a.body), len(a.gzip)) for name, a in _assets().items()}
