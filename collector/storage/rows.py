"""Rows as ClickHouse stores them: one Struct per table, encoded to JSONEachRow in one call.

Field names and order follow clickhouse/migrations; tests/storage/test_rows.py checks they match the tables.
Times travel as decimal epoch seconds ("1795341599.120"), which ClickHouse parses exactly under
date_time_input_format=basic, on chdb and on a server alike.
"""

from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // _MS


def epoch_text(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


class EventRow(msgspec.Struct, kw_only=True, gc=False):
    site_id: int
    event_id: str
    type: str
    timestamp: str
    client_ts: str
    received_at: str
    sent_at: str | None = None
    name: str = ""
    anonymous_id: str = ""
    user_id: str = ""
    session_id: str = ""
    group_id: str = ""
    previous_id: str = ""
    url: str = ""
    host: str = ""
    path: str = ""
    referrer: str = ""
    referrer_host: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    title: str = ""
    viewport_w: int = 0
    viewport_h: int = 0
    doc_w: int = 0
    doc_h: int = 0
    x: int = 0
    y: int = 0
    el_x: int = 0
    el_y: int = 0
    fixed: bool = False
    selector: str = ""
    points: list[tuple[int, int, int]] = []
    depth: int = 0
    consent_analytics: bool = True
    consent_heatmaps: bool = True
    consent_marketing: bool = True
    properties: str = "{}"
    traits: str = "{}"
    library: str = ""
    library_version: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    browser: str = ""
    browser_version: str = ""
    os: str = ""
    os_version: str = ""
    device: str = ""
    is_bot: bool = False
    retention_days: int = 400
    page_key: str = ""
    width_bucket: int = 0
    x_frac: float = 0.0
    visitor_key: str = ""
    age_ms: int | None = None
    el_w: int = 0
    el_h: int = 0
    clicks: int = 0
    traits_once: str = "{}"  # migration 0018
    traits_unset: list[str] = []


class CounterRow(msgspec.Struct, gc=False):
    site_id: int
    hour: int  # epoch seconds: a JSON number is a DateTime at any value, a string only at 9-10 digits
    outcome: str
    reason: str
    events: int


class SampleRow(msgspec.Struct, kw_only=True, gc=False):
    """One refused or dropped event, as it was (migration 0012: kept for a few days)."""

    site_id: int
    received_at: str
    outcome: str  # rejected / dropped
    reason: str
    type: str = ""
    name: str = ""
    path: str = ""  # scrubbed as stored paths are
    library: str = ""
    detail: str = ""  # the validation error, the bot's name, the refused origin...


EVENT_COLUMNS: Final = EventRow.__struct_fields__
COUNTER_COLUMNS: Final = CounterRow.__struct_fields__
SAMPLE_COLUMNS: Final = SampleRow.__struct_fields__

_encoder: Final = msgspec.json.Encoder()


def encode(rows: list[EventRow] | list[CounterRow] | list[SampleRow]) -> bytes:
    return _encoder.encode_lines(rows)
