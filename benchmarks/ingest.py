"""Ingest throughput: events/s through the whole path, next to two same-run baselines.

Run from the repository root:

    .venv/bin/python benchmarks/ingest.py --seconds 10
    .venv/bin/python benchmarks/ingest.py --workers 1,2 --concurrency 64 --seconds 10 --markdown
    .venv/bin/python benchmarks/ingest.py --batch 1,20,200 --no-steps

What is measured, each in a fresh folder under one temporary directory (removed at the end):

* full path: `python -m collector serve --workers N --geoip <generated .mmdb>` in a subprocess, with
  FOOTFALL_TRUSTED_PROXIES=127.0.0.1/32. POST /v1/batch goes HTTP -> decode -> validate -> enrich
  (consent, bots, PII scrubbing, GeoIP, user agent, visitor key, heatmap fields) -> fsync'd spool
  append -> 202; the main process's writer inserts sealed segments into chdb afterwards. After the
  load, the time until every acknowledged row is inserted is read from the collector's /metrics.
* null endpoint: this file started again N times (hidden --serve-null-port) sharing one port, each a
  one-route Starlette app under uvicorn with the settings `footfall serve` uses; it reads the body and
  answers 202 without decoding. Same client, same requests, same concurrency.
* raw sink insert: `ChdbStore.insert("events", rows, columns=EVENT_COLUMNS)` of rows made by the
  collector's own decode/check/enrich/encode code from the same kind of traffic, no HTTP.
* request path without HTTP (benchmarks/steps.py): µs per event of each stage and enrichment step.

The traffic (benchmarks/traffic.py): browser tabs (Origin http://localhost:5173, one of 36 real
browser User-Agents, most requests from a few of them, and the visitor's address in X-Forwarded-For,
from the generated GeoIP file) and `--server-share` server-SDK calls (no Origin; context.ip and
context.user_agent forwarded). 5% of browser visitors refuse heatmap consent, so their clicks and
scrolls are dropped (acknowledged, counted, not stored). Requests are built before timing: a pool of
distinct requests is cycled, and each pass rewrites the first 8 hex digits of every event id (one
bytes.replace per request), so every request carries ids never sent before.

The load is closed-loop: `--concurrency` clients, each on its own keep-alive HTTP/1.1 connection in
one uvloop event loop, each sending its next batch when the previous one is answered, for `--seconds`
after a `--warmup`. The client is a lean asyncio-streams one (see `loadgen.Connection` for why not httpx;
`--client httpx` uses httpx.AsyncClient instead).

After each full-path run the collector is stopped with SIGTERM (it seals its spool and the writer
drains every process's folder), the data folder is opened with ChdbStore and count(),
uniqExact(event_id) and the accepted events in ingest_counters must equal the events the 202 answers
acknowledged less those dropped for consent (which ingest_counters must hold as dropped); a mismatch
is printed loudly and the exit status is 1.

FOOTFALL_* environment variables reach the collector (e.g. FOOTFALL_MAX_DELAY_MS=200). The load
generator runs on the same machine and takes CPU from the server: both sides' CPU use is reported.
"""

import argparse
import os
import platform
import re
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import loadgen
import steps
import traffic
from report import Table, num, ratio
from runs import START_TIMEOUT_S, Measured, Plan, Run, run_plan

from collector.errors import ConfigError
from collector.settings import Settings, from_env
from collector.storage import migrate
from collector.storage.rows import EVENT_COLUMNS, encode
from collector.storage.sink import POLL_S as WRITER_POLL_S
from collector.storage.store import Store

ROW_ID_MARK: Final = b'"event_id":"00000000-'

