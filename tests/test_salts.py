"""Daily salts in the real engine: expired by ClickHouse's own clock."""

from collector.store_chdb import ChdbStore


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
