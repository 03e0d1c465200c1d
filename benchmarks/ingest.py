"""Ingest throughput: events/s through the whole path, next to two same-run baselines.

Run from the repository root:

    .venv/bin/python benchmarks/ingest.py --seconds 10
    .venv/bin/python benchmarks/ingest.py --batch 1,20,200 --seconds 8
    .venv/bin/python benchmarks/ingest.py --concurrency 16,128 --markdown   # tables for docs/performance.md

What is measured, each in a fresh folder under one temporary directory (removed at the end):

* full path: `python -m collector serve` in a subprocess; POST /v1/batch goes HTTP -> decode -> validate
  -> enrich -> BufferedSink -> chdb insert -> 202 (the 202 waits for the insert to commit).
* null endpoint: this file started again as a subprocess (hidden --serve-null-port) running a
  one-route Starlette app under uvicorn with the settings `footfall serve` uses; it reads the body and
  answers 202 without decoding. Same client, same bodies, same concurrency.
* raw sink insert: `ChdbStore.insert("events", rows, columns=EVENT_COLUMNS)` of pre-encoded rows made by
  the collector's own decode/check/enrich/encode code, in blocks like the sink's, no HTTP.

The load is closed-loop: `--concurrency` clients, each on its own keep-alive HTTP/1.1 connection in
one uvloop event loop, each sending its next batch when the previous one is answered, for `--seconds`
after a `--warmup`. The client is a lean asyncio-streams one (see `loadgen.Connection` for why not httpx;
`--client httpx` uses httpx.AsyncClient instead). Bodies are built before timing: a pool of distinct
batches (mixed pageview, click, track and scroll events, unique UUIDs) is cycled, and each pass over the
pool rewrites the first 8 hex digits of every id (one bytes.replace per request), so every request
carries ids never sent before.

After each full-path run the collector is stopped with SIGTERM (its sink drains), the data folder is
opened with ChdbStore and `count()` of footfall.events must equal the events acknowledged with 202;
a mismatch is printed loudly and the exit status is 1.

FOOTFALL_* environment variables reach the collector (e.g. FOOTFALL_MAX_DELAY_MS=50). The load
generator runs on the same machine and takes CPU from the server: both processes' CPU use is reported.
"""

import argparse
import math
import os
import platform
import random
import re
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
import loadgen

from collector import ingest, migrate, wire
from collector.enrich import Arrival
from collector.errors import ConfigError
from collector.rows import EVENT_COLUMNS, encode
from collector.settings import Settings, from_env
from collector.sites import Site
from collector.store import Store

NULL_KEY: Final = "ffw_" + "n" * 22  # as long as a real write key, so null bodies have the same size
ROW_ID_MARK: Final = b'"event_id":"00000000-'
WRITE_KEY: Final = re.compile(r"write key: (ffw_\S+)")
START_TIMEOUT_S: Final = 90.0


# -- options ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup_s: float
    batches: tuple[int, ...]
    concurrencies: tuple[int, ...]
    raw_blocks: tuple[int, ...]
    raw_seconds: float
    request_timeout_s: float
    client: str
    markdown: bool
    seed: int


@dataclass(frozen=True)
class Plan:
    batch: int
    concurrency: int
    seconds: float
    warmup_s: float
    request_timeout_s: float
    client: str
    seed: int


