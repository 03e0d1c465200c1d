"""SIGKILL at each point of an event's path, then restart: every acknowledged event is stored once.

The client behaves as an SDK does: a batch without a 202 is sent again, with the same ids, once the
collector is back. Then every event of every batch must be in ClickHouse exactly once (no FINAL, no
merge to hide a duplicate)."""

import os
import re
import signal
from pathlib import Path
from typing import Any

import footfall
import httpx
import pytest
from clickhouse_http import clickhouse_http
from processes import CLEAN_EXIT, serving
from support import event, read_events, stored_once, wait_until

from collector.storage.store_chdb import ChdbStore
from collector.storage.store_server import ServerStore

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


# -- restarts: a collector's segments are numbered from 1 again once its folder is empty -------------
# ClickHouse drops an insert whose token it saw among a table's last 10,000, so a token made of the folder
# and the sequence alone made every clean restart lose what the previous run had stored in as many
# segments (issue 12). Each life below ends with its folder drained, so the next one numbers from 1.


def keys(served: Any) -> tuple[str, str]:
    text = "".join(served.output)
    write_key = re.search(r"write key: (ffw_\S+)", text).group(1)  # type: ignore[union-attr]
    read_key = re.search(r"read key:  (ffr_\S+)", text).group(1)  # type: ignore[union-attr]
    return write_key, read_key


def post_batches(url: str, key: str, name: str, sent: set[str], *, batches: int = 3) -> None:
    """`batches` batches of PER_BATCH events, each answered 202; their ids go into `sent`."""
    for b in range(batches):
        batch = [event("track", name=f"{name}b{b}") for _ in range(PER_BATCH)]
        assert post(url, key, batch)
        sent.update(e["id"] for e in batch)


def post_alone(url: str, key: str, name: str, sent: set[str]) -> None:
    """One batch on a connection of its own: the kernel spreads connections among the processes."""
    batch = [event("track", name=name) for _ in range(PER_BATCH)]
    body = {"key": key, "events": batch}
    answer = httpx.post(f"{url}/v1/batch", json=body, headers={"Connection": "close"}, timeout=30)
    assert answer.status_code == 202, answer.text
    sent.update(e["id"] for e in batch)


def stored_once_in(data: Path, sent: set[str]) -> None:
    stored_once(ChdbStore(data, database="footfall"), sent)


def test_clean_restarts_in_a_row_store_every_acknowledged_event(tmp_path: Path) -> None:
    """The issue's case: runs of 3 batches x 5 events with a clean stop between them (SIGTERM, and
    SIGINT as a Ctrl-C sends), each run's events stored before it stops; then a run whose events come
    from the Python SDK."""
    data = tmp_path / "data"
    sent: set[str] = set()
    write_key = read_key = ""
    for life, stop in enumerate([signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGTERM]):
        with serving(data, env=FAST) as served:
            if life == 0:
                write_key, read_key = keys(served)
            post_batches(served.url, write_key, f"life{life}", sent)
            listed = read_events(served.url, read_key, expect=len(sent), limit=10_000)
            assert {e["id"] for e in listed["events"]} == sent, f"life {life}: an acknowledged event is missing"
            served.process.send_signal(stop)
            served.process.wait(timeout=60)
        assert served.process.returncode in CLEAN_EXIT[stop]
        assert not list((data / "spool").glob("*/*.seg")), "the next life must find the folder drained"

    with serving(data, env=FAST) as served:
        client = footfall.Client(write_key, host=served.url)
        for n in range(200):
            client.track("sdk", {"n": n}, user_id=f"u{n % 7}")
        result = client.shutdown(timeout=30)
        assert (result.sent, result.pending, result.dropped) == (200, 0, 0)
        listed = read_events(served.url, read_key, expect=len(sent) + 200, limit=10_000)
        from_sdk = [e for e in listed["events"] if e["name"] == "sdk"]
        assert sorted(e["properties"]["n"] for e in from_sdk) == list(range(200))
        sent.update(e["id"] for e in from_sdk)
    stored_once_in(data, sent)


def test_a_restart_with_segments_left_on_disk_then_a_drained_one(tmp_path: Path) -> None:
    """Killed with acknowledged segments on disk, the next life stores them beside its own; the life after
    that starts from an empty folder."""
    data = tmp_path / "data"
    sent: set[str] = set()
    slow = {"FOOTFALL_MAX_DELAY_MS": "600000"}  # nothing is sealed, so nothing is stored, until the stop
    with serving(data, env=slow) as served:
        write_key, read_key = keys(served)
        post_batches(served.url, write_key, "kept", sent, batches=4)
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(timeout=60)
    assert list((data / "spool").glob("*/*.open")), "the kill should leave the acknowledged segment"
    for life in range(2):
        with serving(data, env=FAST) as served:
            post_batches(served.url, write_key, f"life{life}", sent)
            read_events(served.url, read_key, expect=len(sent), limit=10_000)
        assert served.process.returncode == 0
    stored_once_in(data, sent)


def test_a_kill_while_draining_after_a_clean_restart(tmp_path: Path) -> None:
    """A clean life, then one killed inside the insert of its first segment (number 1 again), then one
    that takes the resends."""
    data = tmp_path / "data"
    sent: set[str] = set()
    with serving(data, env=FAST) as served:
        write_key, read_key = keys(served)
        post_batches(served.url, write_key, "first", sent)
        read_events(served.url, read_key, expect=len(sent), limit=10_000)
    unacked = []
    with serving(data, env={**FAST, "FOOTFALL_CRASH_AT": "writer.during_insert"}) as served:
        for b in range(BATCHES):
            batch = [event("track", name=f"second{b}") for _ in range(PER_BATCH)]
            sent.update(e["id"] for e in batch)
            if not post(served.url, write_key, batch):
                unacked.append(batch)
        wait_until(lambda: served.process.poll() is not None, what="the kill inside the insert")
    assert served.process.returncode == -signal.SIGKILL
    with serving(data, env=FAST) as served:
        for batch in unacked:
            assert post(served.url, write_key, batch)
        read_events(served.url, read_key, expect=len(sent), limit=10_000)
    stored_once_in(data, sent)


