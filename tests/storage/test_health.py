"""The ingest health reading: what waits in the spool, and the writer's state as ClickHouse goes and comes."""

import asyncio
import uuid
from pathlib import Path

from support import NOW_MS, Switchable, spool_folder, wait_until

from collector.metrics import Metrics
from collector.storage.health import HealthProbe, IngestHealth, SpoolDepth
from collector.storage.rows import EventRow, encode, epoch_text
from collector.storage.segments import Record, framed, sealed_segments, write_segment
from collector.storage.sink import RecentIds, Writer
from collector.storage.store_chdb import ChdbStore


def record(n: int, *, received_ms: int = 0) -> Record:
    rows = [
        EventRow(
            site_id=1,
            event_id=str(uuid.uuid4()),
            type="track",
            timestamp=epoch_text(NOW_MS),
            client_ts=epoch_text(NOW_MS),
            received_at=epoch_text(NOW_MS),
        )
        for _ in range(n)
    ]
    ids = [row.event_id for row in rows]
    return Record(
        site_id=1, hour=0, rows=encode(rows), ids=ids, counters=[("accepted", "", n)], received_ms=received_ms
    )


def segment_file(folder: Path, seq: int, records: list[Record]) -> None:
    write_segment(folder / f"{seq:020d}.seg", records)


def test_health_follows_the_writer_through_an_outage_and_its_stop(store: ChdbStore, tmp_path: Path) -> None:
    switch = Switchable(store)
    folder = spool_folder(tmp_path)
    clock = [NOW_MS]
    segment_file(folder, 1, [record(2, received_ms=NOW_MS - 250), record(1)])
    segment_file(folder, 2, [record(1)])
    (folder / "00000000000000000003-ab.open").write_bytes((folder / "00000000000000000002.seg").read_bytes())
    write = Writer(
        switch, lambda: [folder], Metrics(), recent=RecentIds(max_ids=100, max_age_s=60), now_ms=lambda: clock[0]
    )
    health = HealthProbe(write, folder.parent, now_ms=lambda: clock[0])
    size = sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".seg", ".open"))

    idle = health()
    assert idle.spool == SpoolDepth(segments=3, records=4, bytes=size)
    assert (idle.writer.running, idle.writer.failing, idle.writer.backlog_segments) == (False, False, 2)
    assert idle.time_to_queryable.last_ms is None

    async def scenario() -> tuple[IngestHealth, IngestHealth, IngestHealth]:
        switch.down = True
        await write.start()
        await asyncio.to_thread(wait_until, lambda: health().writer.failing, what="the writer to fail")
        down = health()
        clock[0] += 1000
        switch.down = False
        await asyncio.to_thread(wait_until, lambda: not sealed_segments(folder), what="the backlog to drain")
        await asyncio.to_thread(wait_until, lambda: not health().writer.failing, what="the writer to recover")
        back = health()
        await write.stop()
        return down, back, health()

    down, back, stopped = asyncio.run(scenario())
    assert down.writer.running
    assert down.writer.problem == "clickhouse_unavailable"
    assert (down.writer.failing_since_ms, down.writer.last_commit_ms, down.writer.backlog_segments) == (NOW_MS, None, 2)
    assert back.writer.problem == ""
    assert back.writer.failing_since_ms is None
    assert (back.writer.last_commit_ms, back.writer.segments_stored, back.writer.backlog_segments) == (
        NOW_MS + 1000,
        2,
        0,
    )
    assert back.spool == SpoolDepth(segments=1, records=1, bytes=8 + len(framed(record(1))) + 8)  # the open ones
    assert back.time_to_queryable.last_ms == 1250  # from the first segment's oldest receipt; the other had none
    assert back.time_to_queryable.p95_ms == 1250
    assert back.time_to_queryable.segments == 1
    assert not stopped.writer.running
