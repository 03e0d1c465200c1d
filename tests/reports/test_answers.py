"""The read API's reports: exact tiles through the real ingest path, and every rollup-backed answer
equal to the same question asked of the raw events (hypothesis), with duplicates, replays, late and
out-of-order events and identify in the middle."""

import itertools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import (
    NOW,
    Collector,
    event,
    iso,
    person_event,
    serve,
    spool_folder,
    store_through_the_writer,
    wait_until,
)

from collector.reports import answers as reports
from collector.reports import heatmap_layers
from collector.server.app import create_app
from collector.settings import Settings
from collector.sites import Site
from collector.storage.migrate import load, migrate
from collector.storage.rows import EventRow
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore


def get(collector: Collector, report: str, **params: Any) -> dict[str, Any]:
    response = collector.http.get(
        f"/api/v1/{report}", params=params, headers={"Authorization": f"Bearer {collector.site.read_key}"}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def get_when(
    collector: Collector, report: str, ready: Callable[[dict[str, Any]], bool], **params: Any
) -> dict[str, Any]:
    """The report once `ready` holds: a view's insert can land a moment after the events' own part."""
    answer: dict[str, Any] = {}

    def check() -> bool:
        nonlocal answer
        answer = get(collector, report, **params)
        return ready(answer)

    wait_until(check, what=f"the {report} report")
    return answer


def click(x: int, y: int, **fields: Any) -> dict[str, Any]:
    base = {"url": "https://shop.example/products/42", "viewport_w": 1280, "viewport_h": 800, "doc_w": 1000}
    return event("click", x=x, y=y, **{**base, "anonymous_id": "a1", **fields})


def test_clicks_at_known_coordinates_come_back_as_exact_tiles(collector: Collector) -> None:
    sent = [
        click(105, 2350, selector="main > button.buy"),
        click(109, 2359, selector="main > button.buy", anonymous_id="a2"),  # the same 1% x 10 px tile
        click(500, 2350, selector="main > p.note"),
        click(20, 10, fixed=True, selector="header > button.menu"),  # viewport coordinates
        click(105, 2350, viewport_w=375, selector="main > button.buy"),  # another width bucket
        event("move", url="https://shop.example/products/42", viewport_w=1280, doc_w=1000, points=[[100, 2360, 4]]),
    ]
    assert collector.post(collector.batch(*sent)).status_code == 202
    assert collector.post(collector.batch(sent[0])).status_code == 202  # a client's retry: not counted again
    collector.stored("type = 'move'", count=1)
    day = NOW.date().isoformat()
    get_when(collector, "elements", lambda a: a["coverage"]["hits"] == 5, since=day, until=day)
    get_when(collector, "heatmap", lambda a: a["coverage"]["hits"] == 4, page="shop.example/products/42", type="move")
    tiles = get(
        collector, "heatmap", page="https://shop.example/products/42", width=1280, since=day, until=day, visitors="true"
    )
    assert tiles["tiles"] == [
        {"x_pct": 10, "y_px": 2350, "fixed": False, "hits": 2, "visitors": 2},
        {"x_pct": 50, "y_px": 2350, "fixed": False, "hits": 1, "visitors": 1},
        {"x_pct": 1, "y_px": 10, "fixed": True, "hits": 1, "visitors": 1},  # 20 px of a 1280 px viewport
    ]
    assert tiles["coverage"] == {"hits": 4}
    assert tiles["page"] == "shop.example/products/42"  # a URL is turned into the stored page key
    every_width = get(
        collector, "heatmap", page="shop.example/products/42", since=day, until=day, step_x=10, step_y=100
    )
    assert every_width["tiles"][0] == {"x_pct": 10, "y_px": 2300, "fixed": False, "hits": 3}  # no visitors unless asked
    moves = get(collector, "heatmap", page="shop.example/products/42", type="move", since=day, until=day, visitors=1)
    assert moves["tiles"] == [{"x_pct": 10, "y_px": 2360, "fixed": False, "hits": 4, "visitors": 1}]
    top = get(collector, "elements", since=day, until=day)
    assert [(e["selector"], e["hits"], e["visitors"]) for e in top["elements"]][:2] == [
        ("main > button.buy", 3, 2),
        ("header > button.menu", 1, 1),
    ]


def test_bad_parameters_get_a_422_naming_them(collector: Collector) -> None:
    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    cases = {
        "/api/v1/heatmap": "Object missing required field `page`",
        "/api/v1/heatmap?page=x&type=hover": "Invalid enum value 'hover' - at `type`",
        "/api/v1/heatmap?page=x&step_y=15": "Expected `int` that's a multiple of 10 - at `step_y`",
        "/api/v1/retention?since=2026-13-01": "Invalid RFC3339 encoded date - at `since`",
        "/api/v1/retention?since=2026-11-02&until=2026-11-01": "since (2026-11-02) is after until (2026-11-01)",
        "/api/v1/scroll?page=x&colour=red": "Object contains unknown field `colour`",
    }
    for path, message in cases.items():
        response = collector.http.get(path, headers=auth)
        assert (response.status_code, response.json()["error"]) == (422, "invalid_parameter"), path
        assert message in response.json()["detail"], (path, response.json())
    assert collector.http.get("/api/v1/heatmap?page=x").status_code == 401
    assert collector.http.get("/api/v1/nothing", headers=auth).status_code == 404


def test_the_openapi_spec_lists_every_report_and_its_parameters(collector: Collector) -> None:
    spec = collector.http.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    heatmaps = ("snapshots", "snapshots/{snapshot_id}", "heatmap/layers")
    people = ("people", "people/{person_id}", "people/{person_id}/timeline")
    assert set(spec["paths"]) == {
        f"/api/v1/{name}" for name in (*reports.REPORTS, "events", "live", *heatmaps, *people)
    }
    heatmap = {p["name"]: p for p in spec["paths"]["/api/v1/heatmap"]["get"]["parameters"]}
    assert heatmap["page"]["required"] is True
    assert set(heatmap["type"]["schema"]["enum"]) == {"click", "rageclick", "deadclick", "move"}


# -- rollups == raw scans ------------------------------------------------------------------------

# History starts on a Thursday about two months back: near the real date, since ClickHouse drops events
# past their retention by its own clock, and a Thursday because the week-based expectations below say so.
_START = NOW.date() - timedelta(days=60)
BASE = datetime.combine(_START - timedelta(days=(_START.weekday() - 3) % 7), time(), UTC)
TODAY = (BASE + timedelta(days=40)).date()
PAGES = ("shop.example/", "shop.example/products/:id")
_sites = itertools.count(100)


@st.composite
def histories(draw: st.DrawFn) -> list[EventRow]:
    """Events of a few people over three weeks: visits, signups, purchases, identify in the middle,
    clicks, moves and scrolls on two pages and two widths, in any order."""
    site_id = next(_sites)
    rows: list[EventRow] = []
    people = draw(st.integers(1, 5))
    for person in range(people):
        anonymous = f"a{person}"
        user = ""
        for _ in range(draw(st.integers(1, 12))):
            at = BASE + timedelta(days=draw(st.integers(0, 20)), seconds=draw(st.integers(0, 86_399)))
            kind = draw(st.sampled_from(["pageview", "track", "identify", "click", "move", "scroll", "rageclick"]))
            row = EventRow(
                site_id=site_id,
                event_id=str(uuid.uuid4()),
                type=kind,
                timestamp=f"{at.timestamp() + len(rows) / 1000:.3f}",  # distinct times: no ties to break
                client_ts=f"{at.timestamp():.3f}",
                received_at=f"{at.timestamp():.3f}",
                anonymous_id=anonymous,
                user_id=user,
                page_key=draw(st.sampled_from(PAGES)),
                width_bucket=draw(st.sampled_from([375, 1280])),
                country=draw(st.sampled_from(["DE", "FR"])),
                device="desktop",
                visitor_key=f"v{person}",
            )
            if kind == "identify":
                user = row.user_id = f"u{person % 3}"  # two people may be one user (two devices)
            if kind == "track":
                row.name = draw(st.sampled_from(["signup", "purchase"]))
                row.properties = json.dumps({"revenue": draw(st.integers(0, 50))})
            if kind in ("click", "rageclick"):
                row.doc_w = 1000
                row.x, row.y = draw(st.integers(0, 999)), draw(st.integers(0, 5000))
                row.x_frac = row.x / row.doc_w
                row.fixed = draw(st.booleans())
                row.selector = draw(st.sampled_from(["main > button.buy", "header > a.logo", ""]))
                row.el_w, row.el_h = draw(st.sampled_from([0, 200])), draw(st.sampled_from([0, 50]))
                row.el_x, row.el_y = draw(st.integers(-5, 210)), draw(st.integers(-5, 60))
                row.viewport_w = 1280
            if kind == "move":
                row.doc_w = 1000
                cells = st.tuples(st.integers(0, 1200), st.integers(0, 5000), st.integers(1, 9))
                row.points = draw(st.lists(cells, min_size=1, max_size=4))
            if kind == "scroll":
                row.depth = draw(st.integers(0, 100))
                row.viewport_h = draw(st.sampled_from([700, 900]))
            rows.append(row)
    return draw(st.permutations(rows))  # late and out-of-order


QUESTIONS: list[tuple[str, dict[str, str]]] = [
    *[
        ("heatmap", {"page": page, "type": kind, "visitors": "true"})
        for page in PAGES
        for kind in ("click", "rageclick", "move")
    ],
    ("heatmap", {"page": PAGES[1], "width": "375", "step_x": "5", "step_y": "250"}),
    ("elements", {}),
    ("elements", {"page": PAGES[0], "type": "rageclick", "width": "1280"}),
    *[("scroll", {"page": page}) for page in PAGES],
    ("retention", {"period": "day", "periods": "20"}),
    ("retention", {"period": "week", "periods": "3", "cohort_event": "signup", "return_event": "purchase"}),
    ("retention", {"period": "week", "periods": "4", "country": "FR"}),
    ("retention", {"period": "month", "periods": "2", "return_event": "$identify"}),
    ("cohorts", {"period": "week", "periods": "3"}),
    ("cohorts", {"period": "day", "periods": "7", "cohort_event": "signup", "country": "DE"}),
    ("segment", {"did": "signup", "not_did": "purchase", "within_days": "7"}),
    ("segment", {"did": "$pageview", "limit": "2", "offset": "1"}),
    ("funnel", {"steps": "$pageview,signup,purchase", "window_s": "604800"}),
    ("funnel", {"steps": "signup,$identify", "window_s": "86400"}),
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=histories(), retries=st.lists(st.integers(0, 100), max_size=5))
def test_every_rollup_backed_answer_equals_a_scan_of_the_raw_events(
    store: ChdbStore, tmp_path: Path, rows: list[EventRow], retries: list[int]
) -> None:
    """Each example is a site and a spool of its own in the test's store (tmp_path is one per test)."""
    store_through_the_writer(store, spool_folder(tmp_path / str(rows[0].site_id)), rows, retries)
    site = Site(site_id=rows[0].site_id, name="s", allowed_origins=(), write_key="w", read_key_sha256="r")
    window = {
        "since": (BASE - timedelta(days=1)).date().isoformat(),
        "until": (BASE + timedelta(days=21)).date().isoformat(),
    }
    stored = store.query(
        f"SELECT count() AS n, uniqExact(event_id) AS ids FROM footfall.events WHERE site_id = {site.site_id}"
    )
    assert stored == [{"n": len(rows), "ids": len(rows)}]  # retries and replays stored nothing twice
    for name, params in QUESTIONS:
        answer = reports.REPORTS[name][0]
        query = {**window, **params}
        fast = answer(store, site, query, TODAY)
        assert fast == answer(store, site, query, TODAY, raw=True), (name, params)
        if name in ("retention", "segment"):  # the per-event rows agree with the per-day ones
            with mock.patch.object(reports.People, "filtered", return_value=True):
                assert fast == answer(store, site, query, TODAY), (name, params, "visitor_days")
    for page, width in itertools.product(PAGES, ("0", "375", "1280")):  # the heatmap page's one answer
        query = {**window, "page": page, "width": width, "visitors": "true"}
        assert heatmap_layers.layers(store, site, query, TODAY) == heatmap_layers.layers(
            store, site, query, TODAY, raw=True
        ), query


def test_a_page_never_seen_at_a_width_draws_nothing(store: ChdbStore, tmp_path: Path) -> None:
    """Scrolls and moves without a width bucket: the layers answer has no width to draw at, so it must
    not fall back to "every width" in one path and "no width" in the other (hypothesis found this)."""
    site_id = next(_sites)
    at = BASE + timedelta(days=2)
    seen: dict[str, Any] = {"page_key": PAGES[0], "width_bucket": 1280}
    rows = [
        person_event(site_id, "a", "", at, "scroll", depth=60, viewport_h=800, **seen),
        person_event(site_id, "a", "", at, "move", doc_w=1000, points=[(5, 5, 1)], **seen),
    ]
    store_through_the_writer(store, spool_folder(tmp_path), rows, [])
    site = Site(site_id=site_id, name="s", allowed_origins=(), write_key="w", read_key_sha256="r")
    query = {"since": BASE.date().isoformat(), "until": (BASE + timedelta(days=5)).date().isoformat(), "page": PAGES[0]}
    for raw in (False, True):
        answer = heatmap_layers.layers(store, site, query, TODAY, raw=raw)
        assert (answer["width"], answer["widths"], answer["coverage"]) == (0, [], {"clicks": 0, "moves": 0}), raw
        assert answer["scroll"]["pageviews"] == 0
        assert {r["pageviews"] for r in answer["scroll"]["reached"]} == {0}, raw
    at_width = heatmap_layers.layers(store, site, {**query, "width": "1280"}, TODAY)
    assert at_width["scroll"]["reached"][0] == {"depth": 0, "pageviews": 1, "share": 1.0}  # asked for: drawn


def test_segments_and_funnels_answer_the_marketing_questions(collector: Collector) -> None:
    """ "Signed up but no purchase within 7 days", as JSON and CSV; and the signup -> purchase funnel."""
    day = timedelta(days=1)
    sent = [
        event("track", name="signup", anonymous_id="ann", ts=iso(NOW - 10 * day)),
        event("track", name="purchase", anonymous_id="ann", ts=iso(NOW - 9 * day)),  # bought the next day
        event("track", name="signup", anonymous_id="bob", ts=iso(NOW - 10 * day)),
        event("track", name="purchase", anonymous_id="bob", ts=iso(NOW - 1 * day)),  # nine days later: too late
        event("track", name="signup", anonymous_id="=cy,", ts=iso(NOW - 5 * day)),  # never
    ]
    assert collector.post(collector.batch(*sent)).status_code == 202
    collector.stored(count=5)
    segment = get_when(collector, "segment", lambda a: a["count"] == 2, did="signup", not_did="purchase", within_days=7)
    assert segment["count"] == 2
    assert [m["person"] for m in segment["members"]] == ["bob", "=cy,"]
    csv = collector.http.get(
        "/api/v1/segment",
        params={"did": "signup", "not_did": "purchase", "format": "csv"},
        headers={"Authorization": f"Bearer {collector.site.read_key}"},
    )
    assert csv.headers["content-type"].startswith("text/csv")
    first_days = [(NOW - 10 * day).date().isoformat(), (NOW - 5 * day).date().isoformat()]
    assert csv.text == f'person,first_day\r\nbob,{first_days[0]}\r\n"\'=cy,",{first_days[1]}\r\n'
    funnel = get(collector, "funnel", steps="signup,purchase", window_s=7 * 86_400)
    assert [(s["step"], s["people"]) for s in funnel["steps"]] == [("signup", 3), ("purchase", 1)]


def test_retention_counts_a_person_across_identify(store: ChdbStore, tmp_path: Path) -> None:
    """Days before identify belong to the user: a cohort of one, back a week later on another device."""
    folder = spool_folder(tmp_path)
    site_id = next(_sites)

    rows = [
        person_event(site_id, "phone", "", BASE + timedelta(days=0, hours=1)),
        person_event(site_id, "phone", "jo", BASE + timedelta(days=0, hours=1), "identify"),
        person_event(site_id, "laptop", "", BASE + timedelta(days=7, hours=1)),
        person_event(site_id, "laptop", "jo", BASE + timedelta(days=7, hours=1), "identify"),
    ]
    store_through_the_writer(store, folder, rows, [])
    site = Site(site_id=site_id, name="s", allowed_origins=(), write_key="w", read_key_sha256="r")
    query = {
        "since": BASE.date().isoformat(),
        "until": (BASE + timedelta(days=13)).date().isoformat(),
        "period": "week",
        "periods": "2",
    }
    answer = reports.retention(store, site, query, TODAY)
    assert [(c["cohort"], c["size"], c["returned"]) for c in answer["cohorts"]] == [
        ((BASE - timedelta(days=3)).date().isoformat(), 1, [1, 1, 0])  # the Monday of BASE's week
    ]
    assert answer == reports.retention(store, site, query, TODAY, raw=True)


def test_periods_not_over_by_the_apps_clock_are_left_out(store: ChdbStore, settings: Settings, tmp_path: Path) -> None:
    """A weekly report on a Wednesday ends with last week: this week's returns would make every last
    column look low. The app's clock decides, not ClickHouse's: it is injected a week or two before the
    real today (recent enough for the rows' TTL on any date)."""
    real_today = datetime.now(UTC).date()
    wednesday = real_today - timedelta(days=(real_today.weekday() - 2) % 7 + 7)
    monday = wednesday - timedelta(days=2)
    clock = datetime.combine(wednesday, time(12), UTC)
    keys = Sites(store).add("weekly", [])
    assert keys.read_key
    site_id = _site_id(store, "weekly")

    def visit(who: str, weeks_ago: int, day: int = 0) -> EventRow:
        return person_event(
            site_id, who, "", datetime.combine(monday, time(9), UTC) - timedelta(weeks=weeks_ago) + timedelta(days=day)
        )

    rows = [
        visit("ann", 2),
        visit("ann", 1),
        visit("ann", 0),  # back last week, and again this week
        visit("dan", 2),  # never back
        visit("bob", 1),
        visit("bob", 0, day=1),  # back this week only
        visit("cy", 0),  # new this week
    ]
    store_through_the_writer(store, spool_folder(tmp_path), rows, [])
    app = create_app(settings, store=store, now_ms=lambda: int(clock.timestamp() * 1000))
    with serve(app) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.read_key}"}) as http:
        since = (monday - timedelta(weeks=2)).isoformat()
        weekly = http.get("/api/v1/retention", params={"period": "week", "periods": 4, "since": since}).json()
        daily = http.get("/api/v1/retention", params={"period": "day", "periods": 20, "since": since}).json()
        cohorts = http.get("/api/v1/cohorts", params={"period": "week", "periods": 4, "since": since}).json()
    weeks = [(monday - timedelta(weeks=n)).isoformat() for n in (2, 1, 0)]
    assert [(c["cohort"], c["size"], c["returned"]) for c in weekly["cohorts"]] == [
        (weeks[0], 2, [2, 1]),  # ann's return this week is not counted yet
        (weeks[1], 1, [1]),
        (weeks[2], 1, []),  # this week is not over: nothing to show but its size so far
    ]
    assert [len(c["returned"]) for c in daily["cohorts"]] == [16, 9, 2]  # up to yesterday, Tuesday
    assert [(c["cohort"], c["came_back"], c["churn_rate"]) for c in cohorts["cohorts"]] == [
        (weeks[0], 1, 0.5),
        (weeks[1], None, None),  # its next period is this week
        (weeks[2], None, None),
    ]
    # events over the periods that are over: ann's and dan's first week and ann's second, not this week
    assert [c["events_per_person"] for c in cohorts["cohorts"]] == [1.5, 1.0, 0.0]


