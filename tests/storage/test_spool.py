"""The spool and its segment files on a real disk: group-committed appends, sealing, limits, tokens, and
recovery after a crash."""

import asyncio
import os
import zlib
from pathlib import Path

import msgspec
import pytest

from collector.errors import Overloaded
from collector.storage.segments import (
    HEADER,
    MAGIC,
    Damage,
    Record,
    Segment,
    framed,
    read_segment,
    scan,
    sealed_segments,
    write_segment,
)
from collector.storage.spool import Folders, Spool, claim_folder, spool_folders


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
    (active,) = tmp_path.glob("*.open")
    assert active.name.startswith("00000000000000000003-")
    assert active.read_bytes() == MAGIC
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


async def _one_segment(folder: Path) -> Segment:
    """A process's life: open the folder, append, stop; the segment it sealed."""
    spool = make(folder, FakeClock())
    spool.open()
    await spool.start()
    await spool.append(record(1))
    await spool.close()
    (segment,) = sealed_segments(folder)
    return segment


def test_tokens_are_never_reused_when_numbering_starts_again(tmp_path: Path) -> None:
    """A clean restart finds the folder empty (the writer deleted what it stored), so the sequence starts
    at 1 again: the token must not, or ClickHouse drops the new segment as a repeat of the old one."""

    async def scenario() -> list[Segment]:
        made = []
        for _ in range(5):
            segment = await _one_segment(tmp_path)
            made.append(segment)
            segment.path.unlink()  # stored by the writer
        return made

    made = asyncio.run(scenario())
    assert {s.seq for s in made} == {1}
    assert len({s.token for s in made}) == 5
    assert all(s.token.startswith((tmp_path / "ID").read_text() + "-1-") for s in made)


def test_a_segment_keeps_its_token_through_sealing_recovery_and_rereading(tmp_path: Path) -> None:
    """Every replay of one segment must carry the same token, or a replay after a crash is stored twice."""
    spool = make(tmp_path, FakeClock())
    spool.open()
    (active,) = tmp_path.glob("*.open")
    with active.open("ab") as handle:  # a record written, then the process killed: no seal
        payload = msgspec.msgpack.encode(record(2))
        handle.write(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
    os.close(spool._active.fd)  # type: ignore[union-attr]  # the kill closed it
    make(tmp_path, FakeClock()).open()  # the next process recovers it under its own name
    (recovered,) = sealed_segments(tmp_path)
    assert recovered.path.stem == active.stem
    again = sealed_segments(tmp_path)[0]
    assert again.token == recovered.token
    assert recovered.nonce
    assert recovered.nonce in recovered.token


def test_segments_named_before_nonces_are_still_read_in_order(tmp_path: Path) -> None:
    """Segments an older footfall left on disk (`<seq>.seg`) are stored after an upgrade, in order."""
    make(tmp_path, FakeClock()).open()
    write_segment(tmp_path / "00000000000000000007.seg", [record(1)])
    write_segment(tmp_path / "00000000000000000009-00ff00ff00ff00ff.seg", [record(2)])
    write_segment(tmp_path / "notes.seg", [record(3)])  # not a segment's name: left alone
    found = sealed_segments(tmp_path)
    assert [(s.seq, s.nonce) for s in found] == [(7, ""), (9, "00ff00ff00ff00ff")]
    ident = (tmp_path / "ID").read_text()
    assert [s.token for s in found] == [f"{ident}-7", f"{ident}-9-00ff00ff00ff00ff"]


def test_measured_bytes_fall_back_once_the_writer_deletes(tmp_path: Path) -> None:
    """footfall_spool_bytes reads the folder: it rises with what waits and falls when it is stored."""

    async def scenario() -> None:
        spool = make(tmp_path, FakeClock(), segment_rows=5)
        spool.open()
        await spool.start()
        empty = spool.measure()
        for _ in range(4):
            await spool.append(record(5))  # each seals at once
        await asyncio.wait_for(spool.sealed_event.wait(), timeout=30)
        await settle()
        waiting = spool.measure()
        assert waiting > empty + 4 * 5 * 40
        for segment in sealed_segments(tmp_path):
            segment.path.unlink()  # as the writer does once ClickHouse has them
        assert spool.measure() == empty
        await spool.close()

    asyncio.run(scenario())


def test_the_writer_drains_its_own_folder_and_orphans_not_a_live_writers(tmp_path: Path) -> None:
    """Server workers each write: a folder a live process holds is its own business. A folder whose
    process is gone (killed, or --workers made smaller) is taken, its open segment recovered, drained,
    and given back once empty."""
    own, own_fd = claim_folder(tmp_path)
    busy, busy_fd = claim_folder(tmp_path)  # a live worker with a writer of its own
    orphan, orphan_fd = claim_folder(tmp_path)
    for folder in (own, busy, orphan):
        make(folder, FakeClock()).open()
    (active,) = orphan.glob("*.open")
    with active.open("ab") as handle:  # acknowledged, never sealed: then the process was killed
        handle.write(framed(record(3)))
    os.close(orphan_fd)
    damage: list[Damage] = []
    folders = Folders(tmp_path, own, edges=False, damaged=damage.append)
    assert folders() == [own, orphan]
    (recovered,) = sealed_segments(orphan)
    assert recovered.path.stem == active.stem
    assert [len(r.ids) for r in read_segment(recovered)[0]] == [3]
    assert damage == [Damage()]
    newcomer, newcomer_fd = claim_folder(tmp_path)  # a process starting meanwhile takes another folder
    assert newcomer.name == "3"
    recovered.path.unlink()  # stored by the writer
    assert folders() == [own]
    os.close(newcomer_fd)
    again, again_fd = claim_folder(tmp_path)
    assert again == orphan, "an orphan is given back once drained"
    # With edge processes (embedded engine) the main writer drains the folders they hold as well.
    assert Folders(tmp_path, own, edges=True, damaged=damage.append)() == [own, busy, orphan]
    folders.close()
    for fd in (own_fd, busy_fd, again_fd):
        os.close(fd)
