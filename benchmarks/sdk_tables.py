"""The results of benchmarks/python_sdk.py: per-run rows, medians over repetitions, and the tables
(caller cost and delivery, footprint, footfall against its goals and the best peer)."""

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from report import Table, num
from sdk_env import ImportTime

FOOTFALL: Final = "footfall"


@dataclass(frozen=True)
class Config:
    key: str  # --only name
    label: str  # row label
    sdk: str  # sdk_worker's SDK name
    dist: str  # distribution (version, dependencies)
    module: str  # what `import` measures
    id_key: str  # where the sink finds each event's unique id
    orjson: bool = False  # orjson importable in the worker (footfall's optional fast encoder)

    @property
    def is_footfall(self) -> bool:
        return self.sdk == FOOTFALL


@dataclass(frozen=True)
class Row:
    """One configuration's run: the worker's summary and the sink's counts."""

    config: Config
    rep: int
    worker: dict[str, Any]
    sink: dict[str, Any]
    timed_out: bool
    exit_code: int | None
    output_lines: int

    def w(self, name: str) -> float:
        value = self.worker.get(name)
        return float(value) if isinstance(value, int | float) else math.nan

    @property
    def calls(self) -> int:
        return int(self.worker.get("calls", 0))

    @property
    def delivered_s(self) -> float:
        first, last = self.w("first_call_at"), float(self.sink["last_new_id_at"])
        return last - first if last and not math.isnan(first) else math.nan

    @property
    def events_per_s(self) -> float:
        return self.sink["unique"] / self.delivered_s if self.delivered_s > 0 else math.nan

    @property
    def lost(self) -> int:
        return self.calls - int(self.sink["unique"]) if self.calls else -1

    @property
    def sink_cpu_pct(self) -> float:
        return 100 * self.sink["cpu_s"] / self.delivered_s if self.delivered_s > 0 else math.nan

    @property
    def batch_median(self) -> float:
        sizes = self.sink["batch_sizes"]
        return float(statistics.median(sizes)) if sizes else math.nan

    @property
    def wire_bytes_per_event(self) -> float:
        return self.sink["wire_bytes"] / self.sink["events"] if self.sink["events"] else math.nan

    def progress(self) -> str:
        if not self.worker:
            return f"no result (exit {self.exit_code}{', timed out' if self.timed_out else ''})"
        return (
            f"median {self.w('median_us'):.1f} µs, p99 {self.w('p99_us'):.1f} µs, loop {self.w('loop_s'):.2f} s, "
            f"finish {self.w('finish_s'):.2f} s, delivered {self.sink['unique']:,}/{self.calls:,} after "
            f"{self.delivered_s:.2f} s ({self.events_per_s:,.0f}/s), dup {self.sink['duplicates']}, "
            f"RSS +{self.w('rss_growth_mb'):.1f} MB, {self.output_lines} log lines"
        )

    def raw(self) -> dict[str, Any]:
        sink = {k: v for k, v in self.sink.items() if k != "batch_sizes"}
        return {
            "config": asdict(self.config),
            "rep": self.rep,
            "worker": self.worker,
            "sink": sink,
            "batch_median": self.batch_median,
            "timed_out": self.timed_out,
            "exit_code": self.exit_code,
            "output_lines": self.output_lines,
        }


Metric = Callable[[Row], float]

METRICS: Final[dict[str, Metric]] = {
    "median": lambda r: r.w("median_us"),
    "p99": lambda r: r.w("p99_us"),
    "p999": lambda r: r.w("p999_us"),
    "max_ms": lambda r: r.w("max_us") / 1e3,
    "over_1ms": lambda r: r.w("over_1ms"),
    "harness": lambda r: r.w("harness_us"),
    "loop": lambda r: r.w("loop_s"),
    "finish": lambda r: r.w("finish_s"),
    "delivered": lambda r: r.delivered_s,
    "eps": lambda r: r.events_per_s,
    "received": lambda r: float(r.sink["unique"]),
    "lost": lambda r: float(r.lost),
    "dup": lambda r: float(r.sink["duplicates"]),
    "cpu": lambda r: r.w("cpu_s"),
    "sink_cpu": lambda r: r.sink_cpu_pct,
    "rss": lambda r: r.w("rss_growth_mb"),
    "rss_peak": lambda r: r.w("rss_peak_growth_mb"),
    "rss_init": lambda r: r.w("rss_import_init_mb"),
    "threads": lambda r: r.w("threads_at_loop_end"),
    "requests": lambda r: float(r.sink["requests"]),
    "connections": lambda r: float(r.sink["connections"]),
    "batch": lambda r: r.batch_median,
    "wire": lambda r: r.wire_bytes_per_event,
    "lines": lambda r: float(r.output_lines),
}
LOWER_IS_BETTER: Final = frozenset(METRICS) - {"eps", "received"}


