"""The sink against the real engine; its clock is injected, so time-based flushing needs no sleeping."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import pytest
from support import wait_until

from collector.errors import Overloaded, QueryError, StoreUnavailable
from collector.metrics import Metrics
from collector.rows import EventRow, encode
from collector.settings import Batching
from collector.sink import Block, BufferedSink
from collector.store import Params, Row, Store
from collector.store_chdb import ChdbStore

HOUR = 1_795_341_600  # an hour boundary, epoch seconds


class Switchable:
    """The real store behind a switch that makes it unreachable, as a dead ClickHouse would be."""

    def __init__(self, store: ChdbStore) -> None:
        self.store = store
        self.database = store.database
        self.url = store.url
        self.down = False

    def execute(self, sql: str, params: Params | None = None) -> None:
        self.store.execute(sql, params)

    def insert(
        self,
        table: str,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")
        self.store.insert(table, data, columns=columns, settings=settings)

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        return self.store.query(sql, params)

    def ping(self) -> None:
        self.store.ping()

    def close(self) -> None:
        self.store.close()


def block(n: int = 1, site_id: int = 1) -> Block:
    rows = [
        EventRow(
            site_id=site_id,
            event_id=str(uuid.uuid4()),
            type="track",
            name="t",
            timestamp="1795341599.000",
            client_ts="1795341599.000",
            received_at="1795341600.000",
        )
        for _ in range(n)
    ]
    return Block(rows=encode(rows), count=n, counters=Counter({(site_id, HOUR, "accepted", ""): n}))


def count(store: ChdbStore) -> int:
    return int(store.query("SELECT count() AS n FROM footfall.events")[0]["n"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    """Let every ready task run (the sink's thread hop included) without waiting on wall time."""
    for _ in range(50):
        await asyncio.sleep(0)


def make(store: Store, clock: FakeClock, **batching: int) -> tuple[BufferedSink, Metrics]:
    metrics = Metrics()
    config = Batching(**{"max_delay_ms": 3_600_000, **batching})
    return BufferedSink(store, config, metrics, clock=clock), metrics


def test_flushes_when_enough_rows_wait(store: ChdbStore) -> None:
    async def scenario() -> None:
        sink, metrics = make(store, FakeClock(), max_rows=3)
        await sink.start()
        await asyncio.wait_for(asyncio.gather(*(sink.submit(block()) for _ in range(3))), timeout=30)
        assert count(store) == 3
        assert metrics.insert_seconds.count == 1  # one INSERT for three requests
        await sink.stop()

    asyncio.run(scenario())


def test_flushes_when_enough_bytes_wait(store: ChdbStore) -> None:
    async def scenario() -> None:
        one = block()
        sink, _ = make(store, FakeClock(), max_bytes=len(one.rows) * 2)
        await sink.start()
        await asyncio.wait_for(asyncio.gather(sink.submit(one), sink.submit(block())), timeout=30)
        assert count(store) == 2
        await sink.stop()

    asyncio.run(scenario())


def test_an_idle_sink_writes_at_once_a_busy_one_once_per_delay(store: ChdbStore) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        sink, metrics = make(store, clock, max_delay_ms=200)
        await sink.start()
        await asyncio.wait_for(sink.submit(block()), timeout=30)  # idle: no waiting for the timer
        assert count(store) == 1
        pending = asyncio.create_task(sink.submit(block()))
        await settle()
        assert not pending.done()  # an insert started less than 200 ms ago (by the fake clock)
        assert sink.due_in(clock.now) == pytest.approx(0.2)
        clock.now += 0.2
        sink.poke()
        await asyncio.wait_for(pending, timeout=30)
        assert count(store) == 2
        assert metrics.insert_seconds.count == 2
        await sink.stop()

    asyncio.run(scenario())


def test_stop_writes_what_waits(store: ChdbStore) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        sink, _ = make(store, clock)
        await sink.start()
        await asyncio.wait_for(sink.submit(block()), timeout=30)
        pending = asyncio.create_task(sink.submit(block(5)))
        await settle()
        assert not pending.done()
        await asyncio.wait_for(sink.stop(), timeout=30)
        await pending
        assert count(store) == 6
        with pytest.raises(Overloaded, match="shutting down"):
            await sink.submit(block())

    asyncio.run(scenario())


def test_a_full_queue_answers_overloaded_at_once(store: ChdbStore) -> None:
    async def scenario() -> None:
        first = block(10)
        sink, _ = make(store, FakeClock(), max_queue_bytes=len(first.rows) + 10)
        await sink.start()
        await asyncio.wait_for(sink.submit(block()), timeout=30)  # starts the delay
        waiting = asyncio.create_task(sink.submit(first))
        await settle()
        with pytest.raises(Overloaded) as refused:
            await sink.submit(block(10))
        assert refused.value.retry_after_s == Batching().retry_after_s
        await sink.stop()
        await waiting

    asyncio.run(scenario())


def test_clickhouse_down_fails_the_waiting_requests_then_recovers(store: ChdbStore) -> None:
    async def scenario() -> None:
        switch = Switchable(store)
        sink, metrics = make(switch, FakeClock(), max_rows=1)
        await sink.start()
        switch.down = True
        with pytest.raises(Overloaded, match="cannot write to ClickHouse"):
            await asyncio.wait_for(sink.submit(block()), timeout=30)
        assert sink.failing() is not None
        assert metrics.insert_failures.value() == 1
        switch.down = False
        await asyncio.wait_for(sink.submit(block()), timeout=30)
        assert sink.failing() is None
        assert count(store) == 1
        await sink.stop()

    asyncio.run(scenario())


def test_a_block_clickhouse_refuses_fails_only_its_own_request(store: ChdbStore) -> None:
    async def scenario() -> None:
        sink, _ = make(store, FakeClock(), max_rows=3)
        await sink.start()
        poison = Block(rows=b'{"site_id": "not a number"}\n', count=1)
        results = await asyncio.wait_for(
            asyncio.gather(sink.submit(block()), sink.submit(poison), sink.submit(block()), return_exceptions=True),
            timeout=30,
        )
        assert results[0] is None
        assert results[2] is None
        assert isinstance(results[1], QueryError)
        assert count(store) == 2
        await sink.stop()

    asyncio.run(scenario())


def test_counters_are_summed_and_written_at_most_once_a_second(store: ChdbStore) -> None:
    def counted() -> int:
        return int(store.query("SELECT sum(events) AS n FROM footfall.ingest_counters")[0]["n"])

    async def until(predicate: Callable[[], bool]) -> None:
        await asyncio.to_thread(wait_until, predicate, what="ingest counters")

    async def scenario() -> None:
        clock = FakeClock()
        sink, _ = make(store, clock, max_rows=1)
        await sink.start()
        await asyncio.wait_for(sink.submit(block(2)), timeout=30)
        await until(lambda: counted() == 2)  # the first counts go at once
        await asyncio.wait_for(sink.submit(block(3)), timeout=30)
        await settle()
        assert counted() == 2  # the next ones wait for the fake clock's second to pass
        clock.now += 1.0
        sink.poke()
        await until(lambda: counted() == 5)
        await sink.stop()

    asyncio.run(scenario())


def test_counters_are_written_with_the_rows_and_on_their_own(store: ChdbStore) -> None:
    async def scenario() -> None:
        sink, _ = make(store, FakeClock(), max_rows=1)
        await sink.start()
        sink.count(Counter({(1, HOUR, "rejected", "invalid_event"): 2}))
        await asyncio.wait_for(sink.submit(block(3)), timeout=30)
        await sink.stop()

    asyncio.run(scenario())
    rows = store.query(
        "SELECT outcome, reason, sum(events) AS n, toUnixTimestamp(hour) AS h FROM footfall.ingest_counters "
        "GROUP BY outcome, reason, hour ORDER BY outcome"
    )
    assert rows == [
        {"outcome": "accepted", "reason": "", "n": 3, "h": HOUR},
        {"outcome": "rejected", "reason": "invalid_event", "n": 2, "h": HOUR},
    ]
