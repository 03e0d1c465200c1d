"""The traffic reports: known answers for the definitions (sessions, bounces, the previous period,
direct, revenue per currency), the rollup equal to a scan of the raw events on random histories with
duplicates and replays (hypothesis, with each filter), panels() equal to the endpoints, the HTTP
surface (CSV, 422, response schemas), closed days rolled into traffic_days or not (and late events for
them), and migrations 0011 and 0014 over events stored before them."""

import copy
import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import NOW, Collector, spool_folder, store_through_the_writer

from collector.errors import ApiError
from collector.reports import traffic, traffic_days
from collector.reports.traffic_params import DIMENSIONS, FILTERS
from collector.sites import Site
from collector.storage.migrate import load, migrate
from collector.storage.rows import EventRow
from collector.storage.sql import run
from collector.storage.store import Params
from collector.storage.store_chdb import ChdbStore

# Days near the real date: ClickHouse drops events past their retention by its own clock.
BASE = datetime.combine(NOW.date() - timedelta(days=40), time(), UTC)
TODAY = (BASE + timedelta(days=20)).date()
WEEK = {"since": (BASE + timedelta(days=7)).date().isoformat(), "until": (BASE + timedelta(days=13)).date().isoformat()}
_sites = itertools.count(1000)  # above the registry's ids (the HTTP test adds a site)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    """One store for the module: every test and example takes a site of its own."""
    opened = ChdbStore(tmp_path_factory.mktemp("traffic") / "data", database="footfall")
    migrate(opened)
    try:
        yield opened
    finally:
        opened.close()


def site_of(rows: list[EventRow]) -> Site:
    return Site(site_id=rows[0].site_id, name="s", allowed_origins=(), write_key="w", read_key_sha256="r")


def hit(site_id: int, at: datetime, kind: str = "pageview", **fields: Any) -> EventRow:
    seconds = f"{at.timestamp():.3f}"
    base: dict[str, Any] = {"host": "shop.example", "page_key": "shop.example/", "visitor_key": "k"}
    return EventRow(
        site_id=site_id,
        event_id=str(uuid.uuid4()),
        type=kind,
        timestamp=seconds,
        client_ts=seconds,
        received_at=seconds,
        **{**base, **fields},
    )


def every_answer(store: ChdbStore, site: Site, query: dict[str, str], *, raw: bool) -> dict[str, Any]:
    """Each endpoint's answer, shaped as panels() gives them."""
    ten = {**query, "limit": "10"}
    return {
        "overview": traffic.overview(store, site, query, TODAY, raw=raw),
        "timeseries": traffic.timeseries(store, site, query, TODAY, raw=raw),
        "breakdowns": {by: traffic.breakdown(store, site, {**ten, "by": by}, TODAY, raw=raw) for by in DIMENSIONS},
        "event_names": traffic.event_names(store, site, ten, TODAY, raw=raw),
        "revenue": traffic.revenue(store, site, query, TODAY, raw=raw),
    }


# -- known answers ------------------------------------------------------------------------------