class Summary:
    """Medians over repetitions of one configuration."""

    def __init__(self, config: Config, rows: list[Row]) -> None:
        self.config = config
        self.rows = [r for r in rows if r.worker]
        self.failed = len(rows) - len(self.rows)

    def get(self, metric: str) -> float:
        values = [v for v in (METRICS[metric](r) for r in self.rows) if not math.isnan(v)]
        return float(statistics.median(values)) if values else math.nan

    def received_text(self) -> str:
        if not self.rows:
            return "no result"
        got = "/".join(f"{int(r.sink['unique']):,}" for r in self.rows)
        return f"{got} of {self.rows[0].calls:,}"


def best_peer(summaries: Sequence[Summary], metric: str, values: dict[str, float] | None = None) -> tuple[str, float]:
    """(label, value) of the best peer for a metric, or the best of `values` (label -> value) if given."""
    candidates = values or {s.config.label: s.get(metric) for s in summaries if not s.config.is_footfall}
    present = {k: v for k, v in candidates.items() if not math.isnan(v)}
    if not present:
        return "-", math.nan
    pick = min if metric in LOWER_IS_BETTER or metric in {"import", "deps"} else max
    label = pick(present, key=lambda k: present[k])
    return label, present[label]


def times(value: float, best: float) -> str:
    if math.isnan(value) or math.isnan(best) or best == 0:
        return "-"
    return f"{value / best:.2f}"


def lost_text(s: Summary) -> str:
    lost = s.get("lost")
    if math.isnan(lost):
        return "-"
    calls = s.rows[0].calls
    return f"{lost:,.0f} ({100 * lost / calls:.1f}%)" if lost else "0"


def caller_table(summaries: list[Summary]) -> Table:
    best = {m: best_peer(summaries, m)[1] for m in ("median", "p99", "eps")}
    rows = []
    for s in summaries:
        rows.append(
            [
                s.config.label,
                num(s.get("median"), 1),
                times(s.get("median"), best["median"]),
                num(s.get("p99"), 1),
                times(s.get("p99"), best["p99"]),
                num(s.get("p999"), 0),
                num(s.get("max_ms"), 1),
                num(s.get("over_1ms"), 0),
                num(s.get("loop"), 2),
                num(s.get("finish"), 2),
                num(s.get("delivered"), 2),
                num(s.get("eps"), 0),
                times(s.get("eps"), best["eps"]),
                s.received_text(),
                lost_text(s),
                num(s.get("dup"), 0),
                num(s.get("cpu"), 2),
                num(s.get("sink_cpu"), 0) + "%",
            ]
        )
    headers = [
        "SDK",
        "µs/call p50",
        "÷ best peer",
        "p99 µs",
        "÷ best peer",
        "p99.9 µs",
        "max ms",
        "calls > 1 ms",
        "loop s",
        "finish s",
        "all delivered after s",
        "events/s delivered",
        "÷ best peer",
        "received (unique)",
        "lost",
        "dup",
        "SDK CPU s",
        "sink CPU",
    ]
    return Table(headers, rows)


def footprint_table(summaries: list[Summary], imports: dict[str, ImportTime], deps: dict[str, list[str]]) -> Table:
    peer_imports = {
        s.config.label: imports[s.config.module].importtime_ms for s in summaries if not s.config.is_footfall
    }
    best_import = best_peer(summaries, "import", peer_imports)[1]
    rows = []
    seen_modules: set[str] = set()
    for s in summaries:
        imp = imports[s.config.module]
        first = s.config.module not in seen_modules
        seen_modules.add(s.config.module)
        rows.append(
            [
                s.config.label,
                num(s.get("rss"), 1),
                num(s.get("rss_peak"), 1),
                num(s.get("rss_init"), 1),
                num(s.get("threads"), 0),
                num(imp.importtime_ms, 1) if first else "(same)",
                times(imp.importtime_ms, best_import) if first else "",
                num(imp.wall_delta_ms, 1) if first else "",
                str(imp.modules) if first else "",
                str(len(deps.get(s.config.dist, []))),
                num(s.get("requests"), 0),
                num(s.get("connections"), 0),
                num(s.get("batch"), 0),
                num(s.get("wire"), 0),
                num(s.get("lines"), 0),
            ]
        )
    headers = [
        "SDK",
        "RSS + at loop end MB",
        "RSS peak + MB",
        "import + client MB",
        "threads",
        "import ms",
        "÷ best peer",
        "wall Δ ms",
        "modules",
        "deps",
        "requests",
        "connections",
        "batch (median)",
        "wire B/event",
        "log lines",
    ]
    return Table(headers, rows)


@dataclass(frozen=True)
class Goal:
    name: str
    target: str
    metric: str
    limit: float
    digits: int
    higher_is_better: bool = False


