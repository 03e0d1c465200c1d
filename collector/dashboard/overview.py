"""The overview page: the traffic basics for a range beside the previous period, the time series, and
every breakdown, from one call of the panels report (collector.reports.traffic). Every breakdown row is
a filter for the whole page, as in Plausible: its link adds `<dimension>=<value>` to the URL."""

from datetime import date
from typing import Any, Final

import msgspec

from collector.dashboard import charts
from collector.dashboard.pages import View
from collector.errors import ApiError
from collector.reports import traffic
from collector.reports.traffic_params import DIMENSIONS, DIRECT, FILTERS, PanelsQuery
from collector.sites import Site
from collector.storage.store import Store
from collector.tables import Table

TITLES: Final = {
    "page": "Top pages",
    "entry_page": "Entry pages",
    "exit_page": "Exit pages",
    "referrer": "Referrers",
    "utm_source": "UTM sources",
    "utm_medium": "UTM media",
    "utm_campaign": "UTM campaigns",
    "country": "Countries",
    "device": "Devices",
    "browser": "Browsers",
    "os": "Operating systems",
}
# The headline numbers: (label, key in the totals, how to print it, whether more is better)
STATS: Final = (
    ("Visitors", "visitors", "n", True),
    ("Pageviews", "pageviews", "n", True),
    ("Sessions", "sessions", "n", True),
    ("Bounce rate", "bounce_rate", "pct", False),
    ("Visit duration", "visit_duration_s", "s", True),
    ("Events", "events", "n", True),
)


class Stat(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    key: str
    kind: str
    current: float
    previous: float
    change: float | None
    better: bool | None  # whether the change is good news (None: no change to speak of)


def _stats(current: dict[str, Any], previous: dict[str, Any]) -> list[Stat]:
    out = []
    for label, key, kind, more_is_better in STATS:
        change = charts.change(current[key], previous[key])
        better = None if not change else (change > 0) == more_is_better
        out.append(
            Stat(
                label=label,
                key=key,
                kind=kind,
                current=current[key],
                previous=previous[key],
                change=change,
                better=better,
            )
        )
    return out


def _shown(dimension: str, value: str) -> str:
    if dimension == "referrer" and value == "":
        return DIRECT
    return value or "(none)"


def overview(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    asked = {k: v for k, v in query.items() if k in PanelsQuery.__struct_fields__ and v != ""}
    filters = [(k, asked[k]) for k in FILTERS if k in asked]
    try:
        panels = traffic.panels(store, site, asked, today)
    except ApiError as exc:
        if exc.status != 422:
            raise
        empty = {"panels": None, "filters": filters, "clear": dict.fromkeys(FILTERS)}
        return View(template="overview.html", context=empty, error=exc.detail)
    points = panels["timeseries"]["points"]
    series = {
        "interval": panels["timeseries"]["interval"],
        "x": charts.series_epoch(points, key="bucket"),
        "visitors": [p["visitors"] for p in points],
        "pageviews": [p["pageviews"] for p in points],
    }
    columns = ("value", "visitors", "sessions", "pageviews", "bounce_rate", "visit_duration_s", "share")
    tables = [
        Table(
            name="timeseries",
            title="Visitors over time",
            columns=("bucket", "visitors", "pageviews", "sessions", "events", "bounce_rate", "visit_duration_s"),
            rows=[
                [
                    p["bucket"],
                    p["visitors"],
                    p["pageviews"],
                    p["sessions"],
                    p["events"],
                    p["bounce_rate"],
                    p["visit_duration_s"],
                ]
                for p in points
            ],
        ),
        *(
            Table(
                name=dim,
                title=TITLES[dim],
                columns=(dim, *columns[1:]),
                rows=[
                    [_shown(dim, r["value"]), *(r[c] for c in columns[1:])] for r in panels["breakdowns"][dim]["rows"]
                ],
            )
            for dim in DIMENSIONS
        ),
        Table(
            name="events",
            title="Events",
            columns=("name", "events", "visitors"),
            rows=[[e["name"], e["events"], e["visitors"]] for e in panels["event_names"]["events"]],
        ),
        Table(
            name="revenue",
            title="Revenue",
            columns=("currency", "revenue", "orders", "visitors"),
            rows=[
                [c["currency"] or "(none)", c["revenue"], c["orders"], c["visitors"]]
                for c in panels["revenue"]["currencies"]
            ],
        ),
    ]
    context: dict[str, Any] = {
        "panels": panels,
        "stats": _stats(panels["overview"]["current"], panels["overview"]["previous"]),
        "series": series,
        "filters": filters,
        "dimensions": [(d, TITLES[d]) for d in DIMENSIONS],
        "shown": _shown,
        "direct": DIRECT,
        "clear": dict.fromkeys(FILTERS),
    }
    return View(template="overview.html", context=context, tables=tables)
