"""One measured run of POST /v1/batch, on the full collector or the null endpoint, and what it proves.

* `load`: warm-up, then the measured closed loop; the server's CPU (its whole process tree) and the
  collector's own /metrics around it; after the load, the time until every acknowledged row is in
  ClickHouse (`until_stored`);
* `full_phase`: `footfall serve --workers N` in a fresh folder with a generated GeoIP file and
  X-Forwarded-For trusted from loopback; stopped with SIGTERM, then counted (`verify`);
* `null_phase`: the same load against N null-endpoint processes sharing a port.
"""

import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import loadgen

from collector.settings import Settings
from collector.storage.segments import read_segment, sealed_segments
from collector.storage.spool import spool_folders

WRITE_KEY: Final = re.compile(r"write key: (ffw_\S+)")
START_TIMEOUT_S: Final = 90.0
POLL_S: Final = 0.02  # how often /metrics is read while waiting for the rows to be stored
# The load comes from 127.0.0.1 with the visitor's address in X-Forwarded-For, as behind a proxy; the
# benchmark measures throughput, not the per-site limit (a rate this high never refuses, but the
# bucket is still kept per request as it is by default). The environment may set either.
SERVER_ENV: Final = {"FOOTFALL_TRUSTED_PROXIES": "127.0.0.1/32", "FOOTFALL_SITE_RATE_EPS": "1000000000"}


@dataclass(frozen=True)
class Plan:
    batch: int
    concurrency: int
    workers: int
    seconds: float
    warmup_s: float
    request_timeout_s: float
    client: str
    seed: int
    server_share: float
    stored_timeout_s: float

    @property
    def label(self) -> str:
        return f"{self.workers} worker(s), batch {self.batch}, {self.concurrency} clients"


# -- the collector's own figures -----------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    """Counters from the collector's /metrics, always the main process's (an edge relays the request)."""

    inserts: int
    rows: int
    insert_s: float
    ua_hits: int
    ua_misses: int


def parse_metrics(text: str) -> Scrape:
    def value(name: str) -> float:
        match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    return Scrape(
        inserts=int(value("footfall_insert_duration_seconds_count")),
        rows=int(value("footfall_insert_rows_total")),
        insert_s=value("footfall_insert_duration_seconds_sum"),
        ua_hits=int(value("footfall_user_agent_cache_hits")),
        ua_misses=int(value("footfall_user_agent_cache_misses")),
    )


async def scrape(control: httpx.AsyncClient) -> Scrape:
    answer = await control.get("/metrics")
    answer.raise_for_status()
    return parse_metrics(answer.text)


@dataclass(frozen=True)
class Stored:
    """After the load: how long until the writer had inserted every row it must store."""

    target: int  # rows the acknowledged requests carry (their events less those dropped for consent)
    backlog: int  # of those, not yet inserted at the first /metrics read after the load
    seconds: float | None  # from the last answer to the read that showed them all; None: not within the timeout


async def until_stored(control: httpx.AsyncClient, target: int, ended: float, timeout_s: float) -> Stored:
    """Read /metrics every POLL_S until footfall_insert_rows_total reaches `target`.

    A chdb INSERT is visible to queries once it returns, and the writer counts rows after it returns,
    so the first read that shows them all bounds the time to queryable from above (by one read)."""
    deadline = ended + timeout_s
    first: int | None = None
    while True:
        rows = (await scrape(control)).rows
        first = rows if first is None else first
        now = time.perf_counter()
        if rows >= target:
            return Stored(target, max(0, target - first), now - ended)
        if now > deadline:
            return Stored(target, max(0, target - first), None)
        await asyncio.sleep(POLL_S)


