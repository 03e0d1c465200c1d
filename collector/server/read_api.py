"""GET /api/v1/...: the reports (collector.reports) for the site of a read key, as JSON or CSV."""

import asyncio
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from collector.errors import ApiError
from collector.heatmaps import answers as snapshot_answers
from collector.people import listing, profile
from collector.reports import answers as reports
from collector.reports import api as query
from collector.reports import live as live_report
from collector.server.responses import JSON
from collector.tables import Table, to_csv

# -- read API -----------------------------------------------------------------------------------

# A site's data: kept out of shared caches and never sniffed as another type.
PRIVATE: Final = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


async def events(request: Request) -> Response:
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    params = dict(request.query_params)
    return JSON(await asyncio.to_thread(query.recent_events, state.store, site, params), headers=PRIVATE)


async def live(request: Request) -> Response:
    """GET /api/v1/live: collector/reports/live.py, with this process's ingest health (the main process's:
    edges relay the read API to it)."""
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    params = live_report.parse(dict(request.query_params))
    probe = getattr(state, "ingest_health", None)  # set while the writer runs

    def answer() -> dict[str, Any]:
        health = probe() if probe is not None else None
        return live_report.live(state.store, site, params, now_ms=state.now_ms(), health=health)

    return JSON({"site": site.name, **await asyncio.to_thread(answer)}, headers=PRIVATE)


async def report(request: Request) -> Response:
    """GET /api/v1/<report>: collector/reports/answers.py, answered from the rollups."""
    state = request.app.state
    name = request.path_params["report"]
    if name not in reports.REPORTS:
        raise ApiError(404, "not_found", f"no report named {name!r}; see /api/v1/openapi.json")
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    today = datetime.fromtimestamp(state.now_ms() / 1000, UTC).date()
    answer = reports.REPORTS[name][0]
    params = dict(request.query_params)
    result = await asyncio.to_thread(answer, state.store, site, params, today)
    if params.get("format") == "csv":  # a segment's members or a breakdown's rows, for a spreadsheet
        disposition = f'attachment; filename="{site.name}-{name}.csv"'
        text = to_csv(_csv_table(result))
        return Response(text, media_type="text/csv", headers={"Content-Disposition": disposition, **PRIVATE})
    return JSON({"site": site.name, **result}, headers=PRIVATE)


_BREAKDOWN_COLUMNS: Final = ("visitors", "sessions", "pageviews", "bounce_rate", "visit_duration_s", "share")


def _csv_table(result: dict[str, Any]) -> Table:
    """A segment's members or a breakdown's rows (the `format` parameter exists on these two reports only),
    written by the same spreadsheet-safe writer as every other CSV (collector/tables.py)."""
    if "members" in result:
        members = [(m["person"], m["first_day"]) for m in result["members"]]
        return Table(name="members", title="Members", columns=("person", "first_day"), rows=members)
    rows = [(r["value"], *(r[c] for c in _BREAKDOWN_COLUMNS)) for r in result["rows"]]
    return Table(name="breakdown", title="Breakdown", columns=(result["by"], *_BREAKDOWN_COLUMNS), rows=rows)


async def people(request: Request) -> Response:
    """GET /api/v1/people: collector/people/listing.py, as JSON or CSV."""
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    params = dict(request.query_params)
    answer = await asyncio.to_thread(listing.people, state.store, site, params, now_ms=state.now_ms())
    if params.get("format") == "csv":
        disposition = f'attachment; filename="{site.name}-people.csv"'
        text = to_csv(listing.to_table(answer, params))
        headers = {"Content-Disposition": disposition, **PRIVATE}
        if answer.next_cursor:
            headers["X-Next-Cursor"] = answer.next_cursor  # the next page: ?cursor=
        return Response(text, media_type="text/csv", headers=headers)
    return JSON({"site": site.name, **msgspec.structs.asdict(answer)}, headers=PRIVATE)


async def person(request: Request) -> Response:
    """GET /api/v1/people/{id}: collector/people/profile.py."""
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    person_id, params = request.path_params["person_id"], dict(request.query_params)
    answer = await asyncio.to_thread(profile.profile, state.store, site, person_id, params, now_ms=state.now_ms())
    return JSON({"site": site.name, **msgspec.structs.asdict(answer)}, headers=PRIVATE)


async def person_timeline(request: Request) -> Response:
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    person_id, params = request.path_params["person_id"], dict(request.query_params)
    answer = await asyncio.to_thread(profile.timeline, state.store, site, person_id, params)
    return JSON({"site": site.name, **msgspec.structs.asdict(answer)}, headers=PRIVATE)


async def openapi_spec(request: Request) -> Response:
    return JSON(request.app.state.openapi)


async def snapshot_versions(request: Request) -> Response:
    """GET /api/v1/snapshots: a page's backdrops at one width (collector/heatmaps/answers.py)."""
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    params = dict(request.query_params)
    answer = await asyncio.to_thread(snapshot_answers.listing, state.store, site, params)
    return JSON({"site": site.name, **answer}, headers=PRIVATE)


async def snapshot_one(request: Request) -> Response:
    state = request.app.state
    site = query.site_for_read_key(state.sites, request.headers.get("authorization"))
    answer = await asyncio.to_thread(snapshot_answers.one, state.store, site, request.path_params["snapshot_id"])
    return JSON({"site": site.name, **answer}, headers=PRIVATE)
