"""Samples of what a request lost, and why: a few of its refused or dropped events, as they were, for the
live view (GET /api/v1/live; migration 0012 keeps them 7 days). They travel in the request's spool
record and the writer stores them with the segment, so every process's samples are stored once.

Bounded twice, so a bot flood costs a few rows a minute: at most PER_REQUEST samples per reason of one
request, and PER_MINUTE per site, outcome and reason in each minute, per process (SampleBudget).
"""

from typing import Any, Final
from urllib.parse import urlsplit

import msgspec

from collector import wire
from collector.enrich.steps import HEATMAP_TYPES, Arrival, DropReason, Enriched, privacy_of
from collector.ingest.batch import Checked
from collector.privacy import scrub_text, scrub_url
from collector.sites import Site
from collector.storage.rows import SampleRow, epoch_text

PER_REQUEST: Final = 3
PER_MINUTE: Final = 10
_NAME_CHARS: Final = 200
_PATH_CHARS: Final = 1024
_DETAIL_CHARS: Final = 300


class SampleBudget:
    """How many samples this process may still take this minute, per site, outcome and reason. One
    minute is held at a time, so memory is bounded by the sites and reasons seen in it."""

    def __init__(self, *, per_request: int = PER_REQUEST, per_minute: int = PER_MINUTE) -> None:
        self.per_request = per_request
        self.per_minute = per_minute
        self._minute = -1
        self._taken: dict[tuple[int, str, str], int] = {}

    def take(self, site_id: int, outcome: str, reason: str, wanted: int, *, now_ms: int) -> int:
        minute = now_ms // 60_000
        if minute != self._minute:
            self._minute, self._taken = minute, {}
        key = (site_id, outcome, reason)
        taken = self._taken.get(key, 0)
        granted = max(0, min(wanted, self.per_request, self.per_minute - taken))
        if granted:
            self._taken[key] = taken + granted
        return granted


class _Peek(msgspec.Struct):
    """What a sample shows of an event that may not have decoded: anything, checked below."""

    type: Any = None
    name: Any = None
    url: Any = None


_peek = msgspec.json.Decoder(_Peek)


def of_request(
    budget: SampleBudget, batch: wire.Batch, arrival: Arrival, checked: Checked, enriched: Enriched
) -> list[SampleRow]:
    """Samples of the events a request's checks rejected and its enrichment dropped."""
    site, now_ms = arrival.site, arrival.received_ms
    library = batch.context.library.name
    out: list[SampleRow] = []
    by_reason: dict[str, list[wire.Rejected]] = {}
    for rejection in checked.rejected:
        by_reason.setdefault(rejection.reason, []).append(rejection)
    for reason, rejections in by_reason.items():
        granted = budget.take(site.site_id, "rejected", reason, len(rejections), now_ms=now_ms)
        for rejection in rejections[:granted]:
            peek, error = _peek_raw(batch.events[rejection.index]), rejection.error
            out.append(_sample(site, now_ms, peek, outcome="rejected", reason=reason, library=library, detail=error))
    dropped: dict[DropReason, list[wire.AnyEvent]] = {}
    for reason, event in enriched.examples:
        dropped.setdefault(reason, []).append(event)
    for reason, events in dropped.items():
        granted = budget.take(site.site_id, "dropped", reason, enriched.dropped[reason], now_ms=now_ms)
        for event in events[:granted]:
            peek = _Peek(type=event.__struct_config__.tag, name=getattr(event, "name", None), url=event.url)
            why = _why_dropped(reason, event, arrival)
            out.append(_sample(site, now_ms, peek, outcome="dropped", reason=reason, library=library, detail=why))
    return out


def of_refusal(
    budget: SampleBudget, site: Site, batch: wire.Batch, *, received_ms: int, reason: str, detail: str
) -> list[SampleRow]:
    """Samples of a batch refused as a whole (its origin, its rate): its first events."""
    granted = budget.take(site.site_id, "rejected", reason, len(batch.events), now_ms=received_ms)
    library = batch.context.library.name
    return [
        _sample(site, received_ms, _peek_raw(raw), outcome="rejected", reason=reason, library=library, detail=detail)
        for raw in batch.events[:granted]
    ]


def _peek_raw(raw: msgspec.Raw) -> _Peek:
    try:
        return _peek.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return _Peek()


def _why_dropped(reason: DropReason, event: wire.AnyEvent, arrival: Arrival) -> str:
    if reason is DropReason.BOT:
        agent = arrival.visitor_for(event).agent
        name = " ".join(part for part in (agent.browser, agent.browser_version) if part) if agent else ""
        return f"the user agent is a bot's ({name or 'unnamed, or none'}); the site setting keep_bots keeps them"
    tier = "heatmaps" if event.__struct_config__.tag in HEATMAP_TYPES else "analytics"
    return f"consent.{tier} is false"


def _sample(
    site: Site, received_ms: int, peek: _Peek, *, outcome: str, reason: str, library: str, detail: str
) -> SampleRow:
    return SampleRow(
        site_id=site.site_id,
        received_at=epoch_text(received_ms),
        outcome=outcome,
        reason=reason,
        type=_text(peek.type, 32),
        name=_text(peek.name, _NAME_CHARS),
        path=_path(site, peek.url),
        library=library,
        detail=scrub_text(detail[:_DETAIL_CHARS]),
    )


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _path(site: Site, url: object) -> str:
    """The URL's path, scrubbed as a stored event's is (collector.enrich.steps.put_page)."""
    if not isinstance(url, str) or not url:
        return ""
    try:
        return (urlsplit(scrub_url(url[:4096], drop_params=privacy_of(site.settings).drop_params)).path or "/")[
            :_PATH_CHARS
        ]
    except ValueError:
        return ""


__all__ = ["PER_MINUTE", "PER_REQUEST", "SampleBudget", "of_refusal", "of_request"]