# -- options ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup_s: float
    batches: tuple[int, ...]
    concurrencies: tuple[int, ...]
    workers: tuple[int, ...]
    server_share: float
    raw_blocks: tuple[int, ...]
    raw_seconds: float
    request_timeout_s: float
    stored_timeout_s: float
    client: str
    steps: bool
    steps_events: int
    markdown: bool
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
    parser.add_argument("--workers", type=int_list, default=(1,), help="footfall serve --workers; a list sweeps (1)")
    parser.add_argument("--server-share", type=float, default=0.1, help="share of server-SDK requests (0.1)")
    parser.add_argument("--raw-blocks", type=int_list, default=(1000, 20_000), help="rows per raw insert")
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="insert time per raw block size (3)")
    parser.add_argument("--request-timeout", type=float, default=15.0, help="per-request timeout, s (15)")
    parser.add_argument(
        "--stored-timeout", type=float, default=60.0, help="longest wait for the rows after the load, s (60)"
    )
    parser.add_argument(
        "--client", choices=tuple(loadgen.CLIENTS), default="raw", help="load client: lean keep-alive (raw) or httpx"
    )
    parser.add_argument("--no-steps", action="store_true", help="skip the per-step micro-benchmark")
    parser.add_argument("--steps-events", type=int, default=20_000, help="events in the micro-benchmark's pool")
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated traffic")
    parser.add_argument("--serve-null-port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace, settings: Settings) -> Options:
    most = settings.limits.max_events_per_batch
    if max(args.batch) > most:
        raise SystemExit(f"--batch {max(args.batch)} is above the collector's limit of {most} events per batch")
    if args.seconds <= 0 or args.warmup < 0 or args.raw_seconds <= 0 or args.request_timeout <= 0:
        raise SystemExit("--seconds, --raw-seconds and --request-timeout must be > 0, --warmup >= 0")
    if not 0 <= args.server_share <= 1 or args.stored_timeout <= 0 or args.steps_events < 100:
        raise SystemExit("--server-share is a share (0 to 1), --stored-timeout > 0, --steps-events >= 100")
    return Options(
        seconds=args.seconds,
        warmup_s=args.warmup,
        batches=args.batch,
        concurrencies=args.concurrency,
        workers=args.workers,
        server_share=args.server_share,
        raw_blocks=args.raw_blocks,
        raw_seconds=args.raw_seconds,
        request_timeout_s=args.request_timeout,
        stored_timeout_s=args.stored_timeout,
        client=args.client,
        steps=not args.no_steps,
        steps_events=args.steps_events,
        markdown=args.markdown,
        seed=args.seed,
    )


def plans(opts: Options, workers: int) -> list[Plan]:
    return [
        Plan(
            batch=b,
            concurrency=c,
            workers=workers,
            seconds=opts.seconds,
            warmup_s=opts.warmup_s,
            request_timeout_s=opts.request_timeout_s,
            client=opts.client,
            seed=opts.seed,
            server_share=opts.server_share,
            stored_timeout_s=opts.stored_timeout_s,
        )
        for b in opts.batches
        for c in opts.concurrencies
    ]


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


def raw_insert(block_rows: int, data_dir: Path, opts: Options, database: str, geo: Path) -> RawResult:
    from collector.storage.store_chdb import ChdbStore

    enricher = steps.make_enricher(geo, traffic.write_salts(data_dir.parent / f"salts-{block_rows}.json"))
    block = encode(steps.realistic_rows(block_rows, enricher, seed=opts.seed, server_share=opts.server_share))
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


# -- report -------------------------------------------------------------------------------------


def ua_cell(m: Measured) -> str:
    delta = m.delta()
    if delta is None:
        return "-"
    lookups = delta.ua_hits + delta.ua_misses
    if not lookups:
        return "no lookups"
    rate = f"{delta.ua_hits / lookups:.2%} ({delta.ua_misses:,} misses)"
    if m.plan.workers == 1:
        return rate
    return f"{rate} (main: {lookups / max(m.tally.requests, 1):.0%} of req)"


def http_table(runs: list[Run]) -> Table:
    headers = ["endpoint", "workers", "batch", "clients", "req/s", "events/s", "p50 ms", "p95 ms", "p99 ms"]
    headers += ["errors", "server CPU", "client CPU", "UA cache hits"]
    rows = []
    for run in runs:
        for m in (run.null, run.full):
            lat = sorted(m.tally.latencies)
            rows.append(
                [
                    "null endpoint" if m.endpoint == "null" else "full path",
                    str(m.plan.workers),
                    str(m.plan.batch),
                    str(m.plan.concurrency),
                    num(m.requests_per_s),
                    num(m.events_per_s),
                    *(num(loadgen.percentile(lat, p) * 1000, 1) for p in (50, 95, 99)),
                    f"{m.errors:,}",
                    f"{m.server_cpu_s / m.elapsed_s:.0%}",
                    f"{m.client_cpu_s / m.elapsed_s:.0%}",
                    ua_cell(m),
                ]
            )
    return Table(headers, rows)


def ratio_table(runs: list[Run], raw: list[RawResult]) -> Table:
    headers = ["workers", "batch", "clients", "events/s", "full/null", *(f"full/raw@{r.block_rows:,}" for r in raw)]
    headers += ["rows/insert", "insert busy", "backlog at stop", "all stored after", "stored = acked"]
    rows = []
    for run in runs:
        full, sink, stored = run.full, run.full.delta(), run.full.stored
        after = "-" if stored is None else "not in time" if stored.seconds is None else f"{stored.seconds:.2f} s"
        rows.append(
            [
                str(full.plan.workers),
                str(full.plan.batch),
                str(full.plan.concurrency),
                num(full.events_per_s),
                ratio(full.events_per_s, run.null.events_per_s),
                *(ratio(full.events_per_s, r.rows_per_s) for r in raw),
                num(sink.rows / sink.inserts) if sink and sink.inserts else "-",
                f"{sink.insert_s / full.elapsed_s:.0%}" if sink else "-",
                "-" if stored is None else f"{stored.backlog:,}",
                after,
                check_text(run),
            ]
        )
    return Table(headers, rows)


def check_text(run: Run) -> str:
    check = run.check
    if check.ok:
        return f"yes ({check.stored:,} + {check.dropped:,} dropped)"
    return f"NO: {check.stored:,} stored (+{check.spooled:,} spooled) vs {check.to_store:,} to store"


def enrichment_table(runs: list[Run]) -> Table:
    headers = ["workers", "batch", "clients", "rows", "with geo", "with browser", "with visitor key", "bots"]
    headers += ["dropped (no consent)"]
    rows = []
    for run in runs:
        c, plan = run.check, run.full.plan
        acked = max(c.acknowledged, 1)
        dropped = f"{c.dropped:,} ({c.dropped / acked:.1%})"
        row = [str(plan.workers), str(plan.batch), str(plan.concurrency), f"{c.stored:,}"]
        shares = [f"{n / c.stored:.1%}" if c.stored else "-" for n in (c.with_geo, c.with_agent, c.with_visitor_key)]
        rows.append([*row, *shares, f"{c.bots:,}", dropped])
    return Table(headers, rows)


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
                        f"!!! {m.endpoint} {m.plan.label} ({phase}): statuses {odd}, "
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
        "(see the client CPU column; 100% = one core); server CPU is the collector's whole process tree",
        f"load: closed loop, {opts.seconds:g} s measured after {opts.warmup_s:g} s warm-up per run; "
        f"{1 - opts.server_share:.0%} browser requests (Origin, {len(traffic.USER_AGENTS)} real browser UAs, "
        f"X-Forwarded-For from a generated GeoIP file of {len(traffic.NETWORKS)} networks), "
        f"{opts.server_share:.0%} server calls forwarding context.ip/user_agent",
        f"spool: a segment is sealed at {batching.max_rows:,} rows / {batching.max_bytes >> 20} MiB / "
        f"{batching.max_delay_ms} ms after its first row; the main process's writer inserts each sealed segment "
        f"(its own at once, other processes' folders polled every {WRITER_POLL_S:g} s)",
        "UA cache hits: measured phase, from /metrics; with workers > 1 only the main process's cache "
        "(edge processes expose no /metrics): '(main: N% of req)' is the share of requests it parsed",
        "backlog at stop: acknowledged rows not yet inserted at the first /metrics read after the load; "
        "all stored after: from the last answer until footfall_insert_rows_total reached every acknowledged row "
        "to be stored (read every 20 ms; an insert is queryable once counted)",
    ]


