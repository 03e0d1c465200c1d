"""Helpers the tests share: a real uvicorn on loopback, a pinned clock, event builders."""

import itertools
import os
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from collector.errors import StoreUnavailable
from collector.metrics import Metrics
from collector.server.http_protocol import uvicorn_config
from collector.storage.rows import EventRow, encode
from collector.storage.segments import Record, sealed_segments, write_segment
from collector.storage.sink import RecentIds, Writer
from collector.storage.spool import Spool
from collector.storage.store import Params, Row, Store
from collector.storage.store_chdb import ChdbStore


def _pinned_now() -> datetime:
    """The "now" tests pin the app's clock to: 10:00 UTC on the day before the real one, fixed for the run.

    Near the real date because ClickHouse applies TTLs by its own clock (events keep a site's retention,
    salts two days), so rows dated by a clock far in the past vanish; never ahead of ClickHouse's clock
    (the writer's recent-ids window reads back from the engine's now()); mid-day, so a test's hour
    offsets stay within one UTC day. FOOTFALL_TEST_CLOCK_SHIFT_DAYS moves it by whole days, to show the
    collector does not need its clock to agree with ClickHouse's (tests/test_clocks.py)."""
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    shift = int(os.environ.get("FOOTFALL_TEST_CLOCK_SHIFT_DAYS", "0"))
    return today - timedelta(days=1 - shift)


NOW = _pinned_now()
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000


CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll a condition with a deadline (for things that happen in another thread or process)."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        pause.wait(0.01)


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run the app under a real uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, header_timeout_s=10.0))  # as `footfall serve` runs it
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn to start")
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


class Site:
    def __init__(self, name: str, write_key: str, read_key: str) -> None:
        self.name = name
        self.write_key = write_key
        self.read_key = read_key


class Collector:
    """A running collector, its store and a site to send to."""

    def __init__(self, url: str, store: Store, site: Site) -> None:
        self.url = url
        self.store = store
        self.site = site
        self.http = httpx.Client(base_url=url, timeout=30, headers={"User-Agent": CHROME})

    def post(self, body: bytes | dict[str, Any], **kwargs: Any) -> httpx.Response:
        if isinstance(body, dict):
            return self.http.post("/v1/batch", json=body, **kwargs)
        return self.http.post("/v1/batch", content=body, **kwargs)

    def batch(self, *events: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {"key": self.site.write_key, "sent_at": iso(NOW), "events": list(events), **fields}

    def stored(self, where: str = "1", *, count: int | None = None) -> list[dict[str, Any]]:
        """Rows in the events table; with `count`, once that many are there (the writer stores
        a spooled segment shortly after the 202)."""
        sql = f"SELECT * FROM footfall.events WHERE {where} ORDER BY client_ts, event_id"
        if count is not None:
            wait_until(lambda: len(self.store.query(sql)) >= count, what=f"{count} stored events")
        return self.store.query(sql)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(kind: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": str(uuid.uuid4()), "type": kind, "ts": iso(NOW - timedelta(seconds=1))}
    base.update(fields)
    return base


def server_url() -> str | None:
    return os.environ.get("FOOTFALL_TEST_CLICKHOUSE_URL") or None


def read_events(base_url: str, read_key: str, *, expect: int = 0, limit: int = 1000) -> dict[str, Any]:
    """GET /api/v1/events as a site owner would; waits until at least `expect` events are there."""
    auth = {"Authorization": f"Bearer {read_key}"}
    listed: dict[str, Any] = {}

    def enough() -> bool:
        nonlocal listed
        response = httpx.get(f"{base_url}/api/v1/events", params={"limit": limit}, headers=auth, timeout=30)
        assert response.status_code == 200, response.text
        listed = response.json()
        return int(listed["count"]) >= expect

    wait_until(enough, what=f"{expect} events through the read API")
    return listed


class Switchable:
    """The real store behind a switch that makes it unreachable, as a dead ClickHouse would be: while
    `down`, every call raises StoreUnavailable."""

    def __init__(self, store: ChdbStore) -> None:
        self.store = store
        self.database = store.database
        self.url = store.url
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._check()
        self.store.execute(sql, params)

    def insert(
        self,
        table: str,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        self._check()
        self.store.insert(table, data, columns=columns, settings=settings)

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        self._check()
        return self.store.query(sql, params)

    def ping(self) -> None:
        self._check()
        self.store.ping()

    def close(self) -> None:
        self.store.close()


def spool_folder(tmp_path: Path) -> Path:
    """A spool folder claimed as the writer finds them (`<spool>/0` with its id), made once per tmp_path."""
    folder = tmp_path / "spool" / "0"
    if not folder.exists():
        Spool(
            folder, segment_rows=10, segment_bytes=1 << 20, segment_age_s=1, max_bytes=1 << 30, retry_after_s=1
        ).open()
    return folder


# What the fault, fuzz, security and load suites tried, printed at the end of the run (conftest.py):
# "name": Counter of outcomes, e.g. tried["hostile batches"]["400"] += 1.
tried: defaultdict[str, Counter[str]] = defaultdict(Counter)


def stored_once(store: Store, sent: set[str]) -> None:
    """Every id sent is in `events` exactly once (no FINAL, so no merge hides a double) and counted once
    as accepted; the store is closed after."""
    try:
        (row,) = store.query("SELECT count() AS n, uniqExact(event_id) AS ids FROM footfall.events")
        ids = {r["id"] for r in store.query("SELECT toString(event_id) AS id FROM footfall.events")}
        counted = store.query("SELECT sum(events) AS n FROM footfall.ingest_counters WHERE outcome = 'accepted'")
    finally:
        store.close()
    missing = sent - ids
    assert not missing, f"{len(missing)} of {len(sent)} acknowledged events never stored, e.g. {sorted(missing)[:3]}"
    assert ids == sent
    assert row == {"n": len(sent), "ids": len(sent)}, "an event stored twice"
    assert counted == [{"n": len(sent)}]


_segments = itertools.count(1)


def store_through_the_writer(store: ChdbStore, folder: Path, rows: list[EventRow], retries: list[int]) -> None:
    """Rows in segments of up to 7, stored by the real writer; `retries` names rows a client sends
    again in a later segment, and every segment is replayed once as after a crash."""
    writer = Writer(store, lambda: [folder], Metrics(), recent=RecentIds(max_ids=10_000, max_age_s=600))
    again = [rows[i % len(rows)] for i in retries]
    chunks = [rows[i : i + 7] for i in range(0, len(rows), 7)] + ([again] if again else [])
    for chunk in chunks:
        ids = [r.event_id for r in chunk]
        record = Record(
            site_id=chunk[0].site_id, hour=0, rows=encode(chunk), ids=ids, counters=[("accepted", "", len(ids))]
        )
        path = folder / f"{next(_segments):020d}.seg"
        for _ in range(2):  # stored, then replayed: the deduplication token drops the second insert
            write_segment(path, [record])
            (segment,) = sealed_segments(folder)
            writer.store_segment(segment)


def person_event(
    site_id: int, anonymous: str, user: str, at: datetime, kind: str = "pageview", name: str = "", **extra: Any
) -> EventRow:
    """One stored row of a person's history, at `at`."""
    seconds = f"{at.timestamp():.3f}"
    return EventRow(
        site_id=site_id,
        event_id=str(uuid.uuid4()),
        type=kind,
        name=name,
        timestamp=seconds,
        client_ts=seconds,
        received_at=seconds,
        anonymous_id=anonymous,
        user_id=user,
        **extra,
    )