def test_sessions_bounces_the_previous_period_and_revenue_per_currency(store: ChdbStore, tmp_path: Path) -> None:
    site_id = next(_sites)
    day = BASE + timedelta(days=8, hours=10)
    rows = [
        # ann: one session from google over two pages, a purchase in EUR; 90 s long
        hit(site_id, day, anonymous_id="ann", session_id="s1", referrer_host="www.google.com", country="DE"),
        hit(site_id, day + timedelta(seconds=30), anonymous_id="ann", session_id="s1", page_key="shop.example/p"),
        hit(
            site_id,
            day + timedelta(seconds=90),
            "track",
            name="purchase",
            anonymous_id="ann",
            session_id="s1",
            properties=json.dumps({"revenue": 12.5, "currency": "EUR"}),
        ),
        # bob: a bounce, referred by the site itself (direct), and a second session the next day
        hit(site_id, day, anonymous_id="bob", session_id="s2", referrer_host="shop.example", country="FR"),
        hit(site_id, day + timedelta(days=1), anonymous_id="bob", session_id="s3", utm_source="news"),
        hit(site_id, day + timedelta(days=1, seconds=5), "identify", anonymous_id="bob", session_id="s3", user_id="b"),
        # a cookieless visitor without a session id: its day is one session, across midnight two
        hit(site_id, day.replace(hour=23, minute=59), visitor_key="c1", page_key="shop.example/late"),
        hit(site_id, day.replace(hour=23, minute=59) + timedelta(minutes=2), visitor_key="c1"),
        # a server-side order without currency, and the week before: one pageview
        hit(site_id, day, "track", name="renewal", visitor_key="srv", properties=json.dumps({"revenue": "3"})),
        hit(site_id, day - timedelta(days=7), anonymous_id="old", session_id="s0"),
    ]
    store_through_the_writer(store, spool_folder(tmp_path), rows, [1, 4])
    site = site_of(rows)
    overview = traffic.overview(store, site, WEEK, TODAY)
    assert overview["previous_range"] == {
        "since": BASE.date().isoformat(),
        "until": (BASE + timedelta(days=6)).date().isoformat(),
    }
    assert overview["current"] == {
        "visitors": 4,  # ann, bob, c1, srv
        "pageviews": 6,
        "sessions": 6,  # s1, s2, s3, c1 twice, srv
        "bounce_rate": 3 / 6,  # s2 and c1's two one-pageview days; srv's session has no pageview
        "visit_duration_s": round((90 + 5) / 6, 3),
        "events": 9,
        "revenue": [{"currency": "EUR", "revenue": 12.5, "orders": 1}, {"currency": "", "revenue": 3.0, "orders": 1}],
    }
    assert overview["previous"]["sessions"] == 1
    assert overview["coverage"] == {"sessions": 6, "events": 9}
    referrers = traffic.breakdown(store, site, {**WEEK, "by": "referrer"}, TODAY)["rows"]
    assert [(r["value"], r["visitors"], r["sessions"]) for r in referrers] == [
        ("(direct)", 3, 5),
        ("www.google.com", 1, 1),
    ]
    direct = traffic.overview(store, site, {**WEEK, "referrer": "(direct)"}, TODAY)
    assert (direct["current"]["sessions"], direct["filters"]) == (5, {"referrer": "(direct)"})
    bought = traffic.overview(store, site, {**WEEK, "event": "purchase"}, TODAY)["current"]
    assert (bought["sessions"], bought["pageviews"], bought["events"]) == (1, 2, 3)  # the whole session counts
    entries = traffic.breakdown(store, site, {**WEEK, "by": "entry_page", "limit": "2", "offset": "1"}, TODAY)
    assert [r["value"] for r in entries["rows"]] == ["", "shop.example/late"]  # '': srv's session, no pageview
    names = traffic.event_names(store, site, WEEK, TODAY)["events"]
    assert names[0] == {"name": "$pageview", "events": 6, "visitors": 3}
    revenue = traffic.revenue(store, site, WEEK, TODAY)
    assert revenue["currencies"][0] == {"currency": "EUR", "revenue": 12.5, "orders": 1, "visitors": 1}
    hourly = traffic.timeseries(store, site, {**WEEK, "interval": "hour"}, TODAY)["points"]
    assert (len(hourly), sum(p["sessions"] for p in hourly)) == (7 * 24, 6)
    weekly = traffic.timeseries(store, site, {**WEEK, "interval": "week"}, TODAY)["points"]
    assert weekly[0]["bucket"] <= WEEK["since"] < weekly[1]["bucket"]  # Mondays
    assert traffic.panels(store, site, WEEK, TODAY) == traffic.panels(store, site, WEEK, TODAY, raw=True)
    for query in ({}, {"referrer": "(direct)"}, {"page": "https://shop.example/p"}):
        assert traffic.panels(store, site, {**WEEK, **query}, TODAY) == every_answer(
            store, site, {**WEEK, **query}, raw=False
        )
    assert len(traffic.timeseries(store, site, {"interval": "hour"}, TODAY)["points"]) == 30 * 24
    with pytest.raises(ApiError, match="interval=hour"):
        traffic.timeseries(store, site, {"since": "2026-01-01", "until": "2026-02-01", "interval": "hour"}, TODAY)


# -- rollup == raw scan -------------------------------------------------------------------------

