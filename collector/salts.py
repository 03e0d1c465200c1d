"""Where the daily salts for visitor keys live: ClickHouse (shared by every collector), and a snapshot
file for HTTP worker processes that have no store of their own.

Only today's and yesterday's salts are ever loaded; the table drops older rows (TTL), the snapshot holds
two days, so once a day is two days old its visitor keys cannot be linked to anyone any more.
"""

import asyncio
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from collector.privacy import DailySalts, new_salt
from collector.query import run, sql
from collector.store import Store

_snapshot = msgspec.json.Decoder(dict[str, str])


class Salts:
    """Today's salt for a request, loaded (and, for a new day, created) once per UTC day."""

    def __init__(self, *, store: Store | None, snapshot: Path | None) -> None:
        self._store = store
        self._snapshot = snapshot
        self._salts: DailySalts | None = None
        self._lock = asyncio.Lock()

    async def today(self, now_ms: int) -> bytes | None:
        """The salt of the UTC day `now_ms` falls in; None while a worker's snapshot lacks that day yet."""
        day = datetime.fromtimestamp(now_ms / 1000, UTC).date()
        salts = self._salts
        if salts is None or salts.today != day or day not in salts:
            async with self._lock:
                if self._salts is None or self._salts.today != day or day not in self._salts:
                    self._salts = await asyncio.to_thread(self._load, day)
            salts = self._salts
        return salts.salt_for(day) if day in salts else None

    def _load(self, day: date) -> DailySalts:
        if self._store is None:
            assert self._snapshot is not None
            try:
                raw = _snapshot.decode(self._snapshot.read_bytes())
            except FileNotFoundError:
                raw = {}
            loaded = {date.fromisoformat(d): bytes.fromhex(s) for d, s in raw.items()}
            return DailySalts({d: s for d, s in loaded.items() if day - timedelta(days=1) <= d <= day}, today=day)
        salts = _read(self._store, day)
        if day not in salts:
            self._store.execute(
                sql("add_salt", self._store.database), {"day": day.isoformat(), "salt": new_salt().hex()}
            )
            salts = _read(self._store, day)  # another collector may have won the race: take the oldest
        if self._snapshot is not None:
            temp = self._snapshot.with_suffix(".tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(msgspec.json.encode({d.isoformat(): s.hex() for d, s in salts.items()}))
            os.replace(temp, self._snapshot)
        return DailySalts(salts, today=day)


def _read(store: Store, day: date) -> dict[date, bytes]:
    rows = run(store, "salts", {"today": day.isoformat(), "yesterday": (day - timedelta(days=1)).isoformat()})
    return {date.fromisoformat(r["salt_day"]): bytes.fromhex(r["salt"]) for r in rows}
