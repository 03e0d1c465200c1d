"""Profiles and the people list: every answer from the person-keyed rollups equal to the same question
asked of the raw events (hypothesis: late, duplicate and out-of-order events, identify in the middle of a
history, two devices per user, server-side events without an anonymous id), traits equal to a model of
set / set-once / unset by event time, and the person the same one retention and segments count."""

import itertools
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import NOW, NOW_MS, person_event, spool_folder, store_through_the_writer

from collector.errors import ApiError
from collector.people import listing, profile
from collector.reports import answers as reports
from collector.sites import Site
from collector.storage.rows import EventRow
from collector.storage.store_chdb import ChdbStore

BASE = NOW - timedelta(days=30)
PAGES = ("shop.example/", "shop.example/cart", "shop.example/checkout")
ACTIVITY = ("pageview", "track", "identify", "group", "alias")
_sites = itertools.count(300)


def _site(site_id: int) -> Site:
    return Site(site_id=site_id, name="s", allowed_origins=(), write_key="w", read_key_sha256="r")


def _trait_ops(draw: st.DrawFn) -> dict[str, Any]:
    keys = st.sampled_from(["plan", "email", "seats"])
    values = st.one_of(st.sampled_from(["free", "pro", "jo@example.com"]), st.integers(0, 9), st.booleans())
    return {
        "traits": json.dumps(draw(st.dictionaries(keys, values, max_size=2))),
        "traits_once": json.dumps(draw(st.dictionaries(keys, values, max_size=2))),
        "traits_unset": draw(st.lists(keys, max_size=1, unique=True)),
    }


@st.composite
def histories(draw: st.DrawFn) -> list[EventRow]:
    """A few people, each on one or two devices, identified (or not) part-way, in any order."""
    site_id = next(_sites)
    rows: list[EventRow] = []
    for person in range(draw(st.integers(1, 4))):
        user = f"u{person % 3}"  # people 0 and 3 are one user on more devices
        for device in range(draw(st.integers(1, 2))):
            anonymous = f"a{person}-{device}"
            known = False
            for _ in range(draw(st.integers(1, 9))):
                at = BASE + timedelta(days=draw(st.integers(0, 27)), seconds=draw(st.integers(0, 86_399)))
                kind = draw(st.sampled_from([*ACTIVITY, "pageview", "track", "rageclick", "click", "scroll", "server"]))
                seconds = f"{at.timestamp() + len(rows) / 1000:.3f}"  # distinct times: no ties to break
                row = EventRow(
                    site_id=site_id,
                    event_id=str(uuid.uuid4()),
                    type="track" if kind == "server" else kind,
                    timestamp=seconds,
                    client_ts=seconds,
                    received_at=seconds,
                    anonymous_id="" if kind == "server" else anonymous,
                    user_id=user if known or kind in ("identify", "alias", "server") else "",
                    session_id=f"s{person}-{device}-{draw(st.integers(0, 2))}",
                    page_key=draw(st.sampled_from(PAGES)),
                    referrer_host=draw(st.sampled_from(["", "www.google.com"])),
                    utm_source=draw(st.sampled_from(["", "newsletter"])),
                    country=draw(st.sampled_from(["DE", "FR"])),
                    device=draw(st.sampled_from(["desktop", "mobile"])),
                    consent_marketing=draw(st.booleans()),
                )
                known = known or kind == "identify"
                if kind in ("track", "server"):
                    row.name = draw(st.sampled_from(["signup", "add_to_cart", "purchase"]))
                    if row.name == "purchase":
                        money = {"revenue": draw(st.integers(1, 90)), "currency": draw(st.sampled_from(["EUR", "USD"]))}
                        row.properties = json.dumps(money)
                if kind == "identify":
                    for name, value in _trait_ops(draw).items():
                        setattr(row, name, value)
                if kind == "group":
                    row.group_id = draw(st.sampled_from(["acme", "globex"]))
                    row.traits = json.dumps({"seats": draw(st.integers(1, 50))})
                if kind == "alias":
                    row.previous_id = f"old-{person}"
                if kind == "rageclick":
                    row.selector = "button.pay"
                rows.append(row)
    return draw(st.permutations(rows))


def model_traits(rows: list[EventRow], user: str) -> dict[str, Any]:
    """Set / set once / unset applied in event-time order: the definition docs/people.md gives."""
    state: dict[str, Any] = {}
    for row in sorted((r for r in rows if r.type == "identify" and r.user_id == user), key=lambda r: r.timestamp):
        for key, value in json.loads(row.traits).items():
            state[key] = value
        for key, value in json.loads(row.traits_once).items():
            state.setdefault(key, value)
        for key in row.traits_unset:
            state.pop(key, None)
    return state


