"""The people API's answers (GET /api/v1/people/{id}, /timeline, /people), as typed Structs: the handlers
encode them and the OpenAPI spec is generated from them. Times are ISO 8601 UTC with milliseconds."""

from typing import Any

import msgspec


class Identities(msgspec.Struct, kw_only=True):
    user_id: str | None  # None: never identified
    anonymous_ids: list[str]  # the browsers and devices whose latest identify named this user
    aliases: list[str]  # previous ids named by alias events
    groups: list[str]  # accounts (group events)


class Touch(msgspec.Struct, kw_only=True):
    """The person's first event ever: where they came from."""

    at: str
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    country: str
    device: str
    browser: str
    os: str
    page: str


class Activity(msgspec.Struct, kw_only=True):
    events: int  # every event but clicks, moves and scrolls (what retention counts)
    sessions: int
    active_days: int
    active_days_7: int  # in the 7 days up to now
    active_days_28: int
    days_since_last_seen: int


class EventCount(msgspec.Struct, kw_only=True):
    name: str  # a track event's name, or "$pageview", "$identify", "$rageclick", ...
    count: int
    first: str
    last: str


class PageCount(msgspec.Struct, kw_only=True):
    page: str
    views: int
    last: str


class Orders(msgspec.Struct, kw_only=True):
    """Orders in one currency ("" for orders sent without one): never summed across currencies."""

    currency: str
    orders: int
    revenue: float
    average_order: float
    first: str
    last: str


class Consent(msgspec.Struct, kw_only=True):
    """The consent carried by the person's latest event."""

    analytics: bool
    heatmaps: bool
    marketing: bool
    as_of: str


class Trait(msgspec.Struct, kw_only=True):
    value: Any  # as sent (JSON), or "[redacted]" / "sha256:..." by the site's people settings
    set_at: str


class Group(msgspec.Struct, kw_only=True):
    group_id: str
    traits: dict[str, Trait]


class Cohorts(msgspec.Struct, kw_only=True):
    """The periods of the person's first activity: their cohort in GET /api/v1/retention."""

    day: str
    week: str  # the Monday
    month: str


class TimelineEvent(msgspec.Struct, kw_only=True):
    id: str
    at: str
    type: str
    name: str
    page: str
    session_id: str
    user_id: str
    other_id: str  # the group of a group event, the previous id of an alias
    selector: str  # the element of a rage or dead click
    properties: Any


class Timeline(msgspec.Struct, kw_only=True):
    events: list[TimelineEvent]
    next_cursor: str | None  # pass as `cursor` for the next (older) page; None: no more


class Profile(msgspec.Struct, kw_only=True):
    person: str  # the user id, else the anonymous id
    identities: Identities
    first_seen: str
    last_seen: str
    first_touch: Touch
    activity: Activity
    cohorts: Cohorts
    events_by_name: list[EventCount]
    top_pages: list[PageCount]
    transactions: list[Orders]
    consent: Consent
    traits: dict[str, Trait]
    groups: list[Group]
    timeline: Timeline


class PersonRow(msgspec.Struct, kw_only=True):
    person: str
    user_id: str | None
    first_seen: str
    last_seen: str
    events: int
    orders: int  # in `currency`
    revenue: float
    traits: dict[str, Any]  # the traits asked for with `traits=`


class PeopleAnswer(msgspec.Struct, kw_only=True):
    sort: str
    order: str
    currency: str  # the currency of `orders` and `revenue`
    count: int  # people on this page
    next_cursor: str | None
    people: list[PersonRow]