def int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers, e.g. 1,20,200")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured load per run (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured load before each run (default 1)")
    parser.add_argument("--batch", type=int_list, default=(50,), help="events per request; a list sweeps (50)")
    parser.add_argument(
        "--concurrency", type=int_list, default=(16,), help="concurrent keep-alive clients; a list sweeps (16)"
    )
    parser.add_argument("--raw-blocks", type=int_list, default=(1000, 20_000), help="rows per raw insert")
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="insert time per raw block size (3)")
    parser.add_argument("--request-timeout", type=float, default=15.0, help="per-request timeout, s (15)")
    parser.add_argument(
        "--client", choices=tuple(loadgen.CLIENTS), default="raw", help="load client: lean keep-alive (raw) or httpx"
    )
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events")
    parser.add_argument("--serve-null-port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace, settings: Settings) -> Options:
    most = settings.limits.max_events_per_batch
    if max(args.batch) > most:
        raise SystemExit(f"--batch {max(args.batch)} is above the collector's limit of {most} events per batch")
    if args.seconds <= 0 or args.warmup < 0 or args.raw_seconds <= 0 or args.request_timeout <= 0:
        raise SystemExit("--seconds, --raw-seconds and --request-timeout must be > 0, --warmup >= 0")
    return Options(
        seconds=args.seconds,
        warmup_s=args.warmup,
        batches=args.batch,
        concurrencies=args.concurrency,
        raw_blocks=args.raw_blocks,
        raw_seconds=args.raw_seconds,
        request_timeout_s=args.request_timeout,
        client=args.client,
        markdown=args.markdown,
        seed=args.seed,
    )


def plans(opts: Options) -> list[Plan]:
    return [
        Plan(b, c, opts.seconds, opts.warmup_s, opts.request_timeout_s, opts.client, opts.seed)
        for b in opts.batches
        for c in opts.concurrencies
    ]


# -- load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinkStats:
    """Deltas of the collector's own insert metrics over the measured phase."""

    inserts: int
    rows: int
    seconds: float


@dataclass(frozen=True)
class Snapshot:
    at: float
    server_cpu_s: float
    client_cpu_s: float
    sink: SinkStats | None


@dataclass(frozen=True)
class Measured:
    endpoint: str
    plan: Plan
    tally: loadgen.Tally
    warmup: loadgen.Tally
    elapsed_s: float
    server_cpu_s: float
    client_cpu_s: float
    sink: SinkStats | None

    @property
    def events_per_s(self) -> float:
        return self.tally.ok_events / self.elapsed_s

    @property
    def requests_per_s(self) -> float:
        return self.tally.requests / self.elapsed_s

    @property
    def acknowledged(self) -> int:
        return self.warmup.accepted + self.tally.accepted


def parse_sink_metrics(text: str) -> SinkStats:
    def value(name: str) -> float:
        match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    return SinkStats(
        inserts=int(value("footfall_insert_duration_seconds_count")),
        rows=int(value("footfall_insert_rows_total")),
        seconds=value("footfall_insert_duration_seconds_sum"),
    )


async def snapshot(control: httpx.AsyncClient, pid: int, scrape: bool) -> Snapshot:
    sink = parse_sink_metrics((await control.get("/metrics")).text) if scrape else None
    return Snapshot(time.perf_counter(), loadgen.cpu_seconds(pid), time.process_time(), sink)


def sink_delta(before: SinkStats | None, after: SinkStats | None) -> SinkStats | None:
    if before is None or after is None:
        return None
    return SinkStats(after.inserts - before.inserts, after.rows - before.rows, after.seconds - before.seconds)


async def load(endpoint: str, url: str, pid: int, bodies: loadgen.Bodies, plan: Plan) -> Measured:
    """Warm up, then measure; the collector's /metrics are read around the measured phase."""
    scrape = endpoint == "full"
    async with (
        loadgen.posters(url, plan.client, plan.concurrency, plan.request_timeout_s) as clients,
        httpx.AsyncClient(base_url=url, timeout=10.0) as control,
    ):
        warmup = await loadgen.hammer(clients, bodies, plan.warmup_s)
        before = await snapshot(control, pid, scrape)
        tally = await loadgen.hammer(clients, bodies, plan.seconds)
        after = await snapshot(control, pid, scrape)
    return Measured(
        endpoint=endpoint,
        plan=plan,
        tally=tally,
        warmup=warmup,
        elapsed_s=after.at - before.at,
        server_cpu_s=after.server_cpu_s - before.server_cpu_s,
        client_cpu_s=after.client_cpu_s - before.client_cpu_s,
        sink=sink_delta(before.sink, after.sink),
    )


# -- raw sink insert ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawResult:
    block_rows: int
    inserts: int
    rows: int
    seconds: float
    p50_ms: float
    block_bytes: int
    stored: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def encoded_rows(rows: int, seed: int) -> bytes:
    """`rows` events through the collector's own decode, check and enrich, encoded as the sink sends them."""
    now = datetime.now(UTC)
    body = loadgen.make_body(random.Random(seed), NULL_KEY, rows, now)
    site = Site(site_id=1, name="bench", allowed_origins=(), write_key=NULL_KEY, read_key_sha256="")
    batch = wire.batch_decoder.decode(body)
    arrival = Arrival(site=site, received_ms=int(now.timestamp() * 1000), sent_ms=None, context=batch.context)
    checked = ingest.check_events(batch, arrival, limits=Settings().limits)
    if len(checked.rows) != rows:
        raise RuntimeError(f"generated events were refused: {checked.rejected[:3]} {dict(checked.dropped)}")
    return encode(checked.rows)


def raw_insert(block_rows: int, data_dir: Path, opts: Options, database: str) -> RawResult:
    from collector.store_chdb import ChdbStore

    block = encoded_rows(block_rows, opts.seed)
    store = ChdbStore(data_dir, database=database)
    try:
        migrate.migrate(store)
        times = insert_blocks(store, block, opts.raw_seconds)
        stored = store.query(f"SELECT count() AS n FROM {database}.events")[0]["n"]
    finally:
        store.close()
    times.sort()
    p50_ms = loadgen.percentile(times, 50) * 1000
    return RawResult(block_rows, len(times), block_rows * len(times), sum(times), p50_ms, len(block), stored)


def insert_blocks(store: Store, block: bytes, budget_s: float) -> list[float]:
    """Insert the block again and again (new ids each time) until budget_s of insert time, at least 3."""
    times: list[float] = []
    wall_deadline = time.monotonic() + budget_s * 4 + 30
    while (sum(times) < budget_s or len(times) < 3) and time.monotonic() < wall_deadline:
        data = block.replace(ROW_ID_MARK, b'"event_id":"%08x-' % len(times)) if times else block
        started = time.perf_counter()
        store.insert("events", data, columns=EVENT_COLUMNS)
        times.append(time.perf_counter() - started)
    return times


# -- the two HTTP runs of one plan --------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    acknowledged: int
    stored: int
    distinct_ids: int
    counted: int  # accepted events in footfall.ingest_counters
    exit_code: int
    failures: int  # requests without an answer: they may or may not be stored

    @property
    def ok(self) -> bool:
        same = self.acknowledged == self.stored == self.distinct_ids == self.counted
        return same and self.exit_code == 0


@dataclass(frozen=True)
class Run:
    null: Measured
    full: Measured
    check: Check


def null_phase(url: str, pid: int, plan: Plan) -> Measured:
    return loadgen.run_async(load("null", url, pid, loadgen.Bodies.build(NULL_KEY, plan.batch, plan.seed), plan))


def full_phase(plan: Plan, workdir: Path, settings: Settings) -> tuple[Measured, Check]:
    name = f"collector-b{plan.batch}-c{plan.concurrency}"
    data = workdir / name
    port = loadgen.free_port()
    argv = [sys.executable, "-m", "collector", "serve", "--data", str(data), "--host", "127.0.0.1"]
    with loadgen.spawn(name, [*argv, "--port", str(port)], workdir) as child:
        key = loadgen.wait_for_output(child, WRITE_KEY, START_TIMEOUT_S).group(1)
        url = f"http://127.0.0.1:{port}"
        loadgen.wait_ready(child, url, START_TIMEOUT_S)
        bodies = loadgen.Bodies.build(key, plan.batch, plan.seed)
        measured = loadgen.run_async(load("full", url, child.proc.pid, bodies, plan))
        exit_code = loadgen.stop(child.proc, loadgen.STOP_TIMEOUT_S)
        if exit_code != 0:
            print(f"!!! {name} exited with {exit_code} after SIGTERM:\n{child.tail()}", file=sys.stderr)
    failures = sum(measured.tally.failures.values()) + sum(measured.warmup.failures.values())
    return measured, verify(data, settings.database, measured.acknowledged, exit_code, failures)


def verify(data: Path, database: str, acknowledged: int, exit_code: int, failures: int) -> Check:
    from collector.store_chdb import ChdbStore

    store = ChdbStore(data, database=database)
    try:
        events = store.query(f"SELECT count() AS n, uniqExact(event_id) AS ids FROM {database}.events")[0]
        counters = store.query(f"SELECT sum(events) AS n FROM {database}.ingest_counters WHERE outcome = 'accepted'")[0]
    finally:
        store.close()
    return Check(acknowledged, events["n"], events["ids"], counters["n"], exit_code, failures)


def run_plan(plan: Plan, null_url: str, null_pid: int, workdir: Path, settings: Settings) -> Run:
    print(f"  batch {plan.batch}, {plan.concurrency} clients: null endpoint ...", file=sys.stderr, flush=True)
    null = null_phase(null_url, null_pid, plan)
    print(f"  batch {plan.batch}, {plan.concurrency} clients: full path ...", file=sys.stderr, flush=True)
    full, check = full_phase(plan, workdir, settings)
    if not check.ok:
        print(mismatch_text(plan, check), file=sys.stderr, flush=True)
    return Run(null, full, check)


def mismatch_text(plan: Plan, check: Check) -> str:
    lines = [
        "",
        "!" * 100,
        f"!!! MISMATCH (batch {plan.batch}, {plan.concurrency} clients): the collector acknowledged "
        f"{check.acknowledged:,} events with 202",
        f"!!!   footfall.events holds {check.stored:,} rows ({check.stored - check.acknowledged:+,}), "
        f"{check.distinct_ids:,} distinct ids; ingest_counters says {check.counted:,} accepted; "
        f"exit status {check.exit_code}",
    ]
    if check.failures:
        lines.append(f"!!!   {check.failures:,} requests got no answer (timeout/transport error): they may be stored")
    return "\n".join([*lines, "!" * 100, ""])


# -- report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]

    def text(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) for i, h in enumerate(self.headers)]
        lines = [
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in [self.headers, *self.rows]
        ]
        return "\n".join(lines)

    def markdown(self) -> str:
        head = "| " + " | ".join(self.headers) + " |"
        rule = "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(self.headers))) + "|"
        return "\n".join([head, rule, *("| " + " | ".join(row) + " |" for row in self.rows)])


