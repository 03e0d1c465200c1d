"""Spool segment files on disk: their names, their format, and reading, writing and recovering them.

A segment is named `<sequence>-<nonce>.open` while a process appends to it and `.seg` once sealed: the
sequence orders a folder's segments, the nonce (random, made with the file, kept by the rename) makes
the segment's insert token unique for ever (docs/reliability.md, "The token"). The file is an 8-byte
magic, then records of `length u32 | crc32 u32 | payload` (little-endian), each payload a msgpack
Record. A crash can leave a torn record at the end of an open segment; recovery finds it by length and
checksum, cuts it off, counts it, and seals what came before.
"""

import contextlib
import logging
import os
import secrets
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

log = logging.getLogger("footfall.spool")

MAGIC: Final = b"FFSPOOL1"
HEADER: Final = struct.Struct("<II")
MAX_RECORD_BYTES: Final = 64 << 20  # far above any request (8 MiB inflated); a bigger length is damage


class Record(msgspec.Struct, array_like=True, frozen=True):
    """One request's worth: its rows (JSONEachRow, one line per event), their ids in the same order,
    what to add to the site's ingest counters once the rows are stored, when it arrived, and samples of
    what was refused or dropped (JSONEachRow of rows.SampleRow).

    The format grows only by fields with defaults at the end: a segment written by an older footfall
    decodes with them (received_ms 0: unknown), and an older footfall ignores the fields it lacks."""

    site_id: int
    hour: int  # epoch seconds of the hour the request arrived in
    rows: bytes
    ids: list[str]
    counters: list[tuple[str, str, int]]  # (outcome, reason, events)
    received_ms: int = 0  # by the app's clock; the writer measures the time to queryable from it
    samples: bytes = b""


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Record).decode


NONCE_BYTES: Final = 8


@dataclass(frozen=True)
class Segment:
    path: Path
    seq: int
    spool_id: str
    nonce: str  # "" for a segment named before nonces (footfall 0.1.0), kept until it is stored

    @property
    def token(self) -> str:
        """Names this segment's insert for ClickHouse's deduplication, which drops any insert whose token
        it saw among a table's last 10,000. So it must be unique for ever, yet the same for every replay of
        this one segment. Sequence numbers alone are not: they start again at 1 once a folder is empty
        (a clean restart), and an edge worker takes its old folder back. The nonce is made with the file
        and travels in its name; the folder id is kept in front so logs show where a segment came from."""
        suffix = f"-{self.nonce}" if self.nonce else ""
        return f"{self.spool_id}-{self.seq}{suffix}"


@dataclass
class Damage:
    """What recovery or reading had to skip: counted, logged, never fatal."""

    records: int = 0
    bytes: int = 0


def framed(record: Record) -> bytes:
    """A record as it is appended: its length, its checksum, its msgpack."""
    payload = _encode(record)
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def new_segment_name(seq: int) -> str:
    return f"{seq:020d}-{secrets.token_hex(NONCE_BYTES)}.open"


def sealed_segments(folder: Path) -> list[Segment]:
    named = [(p, parsed) for p in sorted(folder.glob("*.seg")) if (parsed := _parse_name(p.stem))]
    if not named:
        return []
    ident = spool_id(folder, create=False)
    return [Segment(p, seq, ident, nonce) for p, (seq, nonce) in named]


def sealed_bytes(folder: Path) -> int:
    """What the sealed segments of `folder` hold on disk now."""
    total = 0
    for segment in sealed_segments(folder):
        with contextlib.suppress(FileNotFoundError):  # deleted by the writer meanwhile
            total += segment.path.stat().st_size
    return total


def _parse_name(stem: str) -> tuple[int, str] | None:
    """(sequence, nonce) of a segment file's stem, `<20 digits>-<hex>` or the older `<20 digits>`."""
    seq, _, nonce = stem.partition("-")
    if not seq.isdigit() or (nonce and not all(c in "0123456789abcdef" for c in nonce)):
        return None
    return int(seq), nonce


