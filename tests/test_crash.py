"""SIGKILL at each point of an event's path, then restart: every acknowledged event is stored once.

The client behaves as an SDK does: a batch without a 202 is sent again, with the same ids, once the
collector is back. Then every event of every batch must be in ClickHouse exactly once (no FINAL, no
merge to hide a duplicate)."""

import re
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from processes import serving
from support import event, read_events, wait_until

from collector.store_chdb import ChdbStore

POINTS = [
    "ingest.before_append",  # the request was read, nothing written
    "spool.after_sync",  # on disk, the 202 never sent
    "writer.between_inserts",  # counters stored, events not
    "writer.during_insert",  # killed while ClickHouse writes the events
    "writer.before_delete",  # both stored, the segment still on disk
]
BATCHES, PER_BATCH = 12, 5
FAST = {"FOOTFALL_MAX_DELAY_MS": "30"}


def post(url: str, key: str, batch: list[dict[str, Any]]) -> bool:
    """True for a 202; False when the collector is gone (connection refused or cut) or answers 5xx."""
    try:
        response = httpx.post(f"{url}/v1/batch", json={"key": key, "events": batch}, timeout=10)
    except httpx.TransportError:
        return False
    assert response.status_code < 500 or response.status_code == 503, response.text
    return response.status_code == 202


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_point_loses_nothing_acknowledged_and_stores_nothing_twice(tmp_path: Path, point: str) -> None:
    data = tmp_path / "data"
    batches = [[event("track", name=f"b{b}e{e}") for e in range(PER_BATCH)] for b in range(BATCHES)]
    acked: set[int] = set()
    with serving(data, env={**FAST, "FOOTFALL_CRASH_AT": point}) as served:
        text = "".join(served.output)
        write_key = re.search(r"write key: (ffw_\S+)", text).group(1)  # type: ignore[union-attr]
        read_key = re.search(r"read key:  (ffr_\S+)", text).group(1)  # type: ignore[union-attr]
        for number, batch in enumerate(batches):
            if not post(served.url, write_key, batch):
                break
            acked.add(number)
        # The writer's crash points fire once the first segment is sealed; wait for the kill.
        wait_until(lambda: served.process.poll() is not None, what=f"the crash at {point}")
    assert served.process.returncode == -signal.SIGKILL

    with serving(data, env=FAST) as served:
        for number, batch in enumerate(batches):
            if number not in acked:
                assert post(served.url, write_key, batch)
        listed = read_events(served.url, read_key, expect=BATCHES * PER_BATCH, limit=10_000)
        ids = [e["id"] for e in listed["events"]]
        assert len(ids) == len(set(ids)), "an event was stored twice"
        assert set(ids) == {e["id"] for batch in batches for e in batch}
    assert served.process.returncode == 0
    # The table collapses a duplicate row on merge, which could hide one; the counters are summed, so
    # an event inserted twice would show here.
    store = ChdbStore(data, database="footfall")
    try:
        counted = store.query("SELECT outcome, sum(events) AS n FROM footfall.ingest_counters GROUP BY outcome")
    finally:
        store.close()
    accepted = sum(r["n"] for r in counted if r["outcome"] == "accepted")
    assert accepted == BATCHES * PER_BATCH
