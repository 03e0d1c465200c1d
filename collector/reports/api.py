"""The read API's common parts: the site of a read key, query parameters, the events export."""

from datetime import date, timedelta
from typing import Annotated, Any, Final, TypeVar

import msgspec
from msgspec import Meta

from collector import wire
from collector.errors import ApiError
from collector.privacy import page_key
from collector.sites import Site
from collector.storage.site_registry import Sites
from collector.storage.sql import run
from collector.storage.store import Params, Store

MAX_EVENTS_LIMIT: Final = 10_000
FIRST_DAY: Final = date(1970, 1, 1)  # ClickHouse's Date range
LAST_DAY: Final = date(2149, 6, 6)
_JSON_COLUMNS: Final = ("properties", "traits")
MAX_RANGE_DAYS: Final = 3660
DEFAULT_DAYS: Final = 30

Since = Annotated[date | None, Meta(description="first day (UTC), default: 29 days before `until`")]
Until = Annotated[date | None, Meta(description="last day (UTC), default: today")]


class Range(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: Since = None
    until: Until = None


Q = TypeVar("Q", bound=Range)


def parse(kind: type[Q], query: dict[str, str]) -> Q:
    try:
        return msgspec.convert(query, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_parameter", str(exc).replace("$.", "")) from exc


def days(params: Range, today: date) -> tuple[date, date]:
    for name, day in (("since", params.since), ("until", params.until)):
        if day is not None:
            check_day(name, day)
    until = params.until or today
    since = params.since or max(until - timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
    if since > until:
        raise ApiError(422, "invalid_parameter", f"since ({since}) is after until ({until})")
    if (until - since).days >= MAX_RANGE_DAYS:
        raise ApiError(422, "invalid_parameter", f"a range is at most {MAX_RANGE_DAYS} days")
    return since, until


def dates(since: date, until: date) -> dict[str, str]:
    """Query parameters for {since:Date} and {until:Date}."""
    return {"since": since.isoformat(), "until": until.isoformat()}


def to_page_key(page: str, site: Site) -> str:
    """A URL becomes the page key the collector stored for the site; a page key is taken as it is."""
    if "://" in page:
        return page_key(page, hash_routes=site.settings.snippet.hash_routes)
    return page.strip()


def site_for_read_key(sites: Sites, authorization: str | None) -> Site:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(
            401,
            "missing_read_key",
            "send the site's read key as `Authorization: Bearer <read key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = key.strip()
    site = sites.by_read_key(key)
    if site is None:
        hint = " (that is a write key; read keys start with ffr_)" if sites.by_write_key(key) else ""
        raise ApiError(
            401,
            "unknown_read_key",
            f"no site has this read key{hint}",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return site


def int_param(query: dict[str, str], name: str, *, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ApiError(422, "invalid_parameter", f"{name} must be an integer from {low} to {high:,}, got {text!r}")
    return int(text)


def choice_param(query: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    text = query.get(name, "")
    if text and text not in choices:
        raise ApiError(422, "invalid_parameter", f"{name} must be one of {', '.join(choices)}, got {text!r}")
    return text


def date_param(query: dict[str, str], name: str, default: str) -> str:
    text = query.get(name)
    if text is None:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "invalid_parameter", f"{name} must be a day like 2026-11-22, got {text!r}") from None
    check_day(name, day)
    return day.isoformat()


def check_day(name: str, day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ApiError(422, "invalid_parameter", f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {day}")


def recent_events(store: Store, site: Site, query: dict[str, str]) -> dict[str, Any]:
    limit = int_param(query, "limit", default=100, low=1, high=MAX_EVENTS_LIMIT)
    event_type = choice_param(query, "type", wire.EVENT_TYPES)
    params: Params = {
        "site_id": site.site_id,
        "type": event_type,
        "limit": limit,
        "name": query.get("name", "")[:200],
        "person": query.get("person", "")[:256],
        "since": date_param(query, "since", "1970-01-01"),
        "until": date_param(query, "until", "2105-12-31"),
    }
    rows = run(store, "recent_events", params)
    for row in rows:
        for column in _JSON_COLUMNS:  # stored as JSON text: hand it back as an object, unparsed
            row[column] = msgspec.Raw(row[column].encode())
    return {"site": site.name, "count": len(rows), "events": rows}