def num(value: float, digits: int = 0) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def ratio(part: float, whole: float) -> str:
    if not whole:
        return "-"
    value = part / whole
    return f"{value:.2g}" if value < 1 else f"{value:.2f}"  # 0.0027, 0.15, 1.40


def http_table(runs: list[Run]) -> Table:
    headers = ["endpoint", "batch", "clients", "req/s", "events/s", "p50 ms", "p95 ms", "p99 ms", "not 202"]
    headers += ["server CPU", "client CPU"]
    rows = []
    for run in runs:
        for m in (run.null, run.full):
            lat = sorted(m.tally.latencies)
            rows.append(
                [
                    "null endpoint" if m.endpoint == "null" else "full path",
                    str(m.plan.batch),
                    str(m.plan.concurrency),
                    num(m.requests_per_s),
                    num(m.events_per_s),
                    *(num(loadgen.percentile(lat, p) * 1000, 1) for p in (50, 95, 99)),
                    f"{m.tally.not_202:,}",
                    f"{m.server_cpu_s / m.elapsed_s:.0%}",
                    f"{m.client_cpu_s / m.elapsed_s:.0%}",
                ]
            )
    return Table(headers, rows)


def ratio_table(runs: list[Run], raw: list[RawResult], max_delay_ms: int) -> Table:
    headers = ["batch", "clients", "events/s", "full/null", *(f"full/raw@{r.block_rows:,}" for r in raw)]
    headers += ["rows/insert", "insert busy", "loop cap ev/s", "stored = acked"]
    rows = []
    for run in runs:
        full, sink = run.full, run.full.sink
        rows.append(
            [
                str(full.plan.batch),
                str(full.plan.concurrency),
                num(full.events_per_s),
                ratio(full.events_per_s, run.null.events_per_s),
                *(ratio(full.events_per_s, r.rows_per_s) for r in raw),
                num(sink.rows / sink.inserts) if sink and sink.inserts else "-",
                f"{sink.seconds / full.elapsed_s:.0%}" if sink else "-",
                num(full.plan.concurrency * full.plan.batch / (max_delay_ms / 1000)),
                check_text(run.check),
            ]
        )
    return Table(headers, rows)


