"""GET /api/v1/live: "why is my report empty?" The site's last events as they arrived, samples of what it
lost and why (ingest_samples), its counters over the last hour and day, and the collector's ingest
health. `since_ms` pages forward for a page that polls (docs/api.md, "live")."""

from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta

from collector.errors import ApiError
from collector.sites import Site
from collector.storage.health import IngestHealth
from collector.storage.sql import run
from collector.storage.store import Store

HOUR_MS: Final = 3_600_000
# Events listed are those timed in the last two days (an offline queue's older ones are stored and
# counted, and /api/v1/events finds them): the read stays in the last days of the site's range.
EVENTS_WINDOW_MS: Final = 2 * 24 * HOUR_MS
OUTCOMES: Final = ("rejected", "dropped", "dropped_by_sdk")


class LiveQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=500, description="events, and drop samples, at most")] = 50
    since_ms: (
        Annotated[int, Meta(ge=0, le=10**13, description="only what arrived after this (epoch ms): next_since_ms")]
        | None
    ) = None


def parse(query: dict[str, str]) -> LiveQuery:
    try:
        return msgspec.convert(query, LiveQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_parameter", str(exc).replace("$.", "")) from exc


def live(store: Store, site: Site, params: LiveQuery, *, now_ms: int, health: IngestHealth | None) -> dict[str, Any]:
    since_ms = params.since_ms or 0
    common = {"site": site.site_id, "since_ms": since_ms, "limit": params.limit}
    events = run(store, "live_events", {**common, "from_ms": now_ms - EVENTS_WINDOW_MS})
    drops = run(store, "live_drops", common)
    hour = now_ms // HOUR_MS * 3600  # ingest_counters counts per hour: windows start on one
    rows = run(store, "live_counters", {"site": site.site_id, "hour_from": hour - 3600, "day_from": hour - 24 * 3600})
    newest = max((int(row["received_ms"]) for row in (*events, *drops)), default=since_ms)
    return {
        "now_ms": now_ms,
        "next_since_ms": max(newest, since_ms),
        "events": events,
        "drops": drops,
        "counters": {
            "last_hour": _window(rows, "last_hour", since_s=hour - 3600),
            "last_24h": _window(rows, "last_24h", since_s=hour - 24 * 3600),
        },
        "health": health,
    }


def _window(rows: list[dict[str, Any]], column: str, *, since_s: int) -> dict[str, Any]:
    out: dict[str, Any] = {"since_ms": since_s * 1000, "accepted": 0, **{outcome: {} for outcome in OUTCOMES}}
    for row in rows:
        n = int(row[column])
        if not n:
            continue
        if row["outcome"] == "accepted":
            out["accepted"] += n
        elif row["outcome"] in OUTCOMES:
            out[row["outcome"]][row["reason"]] = n
    return out