def spool_id(folder: Path, *, create: bool) -> str:
    """The folder's random id, made once when the folder is first used."""
    path = folder / "ID"
    if create and not path.exists():
        temp = folder / "ID.tmp"
        temp.write_text(secrets.token_hex(8), encoding="ascii")
        os.replace(temp, path)
        sync_dir(folder)
    return path.read_text(encoding="ascii").strip()


def next_sequence(folder: Path) -> int:
    """One past the highest on disk: it orders segments, it does not name inserts (see Segment.token)."""
    seqs = [
        parsed[0]
        for p in folder.iterdir()
        if p.suffix in (".seg", ".open") and (parsed := _parse_name(p.stem)) is not None
    ]
    return max(seqs, default=0) + 1


def write_segment(path: Path, records: list[Record]) -> None:
    """A sealed segment file holding `records` (quarantine, tests)."""
    parts = [MAGIC]
    parts.extend(framed(record) for record in records)
    temp = path.with_suffix(".tmp")
    with temp.open("wb") as handle:
        handle.write(b"".join(parts))
        os.fsync(handle.fileno())
    os.replace(temp, path)
    sync_dir(path.parent)


def read_segment(segment: Segment) -> tuple[list[Record], Damage]:
    """Every good record of a sealed segment; damage (a record that fails its checksum) is skipped."""
    data = segment.path.read_bytes()
    return _records(data)


def scan(path: Path) -> tuple[int, int, Damage]:
    """(end of the last good record, good records, damage after it) of a possibly torn segment."""
    data = path.read_bytes()
    offset, good = len(MAGIC), 0
    if not data.startswith(MAGIC):
        return 0, 0, Damage(records=1 if data else 0, bytes=len(data))
    for end, _ in _walk(data):
        offset, good = end, good + 1
    torn = len(data) - offset
    return offset, good, Damage(records=1 if torn else 0, bytes=torn)


def count_records(path: Path) -> int:
    """How many records a segment holds, by their lengths alone (a seek per record, nothing decoded or
    checked): cheap enough for a health reading of a spool that holds a long outage."""
    count = 0
    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            return 0
        offset, size = len(MAGIC), os.fstat(handle.fileno()).st_size
        while offset + HEADER.size <= size:
            handle.seek(offset)
            length, _ = HEADER.unpack(handle.read(HEADER.size))
            offset += HEADER.size + length
            if length > MAX_RECORD_BYTES or offset > size:
                break
            count += 1
    return count


def _records(data: bytes) -> tuple[list[Record], Damage]:
    records: list[Record] = []
    damage = Damage()
    if not data.startswith(MAGIC):
        return records, Damage(records=1, bytes=len(data))
    end = len(MAGIC)
    for record_end, payload in _walk(data):
        end = record_end
        try:
            records.append(_decode(payload))
        except msgspec.DecodeError:
            damage.records += 1
            damage.bytes += len(payload)
    if end < len(data):
        damage.records += 1
        damage.bytes += len(data) - end
    return records, damage


def _walk(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(end offset, payload) of each record whose length and checksum hold, up to the first that fails."""
    offset = len(MAGIC)
    while offset + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, offset)
        start, end = offset + HEADER.size, offset + HEADER.size + length
        if length > MAX_RECORD_BYTES or end > len(data):
            return
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return
        yield end, payload
        offset = end


def recover(path: Path) -> Damage:
    """Seal an open segment its process left behind (killed): cut a torn tail, keep what came before."""
    good_end, records, damage = scan(path)
    if damage.bytes:
        log.warning("spool %s: cut %d torn bytes after %d good records", path.name, damage.bytes, records)
        with path.open("r+b") as handle:
            handle.truncate(good_end)
            os.fsync(handle.fileno())
    if records:
        path.rename(path.with_suffix(".seg"))
    else:
        path.unlink()
    sync_dir(path.parent)
    return damage


# -- small OS helpers -------------------------------------------------------------------------


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
