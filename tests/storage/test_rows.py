from datetime import timedelta

from support import NOW, iso

from collector.storage.rows import (
    COUNTER_COLUMNS,
    EVENT_COLUMNS,
    SAMPLE_COLUMNS,
    EventRow,
    encode,
    epoch_ms,
    epoch_text,
)
from collector.storage.store_chdb import ChdbStore


def columns(store: ChdbStore, table: str) -> list[str]:
    return [r["name"] for r in store.query(f"DESCRIBE TABLE footfall.{table}")]


def test_row_structs_match_the_tables(store: ChdbStore) -> None:
    assert sorted(EVENT_COLUMNS) == sorted(columns(store, "events"))
    assert sorted(COUNTER_COLUMNS) == sorted(columns(store, "ingest_counters"))
    assert sorted([*SAMPLE_COLUMNS, "stored_at"]) == sorted(columns(store, "ingest_samples"))  # stored_at: now()


def test_times_survive_the_trip_exactly(store: ChdbStore) -> None:
    ms = epoch_ms(NOW) + 7
    assert epoch_text(ms) == f"{ms // 1000}.007"
    row = EventRow(
        site_id=1,
        event_id="0190f3c6-0000-7000-8000-000000000001",
        type="track",
        timestamp=epoch_text(ms),
        client_ts=epoch_text(ms - 1),
        received_at=epoch_text(ms + 1),
    )
    store.insert("events", encode([row]), columns=EVENT_COLUMNS)
    (back,) = store.query("SELECT timestamp, client_ts, received_at, sent_at FROM footfall.events")
    assert back == {
        "timestamp": iso(NOW + timedelta(milliseconds=7)),
        "client_ts": iso(NOW + timedelta(milliseconds=6)),
        "received_at": iso(NOW + timedelta(milliseconds=8)),
        "sent_at": None,
    }