PAGES = ("shop.example/", "shop.example/a", "shop.example/b")
VALUES: dict[str, tuple[str, ...]] = {
    "referrer_host": ("", "www.google.com", "shop.example"),
    "utm_source": ("", "news"),
    "utm_medium": ("", "email"),
    "utm_campaign": ("", "spring"),
    "country": ("DE", "FR"),
    "device": ("desktop", "mobile"),
    "browser": ("Chrome", "Firefox"),
    "os": ("Linux", "iOS"),
}


@st.composite
def histories(draw: st.DrawFn) -> list[EventRow]:
    """A few visitors over two weeks: sessions with and without ids (some across midnight), pageviews,
    track events with revenue in some currency or none, identify and clicks, in any order."""
    site_id = next(_sites)
    rows: list[EventRow] = []
    for visitor in range(draw(st.integers(1, 3))):
        for visit in range(draw(st.integers(1, 3))):
            start = BASE + timedelta(days=draw(st.integers(0, 13)), seconds=draw(st.integers(0, 86_399)))
            session = draw(st.sampled_from([f"s{visitor}.{visit}", ""]))
            for _ in range(draw(st.integers(1, 4))):
                at = start + timedelta(seconds=draw(st.integers(0, 7200)) + len(rows) / 1000)
                kind = draw(st.sampled_from(["pageview", "pageview", "track", "identify", "click"]))
                fields = {name: draw(st.sampled_from(values)) for name, values in VALUES.items()}
                row = hit(
                    site_id,
                    at,
                    kind,
                    anonymous_id=draw(st.sampled_from([f"a{visitor}", ""])),
                    visitor_key=f"k{visitor}",
                    session_id=session,
                    page_key=draw(st.sampled_from(PAGES)),
                    **fields,
                )
                if kind == "track":
                    row.name = draw(st.sampled_from(["signup", "purchase"]))
                    money = draw(st.sampled_from([{}, {"revenue": 5}, {"revenue": 7, "currency": "USD"}]))
                    row.properties = json.dumps(money)
                rows.append(row)
    return draw(st.permutations(rows))


def value_of(rows: list[EventRow], name: str, pick: int) -> str:
    """A value to filter `name` on: one the history has, or, for a few, one it has not."""
    column = {"referrer": "referrer_host", "page": "page_key", "entry_page": "page_key", "exit_page": "page_key"}
    if name == "event":
        values = ["$pageview", "$identify", "signup", "purchase"]
    else:
        values = sorted({str(getattr(r, column.get(name, name))) for r in rows} - {""})
        values.append("(direct)" if name == "referrer" else "nothing")
    return values[pick % len(values)]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=histories(),
    retries=st.lists(st.integers(0, 60), max_size=4),
    name=st.sampled_from(FILTERS),
    pick=st.integers(0, 5),
    interval=st.sampled_from(["day", "hour", "week"]),
)
def test_every_traffic_answer_equals_a_scan_of_the_raw_events(
    store: ChdbStore, tmp_path: Path, rows: list[EventRow], retries: list[int], name: str, pick: int, interval: str
) -> None:
    """panels() from the rollup equals panels() over `events` and the endpoints, without a filter and
    with one of them (hypothesis draws which)."""
    store_through_the_writer(store, spool_folder(tmp_path), rows, retries)
    site = site_of(rows)
    for filters in ({}, {name: value_of(rows, name, pick)}):
        query = {**WEEK, **filters, "interval": interval}
        fast = traffic.panels(store, site, query, TODAY)
        assert fast == traffic.panels(store, site, query, TODAY, raw=True), filters
        del query["interval"]
        endpoints = every_answer(store, site, query, raw=False)
        endpoints["timeseries"] = traffic.timeseries(store, site, {**query, "interval": interval}, TODAY)
        assert fast == endpoints, filters


# -- closed days from traffic_days (migration 0014) ----------------------------------------


def rolled_days(store: ChdbStore, site: Site) -> list[str]:
    """The days of WEEK and the week before that answers read from traffic_days."""
    params: Params = {
        "site": site.site_id,
        "first": BASE.date().isoformat(),
        "until": WEEK["until"],
        "today": TODAY.isoformat(),
    }
    return [r["day"] for r in run(store, "traffic_clean", params) if int(r["stamp"])]