def model_people(rows: list[EventRow]) -> dict[str, set[str]]:
    """Who is who, by retention's rule: an anonymous id is the user its latest identifying event named."""
    linked: dict[str, tuple[str, str]] = {}
    for row in rows:
        if row.anonymous_id and row.user_id and row.timestamp > linked.get(row.anonymous_id, ("", ""))[0]:
            linked[row.anonymous_id] = (row.timestamp, row.user_id)
    people: dict[str, set[str]] = {}
    for row in rows:
        actor = row.anonymous_id or row.user_id
        people.setdefault(linked[actor][1] if actor in linked else actor, set()).add(actor)
    return people


def _activity(rows: list[EventRow], actors: set[str]) -> list[EventRow]:
    heat = ("click", "rageclick", "deadclick", "move", "scroll")
    return [r for r in rows if (r.anonymous_id or r.user_id) in actors and r.type not in heat]


def _encoded(answer: msgspec.Struct) -> Any:
    return msgspec.json.decode(msgspec.json.encode(answer))


LISTS: list[dict[str, str]] = [
    {},
    {"sort": "first_seen", "order": "asc"},
    {"sort": "events"},
    {"sort": "revenue", "currency": "EUR"},
    {"currency": "USD", "min_revenue": "20"},
    {"did": "purchase"},
    {"not_did": "purchase", "within_days": "10"},
    {"did": "signup", "not_did": "add_to_cart"},
    {"trait.plan": "pro"},
    {"trait.seats": "*", "traits": "plan,seats,email"},
    {"trait.email": "jo@example.com", "trait.plan": "free"},
    {"seen_after": (NOW - timedelta(days=10)).date().isoformat()},
]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=histories(), retries=st.lists(st.integers(0, 100), max_size=4))
def test_every_profile_and_list_equals_a_scan_of_the_raw_events(
    store: ChdbStore, tmp_path: Path, rows: list[EventRow], retries: list[int]
) -> None:
    store_through_the_writer(store, spool_folder(tmp_path / str(rows[0].site_id)), rows, retries)
    site = _site(rows[0].site_id)
    people = {p: a for p, a in model_people(rows).items() if _activity(rows, a)}
    for quiet in set(model_people(rows)) - set(people):  # only clicks, moves and scrolls: no profile
        with pytest.raises(ApiError):
            profile.profile(store, site, quiet, {}, now_ms=NOW_MS)
    for person, actors in people.items():
        for asked in sorted({person, *actors}):
            fast = profile.profile(store, site, asked, {}, now_ms=NOW_MS)
            assert _encoded(fast) == _encoded(profile.profile(store, site, asked, {}, now_ms=NOW_MS, raw=True)), asked
            mine = _activity(rows, actors)
            assert fast.person == person
            assert sorted(fast.identities.anonymous_ids) == sorted(a for a in actors if a != person)
            assert fast.activity.events == len(mine)
            assert fast.last_seen == profile.iso(round(max(float(r.timestamp) for r in mine) * 1000))
            orders = [json.loads(r.properties) for r in mine if "revenue" in r.properties]
            assert {o.currency: o.revenue for o in fast.transactions} == {
                c: float(sum(o["revenue"] for o in orders if o["currency"] == c))
                for c in {o["currency"] for o in orders}
            }
            traits = {k: msgspec.json.decode(t.value) for k, t in fast.traits.items()}
            assert traits == model_traits(rows, person), asked
        seen: list[str] = []  # the timeline, paged three at a time, is every event once, newest first
        query: dict[str, str] = {"limit": "3"}
        while True:
            page = profile.timeline(store, site, person, query)
            seen += [e.id for e in page.events]
            if page.next_cursor is None:
                break
            query = {"limit": "3", "cursor": page.next_cursor}
        newest_first = sorted(
            _activity(rows, actors) + _frustration(rows, actors), key=lambda r: r.timestamp, reverse=True
        )
        assert seen == [r.event_id for r in newest_first]
    for query in LISTS:
        fast_list = listing.people(store, site, query, now_ms=NOW_MS)
        assert fast_list == listing.people(store, site, query, now_ms=NOW_MS, raw=True), query
    everyone = listing.people(store, site, {"limit": "10000"}, now_ms=NOW_MS)
    assert sorted(p.person for p in everyone.people) == sorted(people)
    paged, query = [], {"limit": "2", "sort": "revenue"}
    while True:
        page_of = listing.people(store, site, query, now_ms=NOW_MS)
        paged += page_of.people
        if page_of.next_cursor is None:
            break
        query = {**query, "cursor": page_of.next_cursor}
    assert paged == listing.people(store, site, {"limit": "10000", "sort": "revenue"}, now_ms=NOW_MS).people


