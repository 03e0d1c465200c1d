"""The durable spool: an append-only log on local disk between the HTTP handlers and ClickHouse.

A request's rows are appended as one record and fsync'd (group commit: one fsync covers every record
written while the previous one ran) before the client gets its 202. Records gather in the active
segment; it is sealed (renamed *.open → *.seg) when it holds enough rows or bytes or is old enough, and
the writer (collector.sink) inserts each sealed segment as one INSERT, then deletes it.

Segment files are named `<sequence>-<nonce>.open|.seg`: the sequence orders them, the nonce (random,
made when the segment is created, kept by the rename) makes the segment's insert token unique for ever
(docs/reliability.md, "The token"). File layout: an 8-byte magic, then records of
`length u32 | crc32 u32 | payload` (little-endian), payload a msgpack Record. A crash can leave a torn
record at the end of the active segment; recovery finds it by length and checksum, cuts it off, counts
it, and seals what came before.
"""

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

from collector.errors import ConfigError, Overloaded
from collector.faults import crash_point

log = logging.getLogger("footfall.spool")

MAGIC: Final = b"FFSPOOL1"
HEADER: Final = struct.Struct("<II")
MAX_RECORD_BYTES: Final = 64 << 20  # far above any request (8 MiB inflated); a bigger length is damage


class Record(msgspec.Struct, array_like=True, frozen=True):
    """One request's worth: its rows (JSONEachRow, one line per event), their ids in the same order,
    and what to add to the site's ingest counters once the rows are stored."""

    site_id: int
    hour: int  # epoch seconds of the hour the request arrived in
    rows: bytes
    ids: list[str]
    counters: list[tuple[str, str, int]]  # (outcome, reason, events)


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