# -- one load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    endpoint: str  # "null" or "full"
    plan: Plan
    tally: loadgen.Tally
    warmup: loadgen.Tally
    elapsed_s: float
    server_cpu_s: float
    client_cpu_s: float
    before: Scrape | None
    after: Scrape | None
    stored: Stored | None

    @property
    def events_per_s(self) -> float:
        return self.tally.ok_events / self.elapsed_s

    @property
    def requests_per_s(self) -> float:
        return self.tally.requests / self.elapsed_s

    @property
    def acknowledged(self) -> int:
        return self.warmup.accepted + self.tally.accepted

    @property
    def to_store(self) -> int:
        return self.warmup.to_store + self.tally.to_store

    @property
    def errors(self) -> int:
        return self.tally.not_202

    def delta(self) -> Scrape | None:
        a, b = self.after, self.before
        if a is None or b is None:
            return None
        return Scrape(
            a.inserts - b.inserts,
            a.rows - b.rows,
            a.insert_s - b.insert_s,
            a.ua_hits - b.ua_hits,
            a.ua_misses - b.ua_misses,
        )


async def load(endpoint: str, url: str, roots: list[int], pool: loadgen.RequestPool, plan: Plan) -> Measured:
    """Warm up, then measure; for the collector, its /metrics around the load and until all is stored."""
    full = endpoint == "full"
    async with (
        loadgen.posters(url, plan.client, plan.concurrency, plan.request_timeout_s) as clients,
        httpx.AsyncClient(base_url=url, timeout=10.0) as control,
    ):
        warmup = await loadgen.hammer(clients, pool, plan.warmup_s)
        before = await scrape(control) if full else None
        cpu0, client0, started = loadgen.tree_cpu_seconds(roots), time.process_time(), time.perf_counter()
        tally = await loadgen.hammer(clients, pool, plan.seconds)
        ended = time.perf_counter()
        cpu1, client1 = loadgen.tree_cpu_seconds(roots), time.process_time()
        after = await scrape(control) if full else None
        target = warmup.to_store + tally.to_store
        stored = await until_stored(control, target, ended, plan.stored_timeout_s) if full else None
    return Measured(
        endpoint, plan, tally, warmup, ended - started, cpu1 - cpu0, client1 - client0, before, after, stored
    )


# -- the two HTTP runs of one plan --------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """Counted in the stopped collector's folder against what the clients were told."""

    acknowledged: int  # sum of `accepted` in the 202 answers: stored or dropped by policy
    to_store: int  # of those, the events the traffic says are stored (no heatmaps consent: dropped)
    stored: int  # count() of footfall.events
    distinct_ids: int
    counted: int  # accepted events in footfall.ingest_counters
    dropped: int  # dropped events in footfall.ingest_counters (no_consent)
    spooled: int  # events still in spool segments after the stop (stored at the next start)
    with_geo: int
    with_agent: int
    with_visitor_key: int
    bots: int
    exit_code: int
    failures: int  # requests without an answer: they may or may not be stored

    @property
    def ok(self) -> bool:
        rows = self.to_store == self.stored == self.distinct_ids == self.counted and self.spooled == 0
        return rows and self.counted + self.dropped == self.acknowledged and self.exit_code == 0


def count_stored(data: Path, settings: Settings) -> dict[str, int]:
    from collector.storage.store_chdb import ChdbStore

    db = settings.database
    store = ChdbStore(data, database=db)
    try:
        events = store.query(
            "SELECT count() AS n, uniqExact(event_id) AS ids, countIf(country != '') AS geo, "
            f"countIf(browser != '') AS agent, countIf(visitor_key != '') AS visitor, countIf(is_bot) AS bots "
            f"FROM {db}.events"
        )[0]
        counters = store.query(f"SELECT outcome, sum(events) AS n FROM {db}.ingest_counters GROUP BY outcome")
    finally:
        store.close()
    by_outcome = {str(row["outcome"]): int(row["n"]) for row in counters}
    counts = {k: int(v) for k, v in events.items()}
    return counts | {"accepted": by_outcome.get("accepted", 0), "dropped": by_outcome.get("dropped", 0)}


def spooled_events(spool: Path) -> int:
    """Events in sealed or open segments left in any spool folder (a clean stop leaves none)."""
    total = 0
    for folder in spool_folders(spool):
        total += sum(len(r.ids) for segment in sealed_segments(folder) for r in read_segment(segment)[0])
        total += len(list(folder.glob("*.open")))  # an open segment after a stop is a problem in itself
    return total