def answers(store: ChdbStore, site: Site, query: dict[str, str], *, raw: bool = False) -> dict[str, Any]:
    """panels() and every endpoint (`interval`: for panels() and timeseries)."""
    endpoints = every_answer(store, site, {k: v for k, v in query.items() if k != "interval"}, raw=raw)
    endpoints["timeseries"] = traffic.timeseries(store, site, query, TODAY, raw=raw)
    return {"panels": traffic.panels(store, site, query, TODAY, raw=raw), **endpoints}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=histories(), split=st.integers(0, 14), interval=st.sampled_from(["day", "hour", "week"]))
def test_rolled_days_answer_as_their_sessions_and_the_raw_events(
    store: ChdbStore, tmp_path: Path, rows: list[EventRow], split: int, interval: str
) -> None:
    """Not rolled, rolled up to a day (`split`: the days after it as if still open) and all rolled: the
    same panels(), equal to the raw scan (the endpoints: below)."""
    store_through_the_writer(store, spool_folder(tmp_path), rows, [])
    site = site_of(rows)
    query = {**WEEK, "interval": interval}
    before = traffic.panels(store, site, query, TODAY)
    assert before == traffic.panels(store, site, query, TODAY, raw=True)
    traffic_days.roll(store, (BASE + timedelta(days=split)).date(), margin_s=0)
    assert traffic.panels(store, site, query, TODAY) == before
    traffic_days.roll(store, TODAY, margin_s=0)
    days = {datetime.fromtimestamp(float(r.timestamp), UTC).date().isoformat() for r in rows if r.type != "click"}
    assert rolled_days(store, site) == sorted(d for d in days if d <= WEEK["until"])
    assert traffic.panels(store, site, query, TODAY) == before
    filtered = {**query, "country": "DE"}  # filters read the sessions
    assert traffic.panels(store, site, filtered, TODAY) == traffic.panels(store, site, filtered, TODAY, raw=True)


def test_a_late_event_for_a_rolled_day_counts_before_and_after_the_next_roll(store: ChdbStore, tmp_path: Path) -> None:
    site_id = next(_sites)
    day = BASE + timedelta(days=9, hours=10)
    rows = [
        hit(site_id, day, anonymous_id="a", session_id="s1", country="DE"),
        hit(site_id, day + timedelta(minutes=1), anonymous_id="a", session_id="s1", page_key="shop.example/p"),
        hit(site_id, day + timedelta(days=1), anonymous_id="b", session_id="s2", referrer_host="t.co"),
    ]
    store_through_the_writer(store, spool_folder(tmp_path / "1"), rows, [])
    site = site_of(rows)
    traffic_days.roll(store, TODAY, margin_s=0)
    assert traffic_days.roll(store, TODAY, margin_s=0) == 0  # nothing changed since
    rolled = rolled_days(store, site)
    assert rolled == [day.date().isoformat(), (day + timedelta(days=1)).date().isoformat()]
    first = traffic.panels(store, site, WEEK, TODAY)
    assert first["overview"]["current"]["visitors"] == 2

    # a late event: it comes earlier than s1's first one (new entry page and referrer), and a new visitor
    late = [
        hit(site_id, day - timedelta(minutes=5), anonymous_id="a", session_id="s1", referrer_host="www.google.com"),
        hit(site_id, day + timedelta(hours=2), anonymous_id="c", session_id="s3", page_key="shop.example/late"),
    ]
    store_through_the_writer(store, spool_folder(tmp_path / "2"), late, [])
    assert rolled_days(store, site) == rolled[1:]  # the late day is read from its sessions meanwhile
    now = answers(store, site, WEEK)
    assert now == answers(store, site, WEEK, raw=True)
    assert now["overview"]["current"]["visitors"] == 3
    referrers = {r["value"]: r["sessions"] for r in now["breakdowns"]["referrer"]["rows"]}
    assert referrers == {"www.google.com": 1, "t.co": 1, "(direct)": 1}

    assert traffic_days.roll(store, TODAY, margin_s=0) == 1  # that day only
    assert rolled_days(store, site) == rolled
    assert answers(store, site, WEEK) == now
    # and once more, which deletes the first roll's rows of that day
    store_through_the_writer(store, spool_folder(tmp_path / "3"), [hit(site_id, day, visitor_key="d")], [])
    assert traffic_days.roll(store, TODAY, margin_s=0) == 1
    assert answers(store, site, WEEK) == answers(store, site, WEEK, raw=True)
    assert answers(store, site, WEEK)["overview"]["current"]["visitors"] == 4


