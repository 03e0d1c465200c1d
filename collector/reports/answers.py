"""What site owners ask, answered from the rollups (clickhouse/migrations/0008_rollups.sql).

Each report has a parameter Struct: query-string values are converted by msgspec, and a bad one is a
422 naming the parameter. Each answer carries its time range and its coverage (how many events, page
views or people it rests on). `raw=True` runs the same question as a scan of `events`: the property
tests and benchmarks/queries.py compare the two.
"""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from collector.reports.api import Range, days, parse, to_page_key
from collector.reports.api import dates as _dates
from collector.reports.traffic import TRAFFIC
from collector.sites import Site
from collector.storage.sql import run
from collector.storage.store import Params, Store

Page = Annotated[
    str, Meta(min_length=1, max_length=4096, description="a page key (shop.example/products/:id) or a URL")
]
Width = Annotated[int, Meta(ge=0, le=100_000, description="a width bucket (320, 375, ..., 2560); 0: every width")]


class HeatmapQuery(Range, kw_only=True):
    page: Page
    type: Literal["click", "rageclick", "deadclick", "move"] = "click"
    width: Width = 0
    step_x: Annotated[int, Meta(ge=1, le=100, description="tile width, % of the document width")] = 1
    step_y: Annotated[int, Meta(ge=10, le=10_000, multiple_of=10, description="tile height, pixels")] = 10
    visitors: Annotated[bool, Meta(description="also count each tile's distinct visitors (slower)")] = False


class ElementsQuery(Range, kw_only=True):
    page: Annotated[str, Meta(max_length=4096, description="a page key or URL; empty: every page")] = ""
    type: Literal["click", "rageclick", "deadclick"] = "click"
    width: Width = 0
    limit: Annotated[int, Meta(ge=1, le=1000)] = 50


class ScrollQuery(Range, kw_only=True):
    page: Page
    width: Width = 0


class People(Range, kw_only=True):
    """Who counts, by first touch (their first event ever): shared by retention, cohorts and segments."""

    country: Annotated[str, Meta(max_length=64)] = ""
    device: Annotated[str, Meta(max_length=64)] = ""
    utm_source: Annotated[str, Meta(max_length=500)] = ""

    def filtered(self) -> bool:
        return bool(self.country or self.device or self.utm_source)


class Cohorted(People, kw_only=True):
    period: Literal["day", "week", "month"] = "week"
    periods: Annotated[int, Meta(ge=1, le=60, description="how many periods after the cohort's")] = 12
    cohort_event: Annotated[
        str, Meta(max_length=200, description="cohort by first occurrence of this event; empty: first visit")
    ] = ""


class RetentionQuery(Cohorted, kw_only=True):
    return_event: Annotated[str, Meta(max_length=200, description="what counts as coming back; empty: anything")] = ""


class CohortsQuery(Cohorted, kw_only=True):
    periods: Annotated[int, Meta(ge=1, le=60, description="events and revenue are counted over this many periods")] = 12


class SegmentQuery(People, kw_only=True):
    did: Annotated[str, Meta(min_length=1, max_length=200, description="an event name: signup, $pageview, ...")]
    not_did: Annotated[str, Meta(max_length=200, description="...and not this one within `within_days` after")] = ""
    within_days: Annotated[int, Meta(ge=0, le=3660)] = 7
    limit: Annotated[int, Meta(ge=1, le=10_000)] = 100
    offset: Annotated[int, Meta(ge=0)] = 0
    format: Literal["json", "csv"] = "json"


class FunnelQuery(Range, kw_only=True):
    steps: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=200)]],
        Meta(min_length=2, max_length=8, description="event names in order, comma-separated"),
    ]
    window_s: Annotated[int, Meta(ge=1, le=90 * 86_400, description="seconds from the first step to the last")] = 86_400


class PagesQuery(Range, kw_only=True):
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class CountersQuery(Range, kw_only=True):
    pass


