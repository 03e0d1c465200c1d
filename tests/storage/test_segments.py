"""The segment format: records written by an older footfall still decode; record counts by length."""

import zlib
from pathlib import Path

import msgspec

from collector.storage.segments import HEADER, MAGIC, Record, Segment, count_records, framed, read_segment


def test_a_record_written_before_receipt_times_and_samples_decodes_with_their_defaults(tmp_path: Path) -> None:
    # The bytes footfall 0.1 wrote for a Record of five fields (a msgpack array: array_like), framed as it
    # framed them: (7, 1795338000, b'{"event_id":"e1"}\n', ["e1"], [("accepted", "", 1)]).
    old = bytes.fromhex("9507ce6b02af10c4127b226576656e745f6964223a226531227d0a91a265319193a86163636570746564a001")
    path = tmp_path / "00000000000000000001-00.seg"
    path.write_bytes(MAGIC + HEADER.pack(len(old), zlib.crc32(old)) + old)
    (record,), damage = read_segment(Segment(path, 1, "f00d", "00"))
    assert not damage.records
    assert record == Record(
        site_id=7, hour=1_795_338_000, rows=b'{"event_id":"e1"}\n', ids=["e1"], counters=[("accepted", "", 1)]
    )
    assert (record.received_ms, record.samples) == (0, b"")


def test_an_older_footfall_reads_a_new_record_and_ignores_the_fields_it_lacks() -> None:
    class OldRecord(msgspec.Struct, array_like=True, frozen=True):
        site_id: int
        hour: int
        rows: bytes
        ids: list[str]
        counters: list[tuple[str, str, int]]

    new = Record(site_id=1, hour=3600, rows=b"", ids=[], counters=[], received_ms=5, samples=b"{}\n")
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(new), type=OldRecord) == OldRecord(1, 3600, b"", [], [])


def test_records_are_counted_by_their_lengths_up_to_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000001.open"
    one = framed(Record(site_id=1, hour=0, rows=b"x\n", ids=["a"], counters=[]))
    path.write_bytes(MAGIC + one * 3 + one[:5])
    assert count_records(path) == 3
    path.write_bytes(b"junk")
    assert count_records(path) == 0
