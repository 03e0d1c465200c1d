"""GET /api/v1/people/{id}: one person's profile, from the rows of their few actors in the person-keyed
rollups (clickhouse/migrations/0019_people.sql). `raw=True` asks the same of `events` (tests compare)."""

import base64
import binascii
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Final

import msgspec

from collector.errors import ApiError
from collector.people.shapes import (
    Activity,
    Cohorts,
    Consent,
    EventCount,
    Group,
    Identities,
    Orders,
    PageCount,
    Profile,
    Timeline,
    TimelineEvent,
    Touch,
    Trait,
)
from collector.sites import Site
from collector.storage.sql import run
from collector.storage.store import Params, Row, Store

TOP_PAGES: Final = 10
TIMELINE_PAGE: Final = 20
MAX_TIMELINE_PAGE: Final = 500
_NEWEST: Final = (2**62, "ffffffff-ffff-ffff-ffff-ffffffffffff")  # a cursor before which everything is
_DAY_MS: Final = 86_400_000


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """Who an id names: the person's key (as retention, segments and funnels count people), their user id
    and their actors (the anonymous ids whose latest identify named them, plus their own key)."""

    key: int
    user_id: str | None
    anonymous_ids: tuple[str, ...]
    actors: tuple[int, ...]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def resolve(store: Store, site: Site, person_id: str, *, raw: bool = False) -> Person:
    if not person_id or len(person_id) > 256:
        raise ApiError(422, "invalid_parameter", "a person id is a user id or an anonymous id of 1 to 256 characters")
    rows = run(store, "person_resolve", {"site": site.site_id, "id": person_id}, raw=raw)
    found = max(rows, key=lambda r: r["linked"])
    key = int(found["person_key"])
    actors = run(store, "person_actors", {"site": site.site_id, "person": key}, raw=raw)
    anonymous = tuple(r["actor"] for r in actors)
    # Not an identified anonymous id, but anonymous ids were identified as it: a user id.
    user_id = found["user_id"] or (person_id if actors else None)
    return Person(
        key=key,
        user_id=user_id,
        anonymous_ids=anonymous,
        actors=tuple(dict.fromkeys([key, *(int(r["actor_key"]) for r in actors)])),
    )


