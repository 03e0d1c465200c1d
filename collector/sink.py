"""The sink: gathers accepted rows and bulk-inserts them into ClickHouse by rows, bytes or time.

`submit` returns once the block is committed, so the 202 a client gets means the events are stored;
if ClickHouse cannot take them the client gets a 503 and retries. Inserts happen one at a time, off
the event loop; requests that arrive meanwhile share the next one (group commit). Everything waiting
is written on shutdown.

This is the seam the durable spool plugs into: a Sink whose `submit` returns after an fsync'd append
to a local log, with a writer draining that log into the same Store.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from collector.errors import Overloaded, QueryError, StoreError, StoreUnavailable
from collector.metrics import Metrics
from collector.rows import COUNTER_COLUMNS, EVENT_COLUMNS, CounterRow, encode
from collector.settings import Batching
from collector.store import Store

log = logging.getLogger("footfall.sink")

CounterKey = tuple[int, int, str, str]  # site_id, hour (epoch s), outcome, reason
COUNTS_INTERVAL_S = 1.0  # ingest counters are written at most this often


@dataclass
class Block:
    """Rows from one request, encoded once, plus what to add to the site's ingest counters."""

    rows: bytes
    count: int
    counters: Counter[CounterKey] = field(default_factory=Counter)


class Sink(Protocol):
    async def submit(self, block: Block) -> None: ...
    def count(self, counters: Counter[CounterKey]) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def failing(self) -> str | None:
        """Why the sink cannot write right now, or None."""


@dataclass
class _Waiting:
    blocks: list[Block] = field(default_factory=list)
    futures: list[asyncio.Future[None]] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    since: float = 0.0


