"""The v1 wire protocol: what SDKs send to POST /v1/batch, as frozen msgspec Structs.

Limits live on the types. Unknown fields are ignored, so SDKs may send newer optional fields to an
older collector. The protocol only grows by optional fields with defaults (docs/protocol.md).
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta

MAX_NESTING: Final = 5  # levels of objects/arrays inside properties or traits

Key = Annotated[str, Meta(min_length=1, max_length=128)]
Id = Annotated[str, Meta(min_length=1, max_length=256)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Label = Annotated[str, Meta(max_length=100)]
Url = Annotated[str, Meta(max_length=4096)]
Text = Annotated[str, Meta(max_length=1024)]
Selector = Annotated[str, Meta(max_length=1024)]
Timestamp = Annotated[datetime, Meta(tz=True)]
Pixels = Annotated[int, Meta(ge=0, le=10_000_000)]
Offset = Annotated[int, Meta(ge=-10_000_000, le=10_000_000)]
Screen = Annotated[int, Meta(ge=0, le=100_000)]
Percent = Annotated[float, Meta(ge=0, le=100)]
Point = tuple[Pixels, Pixels, Annotated[int, Meta(ge=1, le=1_000_000)]]


class Library(msgspec.Struct, frozen=True, kw_only=True):
    name: Label = ""
    version: Label = ""


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    """What the visitor agreed to. Absent flags mean the sender decided (server SDKs): allowed."""

    analytics: bool = True
    heatmaps: bool = True
    marketing: bool = True


class Context(msgspec.Struct, frozen=True, kw_only=True):
    library: Library = Library()
    consent: Consent = Consent()
    # A server-side sender may forward its end user's address and agent (as Segment's context.ip and
    # context.userAgent); they are used for place, device and the visitor key, and never stored.
    # Browser requests are read from the connection instead, so a page cannot pose as someone else.
    ip: Annotated[str, Meta(max_length=45)] | None = None
    user_agent: Annotated[str, Meta(max_length=1024)] | None = None
    # Events the SDK had to drop before sending (queue full, no consent, ...), reported in-band so a
    # site owner sees them beside the collector's own counts.
    sdk_dropped: Annotated[
        dict[Annotated[str, Meta(max_length=64)], Annotated[int, Meta(ge=0)]], Meta(max_length=32)
    ] = {}


class EventContext(msgspec.Struct, frozen=True, kw_only=True):
    """Per-event overrides of the batch's context, for server-side senders whose batches mix end users:
    their address and agent (server calls only, as in Context) and what each of them consented to."""

    ip: Annotated[str, Meta(max_length=45)] | None = None
    user_agent: Annotated[str, Meta(max_length=1024)] | None = None
    consent: Consent | None = None


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    # Events stay raw here and are decoded one by one, so one bad event is reported by its index
    # instead of failing the batch.
    events: list[msgspec.Raw]
    key: Key | None = None
    sent_at: Timestamp | None = None
    context: Context = Context()


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every event type may carry. `id` is the client-made idempotency key (UUIDv7 preferred)."""

    id: uuid.UUID
    ts: Timestamp
    anonymous_id: Id | None = None
    user_id: Id | None = None
    session_id: Id | None = None
    url: Url | None = None
    referrer: Url | None = None
    title: Text | None = None
    viewport_w: Screen | None = None
    viewport_h: Screen | None = None
    doc_w: Pixels | None = None
    doc_h: Pixels | None = None
    properties: dict[str, Any] = {}
    # How long the client held the event before sending the batch, by its monotonic clock: lets the
    # collector place the event in time even when the client's wall clock jumped (docs/protocol.md).
    age_ms: Annotated[int, Meta(ge=0, le=31 * 86_400_000)] | None = None
    context: EventContext | None = None


class Pageview(Event, frozen=True, tag="pageview"):
    name: Name | None = None  # a page's name, for server-side `page` calls


class Track(Event, frozen=True, tag="track"):
    name: Name


TraitKey = Annotated[str, Meta(min_length=1, max_length=200)]


class Identify(Event, frozen=True, tag="identify"):
    """`traits` are set, `traits_once` set only where the trait has no value yet, `unset` removed; all
    resolved by event time (docs/people.md), so a late or replayed identify never undoes a newer one."""

    user_id: Id
    traits: dict[str, Any] = {}
    traits_once: dict[str, Any] = {}
    unset: Annotated[list[TraitKey], Meta(max_length=100)] = []


class Group(Event, frozen=True, tag="group"):
    group_id: Id
    traits: dict[str, Any] = {}
    traits_once: dict[str, Any] = {}
    unset: Annotated[list[TraitKey], Meta(max_length=100)] = []


class Alias(Event, frozen=True, tag="alias"):
    user_id: Id
    previous_id: Id


class Click(Event, frozen=True, tag="click"):
    """x/y: document coordinates in CSS pixels (viewport ones when `fixed`); el_x/el_y: the offset inside
    the clicked element's box, el_w/el_h: that box's size, so el_x / el_w holds across layouts."""

    x: Pixels
    y: Pixels
    selector: Selector | None = None
    el_x: Offset | None = None
    el_y: Offset | None = None
    el_w: Pixels | None = None
    el_h: Pixels | None = None
    fixed: bool = False  # the element is position: fixed/sticky, so x/y follow the viewport


class Rageclick(Click, frozen=True, tag="rageclick"):
    clicks: Annotated[int, Meta(ge=2, le=1000)] | None = None


class Deadclick(Click, frozen=True, tag="deadclick"):
    pass


class Move(Event, frozen=True, tag="move"):
    """Mouse movement aggregated in the browser: [x, y, hits] cells, not a stream of points."""

    points: Annotated[list[Point], Meta(min_length=1, max_length=2000)]


class Scroll(Event, frozen=True, tag="scroll"):
    depth: Percent  # deepest point seen, % of document height


AnyEvent = Pageview | Track | Identify | Group | Alias | Click | Rageclick | Deadclick | Move | Scroll
EVENT_CLASSES: Final = (Pageview, Track, Identify, Group, Alias, Click, Rageclick, Deadclick, Move, Scroll)
EVENT_TYPES: Final = tuple(str(cls.__struct_config__.tag) for cls in EVENT_CLASSES)

batch_decoder: Final = msgspec.json.Decoder(Batch)
event_decoder: Final = msgspec.json.Decoder(AnyEvent)


class Rejected(msgspec.Struct, frozen=True):
    index: int
    error: str
    reason: str


class Accepted(msgspec.Struct, frozen=True):
    """The 202 answer."""

    accepted: int
    rejected: list[Rejected]


def json_schema() -> dict[str, Any]:
    """JSON Schema of a batch, with the event union spelled out (served at GET /v1/schema)."""
    (_, union), defs = msgspec.json.schema_components([Batch, AnyEvent], ref_template="#/$defs/{name}")
    batch = defs.pop("Batch")
    batch["properties"]["events"] = {
        "type": "array",
        "items": union,
        "description": "Each event is checked on its own: bad ones are reported by index, good ones kept.",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **batch,
        "$id": "footfall/v1/batch",
        "title": "footfall batch (v1)",
        "$defs": defs,
    }
