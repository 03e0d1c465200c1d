"""The writer against the real engine: segments in, rows out, exactly once."""

import asyncio
import os
import shutil
import time
import uuid
from pathlib import Path

import msgspec
from support import NOW_MS, Switchable, spool_folder, wait_until

from collector.metrics import Metrics
from collector.settings import Batching
from collector.storage.rows import EVENT_COLUMNS, EventRow, SampleRow, encode, epoch_text
from collector.storage.segments import Record, sealed_segments, write_segment
from collector.storage.sink import RecentIds, Writer, warm_recent_ids
from collector.storage.spool import Spool
from collector.storage.store_chdb import ChdbStore

HOUR = NOW_MS // 3_600_000 * 3600


def record(n: int = 1, *, ids: list[str] | None = None, site_id: int = 1) -> Record:
    ids = ids or [str(uuid.uuid4()) for _ in range(n)]
    rows = [
        EventRow(
            site_id=site_id,
            event_id=i,
            type="track",
            name="t",
            timestamp=epoch_text(NOW_MS - 1000),
            client_ts=epoch_text(NOW_MS - 1000),
            received_at=epoch_text(NOW_MS),
        )
        for i in ids
    ]
    return Record(site_id=site_id, hour=HOUR, rows=encode(rows), ids=ids, counters=[("accepted", "", len(ids))])


def segment_file(folder: Path, seq: int, records: list[Record]) -> Path:
    path = folder / f"{seq:020d}.seg"
    write_segment(path, records)
    return path


def writer(store: object, folder: Path, recent: RecentIds | None = None) -> tuple[Writer, Metrics]:
    metrics = Metrics()
    window = recent or RecentIds(max_ids=1000, max_age_s=600)
    return Writer(store, lambda: [folder], metrics, recent=window), metrics  # type: ignore[arg-type]


def events(store: ChdbStore) -> int:
    return int(store.query("SELECT count() AS n FROM footfall.events")[0]["n"])


def counters(store: ChdbStore) -> dict[tuple[str, str], int]:
    rows = store.query("SELECT outcome, reason, sum(events) AS n FROM footfall.ingest_counters GROUP BY ALL")
    return {(r["outcome"], r["reason"]): r["n"] for r in rows}