def profile(
    store: Store, site: Site, person_id: str, query: dict[str, str], *, now_ms: int, raw: bool = False
) -> Profile:
    person = resolve(store, site, person_id, raw=raw)
    params: Params = {"site": site.site_id, "actors": list(person.actors)}
    (activity,) = run(store, "person_activity", params, raw=raw)
    if not activity["events"]:
        raise ApiError(404, "not_found", f"no person {person_id!r} on this site (no activity stored for that id)")
    user_id = person.user_id or (person_id if activity["named"] else None)
    traits = traits_by_subject(store, site, "user", [user_id] if user_id else [], raw=raw)
    timeline = _timeline(store, site, person, _NEWEST, TIMELINE_PAGE, raw=raw)
    group_ids = sorted({e.other_id for e in _all_of_type(store, site, person, "group", raw=raw)})
    groups = traits_by_subject(store, site, "group", group_ids, raw=raw)
    aliases = sorted({e.other_id for e in _all_of_type(store, site, person, "alias", raw=raw)})
    first_day = date.fromisoformat(iso(activity["first_ms"])[:10])
    days = [date.fromisoformat(d) for d in activity["days"]]
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    touch, consent = activity["first_touch"], activity["last_consent"]
    return Profile(
        person=user_id or person_id,
        identities=Identities(
            user_id=user_id, anonymous_ids=list(person.anonymous_ids), aliases=aliases, groups=group_ids
        ),
        first_seen=iso(activity["first_ms"]),
        last_seen=iso(activity["last_ms"]),
        first_touch=Touch(
            at=touch[0],
            referrer_host=touch[2],
            utm_source=touch[3],
            utm_medium=touch[4],
            utm_campaign=touch[5],
            country=touch[6],
            device=touch[7],
            browser=touch[8],
            os=touch[9],
            page=touch[10],
        ),
        activity=Activity(
            events=activity["events"],
            sessions=activity["sessions"],
            active_days=len(days),
            active_days_7=sum(1 for d in days if today - timedelta(days=6) <= d <= today),
            active_days_28=sum(1 for d in days if today - timedelta(days=27) <= d <= today),
            days_since_last_seen=max((now_ms - activity["last_ms"]) // _DAY_MS, 0),
        ),
        cohorts=Cohorts(
            day=first_day.isoformat(),
            week=(first_day - timedelta(days=first_day.weekday())).isoformat(),
            month=first_day.replace(day=1).isoformat(),
        ),
        events_by_name=[
            EventCount(name=r["name"], count=r["times"], first=iso(r["first_ms"]), last=iso(r["last_ms"]))
            for r in run(store, "person_names", params, raw=raw)
        ],
        top_pages=[
            PageCount(page=r["page"], views=r["views"], last=iso(r["last_ms"]))
            for r in run(store, "person_pages", {**params, "limit": TOP_PAGES}, raw=raw)
        ],
        transactions=[_orders(r) for r in run(store, "person_orders", params, raw=raw)],
        consent=Consent(analytics=consent[2], heatmaps=consent[3], marketing=consent[4], as_of=consent[0]),
        traits=traits.get(user_id or "", {}),
        groups=[Group(group_id=g, traits=groups.get(g, {})) for g in group_ids],
        timeline=timeline,
    )


def timeline(store: Store, site: Site, person_id: str, query: dict[str, str], *, raw: bool = False) -> Timeline:
    """GET /api/v1/people/{id}/timeline?cursor=&limit=: the next page of a person's events."""
    limit_text = query.get("limit", str(TIMELINE_PAGE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_TIMELINE_PAGE:
        raise ApiError(422, "invalid_parameter", f"limit must be an integer from 1 to {MAX_TIMELINE_PAGE}")
    before = decode_cursor(query["cursor"]) if query.get("cursor") else _NEWEST
    person = resolve(store, site, person_id, raw=raw)
    return _timeline(store, site, person, before, int(limit_text), raw=raw)


def _timeline(store: Store, site: Site, person: Person, before: tuple[int, str], limit: int, *, raw: bool) -> Timeline:
    params: Params = {
        "site": site.site_id,
        "actors": list(person.actors),
        "before_ms": before[0],
        "before_id": before[1],
        "limit": limit + 1,  # one more tells whether there is a next page
    }
    rows = run(store, "person_timeline", params, raw=raw)
    events = [_event(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Timeline(events=events, next_cursor=encode_cursor(rows[limit - 1]) if more else None)


def _all_of_type(store: Store, site: Site, person: Person, kind: str, *, raw: bool) -> list[TimelineEvent]:
    """A person's group or alias events: few, so read from the timeline's rows of that type."""
    rows = run(
        store, "person_events_of_type", {"site": site.site_id, "actors": list(person.actors), "type": kind}, raw=raw
    )
    return [_event(r) for r in rows]


def _event(row: Row) -> TimelineEvent:
    return TimelineEvent(
        id=row["id"],
        at=iso(row["at_ms"]),
        type=row["type"],
        name=row["name"],
        page=row["page"],
        session_id=row["session_id"],
        user_id=row["user_id"],
        other_id=row["other_id"],
        selector=row["selector"],
        properties=msgspec.Raw(row["properties"].encode() or b"{}"),
    )


def traits_by_subject(
    store: Store, site: Site, scope: str, subjects: list[str], *, raw: bool
) -> dict[str, dict[str, Trait]]:
    if not subjects:
        return {}
    params: Params = {"site": site.site_id, "scope": scope, "subjects": subjects}
    out: dict[str, dict[str, Trait]] = {}
    for r in run(store, "person_traits", params, raw=raw, subject_filter=_SUBJECTS):
        out.setdefault(r["subject"], {})[r["key"]] = Trait(
            value=msgspec.Raw(r["value"].encode()), set_at=iso(r["set_ms"])
        )
    return out


_SUBJECTS: Final = "subject_key IN arrayMap(s -> cityHash64(s), {subjects:Array(String)})"


def _orders(row: Row) -> Orders:
    revenue = round(float(row["revenue"]), 6)
    return Orders(
        currency=row["currency"],
        orders=row["orders"],
        revenue=revenue,
        average_order=round(revenue / row["orders"], 6) if row["orders"] else 0.0,
        first=iso(row["first_ms"]),
        last=iso(row["last_ms"]),
    )


def encode_cursor(row: Row) -> str:
    return base64.urlsafe_b64encode(f"{row['at_ms']}/{row['id']}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, str]:
    try:
        ms, _, event_id = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition("/")
        if not ms.lstrip("-").isdigit():
            raise ValueError(text)
        return int(ms), str(uuid.UUID(event_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_parameter", "cursor is not one this API handed out") from None
