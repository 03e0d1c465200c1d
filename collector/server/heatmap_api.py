"""GET /api/v1/heatmap/layers and /api/v1/heatmap.png: a page's heatmap, as data and as an image.

The layers answer the read key, and the live overlay's token (collector/heatmaps/tokens.py): the overlay
runs on the site's own pages, so these answers carry CORS for the site's allowed origins, and their
preflight is answered. The token reads this one answer of its own site, nothing else.
"""

import asyncio
from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from collector.dashboard import overlay
from collector.errors import ApiError
from collector.heatmaps import tokens
from collector.reports import api as query
from collector.reports.heatmap_layers import layers
from collector.server.responses import JSON
from collector.sites import Site
from collector.storage.site_registry import Sites

PRIVATE: Final = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _site(request: Request) -> tuple[Site, int | None]:
    """The site of a read key, or of a live overlay token that has not expired (and its ms left: the
    overlay times its end by the server's clock, not by the owner's computer's)."""
    state = request.app.state
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(tokens.PREFIX):
        found = tokens.check(state.accounts.signer, value, state.now_ms())
        sites: Sites = state.sites
        site = next((s for s in sites.all() if found and s.site_id == found.site_id), None)
        if site is None:
            raise ApiError(
                401,
                "overlay_expired",
                "this heatmap link has expired or is not genuine: open it again from the dashboard",
                headers={"WWW-Authenticate": "Bearer", **_cors(request, None)},
            )
        assert found is not None
        return site, found.expires_ms - state.now_ms()
    return query.site_for_read_key(state.sites, request.headers.get("authorization")), None


def _cors(request: Request, site: Site | None) -> dict[str, str]:
    """CORS for a page of the site (any page, while the site is not known yet: the preflight, a 401)."""
    origin = request.headers.get("origin")
    if not origin or (site is not None and not site.allows_origin(origin)):
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def heatmap_layers(request: Request) -> Response:
    site, left_ms = _site(request)
    today = datetime.fromtimestamp(request.app.state.now_ms() / 1000, UTC).date()
    params = dict(request.query_params)
    answer = await asyncio.to_thread(layers, request.app.state.store, site, params, today)
    if left_ms is not None:
        answer["overlay"] = {"expires_in_ms": left_ms}
    return JSON({"site": site.name, **answer}, headers={**PRIVATE, **_cors(request, site)})


async def heatmap_layers_preflight(request: Request) -> Response:
    """The overlay sends its token in Authorization, which needs a preflight. The answer reveals nothing:
    which origins may read is decided on the GET, by the token's site. An OPTIONS that is not a CORS
    preflight is what it would be on any other path: a method this path does not allow."""
    if not (request.headers.get("origin") and request.headers.get("access-control-request-method")):
        raise ApiError(405, "method_not_allowed", "GET /api/v1/heatmap/layers; OPTIONS only as a CORS preflight")
    return Response(
        status_code=204,
        headers={
            **_cors(request, None),
            "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization",
            "Access-Control-Max-Age": "600",
        },
    )


async def heatmap_png(request: Request) -> Response:
    """The dashboard's heatmap page, same parameters, as an image (read key only)."""
    site = query.site_for_read_key(request.app.state.sites, request.headers.get("authorization"))
    return await overlay.png_response(request, site)