@dataclass
class _Active:
    fd: int
    path: Path
    seq: int
    bytes: int = len(MAGIC)
    records: int = 0
    rows: int = 0
    since: float = 0.0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class Spool:
    """One process's spool folder. Several processes may each own one folder under a common parent."""

    def __init__(
        self,
        path: Path,
        *,
        segment_rows: int,
        segment_bytes: int,
        segment_age_s: float,
        max_bytes: int,
        retry_after_s: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._segment_rows = segment_rows
        self._segment_bytes = segment_bytes
        self._segment_age_s = segment_age_s
        self._max_bytes = max_bytes
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._active: _Active | None = None
        self._sealed_bytes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.sealed_event = asyncio.Event()  # set whenever a segment is sealed (the writer waits on it)
        self.damage = Damage()

    # -- life cycle ---------------------------------------------------------------------------

    def open(self) -> Damage:
        """Take the folder: recover torn segments, count what is on disk, start a new active segment."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create spool folder {self.path}: {exc.strerror}") from exc
        spool_id(self.path, create=True)
        for leftover in sorted(self.path.glob("*.open")):
            self._recover(leftover)
        self._recount()
        self._active = self._new_segment()
        return self.damage

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"footfall-spool-{self.path.name}")

    async def close(self) -> None:
        """Sync and seal what was written; later appends are refused. Safe to call twice."""
        if self._closing and (self._task is None or self._task.done()):
            return
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        elif self._active is not None:
            self._seal(self._active, sync=True)
            self._active = None

    # -- appending ----------------------------------------------------------------------------

    @property
    def bytes_on_disk(self) -> int:
        return self._sealed_bytes + (self._active.bytes if self._active else 0)

    async def append(self, record: Record, *, durable: bool = True) -> None:
        """Write the record; with `durable`, return once it is fsync'd. Raises Overloaded when full."""
        if self._closing or self._active is None:
            raise Overloaded("the collector is shutting down", retry_after_s=self._retry_after_s)
        payload = _encode(record)
        if self.bytes_on_disk + len(payload) + HEADER.size > self._max_bytes:
            self._recount()  # the writer (maybe another process) deletes what it stored
        if self.bytes_on_disk + len(payload) + HEADER.size > self._max_bytes:
            raise Overloaded(
                f"the spool holds {self.bytes_on_disk:,} bytes waiting for ClickHouse, its limit",
                retry_after_s=self._retry_after_s,
            )
        active = self._active
        _write_all(active.fd, HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        if active.records == 0:
            active.since = self._clock()
        active.bytes += HEADER.size + len(payload)
        active.records += 1
        active.rows += len(record.ids)
        self._wake.set()
        if durable:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            active.waiters.append(future)
            await asyncio.shield(future)

    def due_in(self, now: float) -> float | None:
        """Seconds until the active segment must be sealed; None while it is empty."""
        active = self._active
        if active is None or active.records == 0:
            return None
        if self._closing or active.rows >= self._segment_rows or active.bytes >= self._segment_bytes:
            return 0.0
        return max(0.0, active.since + self._segment_age_s - now)

    def poke(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            active = self._active
            assert active is not None
            waiters, active.waiters = active.waiters, []
            if waiters:
                await _sync(active.fd, waiters)
            due = self.due_in(self._clock())
            if due == 0:
                self._active = None if self._closing else self._new_segment()
                rest, active.waiters = active.waiters, []
                await _sync(active.fd, rest)
                self._seal(active, sync=False)
            if self._closing:
                if self._active is not None:
                    await _sync(self._active.fd, self._active.waiters)
                    self._seal(self._active, sync=False)
                    self._active = None
                return
            if not self._active or not self._active.waiters:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=due)

    # -- segments -----------------------------------------------------------------------------

    def _new_segment(self) -> _Active:
        seq = next_sequence(self.path)
        path = self.path / f"{seq:020d}-{secrets.token_hex(NONCE_BYTES)}.open"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        _write_all(fd, MAGIC)
        return _Active(fd=fd, path=path, seq=seq)

    def _seal(self, active: _Active, *, sync: bool) -> None:
        if sync:
            os.fdatasync(active.fd)
        os.close(active.fd)
        if active.records == 0:
            active.path.unlink()
        else:
            active.path.rename(active.path.with_suffix(".seg"))
            self._sealed_bytes += active.bytes
            self.sealed_event.set()
        _sync_dir(self.path)

    def _recount(self) -> None:
        self._sealed_bytes = sealed_bytes(self.path)

    def measure(self) -> int:
        """Bytes on disk now. Sealing adds to a running total that only the writer's deletes (maybe in
        another process) take back, so a reading for an operator looks at the folder itself."""
        self._recount()
        return self.bytes_on_disk

    def _recover(self, path: Path) -> None:
        good_end, records, damage = scan(path)
        if damage.bytes:
            log.warning("spool %s: cut %d torn bytes after %d good records", path.name, damage.bytes, records)
            with path.open("r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
        self.damage.records += damage.records
        self.damage.bytes += damage.bytes
        if records:
            path.rename(path.with_suffix(".seg"))
        else:
            path.unlink()
        _sync_dir(self.path)


def claim_folder(parent: Path) -> tuple[Path, int]:
    """The first spool folder under `parent` no live process holds: (its path, the fd holding it).

    Folders are numbered 0, 1, 2...; a process keeps an flock on its folder's `lock` file while it lives,
    so after a restart the same numbers are taken again and nothing is left without an owner."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create spool folder {parent}: {exc.strerror}") from exc
    for slot in range(1024):
        folder = parent / str(slot)
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return folder, fd
    raise ConfigError(f"all 1024 spool folders under {parent} are in use")


def spool_folders(parent: Path) -> list[Path]:
    return (
        sorted((p for p in parent.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
        if parent.is_dir()
        else []
    )


# -- reading (the writer's side, possibly another process's folder) ----------------------------


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
        _sync_dir(folder)
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
    for record in records:
        payload = _encode(record)
        parts.append(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
    temp = path.with_suffix(".tmp")
    with temp.open("wb") as handle:
        handle.write(b"".join(parts))
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _sync_dir(path.parent)


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


# -- small OS helpers -------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


async def _sync(fd: int, waiters: list[asyncio.Future[None]]) -> None:
    if not waiters:
        return
    try:
        await asyncio.to_thread(os.fdatasync, fd)
        crash_point("spool.after_sync")
    except OSError as exc:
        error = Overloaded(f"the spool cannot sync to disk: {exc.strerror}", retry_after_s=5)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)
        return
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
