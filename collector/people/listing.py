"""GET /api/v1/people: people filtered on traits, what they did or did not do, last seen and revenue,
sorted by last seen, first seen, events or revenue, a page at a time (an opaque keyset cursor), as JSON
or a spreadsheet-safe CSV (clickhouse/queries/people.sql)."""

import base64
import binascii
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from collector.errors import ApiError
from collector.people.profile import iso, traits_by_subject
from collector.people.shapes import PeopleAnswer, PersonRow
from collector.reports.api import check_day
from collector.sites import Site
from collector.storage.sql import run
from collector.storage.store import Store
from collector.tables import Table

MAX_TRAIT_FILTERS: Final = 5
TRAIT_PREFIX: Final = "trait."
_SORTS: Final = {"last_seen": "p.last_ms", "first_seen": "p.first_ms", "events": "p.events", "revenue": "p.revenue"}
_DAY_MS: Final = 86_400_000


class PeopleQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Filters combine with AND. Trait filters are `trait.<key>=<value>` (up to 5; `*`: any value)."""

    did: Annotated[str, Meta(max_length=200, description="did this event (within `within_days`)")] = ""
    not_did: Annotated[str, Meta(max_length=200, description="did not do this event (within `within_days`)")] = ""
    within_days: Annotated[int, Meta(ge=0, le=3660, description="for did / not_did: 0 is ever")] = 0
    seen_after: Annotated[date | None, Meta(description="last seen on or after this day (UTC)")] = None
    seen_before: Annotated[date | None, Meta(description="last seen before this day (UTC)")] = None
    currency: Annotated[
        str, Meta(max_length=16, description="orders and revenue in this currency; default: the site's most used")
    ] = ""
    min_revenue: Annotated[float | None, Meta(description="revenue in `currency` at least this")] = None
    max_revenue: Annotated[float | None, Meta(description="revenue in `currency` at most this")] = None
    traits: Annotated[str, Meta(max_length=2000, description="comma-separated trait keys to include per person")] = ""
    sort: Literal["last_seen", "first_seen", "events", "revenue"] = "last_seen"
    order: Literal["desc", "asc"] = "desc"
    limit: Annotated[int, Meta(ge=1, le=10_000)] = 100
    cursor: Annotated[str, Meta(max_length=200, description="next_cursor of the previous page")] = ""
    format: Literal["json", "csv"] = "json"


def parse_query(query: dict[str, str]) -> tuple[PeopleQuery, list[tuple[str, str]]]:
    plain = {k: v for k, v in query.items() if not k.startswith(TRAIT_PREFIX)}
    wanted = [(k[len(TRAIT_PREFIX) :], v) for k, v in query.items() if k.startswith(TRAIT_PREFIX)]
    if len(wanted) > MAX_TRAIT_FILTERS:
        raise ApiError(422, "invalid_parameter", f"at most {MAX_TRAIT_FILTERS} trait.<key> filters, got {len(wanted)}")
    for key, value in wanted:
        if not 1 <= len(key) <= 200 or len(value) > 1000:
            raise ApiError(
                422, "invalid_parameter", f"trait.{key[:50]}: a key of 1-200 and a value of at most 1000 characters"
            )
    try:
        parsed = msgspec.convert(plain, PeopleQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_parameter", str(exc).replace("$.", "")) from exc
    for name, day in (("seen_after", parsed.seen_after), ("seen_before", parsed.seen_before)):
        if day is not None:
            check_day(name, day)
    return parsed, wanted


def people(store: Store, site: Site, query: dict[str, str], *, now_ms: int, raw: bool = False) -> PeopleAnswer:
    p, trait_filters = parse_query(query)
    currency = p.currency.upper() or main_currency(store, site)
    after_value, after_key = decode_cursor(p.cursor) if p.cursor else (0.0, 0)
    params: dict[str, Any] = {
        "site": site.site_id,
        "currency": currency,
        "did_name": p.did,
        "not_did_name": p.not_did,
        "did_since_ms": now_ms - p.within_days * _DAY_MS if p.within_days else -(2**62),
        "seen_after_ms": _day_ms(p.seen_after, -(2**62)),
        "seen_before_ms": _day_ms(p.seen_before, 2**62),
        "min_revenue": -1e308 if p.min_revenue is None else p.min_revenue,
        "max_revenue": 1e308 if p.max_revenue is None else p.max_revenue,
        "after_value": after_value,
        "after_key": after_key,
        "limit": p.limit + 1,  # one more tells whether there is a next page
    }
    for i, (key, value) in enumerate(trait_filters):
        params[f"trait_key_{i}"], params[f"trait_value_{i}"] = key, value
    rows = run(
        store,
        "people",
        params,
        raw=raw,
        scope="user",
        sort=_SORTS[p.sort],
        order=p.order.upper(),
        trait_filters=len(trait_filters),  # type: ignore[arg-type]
        did=bool(p.did),
        not_did=bool(p.not_did),
        cursor=bool(p.cursor),
    )
    more, rows = len(rows) > p.limit, rows[: p.limit]
    keys = trait_keys(p.traits)
    users = [r["user_id"] for r in rows if r["user_id"]]
    traits = traits_by_subject(store, site, "user", users, raw=raw) if keys else {}
    out = [
        PersonRow(
            person=r["person"],
            user_id=r["user_id"] or None,
            first_seen=iso(r["first_ms"]),
            last_seen=iso(r["last_ms"]),
            events=r["events"],
            orders=r["orders"],
            revenue=round(float(r["revenue"]), 6),
            traits={k: t.value for k, t in traits.get(r["user_id"], {}).items() if k in keys},
        )
        for r in rows
    ]
    return PeopleAnswer(
        sort=p.sort,
        order=p.order,
        currency=currency,
        count=len(out),
        next_cursor=encode_cursor(rows[-1]["sort_value"], rows[-1]["person_key"]) if more else None,
        people=out,
    )


def to_table(answer: PeopleAnswer, query: dict[str, str]) -> Table:
    """The page as a spreadsheet: one column per asked trait, its text (JSON for anything not a string)."""
    keys = trait_keys(query.get("traits", ""))
    columns = (
        "person",
        "user_id",
        "first_seen",
        "last_seen",
        "events",
        "orders",
        f"revenue_{answer.currency or 'none'}",
    )
    rows = [
        (
            r.person,
            r.user_id,
            r.first_seen,
            r.last_seen,
            r.events,
            r.orders,
            r.revenue,
            *(_text(r.traits.get(k)) for k in keys),
        )
        for r in answer.people
    ]
    return Table(name="people", title="People", columns=columns + tuple(f"trait_{k}" for k in keys), rows=rows)


def trait_keys(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()][:50]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    decoded = msgspec.json.decode(value) if isinstance(value, msgspec.Raw) else value
    return decoded if isinstance(decoded, str) else msgspec.json.encode(decoded).decode()


def main_currency(store: Store, site: Site) -> str:
    rows = run(store, "people_currency", {"site": site.site_id})
    return str(rows[0]["currency"]) if rows else site.settings.people.default_currency


def _day_ms(day: date | None, default: int) -> int:
    return default if day is None else int(datetime.combine(day, time(), UTC).timestamp() * 1000)


def encode_cursor(value: float, key: int) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([value, key])).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[float, int]:
    try:
        value, key = msgspec.json.decode(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), type=tuple[float, int]
        )
        if not 0 <= key < 2**64:
            raise ValueError(key)
        return value, key
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise ApiError(422, "invalid_parameter", "cursor is not one this API handed out") from None