def test_a_restarted_edge_worker_stores_what_it_takes(tmp_path: Path) -> None:
    """`--workers 2`: the edge process is killed and started again by the main one; it takes its old
    folder back, empty, and numbers from 1 again."""
    data = tmp_path / "data"
    sent: set[str] = set()
    with serving(data, "--workers", "2", env=FAST) as served:
        write_key, read_key = keys(served)
        edge_folder = data / "spool" / "1"

        def edge_sealed() -> bool:
            """The edge's open segment is past its first: the edge has taken and sealed a batch."""
            return any(int(p.name.partition("-")[0]) > 1 for p in edge_folder.glob("*.open"))

        def post_until_the_edge_took_some(what: str) -> None:
            def one() -> bool:
                post_alone(served.url, write_key, what, sent)
                return edge_sealed()

            wait_until(one, what=f"the edge process to take a batch ({what})")

        post_until_the_edge_took_some("before")
        read_events(served.url, read_key, expect=len(sent), limit=10_000)
        wait_until(lambda: not list(edge_folder.glob("*.seg")), what="the edge's folder to be drained")
        (edge,) = _edges(served.process.pid)
        os.kill(edge, signal.SIGKILL)
        wait_until(lambda: _edges(served.process.pid) not in ([], [edge]), what="a new edge")
        wait_until(lambda: not edge_sealed(), what="the new edge to open its folder again, from 1")
        post_until_the_edge_took_some("after")
        listed = read_events(served.url, read_key, expect=len(sent), limit=10_000)
        assert {e["id"] for e in listed["events"]} == sent
    assert served.process.returncode == 0
    stored_once_in(data, sent)


def _edges(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and b"spawn_main" in cmdline:  # not the resource tracker
            found.append(int(stat.parent.name))
    return found


def test_two_collectors_on_one_clickhouse_server_each_restarted(tmp_path: Path) -> None:
    """Two collectors, each with its own folder, write to one server (the HTTP shim over the real
    engine); each is stopped and started twice, and everything either took is stored once."""
    sent: set[str] = set()
    with clickhouse_http(tmp_path / "shim") as url:
        target = ["--clickhouse-url", url + "footfall"]
        write_key = read_key = ""
        for life in range(3):
            for collector in ("a", "b"):
                with serving(tmp_path / collector, *target, env=FAST) as served:
                    if not write_key:
                        write_key, read_key = keys(served)
                    post_batches(served.url, write_key, f"{collector}{life}", sent)
                    read_events(served.url, read_key, expect=len(sent), limit=10_000)
                assert served.process.returncode == 0
        stored_once(ServerStore(url, database="footfall"), sent)


def test_server_workers_each_drain_their_own_folder(tmp_path: Path) -> None:
    """`--workers 2` on a ClickHouse server: each worker spools and writes on its own, and everything
    either took is stored once."""
    sent: set[str] = set()
    with clickhouse_http(tmp_path / "shim") as url:
        target = ["--clickhouse-url", url + "footfall"]
        data = tmp_path / "data"
        with serving(data, *target, "--workers", "2", env=FAST) as served:
            write_key, read_key = keys(served)
            wait_until(lambda: _answers(served.url), what="uvicorn's workers to listen")
            for b in range(40):
                post_alone(served.url, write_key, f"w{b}", sent)
            read_events(served.url, read_key, expect=len(sent), limit=10_000)
            folders = sorted(p.name for p in (data / "spool").iterdir() if p.is_dir())
        assert served.process.returncode == 0
        log = "".join(served.output)
        assert "the writer failed" not in log, log[-3000:]
        assert folders == ["0", "1"]
        stored_once(ServerStore(url, database="footfall"), sent)


def test_folders_of_killed_workers_are_recovered_by_a_smaller_restart(tmp_path: Path) -> None:
    """`--workers 3`, every process killed with acknowledged events in its open segment, then `serve`
    with one process: the two edge folders have no owner any more, and their events must still be
    stored (before, nothing opened those folders again)."""
    data = tmp_path / "data"
    sent: set[str] = set()
    slow = {"FOOTFALL_MAX_DELAY_MS": "600000"}  # nothing is sealed until the stop
    with serving(data, "--workers", "3", env=slow) as served:
        write_key, read_key = keys(served)
        edge_folders = [data / "spool" / "1", data / "spool" / "2"]

        def edges_hold_events() -> bool:
            post_alone(served.url, write_key, "before", sent)
            return all(any(p.stat().st_size > 8 for p in f.glob("*.open")) for f in edge_folders)

        wait_until(edges_hold_events, what="both edge processes to take events")
        for pid in [*_edges(served.process.pid), served.process.pid]:
            os.kill(pid, signal.SIGKILL)
        served.process.wait(timeout=60)
    with serving(data, env=FAST) as served:
        listed = read_events(served.url, read_key, expect=len(sent), limit=10_000)
        assert {e["id"] for e in listed["events"]} == sent
    assert served.process.returncode == 0
    assert not list((data / "spool").glob("*/*.open")), "every open segment was recovered"
    stored_once_in(data, sent)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
