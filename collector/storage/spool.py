"""The durable spool: an append-only log on local disk between the HTTP handlers and ClickHouse.

A request's rows are appended as one record and fsync'd (group commit: one fsync covers every record
written while the previous one ran) before the client gets its 202. Records gather in the active
segment; it is sealed (renamed *.open → *.seg) when it holds enough rows or bytes or is old enough, and
the writer (collector.storage.sink) inserts each sealed segment as one INSERT, then deletes it. The files
themselves are collector.storage.segments'.
"""

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from collector.errors import ConfigError, Overloaded
from collector.faults import crash_point
from collector.storage.segments import (
    MAGIC,
    Damage,
    Record,
    framed,
    new_segment_name,
    next_sequence,
    recover,
    sealed_bytes,
    spool_id,
    sync_dir,
    write_all,
)


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
        data = framed(record)
        if self.bytes_on_disk + len(data) > self._max_bytes:
            self._recount()  # the writer (maybe another process) deletes what it stored
        if self.bytes_on_disk + len(data) > self._max_bytes:
            raise Overloaded(
                f"the spool holds {self.bytes_on_disk:,} bytes waiting for ClickHouse, its limit",
                retry_after_s=self._retry_after_s,
            )
        active = self._active
        write_all(active.fd, data)
        if active.records == 0:
            active.since = self._clock()
        active.bytes += len(data)
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
        path = self.path / new_segment_name(seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        write_all(fd, MAGIC)
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
        sync_dir(self.path)

    def _recount(self) -> None:
        self._sealed_bytes = sealed_bytes(self.path)

    def measure(self) -> int:
        """Bytes on disk now. Sealing adds to a running total that only the writer's deletes (maybe in
        another process) take back, so a reading for an operator looks at the folder itself."""
        self._recount()
        return self.bytes_on_disk

    def _recover(self, path: Path) -> None:
        damage = recover(path)
        self.damage.records += damage.records
        self.damage.bytes += damage.bytes


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
        if (fd := _try_lock(folder)) is not None:
            return folder, fd
    raise ConfigError(f"all 1024 spool folders under {parent} are in use")


class Folders:
    """The folders this process's writer drains: its own; those its edge processes fill (embedded engine,
    `edges`); and any whose process is gone, since a kill or a smaller `--workers` leaves acknowledged
    events there. A folder that a live process holds for a writer of its own (a ClickHouse server with
    several workers) is left to it: two writers on one segment would both insert it and race to delete
    it. An orphan is held (its flock taken) while it has segments, so no new process claims it meanwhile,
    and its open segments are recovered first, as their owner would have at its next start."""

    def __init__(self, parent: Path, own: Path, *, edges: bool, damaged: Callable[[Damage], None]) -> None:
        self._parent = parent
        self._own = own
        self._edges = edges
        self._damaged = damaged
        self._held: dict[Path, int] = {}

    def __call__(self) -> list[Path]:
        found = []
        for folder in spool_folders(self._parent):
            if folder == self._own:
                found.append(folder)
            elif folder in self._held:
                if any(folder.glob("*.seg")):
                    found.append(folder)
                else:
                    os.close(self._held.pop(folder))
            elif (fd := _try_lock(folder)) is None:
                if self._edges:
                    found.append(folder)
            else:
                for leftover in sorted(folder.glob("*.open")):
                    self._damaged(recover(leftover))
                if any(folder.glob("*.seg")):
                    self._held[folder] = fd
                    found.append(folder)
                else:
                    os.close(fd)
        return found

    def close(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()


def _try_lock(folder: Path) -> int | None:
    """The folder's lock, held, if no live process holds it."""
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def spool_folders(parent: Path) -> list[Path]:
    return (
        sorted((p for p in parent.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
        if parent.is_dir()
        else []
    )


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