def test_a_segment_is_stored_with_its_counters_then_deleted(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    path = segment_file(folder, 1, [record(2), record(3)])
    write, metrics = writer(store, folder)
    (segment,) = sealed_segments(folder)
    write.store_segment(segment)
    assert not path.exists()
    assert events(store) == 5
    assert counters(store) == {("accepted", ""): 5}
    assert metrics.insert_rows.value() == 5


def test_counters_of_any_hour_are_stored_without_the_salvage_path(store: ChdbStore, tmp_path: Path) -> None:
    """The counter's hour goes to ClickHouse as a number: as a string, "0" or "3600" is no DateTime
    and the whole segment went the slow request-by-request way."""
    folder = spool_folder(tmp_path)
    early = [msgspec.structs.replace(record(1), hour=hour) for hour in (0, 3600)]
    segment_file(folder, 1, [*early, record(2)])
    write, metrics = writer(store, folder)
    write.store_segment(sealed_segments(folder)[0])
    assert metrics.insert_failures.value() == 0
    assert events(store) == 4
    hours = store.query("SELECT toUnixTimestamp(hour) AS h, sum(events) AS n FROM footfall.ingest_counters GROUP BY h")
    assert sorted((r["h"], r["n"]) for r in hours) == [(0, 1), (3600, 1), (HOUR, 2)]


def test_a_segment_replayed_after_a_crash_is_stored_once(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    path = segment_file(folder, 1, [record(4)])
    saved = tmp_path / "copy"
    shutil.copy(path, saved)
    write, _ = writer(store, folder)
    write.store_segment(sealed_segments(folder)[0])
    # The process died after the insert, before the delete: the same file is there at the next start,
    # and this writer (a new process) has an empty window of recent ids.
    shutil.copy(saved, path)
    fresh, _ = writer(store, folder)
    fresh.store_segment(sealed_segments(folder)[0])
    assert events(store) == 4
    assert counters(store) == {("accepted", ""): 4}


def test_drop_samples_are_stored_once_though_the_segment_is_replayed(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    bot = SampleRow(site_id=1, received_at=epoch_text(NOW_MS), outcome="dropped", reason="bot", type="pageview")
    refused = Record(
        site_id=1, hour=HOUR, rows=b"", ids=[], counters=[("dropped", "bot", 2)], samples=encode([bot, bot])
    )
    path = segment_file(folder, 1, [refused, record(1)])
    saved = tmp_path / "copy"
    shutil.copy(path, saved)
    writer(store, folder)[0].store_segment(sealed_segments(folder)[0])
    shutil.copy(saved, path)  # killed before the delete: replayed by the next process
    writer(store, folder)[0].store_segment(sealed_segments(folder)[0])
    rows = store.query("SELECT outcome, reason, type FROM footfall.ingest_samples")
    assert rows == [{"outcome": "dropped", "reason": "bot", "type": "pageview"}] * 2
    assert counters(store) == {("accepted", ""): 1, ("dropped", "bot"): 2}


def test_the_writer_measures_the_time_from_receipt_to_commit(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    late, early = (msgspec.structs.replace(record(1), received_ms=NOW_MS - ms) for ms in (200, 1500))
    old = record(1)  # written by an older footfall: no receipt time, not measured
    segment_file(folder, 1, [late, early, old])
    segment_file(folder, 2, [old])
    write = Writer(
        store, lambda: [folder], Metrics(), recent=RecentIds(max_ids=10, max_age_s=60), now_ms=lambda: NOW_MS
    )
    for segment in sealed_segments(folder):
        write.store_segment(segment)
    assert list(write.lags_ms) == [1500]  # the segment's oldest request
    assert (write.last_commit_ms, write.segments_stored) == (NOW_MS, 2)


def test_a_replay_dropped_as_a_duplicate_without_its_rows_is_inserted_again(store: ChdbStore, tmp_path: Path) -> None:
    """A kill inside ClickHouse's insert can leave the token in the deduplication log without the part."""
    folder = spool_folder(tmp_path)
    path = segment_file(folder, 1, [record(3)])
    os.utime(path, (time.time() - 60, time.time() - 60))  # left by the process that died
    (segment,) = sealed_segments(folder)
    # The deduplication log knows the token (here from another block), the segment's rows are not there.
    store.insert(
        "events", record(1).rows, columns=EVENT_COLUMNS, settings={"insert_deduplication_token": segment.token}
    )
    saved = tmp_path / "copy"
    shutil.copy2(path, saved)
    write, _ = writer(store, folder)
    write.store_segment(segment)
    assert events(store) == 4
    shutil.copy2(saved, path)  # killed again before the delete: a second replay adds nothing
    write.store_segment(sealed_segments(folder)[0])
    assert events(store) == 4


def test_segments_of_a_restarted_process_are_stored_though_numbered_again(store: ChdbStore, tmp_path: Path) -> None:
    """After a clean stop the folder is empty and the next process numbers its segments from 1 again;
    ClickHouse must not take them for repeats of the last process's segments (issue 12)."""
    folder = spool_folder(tmp_path)
    stored = 0
    for life in range(4):
        spool = Spool(
            folder, segment_rows=2, segment_bytes=1 << 20, segment_age_s=60, max_bytes=1 << 30, retry_after_s=1
        )

        async def append(spool: Spool = spool) -> None:
            spool.open()
            await spool.start()
            for _ in range(3):
                await spool.append(record(2))  # two rows: each record seals a segment
            await spool.close()

        asyncio.run(append())
        assert [s.seq for s in sealed_segments(folder)] == [1, 2, 3], f"life {life} numbers from 1"
        write, _ = writer(store, folder)
        for segment in sealed_segments(folder):
            write.store_segment(segment)
        stored += 6
        assert events(store) == stored
    assert counters(store) == {("accepted", ""): stored}


def test_a_client_retry_in_a_later_segment_is_dropped_and_counted(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    first = record(3)
    retry = record(ids=[*first.ids, str(uuid.uuid4())])  # the same three again, and one new event
    segment_file(folder, 1, [first])
    segment_file(folder, 2, [retry, record(ids=[first.ids[0]])])  # and a second copy inside one segment
    write, metrics = writer(store, folder)
    for segment in sealed_segments(folder):
        write.store_segment(segment)
    assert events(store) == 4
    assert store.query("SELECT uniqExact(event_id) AS n FROM footfall.events")[0]["n"] == 4
    assert counters(store) == {("accepted", ""): 4, ("dropped", "duplicate"): 4}
    assert metrics.dropped.value("duplicate") == 4


def test_the_window_is_warmed_from_the_store(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    first = record(2)
    segment_file(folder, 1, [first])
    write, _ = writer(store, folder)
    write.store_segment(sealed_segments(folder)[0])
    # received_at of those rows is the tests' pinned NOW, a day back; the window reaches back from the engine's now().
    store.execute("ALTER TABLE footfall.events UPDATE received_at = now64(3) WHERE 1 SETTINGS mutations_sync = 1")
    recent = RecentIds(max_ids=10, max_age_s=600)
    warm_recent_ids(store, recent, Batching(dedup_window_s=600, dedup_window_ids=10))
    assert set(first.ids) <= {i for i in first.ids if i in recent}
    assert len(recent) == 2


def test_the_window_forgets_by_count_and_by_age() -> None:
    now = [0.0]
    recent = RecentIds(max_ids=3, max_age_s=10, clock=lambda: now[0])
    recent.add(["a", "b", "c", "d"])
    assert "a" not in recent
    assert {"b", "c", "d"} == {i for i in "abcd" if i in recent}
    now[0] = 11.0
    recent.add(["e"])
    assert len(recent) == 1


def test_clickhouse_down_segments_wait_then_all_are_stored(store: ChdbStore, tmp_path: Path) -> None:
    switch = Switchable(store)
    folder = spool_folder(tmp_path)
    segment_file(folder, 1, [record(2)])

    async def scenario() -> None:
        write, metrics = writer(switch, folder)
        switch.down = True
        await write.start()
        await asyncio.to_thread(wait_until, lambda: write.failing() is not None, what="the writer to notice")
        assert "cannot write to ClickHouse" in (write.failing() or "")
        assert len(sealed_segments(folder)) == 1
        segment_file(folder, 2, [record(3)])
        switch.down = False
        await asyncio.to_thread(wait_until, lambda: not sealed_segments(folder), what="the backlog to drain")
        assert write.failing() is None
        assert metrics.insert_failures.value() >= 1
        await write.stop()

    asyncio.run(scenario())
    assert events(store) == 5


def test_rows_clickhouse_refuses_are_set_aside_and_the_rest_stored(store: ChdbStore, tmp_path: Path) -> None:
    folder = spool_folder(tmp_path)
    poison = Record(
        site_id=1, hour=HOUR, rows=b'{"site_id": "not a number"}\n', ids=["x"], counters=[("accepted", "", 1)]
    )
    segment_file(folder, 1, [record(2), poison, record(1)])
    write, metrics = writer(store, folder)
    write.store_segment(sealed_segments(folder)[0])
    assert events(store) == 3
    assert sealed_segments(folder) == []
    (kept,) = (folder.parent / "quarantine").glob("*.seg")
    assert kept.name.endswith("-1.seg")
    assert metrics.quarantined.value() == 1
    # The 202 counted it as accepted; the refusal is counted too, and the rows wait in quarantine.
    assert counters(store) == {("accepted", ""): 4, ("dropped", "refused_by_store"): 1}