def check_text(check: Check) -> str:
    if check.ok:
        return f"yes ({check.stored:,})"
    return f"NO: {check.stored:,} stored vs {check.acknowledged:,} acked"


def raw_table(raw: list[RawResult]) -> Table:
    headers = ["rows/block", "MB/block", "inserts", "rows/s", "ms/insert p50", "stored"]
    rows = [
        [
            f"{r.block_rows:,}",
            num(r.block_bytes / 1e6, 1),
            str(r.inserts),
            num(r.rows_per_s),
            num(r.p50_ms, 1),
            "yes" if r.stored == r.rows else f"NO ({r.stored:,} of {r.rows:,})",
        ]
        for r in raw
    ]
    return Table(headers, rows)


def problem_lines(runs: list[Run]) -> list[str]:
    """What went wrong in any phase: statuses other than 202, requests without an answer, rejected events."""
    lines = []
    for run in runs:
        for m in (run.null, run.full):
            for phase, tally in (("warm-up", m.warmup), ("measured", m.tally)):
                odd = {status: n for status, n in tally.statuses.items() if status != 202}
                if odd or tally.failures or tally.rejected:
                    lines.append(
                        f"!!! {m.endpoint} batch {m.plan.batch} x{m.plan.concurrency} ({phase}): statuses {odd}, "
                        f"no answer {dict(tally.failures)}, rejected events {tally.rejected:,}"
                    )
    return lines