def _site_id(store: ChdbStore, name: str) -> int:
    sites = Sites(store)
    sites.load()
    site = sites.by_name(name)
    assert site is not None
    return site.site_id


def test_migration_0009_fills_its_rollups_from_the_events_already_stored(tmp_path: Path) -> None:
    """A store that took events under 0008 gets them into 0009's rollups, once, also when 0009 runs
    again from its start (as after failing halfway)."""
    store = ChdbStore(tmp_path / "data", database="footfall")
    try:
        shipped = load()
        # The writer of today writes the event columns added since (0018), so those come first.
        migrate(store, migrations=[m for m in shipped if m.version <= 8 or m.name == "trait_columns"])
        site = Site(site_id=next(_sites), name="s", allowed_origins=(), write_key="w", read_key_sha256="r")
        rows = []
        for n, (anonymous, user, day, kind, name) in enumerate(
            [
                ("a0", "", 0, "pageview", ""),
                ("a0", "", 0, "track", "signup"),
                ("a0", "u0", 8, "identify", ""),
                ("a1", "u0", 15, "track", "purchase"),
                ("a2", "", 1, "click", ""),
                ("a2", "", 9, "move", ""),
            ]
        ):
            at = BASE + timedelta(days=day, seconds=n)
            extra = {"points": [(10, 20, 3)]} if kind == "move" else {}
            place = {"page_key": PAGES[0], "width_bucket": 1280, "doc_w": 1000, "x": 100, "y": 200}
            rows.append(
                person_event(site.site_id, anonymous, user, at, kind, name, visitor_key=anonymous, **place, **extra)
            )
        store_through_the_writer(store, spool_folder(tmp_path), rows, [])
        window = {"since": BASE.date().isoformat(), "until": (BASE + timedelta(days=20)).date().isoformat()}
        questions = [
            ("heatmap", {"page": PAGES[0], "visitors": "true"}),
            ("heatmap", {"page": PAGES[0], "type": "move"}),
            ("retention", {"period": "week", "periods": "2"}),
            ("segment", {"did": "signup", "not_did": "purchase", "within_days": "7"}),
        ]

        def answers() -> list[dict[str, Any]]:
            found = []
            for name, params in questions:
                answer = reports.REPORTS[name][0]
                fast = answer(store, site, {**window, **params}, TODAY)
                assert fast == answer(store, site, {**window, **params}, TODAY, raw=True), (name, params)
                found.append(fast)
            return found

        assert [
            m.name
            for m in migrate(store, migrations=[m for m in shipped if m.version <= 9 or m.name == "trait_columns"])
        ] == ["keyed_rollups"]
        first = answers()
        assert first[0]["coverage"] == {"hits": 1}
        assert first[1]["coverage"] == {"hits": 3}
        assert [(c["size"], c["returned"]) for c in first[2]["cohorts"]] == [(1, [1, 1, 1])]  # a0 and a1 are u0
        (again,) = [m for m in shipped if m.version == 9]
        for statement in again.statements(db="footfall", cluster=None):
            store.execute(statement)
        assert answers() == first
    finally:
        store.close()


def test_days_at_the_edges_of_clickhouse_dates_are_answered_or_refused(collector: Collector) -> None:
    """ClickHouse's Date runs from 1970-01-01 to 2149-06-06: days outside are a 422, days at its edges
    an answer (found by schemathesis: until=0001-01-01 was a 500)."""
    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    required = {
        "heatmap": {"page": "x"},
        "scroll": {"page": "x"},
        "funnel": {"steps": "a,b"},
        "segment": {"did": "a"},
        "breakdown": {"by": "page"},
    }
    ranges = [
        ({"until": "0001-01-01"}, 422),
        ({"since": "1969-12-31"}, 422),
        ({"until": "9999-12-31"}, 422),
        ({"until": "1970-01-05"}, 200),
        ({"since": "1970-01-01", "until": "1970-03-01"}, 200),
        ({"since": "2149-05-01", "until": "2149-06-06"}, 200),
    ]
    for report in [*reports.REPORTS, "events"]:
        for days, status in ranges:
            params = {**required.get(report, {}), **days}
            if report in ("retention", "cohorts"):
                params["period"] = "week"
            answer = collector.http.get(f"/api/v1/{report}", params=params, headers=auth)
            assert answer.status_code == status, (report, params, answer.text)
