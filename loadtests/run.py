"""Run Locust against a fresh footfall and check that every acknowledged event was stored, once.

    .venv/bin/python loadtests/run.py                                # 60 s, 50 users, browser pace
    .venv/bin/python loadtests/run.py --seconds 10 --users 10 --no-ceilings    # the suite's smoke run
    .venv/bin/python loadtests/run.py --batch 1,20,200 --workers 1,2 --wait 0 --markdown   # throughput

For each (workers, batch): `footfall serve` with the embedded engine in a temporary folder (a generated
GeoIP file, X-Forwarded-For trusted from loopback, the per-site rate limit out of the way), Locust
headless (`loadtests/locustfile.py`, FastHttpUser) for `--seconds` with `--users`, then the time until
the writer has inserted every acknowledged event (time to queryable, from /metrics), a SIGTERM stop,
and the count in ClickHouse: rows == distinct ids == events acknowledged by 202 answers, nothing left in
the spool, and no request answered with anything but 202. Printed: events/s and requests/s (answered
with 202), p50/p95/p99 latency, error rate, the collector's CPU (its process tree) and peak RSS, the
time to queryable, and the same-run ceilings: the same Locust load against a null endpoint (uvicorn +
Starlette reading the body and answering 202, as `footfall serve` binds it) and chdb's raw insert of
the same kind of rows. The exit status is 1 when a check fails.
"""

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark harness: processes, GeoIP file, raw insert

import ingest  # noqa: E402
import loadgen  # noqa: E402
import runs  # noqa: E402
import steps  # noqa: E402
import traffic  # noqa: E402
from report import Table, num, ratio  # noqa: E402

from collector.settings import from_env  # noqa: E402
from collector.storage.rows import encode  # noqa: E402
from collector.storage.store_chdb import ChdbStore  # noqa: E402

LOCUSTFILE: Final = ROOT / "loadtests" / "locustfile.py"
RSS_POLL_S: Final = 0.25


@dataclass(frozen=True)
class Locusted:
    """One Locust run, from its CSV summary and the locustfile's tally."""

    seconds: float
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    acknowledged: int  # `accepted` summed over the 202 answers
    ok_events: int  # events in requests answered 202
    errors: dict[str, int]
    server_cpu_s: float = 0.0  # the server's process tree, during the run

    @property
    def cpu_us_per_event(self) -> float:
        return self.server_cpu_s / self.ok_events * 1e6 if self.ok_events else float("nan")

    @property
    def events_per_s(self) -> float:
        return self.ok_events / self.seconds

    @property
    def requests_per_s(self) -> float:
        return (self.requests - self.failures) / self.seconds


@dataclass(frozen=True)
class Result:
    workers: int
    batch: int
    load: Locusted
    peak_rss_mb: float
    queryable_s: float | None
    stored: int
    distinct: int
    spooled: int
    exit_code: int
    null: Locusted | None
    threads: str = ""  # where the collector's CPU went during the load

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.stored == self.distinct == self.load.acknowledged:
            found.append(
                f"acknowledged {self.load.acknowledged:,} events, "
                f"stored {self.stored:,} rows ({self.distinct:,} distinct ids)"
            )
        if self.spooled:
            found.append(f"{self.spooled:,} events left in the spool after the stop")
        if self.load.failures:
            found.append(f"{self.load.failures:,} requests not answered 202: {self.load.errors}")
        if self.exit_code:
            found.append(f"footfall exited with {self.exit_code} after SIGTERM")
        if self.load.requests == 0:
            found.append("Locust sent no request")
        return found


def rss_mb(roots: list[int]) -> float:
    total = 0
    for pid in (p for root in roots for p in loadgen.process_tree(root)):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def thread_ticks(roots: list[int]) -> dict[str, int]:
    """CPU ticks per kind of thread in the process trees: each process's main thread (its event loop),
    its other Python threads (the writer, spool syncs), and the engine's threads by their name."""
    ticks: dict[str, int] = {}
    for pid in {p for root in roots for p in loadgen.process_tree(root)}:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            fields = loadgen.stat_fields(task / "stat")
            try:
                comm = (task / "comm").read_text().strip()
            except OSError:
                continue
            if fields is None:
                continue
            if int(task.name) == pid:
                kind = "main thread: HTTP, decode, enrich, spool" if pid in roots else "edge processes' main threads"
            elif comm.startswith("python"):
                kind = "other Python threads: writer, fsync"
            else:
                kind = f"engine: {comm.rstrip('0123456789')}"
            ticks[kind] = ticks.get(kind, 0) + int(fields[11]) + int(fields[12])
    return ticks


def busiest(before: dict[str, int], after: dict[str, int], seconds: float, top: int = 6) -> str:
    """The thread kinds that used the most CPU between two readings, as % of one core."""
    hz = os.sysconf("SC_CLK_TCK")
    used = sorted(((after.get(k, 0) - before.get(k, 0)) / hz / seconds, k) for k in after)
    return "; ".join(f"{kind} {share:.0%}" for share, kind in reversed(used[-top:]) if share >= 0.01)


