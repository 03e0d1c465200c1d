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
    params: Params = {
        "site": site.site_id,
        "actors": list(person.actors),
        "users": [person.key],  # a user's key is their user id's hash; an id never linked may be a user's
        "pages_limit": TOP_PAGES,
        "before_ms": _NEWEST[0],
        "before_id": _NEWEST[1],
        "limit": TIMELINE_PAGE + 1,
    }
    parts: dict[str, list[Row]] = {}
    for row in run(store, "person_profile", params, raw=raw):
        parts.setdefault(row["part"], []).append(row)
    (activity,) = parts["activity"]
    if not activity["n"]:
        raise ApiError(404, "not_found", f"no person {person_id!r} on this site (no activity stored for that id)")
    named, day_texts, sessions, touch, consent = msgspec.json.decode(activity["a"])
    user_id = person.user_id or (person_id if named else None)
    events = [_event(r) for r in sorted(parts.get("event", []), key=lambda r: r["n"])]
    card = Card.of(parts["card"][0]["a"])
    groups: dict[str, dict[str, Trait]] = {}
    if card.groups:
        groups = traits_by_subject(store, site, "group", card.groups, raw=raw)
    first_day = date.fromisoformat(iso(activity["first_ms"])[:10])
    days = [date.fromisoformat(d) for d in day_texts]
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    return Profile(
        person=user_id or person_id,
        identities=Identities(
            user_id=user_id,
            anonymous_ids=list(person.anonymous_ids),
            aliases=card.aliases,
            groups=card.groups,
        ),
        first_seen=iso(activity["first_ms"]),
        last_seen=iso(activity["last_ms"]),
        first_touch=Touch(
            at=touch[0],
            referrer_host=touch[3],
            utm_source=touch[4],
            utm_medium=touch[5],
            utm_campaign=touch[6],
            country=touch[7],
            device=touch[8],
            browser=touch[9],
            os=touch[10],
            page=touch[11],
        ),
        activity=Activity(
            events=activity["n"],
            sessions=sessions,
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
        events_by_name=card.names(),
        top_pages=card.pages(TOP_PAGES),
        transactions=card.orders(),
        consent=Consent(analytics=consent[2], heatmaps=consent[3], marketing=consent[4], as_of=consent[0]),
        traits={r["key"]: _trait(r) for r in sorted(parts.get("trait", []), key=lambda r: r["key"])} if user_id else {},
        groups=[Group(group_id=g, traits=groups.get(g, {})) for g in card.groups],
        timeline=Timeline(
            events=events[:TIMELINE_PAGE],
            next_cursor=_cursor_of(events[TIMELINE_PAGE - 1]) if len(events) > TIMELINE_PAGE else None,
        ),
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
    events = [_event(r) for r in run(store, "person_timeline", params, raw=raw)]
    more = len(events) > limit
    return Timeline(events=events[:limit], next_cursor=_cursor_of(events[limit - 1]) if more else None)


def _event(row: Row) -> TimelineEvent:
    """A timeline row: from person_timeline, or from person_profile's `event` part (fields packed in `a`)."""
    if "part" in row:
        kind, name, user_id, session_id, other_id, page, selector = msgspec.json.decode(row["a"])
        row = {
            **dict(type=kind, name=name, user_id=user_id, session_id=session_id, other_id=other_id),
            **dict(page=page, selector=selector, id=row["key"], at_ms=row["last_ms"], properties=row["b"]),
        }
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


def _trait(row: Row) -> Trait:
    """A trait row of person_traits (`value`), or of person_profile's parts (in `a`)."""
    if "part" in row:
        return Trait(value=msgspec.Raw(row["a"].encode()), set_at=iso(row["last_ms"]))
    return Trait(value=msgspec.Raw(row["value"].encode()), set_at=iso(row["set_ms"]))


def traits_by_subject(
    store: Store, site: Site, scope: str, subjects: list[str], *, raw: bool
) -> dict[str, dict[str, Trait]]:
    if not subjects:
        return {}
    params: Params = {"site": site.site_id, "subjects": subjects}
    out: dict[str, dict[str, Trait]] = {}
    for r in run(store, "person_traits", params, raw=raw, scope=scope, subject_filter=_SUBJECTS):
        out.setdefault(r["subject"], {})[r["key"]] = _trait(r)
    return out


_SUBJECTS: Final = "subject_key IN arrayMap(s -> cityHash64(s), {subjects:Array(String)})"


class Card(msgspec.Struct, frozen=True, array_like=True):
    """person_card.sql's maps, as (keys, values) pairs, in its column order."""

    name_times: tuple[list[str], list[int]]
    name_first: tuple[list[str], list[int]]
    name_last: tuple[list[str], list[int]]
    page_views: tuple[list[str], list[int]]
    page_last: tuple[list[str], list[int]]
    order_count: tuple[list[str], list[int]]
    order_revenue: tuple[list[str], list[float]]
    order_first: tuple[list[str], list[int]]
    order_last: tuple[list[str], list[int]]
    groups: list[str]
    aliases: list[str]

    @classmethod
    def of(cls, text: str) -> "Card":
        return msgspec.json.decode(text, type=cls)

    def names(self) -> list[EventCount]:
        first, last = dict(zip(*self.name_first, strict=True)), dict(zip(*self.name_last, strict=True))
        ranked = sorted(zip(*self.name_times, strict=True), key=lambda kv: (-kv[1], kv[0]))
        return [EventCount(name=k, count=n, first=iso(first[k]), last=iso(last[k])) for k, n in ranked]

    def pages(self, limit: int) -> list[PageCount]:
        last = dict(zip(*self.page_last, strict=True))
        ranked = sorted(zip(*self.page_views, strict=True), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [PageCount(page=k, views=n, last=iso(last[k])) for k, n in ranked]

    def orders(self) -> list[Orders]:
        revenue = dict(zip(*self.order_revenue, strict=True))  # sumMap leaves out a total of 0
        first, last = dict(zip(*self.order_first, strict=True)), dict(zip(*self.order_last, strict=True))
        out = []
        for currency, count in sorted(zip(*self.order_count, strict=True)):
            total = round(float(revenue.get(currency, 0.0)), 6)
            out.append(
                Orders(
                    currency=currency,
                    orders=count,
                    revenue=total,
                    average_order=round(total / count, 6) if count else 0.0,
                    first=iso(first[currency]),
                    last=iso(last[currency]),
                )
            )
        return out


def _cursor_of(event: TimelineEvent) -> str:
    at_ms = round(datetime.fromisoformat(event.at.replace("Z", "+00:00")).timestamp() * 1000)
    return base64.urlsafe_b64encode(f"{at_ms}/{event.id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, str]:
    try:
        ms, _, event_id = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition("/")
        if not ms.lstrip("-").isdigit():
            raise ValueError(text)
        return int(ms), str(uuid.UUID(event_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_parameter", "cursor is not one this API handed out") from None
