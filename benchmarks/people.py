"""Profiles and the people list from the person-keyed rollups, against the same questions asked of the
raw events in the same run.

    .venv/bin/python benchmarks/people.py                          # 1M and 10M events, seed 7
    .venv/bin/python benchmarks/people.py --sizes 1000000 --reps 50 --markdown
    .venv/bin/python benchmarks/people.py --keep /tmp/ffbench      # fill once, reuse on the next runs

The data is benchmarks/queries.py's, with one user per actor (every identified actor is a user of its
own): 10M events are 250,000 actors, and as many people. Each question is timed `--reps` times from the
rollups and `--raw-reps` times as a raw scan (`raw=True`), with a person or filter drawn from the seed
each time. The timings are the API's functions as the HTTP handlers call them, not HTTP itself.
"""

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from queries import SITE, TODAY, filled_store, p95, print_table

from collector.people import listing, profile

USERS = 1 << 40  # more than actors: each actor its own user
NOW_MS = int(datetime.combine(TODAY, day_time(), UTC).timestamp() * 1000)


def questions(rng: random.Random, ids: list[str]) -> dict[str, Callable[[], tuple[str, Any]]]:
    def someone() -> str:
        return rng.choice(ids)

    def since(days: int) -> str:
        return str(TODAY - timedelta(days=days))

    return {
        "profile (any id)": lambda: ("profile", someone()),
        "list (last seen)": lambda: ("list", {}),
        "list: trait plan=pro, did purchase in 30 days": lambda: (
            "list",
            {"trait.plan": rng.choice(["pro", "team"]), "did": "purchase", "within_days": "30"},
        ),
        "list: did add_to_cart, not purchase, seen in 14 days": lambda: (
            "list",
            {"did": "add_to_cart", "not_did": "purchase", "within_days": "30", "seen_after": since(14)},
        ),
        "list: by revenue in EUR, at least 100": lambda: (
            "list",
            {"sort": "revenue", "currency": "EUR", "min_revenue": str(rng.choice([100, 150]))},
        ),
    }


def timed(store: Any, kind: str, asked: Any, *, raw: bool) -> float:
    started = time.perf_counter()
    if kind == "profile":
        profile.profile(store, SITE, asked, {}, now_ms=NOW_MS, raw=raw)
    else:
        listing.people(store, SITE, asked, now_ms=NOW_MS, raw=raw)
    return (time.perf_counter() - started) * 1000


def measure(size: int, seed: int, reps: int, raw_reps: int, keep: Path | None) -> dict[str, dict[str, float]]:
    with filled_store(size, seed, keep, users=USERS) as store:
        (counted,) = store.query(
            "SELECT count() AS actors FROM (SELECT actor_key FROM footfall.actor_profiles GROUP BY actor_key)"
        )
        print(f"  {counted['actors']:,} actors", file=sys.stderr)
        rng = random.Random(seed)
        results: dict[str, dict[str, float]] = {}
        ids = [  # people to look up: anonymous ids and user ids, spread over the key space
            r["id"]
            for r in store.query(
                "SELECT actor AS id FROM footfall.actor_profiles ORDER BY cityHash64(actor_key, 1) LIMIT 1000 "
                "UNION ALL "
                "SELECT user_id AS id FROM footfall.identity_links ORDER BY cityHash64(anon_key, 1) LIMIT 1000"
            )
        ]
        for label, draw in questions(rng, ids).items():
            timed(store, *draw(), raw=False)  # warm
            fast = [timed(store, *draw(), raw=False) for _ in range(reps)]
            slow = [timed(store, *draw(), raw=True) for _ in range(raw_reps)]
            results[label] = {
                "p50": statistics.median(fast),
                "p95": p95(fast),
                "raw_p50": statistics.median(slow),
                "raw_p95": p95(slow),
            }
            print(
                f"  {label}: p95 {results[label]['p95']:.1f} ms, raw {results[label]['raw_p95']:.0f} ms",
                file=sys.stderr,
            )
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=40, help="timings per question from the rollups")
    parser.add_argument("--raw-reps", type=int, default=3, help="timings per question as a raw scan")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--keep", type=Path, help="fill into DIR/<size>-<seed>-<users>-<day> and reuse it")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    by_size = {size: measure(size, args.seed, args.reps, args.raw_reps, args.keep) for size in sizes}
    print_table(by_size, "question", markdown=args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