def locust(
    url: str, key: str, args: argparse.Namespace, batch: int, *, workdir: Path, name: str, roots: list[int]
) -> tuple[Locusted, float]:
    """Locust headless against `url`; returns its figures (with the CPU `roots` used) and their peak RSS."""
    prefix, tally_file = workdir / name, workdir / f"{name}.tally.json"
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url]
    argv += ["-u", str(args.users), "-r", str(args.spawn_rate or args.users), "-t", f"{args.seconds}s"]
    argv += ["--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"]
    env = {
        **os.environ,
        "FOOTFALL_WRITE_KEY": key,
        "FOOTFALL_LOAD_TALLY": str(tally_file),
        "FOOTFALL_LOAD_BATCH": str(batch),
        "FOOTFALL_LOAD_WAIT": "" if args.wait is None else str(args.wait),
    }
    started, peak, cpu0 = time.perf_counter(), 0.0, loadgen.tree_cpu_seconds(roots)
    with (workdir / f"{name}.locust.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = started + args.seconds + 60
        while proc.poll() is None:
            peak = max(peak, rss_mb(roots))
            if time.perf_counter() > deadline:
                proc.kill()
                raise SystemExit(f"Locust did not stop within {args.seconds + 60} s; see {workdir / name}.locust.log")
            time.sleep(RSS_POLL_S)
    elapsed, cpu = time.perf_counter() - started, loadgen.tree_cpu_seconds(roots) - cpu0
    if proc.returncode not in (0, 1):  # 1: some requests failed, which the checks report
        log_text = (workdir / f"{name}.locust.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"Locust exited with {proc.returncode}:\n{log_text}")
    return replace(read_locust(prefix, tally_file, min(elapsed, float(args.seconds))), server_cpu_s=cpu), peak


def read_locust(prefix: Path, tally_file: Path, seconds: float) -> Locusted:
    with Path(f"{prefix}_stats.csv").open(newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total = rows["Aggregated"]
    errors: dict[str, int] = {}
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with failures_csv.open(newline="") as f:
            for row in csv.DictReader(f):
                errors[row["Error"]] = errors.get(row["Error"], 0) + int(row["Occurrences"])
    tally = json.loads(tally_file.read_text()) if tally_file.exists() else {}
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    return Locusted(
        seconds=seconds,
        requests=requests,
        failures=failures,
        p50_ms=float(total["50%"]),
        p95_ms=float(total["95%"]),
        p99_ms=float(total["99%"]),
        acknowledged=int(tally.get("acknowledged", 0)),
        ok_events=int(tally.get("ok_events", 0)),
        errors=errors,
    )


def full_run(args: argparse.Namespace, workers: int, batch: int, workdir: Path, geo: Path) -> Result:
    name = f"footfall-w{workers}-b{batch}"
    data, port = workdir / name, loadgen.free_port()
    argv = [sys.executable, "-m", "collector", "serve", "--data", str(data), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers), "--geoip", str(geo)]
    env = {k: v for k, v in runs.SERVER_ENV.items() if k not in os.environ}
    with loadgen.spawn(name, argv, workdir, env) as child:
        key = loadgen.wait_for_output(child, runs.WRITE_KEY, runs.START_TIMEOUT_S).group(1)
        url = f"http://127.0.0.1:{port}"
        loadgen.wait_ready(child, url, runs.START_TIMEOUT_S)
        loadgen.wait_serving(child, url, port, workers, runs.START_TIMEOUT_S)
        threads0 = thread_ticks([child.proc.pid])
        load, peak = locust(url, key, args, batch, workdir=workdir, name=name, roots=[child.proc.pid])
        ended, threads = time.perf_counter(), busiest(threads0, thread_ticks([child.proc.pid]), load.seconds)
        queryable = loadgen.run_async(queryable_after(url, load.acknowledged, ended, args.stored_timeout))
        exit_code = loadgen.stop(child.proc, loadgen.STOP_TIMEOUT_S)
    settings = from_env({})
    counts = runs.count_stored(data, settings)
    spooled = runs.spooled_events(data / "spool")
    return Result(workers, batch, load, peak, queryable, counts["n"], counts["ids"], spooled, exit_code, None, threads)


async def queryable_after(url: str, target: int, ended: float, timeout_s: float) -> float | None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=10.0) as control:
        stored = await runs.until_stored(control, target, ended, timeout_s)
    return stored.seconds


def null_run(args: argparse.Namespace, workers: int, batch: int, workdir: Path) -> Locusted:
    """The same Locust load against `workers` null-endpoint processes sharing a port."""
    port, name = loadgen.free_port(), f"null-w{workers}-b{batch}"
    argv = [sys.executable, str(ROOT / "benchmarks" / "ingest.py"), "--serve-null-port", str(port)]
    with ExitStack() as stack:
        children = [stack.enter_context(loadgen.spawn(f"{name}-{n}", argv, workdir)) for n in range(workers)]
        for child in children:
            loadgen.wait_for_output(child, re.compile(loadgen.NULL_READY), runs.START_TIMEOUT_S)
        url = f"http://127.0.0.1:{port}"
        load, _ = locust(url, "ffw_null", args, batch, workdir=workdir, name=name, roots=[c.proc.pid for c in children])
    return load


def raw_insert_rows_per_s(workdir: Path, geo: Path, block_rows: int, seconds: float) -> float:
    """chdb's insert of realistic enriched rows, `block_rows` a block, as the writer inserts them."""
    enricher = steps.make_enricher(geo, traffic.write_salts(workdir / "salts.json"))
    block = encode(steps.realistic_rows(block_rows, enricher, seed=7, server_share=0.1))
    from collector.storage import migrate

    store = ChdbStore(workdir / "raw-insert", database="footfall")
    try:
        migrate.migrate(store)
        times = ingest.insert_blocks(store, block, seconds)
    finally:
        store.close()
    return block_rows * len(times) / sum(times)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="Locust's run time (default 60)")
    parser.add_argument("--users", type=int, default=50, help="concurrent Locust users (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=0, help="users started per second (default: all at once)")
    parser.add_argument("--workers", type=ingest.int_list, default=(1,), help="footfall serve --workers, e.g. 1,2")
    parser.add_argument(
        "--batch", type=ingest.int_list, default=(0,), help="events per request, e.g. 1,20,200 (default: mixed)"
    )
    parser.add_argument(
        "--wait", type=float, default=None, help="seconds between a user's requests (default: a browser's pace)"
    )
    parser.add_argument("--no-ceilings", action="store_true", help="skip the null endpoint and raw insert runs")
    parser.add_argument(
        "--stored-timeout", type=float, default=120.0, help="seconds to wait for the writer after the load"
    )
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.users < 1:
        parser.error("--seconds and --users must be at least 1")
    return args


def report(results: list[Result], raw_rows_per_s: float | None) -> Table:
    headers = [
        "run",
        "events/s",
        "requests/s",
        "p50 / p95 / p99 ms",
        "errors",
        "collector CPU",
        "CPU µs/event (null endpoint)",
        "peak RSS MB",
        "queryable after",
        "null endpoint events/s (ratio)",
        "stored = acknowledged",
    ]
    rows = []
    for r in results:
        null = f"{num(r.null.events_per_s)} ({ratio(r.load.events_per_s, r.null.events_per_s)})" if r.null else "-"
        rows.append(
            [
                f"{r.workers} worker(s), batch {r.batch or 'mixed'}",
                num(r.load.events_per_s),
                num(r.load.requests_per_s),
                f"{r.load.p50_ms:.0f} / {r.load.p95_ms:.0f} / {r.load.p99_ms:.0f}",
                f"{r.load.failures / r.load.requests:.2%}" if r.load.requests else "-",
                f"{r.load.server_cpu_s / r.load.seconds:.0%}",
                f"{r.load.cpu_us_per_event:.0f}" + (f" ({r.null.cpu_us_per_event:.0f})" if r.null else ""),
                f"{r.peak_rss_mb:.0f}",
                f"{r.queryable_s:.2f} s" if r.queryable_s is not None else "not within the timeout",
                null,
                "yes" if not r.problems else "NO",
            ]
        )
    if raw_rows_per_s is not None:
        rows.append(["raw chdb insert, 20,000-row blocks", num(raw_rows_per_s), *[""] * (len(headers) - 2)])
    return Table(headers, rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="footfall-load-") as tmp:
        workdir = Path(tmp)
        geo = traffic.write_geo_db(workdir / "city.mmdb")
        for workers in args.workers:
            for batch in args.batch:
                print(f"{workers} worker(s), batch {batch or 'mixed'}: footfall ...", file=sys.stderr, flush=True)
                result = full_run(args, workers, batch, workdir, geo)
                if not args.no_ceilings:
                    print(
                        f"{workers} worker(s), batch {batch or 'mixed'}: null endpoint ...", file=sys.stderr, flush=True
                    )
                    result = replace(result, null=null_run(args, workers, batch, workdir))
                for problem in result.problems:
                    print(f"!!! {workers} worker(s), batch {batch or 'mixed'}: {problem}", file=sys.stderr, flush=True)
                results.append(result)
        raw = None if args.no_ceilings else raw_insert_rows_per_s(workdir, geo, 20_000, 5.0)
    table = report(results, raw)
    print(table.markdown() if args.markdown else table.text())
    print()
    for r in results:
        label = f"{r.workers} worker(s), batch {r.batch or 'mixed'}"
        print(f"{'- ' if args.markdown else ''}{label}, the collector's CPU by thread: {r.threads}")
    ok = all(not r.problems for r in results)
    acknowledged = sum(r.load.acknowledged for r in results)
    stored = sum(r.stored for r in results)
    print(f"{'OK' if ok else 'FAILED'}: {acknowledged:,} events acknowledged, {stored:,} stored")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