GOALS: Final = (
    Goal("caller µs/call, median", "≤ 5", "median", 5.0, 1),
    Goal("caller µs/call, p99", "≤ 20", "p99", 20.0, 1),
    Goal("events/s delivered (the burst)", "≥ 50,000", "eps", 50_000.0, 0, higher_is_better=True),
    Goal("events lost, defaults", "0", "lost", 0.0, 0),
    Goal("RSS growth on the burst, MB", "≤ 50", "rss", 50.0, 1),
    Goal("import ms (-X importtime)", "≤ 20", "import", 20.0, 1),
    Goal("runtime dependencies", "0", "deps", 0.0, 0),
)


def goal_value(s: Summary, goal: Goal, imports: dict[str, ImportTime], deps: dict[str, list[str]]) -> float:
    if goal.metric == "import":
        return imports[s.config.module].importtime_ms
    if goal.metric == "deps":
        return float(len(deps.get(s.config.dist, [])))
    return s.get(goal.metric)


def goals_table(summaries: list[Summary], imports: dict[str, ImportTime], deps: dict[str, list[str]]) -> Table:
    ours = [s for s in summaries if s.config.is_footfall]
    peers = [s for s in summaries if not s.config.is_footfall]
    rows = []
    for goal in GOALS:
        row = [goal.name, goal.target]
        values = [goal_value(s, goal, imports, deps) for s in ours]
        for value in values:
            met = value >= goal.limit if goal.higher_is_better else value <= goal.limit
            row.append(f"{num(value, goal.digits)} ({'met' if met else 'MISSED'})" if not math.isnan(value) else "-")
        peer_values = {s.config.label: goal_value(s, goal, imports, deps) for s in peers}
        best = best_peer(peers, "eps" if goal.higher_is_better else "median", peer_values)[1]
        tied = [label for label, value in peer_values.items() if value == best]
        who = ", ".join(tied) if len(tied) <= 2 else f"{len(tied)} of {len(peers)} peers"
        row.append(f"{num(best, goal.digits)} ({who})" if peers else "-")
        row.extend(times(v, best) for v in values)
        rows.append(row)
    headers = ["goal", "target", *(s.config.label for s in ours), "best peer"]
    headers.extend(f"{s.config.label} ÷ best peer" for s in ours)
    return Table(headers, rows)


def runs_table(summaries: list[Summary]) -> Table:
    rows = []
    for s in summaries:
        for r in s.rows:
            rows.append(
                [
                    s.config.label,
                    str(r.rep + 1),
                    num(r.w("median_us"), 1),
                    num(r.w("p99_us"), 1),
                    num(r.delivered_s, 2),
                    num(r.events_per_s, 0),
                    f"{int(r.sink['unique']):,}",
                    num(r.w("rss_growth_mb"), 1),
                ]
            )
    headers = ["SDK", "rep", "p50 µs", "p99 µs", "delivered after s", "events/s", "received", "RSS + MB"]
    return Table(headers, rows)


def report(
    configs: list[Config],
    rows: list[Row],
    imports: dict[str, ImportTime],
    deps: dict[str, list[str]],
    header: list[str],
    *,
    markdown: bool,
) -> str:
    summaries = [Summary(c, [r for r in rows if r.config == c]) for c in configs]

    def show(table: Table) -> str:
        return table.markdown() if markdown else table.text()

    bullet = "- " if markdown else ""
    parts = ["\n".join(bullet + line for line in header), ""]
    sections = [
        ("caller cost and delivery (burst, defaults; µs = one call)", caller_table(summaries)),
        ("footprint and wire", footprint_table(summaries, imports, deps)),
    ]
    if any(s.config.is_footfall for s in summaries):
        sections.append(("footfall against its goals", goals_table(summaries, imports, deps)))
    if len(rows) > len(configs):
        sections.append(("every run", runs_table(summaries)))
    for title, table in sections:
        parts += [f"**{title}**" if markdown else f"== {title} ==", "", show(table), ""]
    parts.append(notes(summaries, imports, deps, bullet))
    return "\n".join(parts)


def notes(summaries: list[Summary], imports: dict[str, ImportTime], deps: dict[str, list[str]], bullet: str) -> str:
    lines = []
    harness = [s.get("harness") for s in summaries if not math.isnan(s.get("harness"))]
    if harness:
        lines.append(f"timer + call overhead (an empty call, same loop): {statistics.median(harness):.2f} µs median")
    for s in summaries:
        for r in s.rows:
            extra = r.worker.get("notes") or {}
            if extra:
                lines.append(f"{s.config.label} (rep {r.rep + 1}): stats() {extra}")
        if s.failed:
            lines.append(f"{s.config.label}: {s.failed} run(s) gave no result (see the progress log)")
        if any(r.timed_out for r in s.rows):
            lines.append(f"{s.config.label}: timed out and was killed")
    for dist in sorted(deps):
        lines.append(f"dependencies of {dist}: {', '.join(deps[dist]) or 'none'}")
    for module, imp in sorted(imports.items()):
        runs = ", ".join(f"{v:.1f}" for v in imp.runs_ms)
        lines.append(f"import {module}: -X importtime runs {runs} ms")
    return "\n".join(bullet + line for line in lines)
