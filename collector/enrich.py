"""From a decoded event to the row ClickHouse stores: an ordered tuple of small steps.

`to_row` copies what the client sent; each step then adds what the collector derives. A step returns
None to keep the row or a DropReason to drop it (a drop is data: it is counted, never raised).
Enrichment from GeoIP, the user agent, consent and PII scrubbing joins STEPS as further steps.
"""

import contextlib
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import msgspec

from collector import wire
from collector.rows import EventRow, epoch_ms, epoch_text
from collector.sites import Site

_props: Final = msgspec.json.Encoder()
UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class DropReason(enum.StrEnum):
    pass  # filled by the enrichment steps that drop (bot, no_consent, ...)


@dataclass(frozen=True, slots=True)
class Arrival:
    """What is shared by every event of one request."""

    site: Site
    received_ms: int
    sent_ms: int | None
    context: wire.Context

    @property
    def skew_ms(self) -> int:
        """How far the client's clock is behind ours (negative: ahead). Includes time in transit."""
        return 0 if self.sent_ms is None else self.received_ms - self.sent_ms

    def corrected_ms(self, client_ms: int, age_ms: int | None = None) -> int:
        """The event's time on our clock; never later than its arrival.

        With the client's monotonic age of the event, arrival minus age (immune to the client's wall
        clock jumping between the event and the send); otherwise the client's time moved by the batch's
        skew (received_at - sent_at). Both count the time in transit (usually milliseconds) as age."""
        if age_ms is not None:
            return self.received_ms - age_ms
        return min(client_ms + self.skew_ms, self.received_ms)


Step = Callable[[EventRow, wire.AnyEvent], DropReason | None]


def to_row(event: wire.AnyEvent, arrival: Arrival) -> EventRow:
    client_ms = epoch_ms(event.ts)
    consent = arrival.context.consent
    row = EventRow(
        site_id=arrival.site.site_id,
        event_id=str(event.id),
        type=event.__struct_config__.tag,  # type: ignore[arg-type]
        timestamp=epoch_text(arrival.corrected_ms(client_ms, event.age_ms)),
        age_ms=event.age_ms,
        client_ts=epoch_text(client_ms),
        received_at=epoch_text(arrival.received_ms),
        sent_at=None if arrival.sent_ms is None else epoch_text(arrival.sent_ms),
        anonymous_id=event.anonymous_id or "",
        user_id=event.user_id or "",
        session_id=event.session_id or "",
        url=event.url or "",
        referrer=event.referrer or "",
        title=event.title or "",
        viewport_w=event.viewport_w or 0,
        viewport_h=event.viewport_h or 0,
        doc_w=event.doc_w or 0,
        doc_h=event.doc_h or 0,
        properties=_props.encode(event.properties).decode() if event.properties else "{}",
        consent_analytics=consent.analytics,
        consent_heatmaps=consent.heatmaps,
        consent_marketing=consent.marketing,
        library=arrival.context.library.name,
        library_version=arrival.context.library.version,
        retention_days=arrival.site.settings.retention_days,
    )
    _COPY[type(event)](row, event)
    return row


def _copy_name(row: EventRow, event: wire.AnyEvent) -> None:
    row.name = getattr(event, "name", None) or ""


def _copy_identify(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Identify | wire.Group)
    row.traits = _props.encode(event.traits).decode() if event.traits else "{}"
    if isinstance(event, wire.Group):
        row.group_id = event.group_id


def _copy_alias(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Alias)
    row.previous_id = event.previous_id


def _copy_click(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Click)
    row.x, row.y = event.x, event.y
    row.selector = event.selector or ""
    row.el_x, row.el_y = event.el_x or 0, event.el_y or 0
    row.fixed = event.fixed


def _copy_move(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Move)
    row.points = event.points


def _copy_scroll(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Scroll)
    row.depth = round(event.depth)


_COPY: Final[dict[type, Callable[[EventRow, wire.AnyEvent], None]]] = {
    wire.Pageview: _copy_name,
    wire.Track: _copy_name,
    wire.Identify: _copy_identify,
    wire.Group: _copy_identify,
    wire.Alias: _copy_alias,
    wire.Click: _copy_click,
    wire.Rageclick: _copy_click,
    wire.Deadclick: _copy_click,
    wire.Move: _copy_move,
    wire.Scroll: _copy_scroll,
}


def put_page(row: EventRow, event: wire.AnyEvent) -> DropReason | None:
    """host, path and UTM parameters from the page URL."""
    if not row.url:
        return None
    try:
        parts = urlsplit(row.url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: keep the URL as sent, derive nothing
        return None
    row.host = (parts.hostname or "")[:253]
    row.path = parts.path or "/"
    if "utm_" in parts.query:
        for key, value in parse_qsl(parts.query):
            if key in UTM_KEYS:
                setattr(row, key, value[:500])
    return None


def put_referrer(row: EventRow, event: wire.AnyEvent) -> DropReason | None:
    if row.referrer:
        with contextlib.suppress(ValueError):
            row.referrer_host = (urlsplit(row.referrer).hostname or "")[:253]
    return None


STEPS: Final[tuple[Step, ...]] = (put_page, put_referrer)


def enrich(event: wire.AnyEvent, arrival: Arrival) -> EventRow | DropReason:
    row = to_row(event, arrival)
    for step in STEPS:
        dropped = step(row, event)
        if dropped is not None:
            return dropped
    return row
