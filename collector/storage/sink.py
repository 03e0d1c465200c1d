"""The writer: drains sealed spool segments into ClickHouse, one INSERT per segment per table.

Each insert carries the segment's deduplication token, and a segment is deleted only after ClickHouse
committed it, so a crash at any point replays at most the segment in hand and ClickHouse drops the
replay. Events a client sent again (a retry after a lost response) are dropped here, within the window
of recently stored ids, before they reach the table. ClickHouse down: segments wait on disk, the writer
retries with backoff and /readyz says why.
"""

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from collector.errors import QueryError, StoreError, StoreUnavailable
from collector.faults import crash_point
from collector.metrics import Metrics
from collector.settings import Batching
from collector.storage.rows import COUNTER_COLUMNS, EVENT_COLUMNS, SAMPLE_COLUMNS, CounterRow, encode
from collector.storage.segments import Damage, Record, Segment, read_segment, sealed_segments, write_segment
from collector.storage.sql import run
from collector.storage.store import Store

log = logging.getLogger("footfall.sink")

CounterKey = tuple[int, int, str, str]  # site_id, hour (epoch s), outcome, reason
POLL_S = 0.25  # how often folders of other processes are looked at
BACKOFF_S = (0.5, 30.0)  # first and longest pause between retries while ClickHouse is away
RECENT_LAGS = 100  # segments whose time to queryable the health reading's p95 covers


class RecentIds:
    """Ids of events stored lately: a client's retry of a batch already stored is dropped, not stored twice.

    Bounded by count and by age. Beyond the window a duplicate can still reach the table, where the
    ReplacingMergeTree collapses it on merge (docs/reliability.md)."""

    def __init__(self, *, max_ids: int, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_ids = max_ids
        self._max_age_s = max_age_s
        self._clock = clock
        self._order: deque[tuple[float, str]] = deque()
        self._ids: set[str] = set()

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Iterable[str]) -> None:
        now = self._clock()
        for event_id in ids:
            if event_id not in self._ids:
                self._ids.add(event_id)
                self._order.append((now, event_id))
        oldest = now - self._max_age_s
        while self._order and (len(self._order) > self._max_ids or self._order[0][0] < oldest):
            self._ids.discard(self._order.popleft()[1])


class _RowKey(msgspec.Struct):
    site_id: int
    event_id: str
    timestamp: str  # decimal epoch seconds (collector/storage/rows.py)


_row_key = msgspec.json.Decoder(_RowKey)


def _day(epoch_text: str) -> str:
    return datetime.fromtimestamp(float(epoch_text), UTC).date().isoformat()


@dataclass
class Batch:
    """What one segment becomes: rows to insert, counters to add and drop samples, after dropping repeats."""

    rows: bytes
    count: int
    ids: list[str]
    counters: Counter[CounterKey]
    samples: bytes = b""


def prepare(records: list[Record], recent: RecentIds) -> Batch:
    parts: list[bytes] = []
    ids: list[str] = []
    counters: Counter[CounterKey] = Counter()
    seen: set[str] = set()
    samples = b"".join(record.samples for record in records)
    for record in records:
        for outcome, reason, n in record.counters:
            counters[(record.site_id, record.hour, outcome, reason)] += n
        repeats = [i for i in record.ids if i in recent or i in seen]
        seen.update(record.ids)
        if not repeats:
            parts.append(record.rows)
            ids.extend(record.ids)
            continue
        lines = record.rows.splitlines(keepends=True)
        for event_id, line in zip(record.ids, lines, strict=True):
            if event_id in repeats:
                continue
            parts.append(line)
            ids.append(event_id)
        counters[(record.site_id, record.hour, "accepted", "")] -= len(repeats)
        counters[(record.site_id, record.hour, "dropped", "duplicate")] += len(repeats)
    return Batch(rows=b"".join(parts), count=len(ids), ids=ids, counters=+counters, samples=samples)


