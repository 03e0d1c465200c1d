"""The sink: gathers accepted rows and bulk-inserts them into ClickHouse by rows, bytes or time.

`submit` returns once the block is committed, so the 202 a client gets means the events are stored;
if ClickHouse cannot take them the client gets a 503 and retries. Inserts happen one at a time, off
the event loop, and everything waiting is written on shutdown.

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
        self._loose_counters: Counter[CounterKey] = Counter()
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
        """Counts of a request that stored nothing (all rejected or dropped), written with the next insert."""
        if not self._waiting.blocks and not self._loose_counters:
            self._waiting.since = self._clock()
        self._loose_counters.update(counters)
        self._wake.set()

    def due_in(self, now: float) -> float | None:
        """Seconds until the waiting rows must be written (0: now); None when nothing waits."""
        waiting = self._waiting
        if not waiting.blocks:
            if not self._loose_counters:
                return None
            return 0.0 if self._stopping else max(0.0, waiting.since + 1.0 - now)
        if self._stopping or waiting.rows >= self._batching.max_rows or waiting.bytes >= self._batching.max_bytes:
            return 0.0
        return max(0.0, waiting.since + self._batching.max_delay_ms / 1000 - now)

    def poke(self) -> None:
        """Make the writer look at the clock again (tests use it after moving a fake clock)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = self.due_in(self._clock())
            if wait is None and self._stopping:
                return
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                continue
            taken, self._waiting = self._waiting, _Waiting()
            loose, self._loose_counters = self._loose_counters, Counter()
            self._in_flight_bytes = taken.bytes
            try:
                await asyncio.to_thread(self._write, taken.blocks, loose)
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
                _settle(taken.futures, None)
            finally:
                self._in_flight_bytes = 0

    def _write_one_by_one(self, blocks: list[Block], futures: list[asyncio.Future[None]]) -> None:
        loop = futures[0].get_loop()
        for block, future in zip(blocks, futures, strict=True):
            try:
                self._write([block], Counter())
            except StoreError as exc:
                loop.call_soon_threadsafe(_settle, [future], exc)
            else:
                loop.call_soon_threadsafe(_settle, [future], None)

    def _write(self, blocks: list[Block], loose: Counter[CounterKey]) -> None:
        rows = sum(b.count for b in blocks)
        started = time.perf_counter()
        try:
            if rows:
                self._store.insert("events", b"".join(b.rows for b in blocks), columns=EVENT_COLUMNS)
        except StoreError:
            self._metrics.insert_failures.inc()
            raise
        self._metrics.insert_seconds.observe(time.perf_counter() - started)
        self._metrics.insert_rows.inc(by=rows)
        self._write_counters(blocks, loose)

    def _write_counters(self, blocks: list[Block], loose: Counter[CounterKey]) -> None:
        totals: Counter[CounterKey] = Counter(loose)
        for block in blocks:
            totals.update(block.counters)
        if not totals:
            return
        counter_rows = [
            CounterRow(site_id, str(hour), outcome, reason, n) for (site_id, hour, outcome, reason), n in totals.items()
        ]
        try:
            self._store.insert("ingest_counters", encode(counter_rows), columns=COUNTER_COLUMNS)
        except StoreError as exc:
            # The events are stored; only this flush's counts are lost. Say so, loudly.
            self._metrics.insert_failures.inc()
            log.error("ingest counters for %d keys were not written: %s", len(counter_rows), exc)


def _settle(futures: list[asyncio.Future[None]], outcome: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