@dataclass(frozen=True)
class Results:
    raw: list[RawResult]
    runs: list[Run]
    steps: steps.StepReport | None


def report(opts: Options, settings: Settings, results: Results, load_before: float) -> str:
    raw, runs = results.raw, results.runs
    tables = [
        ("raw sink insert (ChdbStore.insert, fresh folder, no HTTP)", raw_table(raw)),
        ("HTTP: POST /v1/batch", http_table(runs)),
        ("full path against the baselines", ratio_table(runs, raw)),
        ("what enrichment stored (counted after the stop)", enrichment_table(runs)),
    ]
    if results.steps is not None:
        tables.append((steps.title(results.steps), Table(steps.HEADERS, results.steps.rows())))
    out = [*machine_lines(opts, settings, load_before), ""]
    for title, table in tables:
        out += [title, table.text(), ""]
    out += problem_lines(runs)
    if opts.markdown:
        out += [
            "markdown (for docs/performance.md):",
            "",
            *(f"- {x}" for x in machine_lines(opts, settings, load_before)),
        ]
        for title, table in tables:
            out += ["", f"**{title}**", "", table.markdown()]
        out.append("")
    return "\n".join(out)


# -- main ---------------------------------------------------------------------------------------


def run_benchmark(opts: Options, settings: Settings, workdir: Path) -> Results:
    geo = traffic.write_geo_db(workdir / "city.mmdb")
    step_report = None
    if opts.steps:
        print("request path without HTTP ...", file=sys.stderr, flush=True)
        (workdir / "steps").mkdir()
        step_report = steps.run_steps(
            geo,
            workdir / "steps",
            events=opts.steps_events,
            batch=opts.batches[0],
            rounds=7,
            seed=opts.seed,
            server_share=opts.server_share,
        )
    print(f"raw inserts ({', '.join(f'{n:,}' for n in opts.raw_blocks)} rows/block) ...", file=sys.stderr, flush=True)
    raw = [raw_insert(n, workdir / f"raw-{n}", opts, settings.database, geo) for n in opts.raw_blocks]
    runs: list[Run] = []
    for workers in opts.workers:
        port = loadgen.free_port()
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve-null-port", str(port)]
        with ExitStack() as stack:
            children = [
                stack.enter_context(loadgen.spawn(f"null-endpoint-{workers}-{i}", argv, workdir))
                for i in range(workers)
            ]
            for child in children:
                loadgen.wait_for_output(child, re.compile(loadgen.NULL_READY), START_TIMEOUT_S)
            url = f"http://127.0.0.1:{port}"
            loadgen.wait_ready(children[0], url, START_TIMEOUT_S)
            loadgen.wait_serving(children[0], url, port, workers, START_TIMEOUT_S)
            roots = [c.proc.pid for c in children]
            runs += [
                run_plan(plan, null_port=port, null_roots=roots, workdir=workdir, settings=settings, geo=geo)
                for plan in plans(opts, workers)
            ]
    return Results(raw, runs, step_report)


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
            results = run_benchmark(opts, settings, Path(tmp))
    except RuntimeError as exc:  # a server did not start or answer: said why, with its stderr
        print(f"footfall benchmark failed: {exc}", file=sys.stderr)
        return 2
    print(report(opts, settings, results, load_before))
    bad = [run for run in results.runs if not run.check.ok] + [r for r in results.raw if r.stored != r.rows]
    if bad:
        print(f"!!! {len(bad)} stored-count check(s) failed: see above", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
