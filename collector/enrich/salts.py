"""Where the daily salts for visitor keys live: ClickHouse (shared by every collector), and a snapshot
file for HTTP worker processes that have no store of their own.

A process holds yesterday's, today's and tomorrow's salt. Tomorrow's is made a day ahead, whenever the
store answers, so when the UTC day turns a process moves on without asking anyone: ClickHouse being away
at midnight costs nothing. Collectors agree on a day's salt because each takes the oldest row for the
day (argMin) and reads the salts again every minute (`refresh`). The table drops a day's salt when the
day after it ends (TTL, migrations 0006 and 0010) and nothing here holds more than those three days, so
once a day is two days old its visitor keys cannot be linked to anyone any more. docs/reliability.md has
the story, including the minute in which two collectors can disagree.
"""

import asyncio
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from collector.enrich.visitors import DailySalts, new_salt
from collector.errors import StoreError
from collector.storage.sql import run, sql
from collector.storage.store import Store

_snapshot = msgspec.json.Decoder(dict[str, str])
_DAY = timedelta(days=1)


def utc_day(now_ms: int) -> date:
    return datetime.fromtimestamp(now_ms / 1000, UTC).date()


class Salts:
    """The salt of a request's UTC day, from memory; loaded (and made) only when that day is not held."""

    def __init__(self, *, store: Store | None, snapshot: Path | None) -> None:
        self._store = store
        self._snapshot = snapshot
        self._salts: DailySalts | None = None
        self._lock = asyncio.Lock()
        self._published = b""

    async def today(self, now_ms: int) -> bytes | None:
        """The salt of the UTC day `now_ms` falls in; None while a worker's snapshot lacks that day yet."""
        day = utc_day(now_ms)
        salts = self._salts
        if salts is not None and day in salts:
            if salts.today != day:  # the day turned: its salt was made a day ahead, no store needed
                salts = self._salts = salts.as_of(day)
            return salts.salt_for(day)
        async with self._lock:
            if self._salts is None or day not in self._salts:
                self._salts = await asyncio.to_thread(self._load, day)
            salts = self._salts
        return salts.salt_for(day) if day in salts else None

    async def refresh(self, now_ms: int) -> None:
        """Read the salts again, making today's and tomorrow's if missing: after a race to make a day's
        salt every collector settles on the oldest row. Raises StoreError while the store is away; what
        is held stays in use, less (in memory and in the snapshot) a day that has become too old."""
        day = utc_day(now_ms)
        async with self._lock:
            try:
                self._salts = await asyncio.to_thread(self._load, day)
            except StoreError:
                if self._salts is not None:
                    self._salts = self._salts.as_of(day)
                    await asyncio.to_thread(self._publish, self._salts)
                raise

    def _load(self, day: date) -> DailySalts:
        if self._store is None:
            assert self._snapshot is not None
            try:
                raw = _snapshot.decode(self._snapshot.read_bytes())
            except FileNotFoundError:
                raw = {}
            return DailySalts({date.fromisoformat(d): bytes.fromhex(s) for d, s in raw.items()}, today=day)
        salts = _read(self._store, day)
        missing = [d for d in (day, day + _DAY) if d not in salts]
        for new_day in missing:
            self._store.execute(
                sql("add_salt", self._store.database), {"day": new_day.isoformat(), "salt": new_salt().hex()}
            )
        if missing:
            salts = _read(self._store, day)  # another collector may have won the race: take the oldest
        loaded = DailySalts(salts, today=day)
        self._publish(loaded)
        return loaded

    def _publish(self, salts: DailySalts) -> None:
        """The snapshot for worker processes, rewritten only when it changes."""
        if self._snapshot is None:
            return
        content = msgspec.json.encode({d.isoformat(): s.hex() for d, s in salts.by_day().items()})
        if content == self._published:
            return
        temp = self._snapshot.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(temp, self._snapshot)
        self._published = content


def _read(store: Store, day: date) -> dict[date, bytes]:
    days = {"yesterday": day - _DAY, "today": day, "tomorrow": day + _DAY}
    rows = run(store, "salts", {name: d.isoformat() for name, d in days.items()})
    return {date.fromisoformat(r["salt_day"]): bytes.fromhex(r["salt"]) for r in rows}
