"""footfall's Python SDK next to posthog, segment, rudder, mixpanel and amplitude, in one run, against
the same loopback sink.

Run from the repository root (PyPI must be reachable the first time; about a minute a repetition, plus
half a minute of import timing and the venv set-up on the first run):

    .venv/bin/python benchmarks/python_sdk.py                    # one repetition, plain tables
    .venv/bin/python benchmarks/python_sdk.py --repeat 3 --markdown
    .venv/bin/python benchmarks/python_sdk.py --only footfall,footfall-orjson,segment --events 20000

The peers are never installed in the project's venv: benchmarks/sdk_env.py keeps a venv of their own
under ~/.cache/footfall-bench/ with the versions the research measured (shared/research/pysdk.md), orjson,
and footfall's SDK installed from server-sdk-python/ (non-editable), all compiled to .pyc.

Method (the research's scenario A, "burst, defaults"):

* every SDK keeps its defaults, only the endpoint changed (mixpanel's BufferedConsumer gets `events_url`
  because `api_host` always means https; amplitude gets the datetime property as ISO text because it
  silently drops all event properties when one is a datetime); footfall is `Client(key, host=url)`;
* each configuration runs in a fresh process of the benchmark venv (benchmarks/sdk_worker.py): the client
  is created, `--events` calls are made back to back, each with a fresh 10-key properties dict built
  outside the timed region and only the SDK call between two perf_counter_ns() reads, then the SDK's own
  shutdown()/flush() (timed); RSS from /proc/self/statm after the client is made and at the loop's end;
* footfall runs twice: with orjson blocked (`sys.modules["orjson"] = None`, the stdlib json encoder)
  and with orjson; orjson is blocked for the peers too (none of them uses it, and none installs it);
* the sink (benchmarks/sdk_sink.py) is one separate process on 127.0.0.1: ThreadingHTTPServer, HTTP/1.1
  keep-alive, TCP_NODELAY, one send() per answer, answering before any parsing; after the worker exits,
  the orchestrator reads its counts: events, unique ids, duplicates, and when the last new id arrived
  ("all delivered after" counts from the first call);
* import time: median of `--import-runs` runs of `python -X importtime -c 'import M'` (the cumulative
  time of what the import added over `python -c pass`), and the wall-time difference of the two commands;
  dependencies: the transitive closure of Requires-Dist in the benchmark venv.

Two cores are shared by the SDK's process (the caller and the SDK's threads) and the sink; the
orchestrator waits meanwhile. Configurations run in a shuffled order each repetition; figures are
medians over repetitions.
"""

import argparse
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import sdk_env
import sdk_profile
from sdk_tables import Config, Row, report

HERE: Final = Path(__file__).resolve().parent
SINK: Final = HERE / "sdk_sink.py"
SINK_START_TIMEOUT_S: Final = 15.0
SETTLE_TIMEOUT_S: Final = 15.0
QUIET_S: Final = 1.0  # the worker has exited: a second without a new request means nothing else comes

CONFIGS: Final = (
    Config("footfall", "footfall (json)", "footfall", "footfall", "footfall", "id", orjson=False),
    Config("footfall-orjson", "footfall + orjson", "footfall", "footfall", "footfall", "id", orjson=True),
    Config("posthog", "posthog", "posthog", "posthog", "posthog", "uuid"),
    Config("segment", "segment", "segment", "segment-analytics-python", "segment.analytics", "messageId"),
    Config("rudder", "rudder", "rudder", "rudder-sdk-python", "rudderstack.analytics", "messageId"),
    Config("mixpanel", "mixpanel (BufferedConsumer)", "mixpanel", "mixpanel", "mixpanel", "properties.$insert_id"),
    Config("amplitude", "amplitude", "amplitude", "amplitude-analytics", "amplitude", "insert_id"),
)