def _frustration(rows: list[EventRow], actors: set[str]) -> list[EventRow]:
    return [r for r in rows if (r.anonymous_id or r.user_id) in actors and r.type in ("rageclick", "deadclick")]


def test_the_person_of_a_profile_is_the_person_of_retention_and_segments(store: ChdbStore, tmp_path: Path) -> None:
    """One definition: a user on a phone and a laptop, a visitor never identified, a backend-only user."""
    site_id = next(_sites)

    def at(days: float, anonymous: str, user: str, kind: str = "pageview", name: str = "") -> EventRow:
        return person_event(site_id, anonymous, user, BASE + timedelta(days=days), kind, name)

    rows = [
        at(0, "phone", ""),
        at(0.1, "phone", "jo", "identify"),
        at(7, "laptop", ""),
        at(7.1, "laptop", "jo", "identify"),
        at(8, "", "jo", "track", "renewed"),  # the backend, no anonymous id
        at(2, "drifter", ""),
        at(3, "", "api-user", "track", "signup"),
        at(9, "phone", "ann", "identify"),  # the phone is Ann's now: its whole history moves to her
        at(4, "tablet", "", "identify"),  # the same millisecond as the page below: the page is the touch
        at(4, "tablet", ""),
    ]
    rows[-2].user_id, rows[-1].page_key, rows[-1].utm_source = "bo", "shop.example/", "newsletter"
    store_through_the_writer(store, spool_folder(tmp_path), rows, [])
    site = _site(site_id)
    today = NOW.date()
    segment = reports.segment(
        store, site, {"did": "$pageview", "since": BASE.date().isoformat(), "limit": "100"}, today
    )
    listed = listing.people(store, site, {}, now_ms=NOW_MS)
    assert {p.person for p in listed.people} == {"jo", "ann", "drifter", "api-user", "bo"}
    assert {m["person"] for m in segment["members"]} == {"jo", "ann", "drifter", "bo"}  # api-user viewed no page
    bo = profile.profile(store, site, "bo", {}, now_ms=NOW_MS).first_touch
    assert (bo.utm_source, bo.page) == ("newsletter", "shop.example/")
    jo = profile.profile(store, site, "laptop", {}, now_ms=NOW_MS)
    assert (jo.person, jo.identities.anonymous_ids, jo.activity.events) == ("jo", ["laptop"], 3)
    ann = profile.profile(store, site, "ann", {}, now_ms=NOW_MS)
    assert (ann.person, ann.identities.anonymous_ids, ann.activity.events) == ("ann", ["phone"], 3)
    assert ann.first_seen == profile.iso(int(BASE.timestamp() * 1000))
    api = profile.profile(store, site, "api-user", {}, now_ms=NOW_MS)
    assert (api.identities.user_id, api.identities.anonymous_ids) == ("api-user", [])
    drifter = profile.profile(store, site, "drifter", {}, now_ms=NOW_MS)
    assert (drifter.person, drifter.identities.user_id) == ("drifter", None)
    for name in ("retention", "segment"):
        query = {"did": "$pageview", "since": BASE.date().isoformat()} if name == "segment" else {}
        answer = reports.REPORTS[name][0]
        assert answer(store, site, query, today) == answer(store, site, query, today, raw=True)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"sort": "score"}, "Invalid enum value 'score' - at `sort`"),
        ({"cursor": "bm9wZQ"}, "cursor is not one this API handed out"),
        ({"limit": "0"}, "Expected `int` >= 1 - at `limit`"),
        ({"colour": "red"}, "Object contains unknown field `colour`"),
        ({f"trait.k{i}": "v" for i in range(6)}, "at most 5 trait.<key> filters, got 6"),
        ({"seen_after": "2026-13-01"}, "Invalid RFC3339 encoded date - at `seen_after`"),
    ],
)
def test_bad_list_parameters_are_refused_by_name(store: ChdbStore, query: dict[str, str], error: str) -> None:
    with pytest.raises(ApiError) as refused:
        listing.people(store, _site(1), query, now_ms=NOW_MS)
    assert (refused.value.status, refused.value.code) == (422, "invalid_parameter")
    assert error in refused.value.detail


def test_an_unknown_person_and_a_bad_cursor_are_clear_refusals(store: ChdbStore) -> None:
    with pytest.raises(ApiError) as missing:
        profile.profile(store, _site(1), "nobody", {}, now_ms=NOW_MS)
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(ApiError) as cursor:
        profile.timeline(store, _site(1), "nobody", {"cursor": "!!"})
    assert cursor.value.status == 422
    assert profile.iso(0) == "1970-01-01T00:00:00.000Z"