def verify(measured: Measured, data: Path, settings: Settings, exit_code: int) -> Check:
    counts = count_stored(data, settings)
    failures = sum(measured.tally.failures.values()) + sum(measured.warmup.failures.values())
    return Check(
        acknowledged=measured.acknowledged,
        to_store=measured.to_store,
        stored=counts["n"],
        distinct_ids=counts["ids"],
        counted=counts["accepted"],
        dropped=counts["dropped"],
        spooled=spooled_events(Path(settings.spool_dir) if settings.spool_dir else data / "spool"),
        with_geo=counts["geo"],
        with_agent=counts["agent"],
        with_visitor_key=counts["visitor"],
        bots=counts["bots"],
        exit_code=exit_code,
        failures=failures,
    )


def null_phase(url_port: int, roots: list[int], plan: Plan) -> Measured:
    pool = loadgen.RequestPool.build(loadgen.NULL_KEY, plan.batch, plan.seed, server_share=plan.server_share)
    return loadgen.run_async(load("null", f"http://127.0.0.1:{url_port}", roots, pool, plan))


def full_phase(plan: Plan, workdir: Path, settings: Settings, geo: Path) -> tuple[Measured, Check]:
    name = f"collector-w{plan.workers}-b{plan.batch}-c{plan.concurrency}"
    data = workdir / name
    port = loadgen.free_port()
    argv = [sys.executable, "-m", "collector", "serve", "--data", str(data), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(plan.workers), "--geoip", str(geo)]
    env = {k: v for k, v in SERVER_ENV.items() if k not in os.environ}
    with loadgen.spawn(name, argv, workdir, env) as child:
        key = loadgen.wait_for_output(child, WRITE_KEY, START_TIMEOUT_S).group(1)
        url = f"http://127.0.0.1:{port}"
        loadgen.wait_ready(child, url, START_TIMEOUT_S)
        loadgen.wait_serving(child, url, port, plan.workers, START_TIMEOUT_S)
        pool = loadgen.RequestPool.build(key, plan.batch, plan.seed, server_share=plan.server_share)
        measured = loadgen.run_async(load("full", url, [child.proc.pid], pool, plan))
        exit_code = loadgen.stop(child.proc, loadgen.STOP_TIMEOUT_S)
        if exit_code != 0:
            print(f"!!! {name} exited with {exit_code} after SIGTERM:\n{child.tail()}", file=sys.stderr)
    return measured, verify(measured, data, settings, exit_code)


@dataclass(frozen=True)
class Run:
    null: Measured
    full: Measured
    check: Check


def run_plan(plan: Plan, *, null_port: int, null_roots: list[int], workdir: Path, settings: Settings, geo: Path) -> Run:
    print(f"  {plan.label}: null endpoint ...", file=sys.stderr, flush=True)
    null = null_phase(null_port, null_roots, plan)
    print(f"  {plan.label}: full path ...", file=sys.stderr, flush=True)
    full, check = full_phase(plan, workdir, settings, geo)
    if not check.ok:
        print(mismatch_text(plan, check), file=sys.stderr, flush=True)
    return Run(null, full, check)


def mismatch_text(plan: Plan, check: Check) -> str:
    lines = [
        "",
        "!" * 100,
        f"!!! MISMATCH ({plan.label}): the 202 answers acknowledged {check.acknowledged:,} events, "
        f"{check.to_store:,} of them to be stored",
        f"!!!   footfall.events holds {check.stored:,} rows ({check.stored - check.to_store:+,}), "
        f"{check.distinct_ids:,} distinct ids; ingest_counters: {check.counted:,} accepted, {check.dropped:,} dropped; "
        f"{check.spooled:,} events left in the spool; exit status {check.exit_code}",
    ]
    if check.failures:
        lines.append(f"!!!   {check.failures:,} requests got no answer (timeout/transport error): they may be stored")
    return "\n".join([*lines, "!" * 100, ""])