class BufferedSink:
    def __init__(
        self,
        store: Store,
        batching: Batching,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._batching = batching
        self._metrics = metrics
        self._clock = clock
        self._waiting = _Waiting()
        self._in_flight_bytes = 0
        self._counts: Counter[CounterKey] = Counter()  # committed or counted, not yet written
        self._last_insert_at = float("-inf")
        self._last_counts_at = float("-inf")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_error: str | None = None
        metrics.gauge("footfall_sink_queue_rows", "Rows waiting for the next insert.", lambda: self._waiting.rows)
        metrics.gauge("footfall_sink_queue_bytes", "Bytes waiting or being inserted.", lambda: self.queued_bytes)

    @property
    def queued_bytes(self) -> int:
        return self._waiting.bytes + self._in_flight_bytes

    def failing(self) -> str | None:
        return self._last_error

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="footfall-sink")

    async def stop(self) -> None:
        """Write everything waiting, then end."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def submit(self, block: Block) -> None:
        if self._stopping:
            raise Overloaded("the collector is shutting down", retry_after_s=self._batching.retry_after_s)
        if self.queued_bytes + len(block.rows) > self._batching.max_queue_bytes:
            raise Overloaded(
                f"{self.queued_bytes:,} bytes are waiting for ClickHouse, the most this collector holds",
                retry_after_s=self._batching.retry_after_s,
            )
        waiting = self._waiting
        if not waiting.blocks:
            waiting.since = self._clock()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting.blocks.append(block)
        waiting.futures.append(future)
        waiting.rows += block.count
        waiting.bytes += len(block.rows)
        self._wake.set()
        # Shielded: a client that hangs up does not cancel the write the others share.
        await asyncio.shield(future)

    def count(self, counters: Counter[CounterKey]) -> None:
        """Counts of a request that stored nothing (all rejected or dropped): written with the next counts."""
        self._counts.update(counters)
        self._wake.set()

    def due_in(self, now: float) -> float | None:
        """Seconds until the waiting rows must be written (0: now); None when nothing waits.

        After a quiet spell rows go at once; under load inserts start at most once per max_delay_ms,
        so ClickHouse sees few, large inserts while an idle collector answers in one insert's time."""
        waiting = self._waiting
        if not waiting.blocks:
            return None
        if self._stopping or waiting.rows >= self._batching.max_rows or waiting.bytes >= self._batching.max_bytes:
            return 0.0
        return max(0.0, self._last_insert_at + self._batching.max_delay_ms / 1000 - now)

    def _counts_due_in(self, now: float) -> float | None:
        if not self._counts:
            return None
        return 0.0 if self._stopping else max(0.0, self._last_counts_at + COUNTS_INTERVAL_S - now)

    def poke(self) -> None:
        """Make the writer look at the clock again (tests use it after moving a fake clock)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            rows_in, counts_in = self.due_in(now), self._counts_due_in(now)
            if rows_in == 0:
                await self._flush_rows()
            elif counts_in == 0:
                await self._flush_counts()
            elif rows_in is None and counts_in is None and self._stopping:
                return
            else:
                timeout = min((w for w in (rows_in, counts_in) if w is not None), default=None)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def _flush_rows(self) -> None:
        taken, self._waiting = self._waiting, _Waiting()
        self._in_flight_bytes = taken.bytes
        self._last_insert_at = self._clock()
        try:
            await asyncio.to_thread(self._write, taken.blocks)
        except StoreUnavailable as exc:
            self._last_error = f"cannot write to ClickHouse: {exc}"
            log.error("insert of %d rows failed: %s", taken.rows, exc)
            _settle(taken.futures, Overloaded(self._last_error, retry_after_s=self._batching.retry_after_s))
        except QueryError as exc:
            # ClickHouse refused the data itself. Write each request's block on its own, so one
            # bad block fails only the request that brought it.
            log.error("insert of %d rows was refused, retrying request by request: %s", taken.rows, exc)
            await asyncio.to_thread(self._write_one_by_one, taken.blocks, taken.futures)
        except Exception as exc:
            # A bug, not a ClickHouse answer: fail these requests, keep the writer alive.
            log.exception("insert of %d rows failed unexpectedly", taken.rows)
            _settle(taken.futures, exc)
        else:
            self._last_error = None
            self._note_committed(taken.blocks)
            _settle(taken.futures, None)
        finally:
            self._in_flight_bytes = 0

    def _note_committed(self, blocks: list[Block]) -> None:
        for block in blocks:
            self._counts.update(block.counters)

    def _write_one_by_one(self, blocks: list[Block], futures: list[asyncio.Future[None]]) -> None:
        loop = futures[0].get_loop()
        for block, future in zip(blocks, futures, strict=True):
            try:
                self._write([block])
            except StoreError as exc:
                loop.call_soon_threadsafe(_settle, [future], exc)
            else:
                loop.call_soon_threadsafe(self._note_committed, [block])
                loop.call_soon_threadsafe(_settle, [future], None)

    def _write(self, blocks: list[Block]) -> None:
        rows = sum(b.count for b in blocks)
        started = time.perf_counter()
        try:
            self._store.insert("events", b"".join(b.rows for b in blocks), columns=EVENT_COLUMNS)
        except StoreError:
            self._metrics.insert_failures.inc()
            raise
        self._metrics.insert_seconds.observe(time.perf_counter() - started)
        self._metrics.insert_rows.inc(by=rows)

    async def _flush_counts(self) -> None:
        """Ingest counters, summed over many inserts: a one-row insert costs ClickHouse a new part too."""
        counts, self._counts = self._counts, Counter()
        self._last_counts_at = self._clock()
        rows = [CounterRow(site, str(hour), outcome, reason, n) for (site, hour, outcome, reason), n in counts.items()]
        try:
            await asyncio.to_thread(self._store.insert, "ingest_counters", encode(rows), columns=COUNTER_COLUMNS)
        except StoreError as exc:
            self._counts.update(counts)  # kept for the next try: a few rows per site, hour and reason
            self._metrics.insert_failures.inc()
            log.error("ingest counters (%d rows) were not written, will retry: %s", len(rows), exc)


def _settle(futures: list[asyncio.Future[None]], outcome: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
