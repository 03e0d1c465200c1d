"""The dashboard's overview page: traffic.panels() and each traffic endpoint from the rollups
(traffic_sessions, migration 0011; closed days from traffic_days, migration 0014, rolled first as the
collector's timer does) against the same question as a raw scan of `events`.

    .venv/bin/python benchmarks/overview.py                         # 1M and 10M events, seed 7
    .venv/bin/python benchmarks/overview.py --sizes 1000000 --reps 10 --markdown
    .venv/bin/python benchmarks/overview.py --keep /tmp/ffbench     # the folders benchmarks/queries.py keeps

The data is benchmarks/queries.py's fill (its docstring says what is in it; sessions, referrers, UTM
tags, browsers, OS and revenue in three currencies included). For each size: every question timed
`--reps` times from the rollup and `--raw-reps` times as a raw scan, 30 days ending 0-9 days before the
fill's last day, drawn from the seed; printed: p50 / p95, the raw scan's p50 / p95 and the speed-up
(raw p95 / rollup p95). The timings are the report functions' as the HTTP handler calls them (query,
decoding, building the answer), not HTTP. Then the same for panels() after OPTIMIZE TABLE ... FINAL:
as the background merges leave a month's sessions once it is over (one part per partition), where
FINAL has nothing left to merge. Without filters, only today and days not rolled since their last
events read traffic_sessions; filtered questions read it for every day.
"""

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from queries import SITE, TODAY, filled_store, p95

from collector.reports import traffic, traffic_days
from collector.storage.store_chdb import ChdbStore

Report = Callable[..., dict[str, object]]
QUESTIONS: dict[str, tuple[Report, dict[str, str]]] = {
    "panels()": (traffic.panels, {}),
    "panels(), country=DE": (traffic.panels, {"country": "DE"}),
    "panels(), page=shop.example/p/1": (traffic.panels, {"page": "shop.example/p/1"}),
    "overview": (traffic.overview, {}),
    "timeseries (day)": (traffic.timeseries, {}),
    "timeseries (hour)": (traffic.timeseries, {"interval": "hour"}),
    "breakdown by page": (traffic.breakdown, {"by": "page", "limit": "10"}),
    "breakdown by referrer": (traffic.breakdown, {"by": "referrer", "limit": "10"}),
    "event-names": (traffic.event_names, {"limit": "10"}),
    "revenue": (traffic.revenue, {}),
}


def timed(store: ChdbStore, report: Report, params: dict[str, str], *, raw: bool) -> float:
    started = time.perf_counter()
    report(store, SITE, params, TODAY, raw=raw)
    return (time.perf_counter() - started) * 1000


def measure(
    store: ChdbStore, rng: random.Random, reps: int, raw_reps: int, labels: list[str]
) -> dict[str, list[float]]:
    def window() -> dict[str, str]:
        until = TODAY - timedelta(days=rng.randrange(0, 10))
        return {"since": str(until - timedelta(days=29)), "until": str(until)}

    results: dict[str, list[float]] = {}
    for label in labels:
        report, params = QUESTIONS[label]
        timed(store, report, {**params, **window()}, raw=False)  # warm: caches, first read of the parts
        fast = [timed(store, report, {**params, **window()}, raw=False) for _ in range(reps)]
        slow = [timed(store, report, {**params, **window()}, raw=True) for _ in range(raw_reps)]
        results[label] = [statistics.median(fast), p95(fast), statistics.median(slow), p95(slow)]
        print(f"  {label}: p95 {results[label][1]:.0f} ms, raw {results[label][3]:.0f} ms", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=20, help="timings per question from the rollup")
    parser.add_argument("--raw-reps", type=int, default=3, help="timings per question as a raw scan")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--keep", type=Path, help="fill into DIR/<size>-<seed> and reuse it next time")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    by_size: dict[int, dict[str, list[float]]] = {}
    for size in sizes:
        with filled_store(size, args.seed, args.keep) as store:
            started = time.perf_counter()
            rolled = traffic_days.roll(store, TODAY)  # as the collector's timer does (all days, at first)
            print(f"  rolled {rolled} days in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            rng = random.Random(args.seed)
            by_size[size] = measure(store, rng, args.reps, args.raw_reps, list(QUESTIONS))
            store.execute("OPTIMIZE TABLE footfall.traffic_sessions FINAL")
            merged = measure(store, rng, args.reps, args.raw_reps, ["panels()", "panels(), country=DE"])
            by_size[size] |= {f"{label}, after OPTIMIZE FINAL": r for label, r in merged.items()}

    header = ["question", *[f"{s:,}: p50 / p95 ms (raw p50 / p95, speed-up)" for s in sizes]]
    rows = []
    for label in by_size[sizes[0]]:
        cells = [label]
        for size in sizes:
            p50, top, raw50, raw95 = by_size[size][label]
            cells.append(f"{p50:.0f} / {top:.0f} ({raw50:.0f} / {raw95:.0f}, {raw95 / top:.1f}x)")
        rows.append(cells)
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for cells in rows:
            print("| " + " | ".join(cells) + " |")
    else:
        for cells in [header, *rows]:
            print("  ".join(cells))
    print(f"goal: panels() p95 <= 300 ms for 30 days of {sizes[-1]:,} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