# -- HTTP ---------------------------------------------------------------------------------------


def test_the_endpoints_over_http_with_csv_and_response_schemas(collector: Collector) -> None:
    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    for path in ("overview", "timeseries?interval=week", "breakdown?by=os", "event-names", "revenue"):
        answer = collector.http.get(f"/api/v1/{path}", headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json()["site"] == "shop"
        assert set(answer.json()) >= {"site", "range", "filters", "coverage"}
    csv = collector.http.get("/api/v1/breakdown?by=referrer&format=csv", headers=auth)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == "referrer,visitors,sessions,pageviews,bounce_rate,visit_duration_s,share\r\n"
    wrong = collector.http.get("/api/v1/breakdown?by=colour", headers=auth)
    assert (wrong.status_code, wrong.json()["error"]) == (422, "invalid_parameter")
    hourly = collector.http.get("/api/v1/timeseries?interval=hour&since=2026-01-01&until=2026-03-01", headers=auth)
    assert (hourly.status_code, "interval=hour" in hourly.json()["detail"]) == (422, True)
    spec = collector.http.get("/api/v1/openapi.json").json()
    ok = spec["paths"]["/api/v1/overview"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["allOf"][1] == {"$ref": "#/components/schemas/Overview"}
    assert "bounce_rate" in spec["components"]["schemas"]["Totals"]["properties"]


# -- migration 0011 -----------------------------------------------------------------------------


def test_migration_0011_counts_the_events_stored_before_it(store: ChdbStore, tmp_path: Path) -> None:
    """A database that took events under 0010 answers from 0011's rollup as from the raw events, also
    when 0011 runs again from its start (as after failing halfway). A database of its own in the
    module's store: chdb opens one folder per process."""
    older = copy.copy(store)  # the same engine and sessions, another database
    older.database = "older"
    shipped = load()
    # The writer of today writes the event columns added since (0018), so those come first.
    migrate(older, migrations=[m for m in shipped if m.version <= 10 or m.name == "trait_columns"])
    site_id = next(_sites)
    day = BASE + timedelta(days=9, hours=8)
    rows = [
        hit(site_id, day, anonymous_id="a", session_id="s", referrer_host="t.co"),
        hit(site_id, day + timedelta(minutes=1), "track", name="signup", anonymous_id="a", session_id="s"),
        hit(site_id, day, visitor_key="v", properties=json.dumps({"revenue": 4, "currency": "GBP"})),
    ]
    store_through_the_writer(older, spool_folder(tmp_path), rows, [])
    assert [m.name for m in migrate(older)] == [
        m.name for m in shipped if m.version >= 11 and m.name != "trait_columns"
    ]
    site = site_of(rows)
    first = traffic.panels(older, site, WEEK, TODAY)
    assert first == traffic.panels(older, site, WEEK, TODAY, raw=True)
    assert first["overview"]["current"]["sessions"] == 2
    assert first["revenue"]["currencies"] == [{"currency": "GBP", "revenue": 4.0, "orders": 1, "visitors": 1}]
    (again,) = [m for m in shipped if m.version == 11]
    for statement in again.statements(db="older", cluster=None):
        older.execute(statement)
    assert traffic.panels(older, site, WEEK, TODAY) == first
    traffic_days.roll(older, TODAY, margin_s=0)  # 0014 marked the stored days for the first roll
    assert traffic.panels(older, site, WEEK, TODAY) == first


def test_ranges_default_to_the_last_30_days_of_the_injected_today(store: ChdbStore) -> None:
    site = Site(site_id=next(_sites), name="s", allowed_origins=(), write_key="w", read_key_sha256="r")
    answer = traffic.overview(store, site, {}, date(2026, 3, 31))
    assert answer["range"] == {"since": "2026-03-02", "until": "2026-03-31"}
    assert answer["previous_range"] == {"since": "2026-01-31", "until": "2026-03-01"}