@dataclass(frozen=True)
class Options:
    events: int
    repeat: int
    only: list[str]
    markdown: bool
    venv: Path
    timeout_s: float
    import_runs: int
    json_out: Path | None
    seed: int
    profile: bool


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="calls per configuration (default 100000)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; medians are reported (default 1)")
    keys = [c.key for c in CONFIGS]
    parser.add_argument("--only", default=",".join(keys), help=f"comma-separated subset of {','.join(keys)}")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument(
        "--venv", type=Path, default=sdk_env.default_venv(), help="the benchmark venv (made if missing)"
    )
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds one configuration may take")
    parser.add_argument("--import-runs", type=int, default=5, help="runs of -X importtime per SDK (median)")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's raw figures here")
    parser.add_argument("--seed", type=int, default=1, help="seed of the run-order shuffle")
    parser.add_argument(
        "--profile", action="store_true", help="then run footfall once more under py-spy --gil (sdk_profile.py)"
    )
    args = parser.parse_args(argv)
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(only) - set(keys))
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(unknown)}")
    if args.events < 100 or args.repeat < 1 or args.import_runs < 1:
        parser.error("--events must be at least 100, --repeat and --import-runs at least 1")
    return Options(
        events=args.events,
        repeat=args.repeat,
        only=only,
        markdown=args.markdown,
        venv=args.venv,
        timeout_s=args.timeout,
        import_runs=args.import_runs,
        json_out=args.json,
        seed=args.seed,
        profile=args.profile,
    )


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the sink ----------------------------------------------------------------------------------------