def heatmap(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(HeatmapQuery, query)
    since, until = days(p, today)
    params: Params = {"site": site.site_id, "page": to_page_key(p.page, site), "kind": p.type, "width": p.width}
    steps = {"step_x": p.step_x, "step_y": p.step_y}
    rows = run(store, "heatmap", {**params, **_dates(since, until), **steps}, raw=raw, visitors=p.visitors)
    fields = ("x_pct", "y_px", "fixed", "hits", "visitors") if p.visitors else ("x_pct", "y_px", "fixed", "hits")
    tiles = [{k: r[k] for k in fields} for r in rows]
    return {
        "page": params["page"],
        "type": p.type,
        "width": p.width,
        "resolution": {"x_pct": p.step_x, "y_px": p.step_y},
        "range": _dates(since, until),
        "coverage": {"hits": sum(t["hits"] for t in tiles)},
        "tiles": tiles,
    }


def elements(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(ElementsQuery, query)
    since, until = days(p, today)
    page = to_page_key(p.page, site) if p.page else ""
    params: Params = {"site": site.site_id, "page": page, "kind": p.type, "width": p.width, "limit": p.limit}
    rows = run(store, "elements", {**params, **_dates(since, until)}, raw=raw)
    return {
        "page": page,
        "type": p.type,
        "range": _dates(since, until),
        "coverage": {"hits": sum(r["hits"] for r in rows)},
        "elements": rows,
    }


def scroll(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(ScrollQuery, query)
    since, until = days(p, today)
    page = to_page_key(p.page, site)
    rows = run(store, "scroll", {"site": site.site_id, "page": page, "width": p.width, **_dates(since, until)}, raw=raw)
    counts = {r["depth"]: r["pageviews"] for r in rows}
    return {
        "page": page,
        "range": _dates(since, until),
        "coverage": {"pageviews": sum(counts.values())},
        "distribution": [{"depth": d, "pageviews": counts.get(d, 0)} for d in range(0, 101, 5)],
        "reached": reach(counts),
    }


def reach(counts: dict[int, int]) -> list[dict[str, Any]]:
    """From pageviews by deepest 5% bucket: per depth, the pageviews that reached at least that deep."""
    total = sum(counts.values())
    reached, running = [], 0
    for depth in range(100, -1, -5):
        running += counts.get(depth, 0)
        reached.append({"depth": depth, "pageviews": running, "share": running / total if total else 0.0})
    return reached[::-1]


_PERIOD_DAYS: Final = {"day": 1, "week": 7, "month": 31}
_PERIOD_COLUMN: Final = {"day": "days", "week": "weeks", "month": "months"}  # actor_events' columns


def _period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _add_periods(start: date, period: str, n: int) -> date:
    if period == "month":
        month = start.month - 1 + n
        return start.replace(year=start.year + month // 12, month=month % 12 + 1)
    return start + timedelta(days=n * _PERIOD_DAYS[period])


def _ended(start: date, period: str, k: int, today: date) -> bool:
    """Whether period k after `start` is over by `today` (the app's clock; today itself is not over)."""
    return _add_periods(start, period, k + 1) <= today


def _cohort_params(p: Cohorted, site: Site, today: date) -> tuple[date, date, dict[str, Any]]:
    """The range, from the start of its first period, and the query parameters of a cohort report."""
    since, until = days(p, today)
    since = _period_start(since, p.period)
    params = {
        **msgspec.structs.asdict(p),
        **_dates(since, until),
        "site": site.site_id,
        "horizon_days": (p.periods + 1) * _PERIOD_DAYS[p.period],
        "current": _period_start(today, p.period).isoformat(),  # the first period not over yet
    }
    return since, until, params


def retention(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(RetentionQuery, query)
    since, until, params = _cohort_params(p, site, today)
    params |= {
        "cohort_name": p.cohort_event or "*",  # actor_events keeps "any event" under the name "*"
        "return_name": p.return_event or "*",
    }
    sizes: dict[str, int] = {}
    returned: dict[str, dict[int, int]] = {}
    switches: dict[str, bool | str] = {"activity": False, "filtered": p.filtered(), "periods": _PERIOD_COLUMN[p.period]}
    for row in run(store, "retention", params, raw=raw, **switches):
        if row["offset"] < 0:
            sizes[row["cohort_start"]] = row["people"]
        else:
            returned.setdefault(row["cohort_start"], {})[row["offset"]] = row["people"]
    cohorts = []
    for cohort, size in sorted(sizes.items()):
        start = date.fromisoformat(cohort)
        ended = [k for k in range(p.periods + 1) if _ended(start, p.period, k, today)]
        counts = [returned.get(cohort, {}).get(k, 0) for k in ended]
        cohorts.append({"cohort": cohort, "size": size, "returned": counts, "rates": [n / size for n in counts]})
    return {
        "period": p.period,
        "periods": p.periods,
        "cohort_event": p.cohort_event,
        "return_event": p.return_event,
        "range": _dates(since, until),
        "coverage": {"people": sum(sizes.values())},
        "cohorts": cohorts,
    }


def cohorts(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(CohortsQuery, query)
    since, until, params = _cohort_params(p, site, today)
    params["return_event"] = ""
    rows = run(store, "cohorts", params, raw=raw, activity=True, filtered=p.filtered())
    out = []
    for row in rows:
        size = row["size"]
        next_ended = _ended(date.fromisoformat(row["cohort_start"]), p.period, 1, today)
        out.append(
            {
                "cohort": row["cohort_start"],
                "size": size,
                "came_back": row["came_back"] if next_ended else None,
                "churn_rate": 1 - row["came_back"] / size if next_ended else None,
                "events_per_person": row["events"] / size,
                "revenue_per_person": round(row["revenue"] / size, 6) if row["revenue"] else None,
            }
        )
    return {
        "period": p.period,
        "periods": p.periods,
        "range": _dates(since, until),
        "coverage": {"people": sum(r["size"] for r in rows)},
        "cohorts": out,
    }


def segment(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(SegmentQuery, query)
    since, until = days(p, today)
    params: Params = {
        **_dates(since, until),
        "site": site.site_id,
        "horizon_days": p.within_days,
        "cohort_event": p.did,
        "return_event": p.not_did,
        "cohort_name": p.did,
        "return_name": p.not_did,  # "": nothing to avoid
        "within_days": p.within_days,
        "period": "day",
        "country": p.country,
        "device": p.device,
        "utm_source": p.utm_source,
        "limit": p.limit,
        "offset": p.offset,
    }
    rows = run(store, "segment", params, raw=raw, activity=False, filtered=p.filtered(), periods="days")
    total = rows[0]["total"] if rows else 0
    members = [{"person": r["person"], "first_day": r["first_day"]} for r in rows]
    return {
        "did": p.did,
        "not_did": p.not_did,
        "within_days": p.within_days,
        "range": _dates(since, until),
        "coverage": {"people": total},
        "count": total,
        "limit": p.limit,
        "offset": p.offset,
        "members": members,
    }


def funnel(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    if isinstance(query.get("steps"), str):
        query = {**query, "steps": [s.strip() for s in query["steps"].split(",")]}  # type: ignore[dict-item]
    p = parse(FunnelQuery, query)
    since, until = days(p, today)
    params: Params = {
        "site": site.site_id,
        **_dates(since, until),
        "steps": p.steps,
        "window_s": p.window_s,
        "horizon_days": p.window_s // 86_400 + 1,
    }
    levels = {r["level"]: r["people"] for r in run(store, "funnel", params, raw=raw)}
    reached = [sum(n for level, n in levels.items() if level >= k) for k in range(1, len(p.steps) + 1)]
    return {
        "steps": [
            {"step": name, "people": n, "of_first": n / reached[0] if reached[0] else 0.0}
            for name, n in zip(p.steps, reached, strict=True)
        ],
        "window_s": p.window_s,
        "range": _dates(since, until),
        "coverage": {"people": reached[0]},
    }


def pages(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = True) -> dict[str, Any]:
    p = parse(PagesQuery, query)
    since, until = days(p, today)
    rows = run(store, "pages", {"site": site.site_id, **_dates(since, until), "limit": p.limit})
    return {"range": _dates(since, until), "coverage": {"pageviews": sum(r["pageviews"] for r in rows)}, "pages": rows}


def counters(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = True) -> dict[str, Any]:
    p = parse(CountersQuery, query)
    since, until = days(p, today)
    rows = run(store, "counters", {"site": site.site_id, **_dates(since, until)})
    return {"range": _dates(since, until), "coverage": {"events": sum(r["events"] for r in rows)}, "counters": rows}


Report = Callable[..., dict[str, Any]]
REPORTS: Final[dict[str, tuple[Report, type[Range], str]]] = {
    "heatmap": (heatmap, HeatmapQuery, "Hits and distinct visitors per tile of one page."),
    "elements": (elements, ElementsQuery, "The most clicked, rage-clicked or dead-clicked elements."),
    "scroll": (scroll, ScrollQuery, "Pageviews by deepest scroll, and the share that reached each depth."),
    "retention": (retention, RetentionQuery, "Cohorts by first event or visit, and who came back, per period."),
    "cohorts": (cohorts, CohortsQuery, "Cohort sizes, churn, events and revenue per person."),
    "segment": (segment, SegmentQuery, "People who did one event and not another within N days (JSON or CSV)."),
    "funnel": (funnel, FunnelQuery, "People through ordered steps within a time window."),
    "pages": (pages, PagesQuery, "Pageviews and visitors per page."),
    "counters": (counters, CountersQuery, "Events accepted, rejected and dropped, by reason."),
    **{name: (answer, kind, summary) for name, (answer, kind, summary, _) in TRAFFIC.items()},
}