def machine_lines(opts: Options, settings: Settings, load_before: float) -> list[str]:
    import chdb
    import starlette
    import uvicorn

    cpus = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0))
    batching = settings.batching
    return [
        f"machine: {cpus} CPUs ({usable} usable), {platform.machine()}, Linux {platform.release()}; loopback only; "
        f"load average {load_before:.2f} before the start",
        f"python {platform.python_version()}, uvicorn {uvicorn.__version__}, starlette {starlette.__version__}, "
        f"chdb {chdb.__version__}; client: {opts.client} ({loadgen.CLIENTS[opts.client]}) on uvloop",
        f"NOTE: the load generator runs on the same {usable} CPUs and takes CPU from the server "
        "(see the client CPU column; 100% = one core)",
        f"load: closed loop, {opts.seconds:g} s measured after {opts.warmup_s:g} s warm-up per run; "
        f"sink flushes at {batching.max_rows:,} rows / {batching.max_bytes >> 20} MiB / {batching.max_delay_ms} ms",
        "loop cap = clients x batch / max_delay: the most a closed loop can get when every 202 waits for a "
        "time-triggered flush",
    ]


def report(opts: Options, settings: Settings, raw: list[RawResult], runs: list[Run], load_before: float) -> str:
    tables = [
        ("raw sink insert (ChdbStore.insert, fresh folder, no HTTP)", raw_table(raw)),
        ("HTTP: POST /v1/batch", http_table(runs)),
        ("full path against the baselines", ratio_table(runs, raw, settings.batching.max_delay_ms)),
    ]
    out = [*machine_lines(opts, settings, load_before), ""]
    for title, table in tables:
        out += [title, table.text(), ""]
    out += problem_lines(runs)
    if opts.markdown:
        out += [
            "markdown (for docs/performance.md):",
            "",
            *(f"- {line}" for line in machine_lines(opts, settings, load_before)),
        ]
        for title, table in tables:
            out += ["", f"**{title}**", "", table.markdown()]
        out.append("")
    return "\n".join(out)


# -- main ---------------------------------------------------------------------------------------


def run_benchmark(opts: Options, settings: Settings, workdir: Path) -> tuple[list[RawResult], list[Run]]:
    print(f"raw inserts ({', '.join(f'{n:,}' for n in opts.raw_blocks)} rows/block) ...", file=sys.stderr, flush=True)
    raw = [raw_insert(n, workdir / f"raw-{n}", opts, settings.database) for n in opts.raw_blocks]
    port = loadgen.free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-null-port", str(port)]
    with loadgen.spawn("null-endpoint", argv, workdir) as null:
        loadgen.wait_for_output(null, re.compile(loadgen.NULL_READY), START_TIMEOUT_S)
        url = f"http://127.0.0.1:{port}"
        loadgen.wait_ready(null, url, START_TIMEOUT_S)
        runs = [run_plan(plan, url, null.proc.pid, workdir, settings) for plan in plans(opts)]
    return raw, runs


def on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwind, so the finally blocks stop the subprocesses


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_null_port is not None:
        loadgen.serve_null(args.serve_null_port)
        return 0
    signal.signal(signal.SIGTERM, on_sigterm)
    load_before = os.getloadavg()[0]
    try:
        settings = from_env()
    except ConfigError as exc:
        raise SystemExit(f"footfall benchmark: {exc}") from None
    if not settings.embedded:
        raise SystemExit("footfall benchmark: it measures the embedded store; unset FOOTFALL_CLICKHOUSE_URL")
    opts = options_from(args, settings)
    try:
        with tempfile.TemporaryDirectory(prefix="footfall-bench-") as tmp:
            raw, runs = run_benchmark(opts, settings, Path(tmp))
    except RuntimeError as exc:  # a server did not start or answer: said why, with its stderr
        print(f"footfall benchmark failed: {exc}", file=sys.stderr)
        return 2
    print(report(opts, settings, raw, runs, load_before))
    bad = [run for run in runs if not run.check.ok] + [r for r in raw if r.stored != r.rows]
    if bad:
        print(f"!!! {len(bad)} stored-count check(s) failed: see above", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