class SinkClient:
    def __init__(self, port: int, proc: "subprocess.Popen[bytes]") -> None:
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            body = answer.read()
            if answer.status != 200:
                raise RuntimeError(f"sink {path}: HTTP {answer.status}")
            data: dict[str, Any] = json.loads(body)
            return data
        finally:
            conn.close()

    def reset(self, config: Config) -> None:
        self.get(f"/_reset?sdk={config.key}&id={config.id_key}")

    def settle(self, expected: int) -> dict[str, Any]:
        """The sink's counts once everything that will arrive has arrived."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        stats = self.get("/_stats")
        quiet_since = time.monotonic()
        while stats["unique"] < expected and time.monotonic() < deadline:
            time.sleep(0.2)
            newer = self.get("/_stats")
            if newer["requests"] != stats["requests"]:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET_S:
                return newer
            stats = newer
        return stats

    def cpu_s(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sink_process(workdir: Path, max_s: float) -> Iterator[SinkClient]:
    port_file = workdir / "sink.port"
    log = (workdir / "sink.log").open("wb")
    argv = [sys.executable, "-I", str(SINK), "--port-file", str(port_file), "--max-seconds", str(max_s)]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=sdk_env.bench_env())
    try:
        deadline = time.monotonic() + SINK_START_TIMEOUT_S
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sink did not start: {(workdir / 'sink.log').read_text()[-2000:]}")
            time.sleep(0.05)
        yield SinkClient(int(port_file.read_text()), proc)
    finally:
        stop(proc)
        log.close()


def stop(proc: "subprocess.Popen[bytes]") -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# -- one configuration ---------------------------------------------------------------------------------


def run_one(
    config: Config,
    sink: SinkClient,
    python: Path,
    opts: Options,
    *,
    workdir: Path,
    rep: int,
    prefix: Sequence[str] = (),
) -> Row:
    """One fresh worker process (under `prefix`, e.g. a profiler), then the sink's counts."""
    out = workdir / f"{config.key}-{rep}.json"
    log_path = workdir / f"{config.key}-{rep}.log"
    sink.reset(config)
    worker_config = {
        "sdk": config.sdk,
        "url": sink.url,
        "events": opts.events,
        "block_orjson": not config.orjson,
        "out": str(out),
    }
    argv = [*prefix, str(python), "-I", str(sdk_env.WORKER), "run", json.dumps(worker_config)]
    timed_out = False
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=sdk_env.bench_env())
        try:
            proc.wait(opts.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            stop(proc)
    received = sink.settle(opts.events)
    output = log_path.read_text(errors="replace")
    worker: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    if not worker:
        say(f"  {config.key}: no result (exit {proc.returncode}); the worker's output ends with:\n{output[-1500:]}")
    return Row(
        config=config,
        rep=rep,
        worker=worker,
        sink=received,
        timed_out=timed_out,
        exit_code=proc.returncode,
        output_lines=len(output.splitlines()),
    )


def run_all(opts: Options, configs: list[Config], python: Path, workdir: Path) -> tuple[list[Row], list[str]]:
    """The measured runs, then (with --profile) footfall's configurations under py-spy."""
    rows: list[Row] = []
    profiled: list[str] = []
    bound = (opts.repeat + 1) * len(configs) * (opts.timeout_s + SETTLE_TIMEOUT_S + 30) + 60
    with sink_process(workdir, bound) as sink:
        for rep in range(opts.repeat):
            order = list(configs)
            random.Random(opts.seed + rep).shuffle(order)
            for config in order:
                say(f"repetition {rep + 1}/{opts.repeat}: {config.label}")
                row = run_one(config, sink, python, opts, workdir=workdir, rep=rep)
                say("  " + row.progress())
                rows.append(row)
        if opts.profile:
            profiled = profile(opts, [c for c in configs if c.is_footfall], sink, python, workdir)
    return rows, profiled


def profile(opts: Options, configs: list[Config], sink: SinkClient, python: Path, workdir: Path) -> list[str]:
    spy = sdk_profile.py_spy()
    if spy is None:
        return ["--profile: py-spy not found (pip install py-spy), nothing profiled"]
    parts = []
    for config in configs:
        raw = workdir / f"{config.key}-py-spy.txt"
        say(f"profiling {config.label} under py-spy --gil")
        row = run_one(config, sink, python, opts, workdir=workdir, rep=-1, prefix=sdk_profile.command(spy, raw))
        say("  " + row.progress())
        if not raw.exists():
            parts.append(f"{config.label}: py-spy wrote no profile (see the log)")
            continue
        parts.append(f"profile of {config.label} under py-spy --gil ({sdk_profile.RATE_HZ} Hz): {row.progress()}")
        for title, table in sdk_profile.tables(sdk_profile.read(raw), opts.events):
            parts += ["", f"{title}:", "", table.markdown() if opts.markdown else table.text()]
        parts.append("")
    return parts


# -- the machine ---------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "?"
    with suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return [
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable, {cpu}), "
        f"{platform.machine()}, Linux {platform.release()}; loopback only; load average {load[0]:.2f} before the start",
        f"python {platform.python_version()}; the SDKs run in a separate venv ({sdk_env.default_venv()} by default)",
        "NOTE: 2 cores are shared by the SDK's process (the caller's loop and the SDK's own threads) and the sink "
        "process; sink CPU is shown (100% = one core)",
    ]


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    configs = [c for c in CONFIGS if c.key in opts.only]
    header = machine()
    python = sdk_env.ensure_venv(opts.venv, say)
    header.append(
        f"footfall SDK: server-sdk-python/ as of this run (sources {sdk_env.source_hash()}), installed non-editable"
    )
    dists = sorted({c.dist for c in configs})
    versions = sdk_env.versions(python, [*dists, "orjson"])
    deps = sdk_env.dependencies(python, dists)
    imports: dict[str, sdk_env.ImportTime] = {}
    for module in sorted({c.module for c in configs}):
        say(f"import time of {module}")
        imports[module] = sdk_env.import_time(python, module, opts.import_runs)
    with tempfile.TemporaryDirectory(prefix="footfall-bench-sdk-") as tmp:
        rows, profiled = run_all(opts, configs, python, Path(tmp))
    header.append(
        f"{opts.events:,} calls per configuration, {opts.repeat} repetition(s), medians; versions: "
        + ", ".join(f"{d} {versions[d]}" for d in [*dists, "orjson"])
    )
    print(report(configs, rows, imports, deps, header, markdown=opts.markdown))
    if profiled:
        print("\n".join(["", *profiled]))
    if opts.json_out is not None:
        raw = {
            "header": header,
            "runs": [r.raw() for r in rows],
            "imports": {m: asdict(t) for m, t in imports.items()},
            "dependencies": deps,
        }
        opts.json_out.write_text(json.dumps(raw, indent=1))
    failed = [r for r in rows if not r.worker or r.timed_out]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
