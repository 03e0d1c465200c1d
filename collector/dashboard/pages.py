"""Each dashboard page as data: the report functions the read API answers with (so the numbers are the
API's), turned into what its template draws and the tables its CSV and zip downloads hold."""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Final

import msgspec

from collector.dashboard import charts
from collector.errors import ApiError
from collector.reports import answers
from collector.sites import Site
from collector.storage.store import Store
from collector.tables import Table


class View(msgspec.Struct, kw_only=True):
    template: str
    context: dict[str, Any]
    tables: list[Table] = []
    error: str = ""  # the report's answer to bad parameters, shown on the page instead of the panels


Builder = Callable[[Store, Site, dict[str, str], date], View]


def own(report: str, query: dict[str, str]) -> dict[str, str]:
    """The parameters of `query` that `report` takes (a page's URL carries other pages' too)."""
    fields = answers.REPORTS[report][1].__struct_fields__
    return {k: v for k, v in query.items() if k in fields and v != ""}


def _asked(report: str, store: Store, site: Site, query: dict[str, str], today: date) -> tuple[dict[str, Any], str]:
    try:
        return answers.REPORTS[report][0](store, site, own(report, query), today), ""
    except ApiError as exc:
        if exc.status != 422:
            raise
        return {}, exc.detail


def retention(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    answer, error = _asked("retention", store, site, query, today)
    rows = charts.retention_triangle(answer) if answer else []
    periods = answer.get("periods", 0)
    table = Table(
        name="retention",
        title="Retention",
        columns=("cohort", "people", *(f"{answer.get('period', 'period')} {k}" for k in range(periods + 1))),
        rows=[[r.cohort, r.size, *(c.people for c in r.cells)] for r in rows],
    )
    return View(template="retention.html", context={"answer": answer, "rows": rows}, tables=[table], error=error)


def cohorts(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    answer, error = _asked("cohorts", store, site, query, today)
    cols = ("cohort", "size", "came_back", "churn_rate", "events_per_person", "revenue_per_person")
    table = Table(
        name="cohorts",
        title="Cohorts",
        columns=cols,
        rows=[[c[k] for k in cols] for c in answer.get("cohorts", [])],
    )
    return View(template="cohorts.html", context={"answer": answer}, tables=[table], error=error)


def funnels(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    if not query.get("steps"):
        return View(template="funnels.html", context={"answer": {}, "steps": []})
    answer, error = _asked("funnel", store, site, query, today)
    steps = charts.funnel_steps(answer) if answer else []
    table = Table(
        name="funnel",
        title="Funnel",
        columns=("step", "name", "people", "of_first", "of_previous", "dropped"),
        rows=[[s.number, s.name, s.people, s.of_first, s.of_previous, s.dropped] for s in steps],
    )
    return View(template="funnels.html", context={"answer": answer, "steps": steps}, tables=[table], error=error)


MEMBERS_PER_PAGE: Final = 100


def segments(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    if not query.get("did"):
        return View(template="segments.html", context={"answer": {}})
    asked = {**query, "limit": query.get("limit") or str(MEMBERS_PER_PAGE)}
    answer, error = _asked("segment", store, site, asked, today)
    table = Table(
        name="segment",
        title="Segment members",
        columns=("person", "first_day"),
        rows=[[m["person"], m["first_day"]] for m in answer.get("members", [])],
    )
    return View(template="segments.html", context={"answer": answer}, tables=[table], error=error)


PAGES: Final[dict[str, Builder]] = {
    "retention": retention,
    "cohorts": cohorts,
    "funnels": funnels,
    "segments": segments,
}
# What a page's "download everything" zip holds: every table of these pages, with the URL's parameters.
ZIPPED: Final = ("overview", "retention", "cohorts")


def presets(today: date) -> list[tuple[str, str, str]]:
    """Quick ranges: (label, since, until)."""
    out = [("Today", today.isoformat(), today.isoformat())]
    for days in (7, 30, 90):
        out.append((f"{days} days", (today - timedelta(days=days - 1)).isoformat(), today.isoformat()))
    out.append(("This month", today.replace(day=1).isoformat(), today.isoformat()))
    return out