class Writer:
    def __init__(
        self,
        store: Store,
        folders: Callable[[], list[Path]],
        metrics: Metrics,
        *,
        recent: RecentIds,
        wake: asyncio.Event | None = None,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._store = store
        self._folders = folders
        self._metrics = metrics
        self._recent = recent
        self._wake = wake or asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._last_error: str | None = None
        self._problem = ""
        self.damage = Damage()
        self._started = time.time()
        self._now_ms = now_ms
        # What the health reading shows (collector.storage.health); set in the writer's thread, read in others.
        self.failing_since_ms: int | None = None
        self.last_commit_ms: int | None = None
        self.segments_stored = 0
        self.lags_ms: deque[int] = deque(maxlen=RECENT_LAGS)  # commit - oldest receipt, per segment
        metrics.gauge("footfall_spool_segments", "Sealed spool segments waiting for ClickHouse.", self.backlog)

    def failing(self) -> str | None:
        return self._last_error

    @property
    def problem(self) -> str:
        """What kind of failure `failing` describes, in a word a dashboard may show: "" (none),
        "clickhouse_unavailable" or "writer_error" (a bug: the log has it)."""
        return self._problem

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _fail(self, problem: str, message: str) -> None:
        if self._last_error is None:
            self.failing_since_ms = self._now_ms()
        self._problem, self._last_error = problem, message

    def backlog(self) -> int:
        return sum(len(sealed_segments(folder)) for folder in self._folders() if folder.is_dir())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="footfall-writer")

    async def stop(self, *, timeout_s: float = 30.0) -> None:
        """Store what is sealed (within the timeout; what is left waits on disk for the next start)."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=timeout_s)
            except TimeoutError:
                log.warning(
                    "stopped with %d spool segments still on disk; they are stored at next start", self.backlog()
                )

    async def _run(self) -> None:
        pause = BACKOFF_S[0]
        while True:
            self._wake.clear()
            segments = [s for folder in self._folders() if folder.is_dir() for s in sealed_segments(folder)]
            if not segments:
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=POLL_S)
                continue
            try:
                for segment in segments:
                    await asyncio.to_thread(self.store_segment, segment)
            except StoreUnavailable as exc:
                self._fail("clickhouse_unavailable", f"cannot write to ClickHouse: {exc}")
                log.error("%s; %d segments wait on disk, retrying in %.1fs", self._last_error, len(segments), pause)
                if self._stopping:
                    return
                # New segments do not cut the pause short: only a stop does.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), timeout=pause * random.uniform(0.5, 1.0))  # noqa: S311
                pause = min(pause * 2, BACKOFF_S[1])
                continue
            except Exception as exc:  # a bug: say so, keep the segments, keep the writer alive
                self._fail("writer_error", f"the writer failed: {exc}")
                log.exception("the writer failed; %d segments wait on disk", len(segments))
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), timeout=BACKOFF_S[1])
                continue
            self._last_error, self._problem, self.failing_since_ms = None, "", None
            pause = BACKOFF_S[0]

    def store_segment(self, segment: Segment) -> None:
        """Insert one sealed segment, then delete it. Runs in a worker thread."""
        records, damage = read_segment(segment)
        if damage.records:
            log.error("spool %s: skipped %d damaged records (%d bytes)", segment.path, damage.records, damage.bytes)
            self.damage.records += damage.records
            self.damage.bytes += damage.bytes
            self._metrics.spool_damaged.inc(by=damage.records)
        batch = prepare(records, self._recent)
        settings = {"insert_deduplication_token": segment.token}
        # Counters first: if the process dies between the two inserts, the replay finds the counters
        # already there (same token) and the events not, so both end up stored exactly once.
        try:
            self._add_counters(batch.counters, settings)
            self._add_samples(segment, batch.samples, settings)
            crash_point("writer.between_inserts")
            if batch.count:
                started = time.perf_counter()
                crash_point("writer.during_insert", after_s=0.005)
                self._store.insert("events", batch.rows, columns=EVENT_COLUMNS, settings=settings)
                self._metrics.insert_seconds.observe(time.perf_counter() - started)
                self._metrics.insert_rows.inc(by=batch.count)
                if segment.path.stat().st_mtime < self._started:
                    self._insert_missing(segment, batch)
        except QueryError as exc:
            self._metrics.insert_failures.inc()
            log.error("ClickHouse refused segment %s, storing it request by request: %s", segment.token, exc)
            self._salvage(segment, records)
            return
        except StoreError:
            self._metrics.insert_failures.inc()
            raise
        self._recent.add(batch.ids)
        self._committed(records)
        crash_point("writer.before_delete")
        segment.path.unlink()

    def _committed(self, records: list[Record]) -> None:
        """Time to queryable: from the oldest receipt in the segment to now, when ClickHouse has it all."""
        now = self.last_commit_ms = self._now_ms()
        self.segments_stored += 1
        received = [r.received_ms for r in records if r.received_ms]  # 0: a segment of an older footfall
        if received:
            self.lags_ms.append(max(0, now - min(received)))

    def _add_samples(self, segment: Segment, samples: bytes, settings: dict[str, str]) -> None:
        """Drop samples are diagnostics: ClickHouse refusing them costs them, never the segment's events.
        (A kill inside this insert can lose them for good, where events are checked: _insert_missing.)"""
        if not samples:
            return
        try:
            self._store.insert("ingest_samples", samples, columns=SAMPLE_COLUMNS, settings=settings)
        except QueryError as exc:
            self._metrics.insert_failures.inc()
            log.error("ClickHouse refused the drop samples of segment %s; they are skipped: %s", segment.token, exc)

    def _insert_missing(self, segment: Segment, batch: "Batch") -> None:
        """A segment left by an earlier process may have been cut short by a kill inside ClickHouse's
        insert, after the deduplication log took its token but before the part was in place: its replay
        is then dropped as a duplicate although its rows are missing. Rows the table does not hold go
        in again under a token of their own."""
        lines = batch.rows.splitlines(keepends=True)
        keys = [_row_key.decode(line) for line in lines]
        held = run(
            self._store,
            "present_ids",
            {
                "sites": sorted({k.site_id for k in keys}),
                "days": sorted({_day(k.timestamp) for k in keys}),
                "ids": [k.event_id for k in keys],
            },
        )
        present = {row["id"] for row in held}
        missing = [line for line, key in zip(lines, keys, strict=True) if key.event_id not in present]
        if missing:
            log.warning(
                "segment %s: %d events missing after its replay; inserting them again", segment.token, len(missing)
            )
            # A fresh token each time: this insert can be cut short the same way, and the next replay
            # asks again which rows are there, so a token reused here could hide them for good.
            again = {"insert_deduplication_token": f"{segment.token}-again-{secrets.token_hex(8)}"}
            self._store.insert("events", b"".join(missing), columns=EVENT_COLUMNS, settings=again)

    def _salvage(self, segment: Segment, records: list[Record]) -> None:
        """Store a refused segment record by record; records ClickHouse refuses on their own are set
        aside in <spool>/quarantine for a person to look at, and counted."""
        refused: list[Record] = []
        for index, record in enumerate(records):
            part = prepare([record], self._recent)
            settings = {"insert_deduplication_token": f"{segment.token}.{index}"}
            try:
                if part.count:
                    self._store.insert("events", part.rows, columns=EVENT_COLUMNS, settings=settings)
            except QueryError as exc:
                refused.append(record)
                log.error("ClickHouse refused %d rows of site %d: %s", len(record.ids), record.site_id, exc)
                continue
            self._recent.add(part.ids)
        if refused:
            refusals: Counter[CounterKey] = Counter()
            for record in refused:
                refusals[(record.site_id, record.hour, "dropped", "refused_by_store")] += len(record.ids)
            self._add_counters(refusals, {"insert_deduplication_token": f"{segment.token}.refused"})
            target = segment.path.parent.parent / "quarantine" / f"{segment.token}.seg"
            target.parent.mkdir(parents=True, exist_ok=True)
            write_segment(target, refused)
            self._metrics.quarantined.inc(by=sum(len(r.ids) for r in refused))
            log.error("%d refused requests of segment %s are kept in %s", len(refused), segment.token, target)
        self._committed(records)
        segment.path.unlink()

    def _add_counters(self, counters: Counter[CounterKey], settings: dict[str, str]) -> None:
        if counters:
            rows = [CounterRow(s, h, o, r, n) for (s, h, o, r), n in counters.items()]
            self._store.insert("ingest_counters", encode(rows), columns=COUNTER_COLUMNS, settings=settings)
        for (_, _, outcome, reason), n in counters.items():
            if outcome == "dropped":
                self._metrics.dropped.inc(reason, by=n)


def warm_recent_ids(store: Store, recent: RecentIds, batching: Batching) -> None:
    rows = run(store, "recent_ids", {"age_s": batching.dedup_window_s, "limit": batching.dedup_window_ids})
    recent.add(row["id"] for row in reversed(rows))
