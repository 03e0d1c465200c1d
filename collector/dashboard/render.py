"""A dashboard page, built: its report answers (collector.dashboard.pages) and what every template gets."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request

from collector.dashboard import auth, heatmaps, live, overview
from collector.dashboard.pages import PAGES, Builder, View, presets
from collector.dashboard.web import query_with
from collector.errors import ApiError
from collector.sites import Site


def today(request: Request) -> date:
    return datetime.fromtimestamp(request.app.state.now_ms() / 1000, UTC).date()


def builder(name: str) -> Builder:
    found = {**PAGES, "overview": overview.overview, "heatmaps": heatmaps.heatmaps}.get(name)
    if found is None:
        raise ApiError(404, "not_found", f"no dashboard page {name!r}")
    return found


async def build(request: Request, site: Site, name: str) -> View:
    if name == "live":  # what the app's process holds (ingest health) as well as the store
        return await live.view(request, site)
    params = {k: v for k, v in request.query_params.items()}
    return await asyncio.to_thread(builder(name), request.app.state.store, site, params, today(request))


def context(
    request: Request, view: View, *, who: auth.Viewer | None, site: Site, role: str, name: str
) -> dict[str, Any]:
    base = f"/dashboard/{site.name}"
    return {
        "who": who,
        "site": site,
        "role": role,
        "sites": auth.visible_sites(request, who.user) if who else [],
        "nav": name,
        "base": base,
        "query": request.url.query,
        "with": lambda **changes: query_with(request, **changes),
        "presets": presets(today(request)),
        "params": dict(request.query_params),
        "csrf": who.csrf if who else "",
        "error": view.error,
        "tables": view.tables,
        "shared": None,
        "shown_range": _shown_range(view, today(request)),
        **view.context,
    }


def _shown_range(view: View, day: date) -> dict[str, str]:
    """The days a page's answer covers, for its range form (the reports' default: the last 30 days)."""
    answer = view.context.get("answer") or (view.context.get("panels") or {}).get("overview") or {}
    found: dict[str, str] | None = answer.get("range")
    return found or {"since": (day - timedelta(days=29)).isoformat(), "until": day.isoformat()}
