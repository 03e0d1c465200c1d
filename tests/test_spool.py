"""The spool on a real disk: group-committed appends, sealing, limits, and recovery after a crash."""

import asyncio
import os
from pathlib import Path

import pytest

from collector.errors import Overloaded
from collector.spool import (
    MAGIC,
    Record,
    Spool,
    claim_folder,
    read_segment,
    scan,
    sealed_segments,
    spool_folders,
    write_segment,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(n: int = 1, site_id: int = 1) -> Record:
    ids = [f"00000000-0000-7000-8000-{i:012d}" for i in range(n)]
    rows = b"".join(b'{"event_id":"%s"}\n' % i.encode() for i in ids)
    return Record(site_id=site_id, hour=0, rows=rows, ids=ids, counters=[("accepted", "", n)])


def make(folder: Path, clock: FakeClock, **limits: int) -> Spool:
    config = {"segment_rows": 1000, "segment_bytes": 1 << 20, "max_bytes": 1 << 30, **limits}
    return Spool(folder, segment_age_s=1.0, retry_after_s=3, clock=clock, **config)


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def test_appends_are_durable_and_sealed_by_age(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        spool = make(tmp_path, clock)
        spool.open()
        await spool.start()
        await asyncio.wait_for(asyncio.gather(*(spool.append(record(2)) for _ in range(3))), timeout=30)
        assert sealed_segments(tmp_path) == []  # younger than a second by the fake clock
        clock.now += 1.0
        spool.poke()
        await asyncio.wait_for(spool.sealed_event.wait(), timeout=30)
        (segment,) = sealed_segments(tmp_path)
        records, damage = read_segment(segment)
        assert [len(r.ids) for r in records] == [2, 2, 2]
        assert damage.records == 0
        await spool.close()

    asyncio.run(scenario())


def test_a_segment_is_sealed_once_it_holds_enough_rows(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = make(tmp_path, FakeClock(), segment_rows=5)
        spool.open()
        await spool.start()
        for _ in range(3):
            await asyncio.wait_for(spool.append(record(2)), timeout=30)
        await asyncio.wait_for(spool.sealed_event.wait(), timeout=30)
        await settle()
        assert [len(read_segment(s)[0]) for s in sealed_segments(tmp_path)] == [3]
        await spool.close()
        with pytest.raises(Overloaded, match="shutting down"):
            await spool.append(record())

    asyncio.run(scenario())


def test_close_seals_what_was_written_and_leaves_no_open_segment(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = make(tmp_path, FakeClock())
        spool.open()
        await spool.start()
        await spool.append(record(4))
        await spool.close()

    asyncio.run(scenario())
    assert list(tmp_path.glob("*.open")) == []
    assert [len(read_segment(s)[0][0].ids) for s in sealed_segments(tmp_path)] == [4]


def test_a_full_spool_answers_overloaded_with_retry_after(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = make(tmp_path, FakeClock(), max_bytes=600)
        spool.open()
        await spool.start()
        await spool.append(record(5))

        async def fill() -> None:
            for _ in range(20):
                await spool.append(record(5))

        with pytest.raises(Overloaded) as full:
            await fill()
        assert full.value.retry_after_s == 3
        assert "its limit" in str(full.value)
        await spool.close()

    asyncio.run(scenario())


def test_space_freed_by_the_writer_is_seen_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        spool = make(tmp_path, clock, max_bytes=700, segment_rows=5)
        spool.open()
        await spool.start()
        await spool.append(record(5))  # seals at once: five rows
        await asyncio.wait_for(spool.sealed_event.wait(), timeout=30)
        await settle()
        with pytest.raises(Overloaded):
            await spool.append(record(5))
        for segment in sealed_segments(tmp_path):
            segment.path.unlink()  # as the writer does once ClickHouse has them
        await spool.append(record(5))
        await spool.close()

    asyncio.run(scenario())


def test_a_torn_tail_is_cut_counted_and_the_rest_kept(tmp_path: Path) -> None:
    write_segment(tmp_path / "00000000000000000001.seg", [record(1), record(2)])
    data = (tmp_path / "00000000000000000001.seg").read_bytes()
    (tmp_path / "00000000000000000001.seg").unlink()
    (tmp_path / "00000000000000000002.open").write_bytes(data + data[len(MAGIC) : len(MAGIC) + 11])  # a torn third
    (tmp_path / "00000000000000000003.open").write_bytes(b"")  # created, nothing written
    spool = make(tmp_path, FakeClock())
    damage = spool.open()
    assert (damage.records, damage.bytes) == (1, 11)
    (segment,) = sealed_segments(tmp_path)
    assert [len(r.ids) for r in read_segment(segment)[0]] == [1, 2]
    # The empty leftover is gone; the new active segment takes the next number after the sealed one.
    assert (tmp_path / "00000000000000000003.open").read_bytes() == MAGIC
    assert scan(segment.path)[2].bytes == 0


def test_a_damaged_record_in_a_sealed_segment_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000001.seg"
    write_segment(path, [record(1), record(2)])
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip a byte inside the second record
    path.write_bytes(bytes(data))
    make(tmp_path, FakeClock()).open()  # gives the folder its ID
    (segment,) = sealed_segments(tmp_path)
    records, damage = read_segment(segment)
    assert [len(r.ids) for r in records] == [1]
    assert damage.records == 1


def test_each_process_claims_its_own_folder_with_its_own_id(tmp_path: Path) -> None:
    first, fd1 = claim_folder(tmp_path)
    second, fd2 = claim_folder(tmp_path)
    assert (first.name, second.name) == ("0", "1")
    for folder in (first, second):
        make(folder, FakeClock()).open()
    assert (first / "ID").read_text() != (second / "ID").read_text()
    os.close(fd1)
    again, fd3 = claim_folder(tmp_path)  # the first owner is gone: its folder is taken again
    assert again.name == "0"
    assert spool_folders(tmp_path) == [first, second]
    os.close(fd2)
    os.close(fd3)
