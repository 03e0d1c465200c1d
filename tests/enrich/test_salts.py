"""Daily salts in the real engine: made a day ahead, shared through the store and the workers' snapshot,
turned at midnight without the store, settled after a race, and expired by ClickHouse's own clock."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from support import DAY_MS, NOW, NOW_MS, Switchable

from collector.enrich.salts import Salts
from collector.errors import StoreUnavailable
from collector.storage.store_chdb import ChdbStore

TODAY = NOW.date()
TOMORROW = TODAY + timedelta(days=1)
AFTER_MIDNIGHT_MS = (NOW_MS // DAY_MS + 1) * DAY_MS + 1000  # 00:00:01 UTC on TOMORROW


def salt_rows(store: ChdbStore) -> dict[str, int]:
    rows = store.query("SELECT toString(day) AS day, count() AS n FROM footfall.salts GROUP BY day ORDER BY day")
    return {r["day"]: r["n"] for r in rows}


def test_the_first_request_makes_todays_salt_and_tomorrows(store: ChdbStore, tmp_path: Path) -> None:
    salts = Salts(store=store, snapshot=tmp_path / "salts.json")
    today = asyncio.run(salts.today(NOW_MS))
    assert salt_rows(store) == {TODAY.isoformat(): 1, TOMORROW.isoformat(): 1}
    snapshot = json.loads((tmp_path / "salts.json").read_text())
    assert set(snapshot) == {TODAY.isoformat(), TOMORROW.isoformat()}
    assert bytes.fromhex(snapshot[TODAY.isoformat()]) == today
    assert (tmp_path / "salts.json").stat().st_mode & 0o777 == 0o600
    # Loading again makes nothing new.
    asyncio.run(Salts(store=store, snapshot=None).refresh(NOW_MS))
    assert salt_rows(store) == {TODAY.isoformat(): 1, TOMORROW.isoformat(): 1}


def test_the_day_turns_with_clickhouse_away_and_every_process_agrees(store: ChdbStore, tmp_path: Path) -> None:
    switch = Switchable(store)
    main = Salts(store=switch, snapshot=tmp_path / "salts.json")
    edge = Salts(store=None, snapshot=tmp_path / "salts.json")  # a worker process: the snapshot only
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    store.execute(
        "INSERT INTO footfall.salts (day, salt, created_at) VALUES ({day:Date}, {salt:String}, now64(3))",
        {"day": yesterday, "salt": "cd" * 16},
    )

    def snapshot_days() -> set[str]:
        return set(json.loads((tmp_path / "salts.json").read_text()))

    async def scenario() -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
        before = await main.today(NOW_MS)
        assert await edge.today(NOW_MS) == before
        switch.down = True
        turned = await main.today(AFTER_MIDNIGHT_MS)
        on_edge = await edge.today(AFTER_MIDNIGHT_MS)
        assert snapshot_days() == {yesterday, TODAY.isoformat(), TOMORROW.isoformat()}
        with pytest.raises(StoreUnavailable):
            await main.refresh(AFTER_MIDNIGHT_MS)
        assert await main.today(AFTER_MIDNIGHT_MS) == turned  # a failed refresh keeps what is held...
        assert snapshot_days() == {TODAY.isoformat(), TOMORROW.isoformat()}  # ...but not a day now too old
        # Away through a second midnight: no salt was made for that day, and none can be agreed on.
        with pytest.raises(StoreUnavailable):
            await main.today(AFTER_MIDNIGHT_MS + DAY_MS)
        switch.down = False
        other = await Salts(store=store, snapshot=None).today(AFTER_MIDNIGHT_MS)
        assert turned != before
        return turned, on_edge, other, await main.today(AFTER_MIDNIGHT_MS + DAY_MS)

    turned, on_edge, other, day_after = asyncio.run(scenario())
    assert turned is not None
    assert turned == on_edge == other
    assert day_after not in (None, turned)


def test_collectors_that_raced_to_make_a_day_settle_on_its_oldest_salt(store: ChdbStore) -> None:
    first = Salts(store=store, snapshot=None)

    async def scenario() -> tuple[bytes | None, bytes | None, bytes | None]:
        await first.today(NOW_MS)  # made today's and tomorrow's, and read them back
        # Another collector's insert of tomorrow's salt lands after that read, stamped earlier (its
        # ClickHouse server's clock is behind): the oldest row wins, so the first collector must move.
        store.execute(
            "INSERT INTO footfall.salts (day, salt, created_at) "
            "SELECT {day:Date}, {salt:String}, min(created_at) - toIntervalSecond(1) FROM footfall.salts",
            {"day": TOMORROW.isoformat(), "salt": "ab" * 16},
        )
        held = await first.today(AFTER_MIDNIGHT_MS)
        await first.refresh(AFTER_MIDNIGHT_MS)
        return (
            held,
            await first.today(AFTER_MIDNIGHT_MS),
            await Salts(store=store, snapshot=None).today(NOW_MS + DAY_MS),
        )

    held, settled, other = asyncio.run(scenario())
    assert held != bytes.fromhex("ab" * 16)  # before the refresh: its own
    assert settled == other == bytes.fromhex("ab" * 16)


def test_clickhouse_expires_salts_by_its_own_clock_two_days_after_their_day(store: ChdbStore) -> None:
    """Rows are dated from the engine's clock inside the statement, so this holds on any date. A row made
    by a collector whose clock is a month off lives as long as one made on its day, no longer."""
    store.execute(
        """
        INSERT INTO footfall.salts (day, salt, created_at)
        SELECT toDate(at, 'UTC') + tupleElement(c, 2), tupleElement(c, 1), at - toIntervalDay(tupleElement(c, 3))
        FROM (SELECT now64(3, 'UTC') AS at) ARRAY JOIN [
            ('yesterday', -1, 1),
            ('two days ago', -2, 2),
            ('tomorrow, made today', 1, 0),
            ('made today by a clock a month behind', -30, 0),
            ('made today by a clock a month ahead', 30, 0),
            ('made two days ago by a clock a month behind', -30, 2),
            ('made three days ago by a clock a month ahead', 30, 3)
        ] AS c
        """
    )
    store.execute("OPTIMIZE TABLE footfall.salts FINAL")
    kept = {r["salt"] for r in store.query("SELECT salt FROM footfall.salts")}
    assert kept == {
        "yesterday",
        "tomorrow, made today",
        "made today by a clock a month behind",
        "made today by a clock a month ahead",
    }
