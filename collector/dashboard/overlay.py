"""The live overlay's two ends on the collector: "open on my site" (a dashboard URL that mints a token
and sends the browser to the page with it in the fragment) and /s/overlay.js, the drawing code the
snippet loads when it finds that fragment (heat.js, then sdk-js/overlay.js)."""

import asyncio
import functools
import gzip
import hashlib
from urllib.parse import urlsplit

import brotli
from starlette.requests import Request
from starlette.responses import Response

from collector._resources import resource_dir
from collector.dashboard import auth
from collector.dashboard.export import heatmap_png
from collector.dashboard.render import build
from collector.dashboard.web import HERE, redirect
from collector.errors import ApiError
from collector.heatmaps import tokens
from collector.sites import Site

FRAGMENT = "ff_overlay"


def launch_url(site: Site, url: str, token: str) -> str:
    """`url` with the token added to its fragment, if the site may be opened there (its allowed origins)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(422, "invalid_parameter", f"url must be an http(s) URL of the site, got {url[:200]!r}")
    origin = f"{parts.scheme}://{parts.netloc}"
    if not site.allows_origin(origin):
        raise ApiError(
            422, "origin_not_allowed", f"{origin} is not one of {site.name}'s allowed origins: the overlay opens there"
        )
    # A hash route stays where it is ("#/orders&ff_overlay=..."): the snippet takes out only the token.
    fragment = f"{parts.fragment}&{FRAGMENT}={token}" if parts.fragment else f"{FRAGMENT}={token}"
    return parts._replace(fragment=fragment).geturl()


async def launch(request: Request) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    site, _ = auth.site_for(request, who)
    token = tokens.mint(auth.accounts(request).signer, site.site_id, request.app.state.now_ms())
    return redirect(launch_url(site, request.query_params.get("url", ""), token), status=303)


async def png(request: Request) -> Response:
    """/dashboard/<site>/heatmap.png: the heatmap page, with the same parameters, as an image."""
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    site, _ = auth.site_for(request, who)
    return await png_response(request, site)


async def png_response(request: Request, site: Site) -> Response:
    view = await build(request, site, "heatmaps")
    body = await asyncio.to_thread(heatmap_png, view)
    name = f"{site.name}-heatmap.png"
    return Response(
        body,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"},
    )


@functools.cache
def _overlay() -> tuple[bytes, bytes, bytes, str]:
    heat = (HERE / "static" / "heat.js").read_text("utf-8")
    body = (heat + "\n" + (resource_dir("sdk-js") / "overlay.js").read_text("utf-8")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return body, gzip.compress(body, 9, mtime=0), brotli.compress(body), etag


async def overlay_script(request: Request) -> Response:
    """The same file for every site: the token in its query string is read by the script, not here."""
    body, gz, br, etag = _overlay()
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    accepted = {p.split(";")[0].strip() for p in request.headers.get("accept-encoding", "").split(",")}
    if "br" in accepted:
        body, headers["Content-Encoding"] = br, "br"
    elif "gzip" in accepted:
        body, headers["Content-Encoding"] = gz, "gzip"
    return Response(body, media_type="text/javascript", headers=headers)
