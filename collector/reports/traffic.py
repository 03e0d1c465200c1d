"""The traffic basics: overview (against the previous period), timeseries, breakdowns, event names and
revenue, from one row per session (traffic_sessions, clickhouse/migrations/0011_traffic.sql).

Every report is one query (clickhouse/queries/traffic.sql) that turns each kept session into facts and
groups them; `panels` asks for all the facts at once and builds each answer with the same functions
as the endpoints, so the dashboard's numbers are the endpoints' numbers. Unfiltered, the days that
are over and rolled since their last events come from traffic_days (migration 0014, rolled by
collector/reports/traffic_days.py), with visitors merged from per-day uniqCombined(12) states.
`raw=True` makes the same sessions from `events` (tests, benchmarks/overview.py). docs/api.md has the
definitions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import msgspec

from collector.errors import ApiError
from collector.reports import traffic_params as t
from collector.reports.api import FIRST_DAY, days, parse, to_page_key
from collector.sites import Site
from collector.storage.sql import run
from collector.storage.store import Params, Row, Store

PANEL_ROWS: Final = 10


@dataclass(frozen=True)
class _Ask:
    """A request's days and filters, as the query takes them and as the answer echoes them."""

    since: date
    until: date
    today: date
    filters: dict[str, str]  # as asked (page keys for pages), '' left out
    params: dict[str, str]  # {f_<name>} bound by ClickHouse

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length right before the range."""
        length = self.until - self.since + timedelta(days=1)
        return self.since - length, self.since - timedelta(days=1)

    def days(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def _ask(p: t.Filtered, site: Site, today: date) -> _Ask:
    since, until = days(p, today)
    filters: dict[str, str] = {}
    params: dict[str, str] = {}
    for name in t.FILTERS:
        value: str = getattr(p, name)
        if not value:
            continue
        value = to_page_key(value, site) if name in t.PAGE_FILTERS else value
        filters[name] = value
        params[f"f_{name}"] = "" if name == "referrer" and value == t.DIRECT else value
    return _Ask(since, until, today, filters, params)


Facts = dict[str, list[Row]]


def _facts(
    store: Store,
    site: Site,
    ask: _Ask,
    *,
    raw: bool,
    top: int = PANEL_ROWS,
    overview: bool = False,
    previous: bool = False,
    timeseries: str = "",
    dims: tuple[str, ...] = (),
    revenue: bool = False,
) -> Facts:
    """The facts of the kept sessions, by kind (clickhouse/queries/traffic.sql)."""
    first = max(ask.previous[0], FIRST_DAY) if previous else ask.since
    params: Params = {
        "site": site.site_id,
        "first": first.isoformat(),
        **ask.days(),
        "today": ask.today.isoformat(),
        **ask.params,
        "top": top,
    }
    switches: dict[str, bool | str] = {
        "overview": overview,
        "previous": previous,
        "timeseries": timeseries,
        "dims": ",".join(d for d in dims if d in t.SESSION_DIMENSIONS),  # names of our own, never a request's
        "pages": "page" in dims,
        "events": "event" in dims,
        "revenue": revenue,
        "filters": ",".join(name for name in t.FILTERS if name in ask.filters),
        "rolled": False,  # closed days from traffic_days (collector/reports/traffic_days.py)
        "sessions": True,  # days from traffic_sessions (FINAL): with `rolled`, the {open} ones only
    }
    if not raw and not ask.filters:
        days = _rolled_days(store, params)
        switches |= {"rolled": bool(days["clean"]), "sessions": bool(days["open"]) or not days["clean"]}
        params = {**params, **days}
    found: Facts = {}
    for row in run(store, "traffic", params, raw=raw, **switches):
        found.setdefault(row["kind"], []).append(row)
    return found


def _rolled_days(store: Store, params: Params) -> dict[str, list[str] | list[int]]:
    """Which days of the asked ones an unfiltered answer reads from traffic_days (closed, and rolled
    since their last events: collector/reports/traffic_days.py) with their roll, and which from
    traffic_sessions (`open`); days without traffic from neither."""
    days = run(store, "traffic_clean", params)
    clean = {r["day"]: int(r["stamp"]) for r in days if int(r["stamp"])}
    return {
        "clean": list(clean),
        "stamps": list(clean.values()),
        "open": [r["day"] for r in days if r["day"] not in clean],
    }


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _duration_s(row: Row) -> float:
    return round(row["duration_ms"] / row["sessions"] / 1000, 3) if row["sessions"] else 0.0


_EMPTY: Final[Row] = {"visitors": 0, "sessions": 0, "pageviews": 0, "events": 0, "bounces": 0, "duration_ms": 0}


def _money(rows: list[Row]) -> list[t.Money]:
    return [t.Money(currency=r["value"], revenue=round(float(r["revenue"]), 6), orders=r["orders"]) for r in rows]


def _totals(row: Row, money: list[Row]) -> t.Totals:
    return t.Totals(
        visitors=row["visitors"],
        pageviews=row["pageviews"],
        sessions=row["sessions"],
        bounce_rate=_rate(row["bounces"], row["sessions"]),
        visit_duration_s=_duration_s(row),
        events=row["events"],
        revenue=_money(money),
    )


def _overview(ask: _Ask, facts: Facts) -> t.Overview:
    current = (facts.get("overview") or [_EMPTY])[0]
    before = (facts.get("overview_previous") or [_EMPTY])[0]
    since, until = ask.previous
    return t.Overview(
        range=t.Days(**ask.days()),
        previous_range=t.Days(since=since.isoformat(), until=until.isoformat()),
        filters=ask.filters,
        coverage=t.SessionCoverage(sessions=current["sessions"], events=current["events"]),
        current=_totals(current, facts.get("revenue", [])),
        previous=_totals(before, facts.get("revenue_previous", [])),
    )


def _buckets(ask: _Ask, interval: str) -> list[str]:
    if interval == "hour":
        start = datetime.combine(ask.since, time())
        hours = ((ask.until - ask.since).days + 1) * 24
        return [(start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:00:00Z") for h in range(hours)]
    step = 7 if interval == "week" else 1
    day = ask.since - timedelta(days=ask.since.weekday()) if interval == "week" else ask.since
    out = []
    while day <= ask.until:
        out.append(day.isoformat())
        day += timedelta(days=step)
    return out


def _interval(ask: _Ask, interval: str) -> str:
    if interval == "hour" and (ask.until - ask.since).days >= t.MAX_HOURLY_DAYS:
        raise ApiError(422, "invalid_parameter", f"interval=hour is for ranges of up to {t.MAX_HOURLY_DAYS} days")
    return interval


def _timeseries(ask: _Ask, interval: t.Interval, facts: Facts) -> t.Timeseries:
    by_bucket = {r["value"]: r for r in facts.get("timeseries", [])}
    points = []
    for bucket in _buckets(ask, interval):
        r = by_bucket.get(bucket, _EMPTY)
        points.append(
            t.Point(
                bucket=bucket,
                visitors=r["visitors"],
                pageviews=r["pageviews"],
                sessions=r["sessions"],
                events=r["events"],
                bounce_rate=_rate(r["bounces"], r["sessions"]),
                visit_duration_s=_duration_s(r),
            )
        )
    return t.Timeseries(
        interval=interval,
        range=t.Days(**ask.days()),
        filters=ask.filters,
        coverage=t.SessionCoverage(sessions=sum(p.sessions for p in points), events=sum(p.events for p in points)),
        points=points,
    )


def _breakdown(ask: _Ask, by: t.Dimension, facts: Facts, *, limit: int, offset: int) -> t.Breakdown:
    total = (facts.get("overview") or [_EMPTY])[0]
    rows = [
        t.Row(
            value=t.DIRECT if by == "referrer" and r["value"] == "" else r["value"],
            visitors=r["visitors"],
            sessions=r["sessions"],
            pageviews=r["pageviews"],
            bounce_rate=_rate(r["bounces"], r["sessions"]),
            visit_duration_s=_duration_s(r),
            share=_rate(r["visitors"], total["visitors"]),
        )
        for r in facts.get(by, [])[offset : offset + limit]
    ]
    return t.Breakdown(
        by=by,
        range=t.Days(**ask.days()),
        filters=ask.filters,
        coverage=t.VisitorCoverage(visitors=total["visitors"], sessions=total["sessions"]),
        limit=limit,
        offset=offset,
        rows=rows,
    )


def _event_names(ask: _Ask, facts: Facts, *, limit: int) -> t.EventNames:
    rows = facts.get("event", [])
    return t.EventNames(
        range=t.Days(**ask.days()),
        filters=ask.filters,
        coverage=t.EventCoverage(events=(facts.get("overview") or [_EMPTY])[0]["events"]),
        limit=limit,
        events=[t.EventName(name=r["value"], events=r["events"], visitors=r["visitors"]) for r in rows[:limit]],
    )


def _revenue(ask: _Ask, facts: Facts) -> t.Revenue:
    rows = facts.get("revenue", [])
    return t.Revenue(
        range=t.Days(**ask.days()),
        filters=ask.filters,
        coverage=t.OrderCoverage(orders=sum(r["orders"] for r in rows)),
        currencies=[
            t.CurrencyRevenue(
                currency=r["value"], revenue=round(float(r["revenue"]), 6), orders=r["orders"], visitors=r["visitors"]
            )
            for r in rows
        ],
    )


def _out(answer: t.Answer) -> dict[str, Any]:
    built: dict[str, Any] = msgspec.to_builtins(answer)
    return built


# -- the endpoints ------------------------------------------------------------------------------


def overview(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    ask = _ask(parse(t.OverviewQuery, query), site, today)
    facts = _facts(store, site, ask, raw=raw, overview=True, previous=True, revenue=True)
    return _out(_overview(ask, facts))


def timeseries(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(t.TimeseriesQuery, query)
    ask = _ask(p, site, today)
    facts = _facts(store, site, ask, raw=raw, timeseries=_interval(ask, p.interval))
    return _out(_timeseries(ask, p.interval, facts))


def breakdown(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(t.BreakdownQuery, query)
    ask = _ask(p, site, today)
    facts = _facts(store, site, ask, raw=raw, top=p.offset + p.limit, overview=True, dims=(p.by,))
    return _out(_breakdown(ask, p.by, facts, limit=p.limit, offset=p.offset))


def event_names(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(t.EventNamesQuery, query)
    ask = _ask(p, site, today)
    facts = _facts(store, site, ask, raw=raw, top=p.limit, overview=True, dims=("event",))
    return _out(_event_names(ask, facts, limit=p.limit))


def revenue(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    ask = _ask(parse(t.RevenueQuery, query), site, today)
    return _out(_revenue(ask, _facts(store, site, ask, raw=raw, revenue=True)))


def panels(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    """The dashboard's overview page in one query: every answer above, breakdowns and event names top 10."""
    p = parse(t.PanelsQuery, query)
    ask = _ask(p, site, today)
    interval = _interval(ask, p.interval)
    facts = _facts(
        store,
        site,
        ask,
        raw=raw,
        overview=True,
        previous=True,
        timeseries=interval,
        dims=(*t.DIMENSIONS, "event"),
        revenue=True,
    )
    answer = t.Panels(
        overview=_overview(ask, facts),
        timeseries=_timeseries(ask, p.interval, facts),
        breakdowns={d: _breakdown(ask, d, facts, limit=PANEL_ROWS, offset=0) for d in t.DIMENSIONS},  # type: ignore[arg-type]
        event_names=_event_names(ask, facts, limit=PANEL_ROWS),
        revenue=_revenue(ask, facts),
    )
    return _out(answer)


Report = Callable[..., dict[str, Any]]
# name -> (answer, parameters, summary, response): served as /api/v1/<name> (collector/reports/answers.py)
TRAFFIC: Final[dict[str, tuple[Report, type[t.Filtered], str, type[t.Answer]]]] = {
    "overview": (
        overview,
        t.OverviewQuery,
        "Visitors, pageviews, sessions, bounce rate, visit duration, events and revenue, and the period before.",
        t.Overview,
    ),
    "timeseries": (
        timeseries,
        t.TimeseriesQuery,
        "Visitors, pageviews and sessions per hour, day or week (UTC), zero-filled.",
        t.Timeseries,
    ),
    "breakdown": (
        breakdown,
        t.BreakdownQuery,
        "Visitors, sessions and pageviews by page, entry or exit page, referrer, UTM, place or agent (JSON or CSV).",
        t.Breakdown,
    ),
    "event-names": (
        event_names,
        t.EventNamesQuery,
        "Event names ($pageview, signup, ...) with their count and distinct visitors.",
        t.EventNames,
    ),
    "revenue": (revenue, t.RevenueQuery, "Revenue, orders and visitors per currency.", t.Revenue),
}
