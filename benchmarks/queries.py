"""The read API's reports from the rollups against the same questions asked of the raw events.

    .venv/bin/python benchmarks/queries.py                          # 1M and 10M events, seed 7
    .venv/bin/python benchmarks/queries.py --sizes 1000000 --reps 10 --markdown
    .venv/bin/python benchmarks/queries.py --keep /tmp/ffbench   # fill once, reuse on the next runs

For each size: a fresh embedded store, migrated, filled with synthetic events through INSERT ... SELECT
in blocks of 500,000 (the materialized views keep the rollups as they would in production, a progress
line per block), then every report timed `--reps` times from the rollups and `--raw-reps` times as a
raw scan (`raw=True`: the same question over `events`), with parameters drawn from the seed. Printed:
p50 / p95 per report and size, the raw scan's p50 / p95, the speed-up (raw p95 / rollup p95), and the
growth from the smallest to the largest size. The timings include what the API adds in Python (the
report functions are called as the HTTP handlers call them), not HTTP itself.

Data (deterministic for a seed): 90 days; one site; 40 pages (popular ones more often); one actor per
40 events, in 4 visits of 10 events a minute apart on random days, each visit a session with its
referrer (none, three search or social hosts, or the site's own) and, for 3 actors in 4, UTM tags;
browser, OS, country and device per actor; 30% pageviews, 25% clicks, 10% rage/dead clicks, 10% moves,
10% scrolls, 12% track events (signup, purchase, add_to_cart; a third carry revenue in EUR, USD or
GBP), 3% identify (traits: a plan and an e-mail address). Users: `u` + the actor number modulo
`users` (50,000 by default).
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from collector.reports import answers as reports
from collector.reports import heatmap_layers
from collector.sites import Site
from collector.storage.migrate import migrate
from collector.storage.store_chdb import ChdbStore

BLOCK = 500_000
DAYS = 90
# The 90 days before this month began: recent enough that no TTL (applied by the real clock) has removed
# them, and the same all month, so a kept fill (--keep, one folder per first day) is reused meanwhile.
TODAY = date.today().replace(day=1)
FIRST_DAY = TODAY - timedelta(days=DAYS)
PAGES = 40
SITE = Site(site_id=1, name="bench", allowed_origins=(), write_key="w", read_key_sha256="r")

# One INSERT ... SELECT per block: h(k) is a deterministic hash of the event number and the seed.
FILL = """
INSERT INTO footfall.events (site_id, event_id, type, name, timestamp, client_ts, received_at, anonymous_id, user_id,
    url, host, path, page_key, width_bucket, viewport_w, doc_w, doc_h, x, y, x_frac, fixed, selector, points, depth,
    country, device, utm_source, visitor_key, properties, retention_days,
    session_id, referrer, referrer_host, utm_medium, utm_campaign, browser, os, traits)
SELECT
    1, reinterpretAsUUID(concat(reinterpretAsString(h1), reinterpretAsString(h2))), type,
    multiIf(type = 'track', ['signup', 'purchase', 'add_to_cart'][1 + h2 % 3], ''),
    ts, ts, ts, concat('a', toString(actor)),
    if(type = 'identify' OR (actor % 3 = 0 AND visit > 1), concat('u', toString(actor % {users:UInt64})), ''),
    concat('https://shop.example', page), 'shop.example', page, concat('shop.example', page),
    [375, 768, 1280, 1920][1 + h2 % 4], [375, 768, 1280, 1920][1 + h2 % 4], 1280, 4000 + h1 % 3000,
    h1 % 1280, h2 % 5000, (h1 % 1280) / 1280, h2 % 20 = 0,
    ['main > button.buy', 'header > a.logo', 'nav > a.cart', 'main > p.note', 'footer > a.help'][1 + h1 % 5],
    if(type = 'move',
       arrayMap(i -> tuple(toUInt32((h1 + i * 97) % 1280), toUInt32((h2 + i * 131) % 5000), toUInt32(1 + i % 5)),
                range(8)),
       []),
    if(type = 'scroll', toUInt8(h2 % 101), 0),
    ['DE', 'FR', 'US', 'GB', 'BR'][1 + actor % 5], ['desktop', 'mobile', 'tablet'][1 + actor % 3],
    utm, concat('v', toString(actor)),
    if(type = 'track' AND h2 % 3 = 1,
       concat('{"revenue": ', toString(h1 % 200), ', "currency": "', ['EUR', 'USD', 'GBP'][1 + h1 % 3], '"}'), '{}'),
    400,
    concat('s', toString(actor), '.', toString(visit)),
    if(source = '', '', concat('https://', source, '/')), source,
    if(utm = '', '', ['cpc', 'email', 'social'][1 + actor % 3]), if(utm = '', '', ['spring', 'launch'][1 + visit % 2]),
    ['Chrome', 'Safari', 'Firefox', 'Edge'][1 + actor % 4],
    ['Windows', 'iOS', 'macOS', 'Android', 'Linux'][1 + actor % 5],
    if(type = 'identify', concat('{"plan": "', ['free', 'pro', 'team'][1 + h2 % 3], '", "email": "u',
       toString(actor % {users:UInt64}), '@example.com"}'), '{}')
FROM
(
    SELECT
        number AS k,
        cityHash64(k, {seed:UInt64}) AS h1,
        cityHash64(k, {seed:UInt64}, 1) AS h2,
        intDiv(k, 40) AS actor,
        intDiv(k % 40, 10) AS visit,
        ['', 'www.google.com', 'news.example', 'shop.example', 'www.bing.com', 't.co'][1 + cityHash64(actor, visit) % 6]
            AS source,
        ['', 'newsletter', 'google', 'ads'][1 + actor % 4] AS utm,
        toDateTime64(
            {first:DateTime} + toIntervalDay(cityHash64(actor, visit, {seed:UInt64}) % {days:UInt32})
            + toIntervalSecond(cityHash64(actor, visit, {seed:UInt64}, 2) % 80000 + k % 10 * 60), 3, 'UTC') AS ts,
        concat('/p/', toString(toUInt32(pow((h2 % 1000) / 1000, 2) * {pages:UInt32}))) AS page,
        multiIf(h1 % 100 < 30, 'pageview', h1 % 100 < 55, 'click', h1 % 100 < 60, 'rageclick',
                h1 % 100 < 65, 'deadclick', h1 % 100 < 75, 'move', h1 % 100 < 85, 'scroll',
                h1 % 100 < 97, 'track', 'identify') AS type
    FROM numbers({start:UInt64}, {count:UInt64})
)
"""


def fill(store: ChdbStore, size: int, seed: int, users: int = 50_000) -> float:
    started = time.perf_counter()
    for start in range(0, size, BLOCK):
        count = min(BLOCK, size - start)
        store.execute(
            FILL,
            {
                "seed": seed,
                "start": start,
                "count": count,
                "first": f"{FIRST_DAY} 00:00:00",
                "days": DAYS,
                "pages": PAGES,
                "users": users,
            },
        )
        done = start + count
        rate = done / (time.perf_counter() - started)
        print(f"\r  {done:>12,} / {size:,} events ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - started


def questions(rng: random.Random) -> dict[str, Callable[[], dict[str, str]]]:
    """Parameters for each report, drawn anew for each repetition."""

    def window(days: int) -> dict[str, str]:
        until = TODAY - timedelta(days=rng.randrange(0, 10))
        return {"since": str(until - timedelta(days=days - 1)), "until": str(until)}

    def page() -> str:
        return f"shop.example/p/{rng.randrange(0, 8)}"

    return {
        "heatmap": lambda: {"page": page(), "type": "click", **window(30)},
        "heatmap (with visitors)": lambda: {"page": page(), "type": "click", "visitors": "true", **window(30)},
        "heatmap (moves, 1280)": lambda: {"page": page(), "type": "move", "width": "1280", **window(30)},
        "heatmap layers (busiest width)": lambda: {"page": page(), **window(30)},
        "heatmap layers (1280, visitors)": lambda: {"page": page(), "width": "1280", "visitors": "true", **window(30)},
        "elements": lambda: {"page": page(), **window(30)},
        "scroll": lambda: {"page": page(), **window(30)},
        "retention (12 weeks)": lambda: {"period": "week", "periods": "12", **window(84)},
        "retention (signup -> purchase)": lambda: {
            "period": "week",
            "periods": "12",
            "cohort_event": "signup",
            "return_event": "purchase",
            **window(84),
        },
        "cohorts": lambda: {"period": "week", "periods": "4", **window(60)},
        "segment": lambda: {"did": "signup", "not_did": "purchase", "within_days": "7", **window(60)},
    }


REPORT_OF = {
    "heatmap": "heatmap",
    "heatmap (with visitors)": "heatmap",
    "heatmap (moves, 1280)": "heatmap",
    "heatmap layers (busiest width)": "layers",
    "heatmap layers (1280, visitors)": "layers",
    "elements": "elements",
    "scroll": "scroll",
    "retention (12 weeks)": "retention",
    "retention (signup -> purchase)": "retention",
    "cohorts": "cohorts",
    "segment": "segment",
}


def timed(store: ChdbStore, report: str, params: dict[str, str], *, raw: bool) -> float:
    answer = heatmap_layers.layers if report == "layers" else reports.REPORTS[report][0]
    started = time.perf_counter()
    answer(store, SITE, params, TODAY, raw=raw)
    return (time.perf_counter() - started) * 1000


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def filled_store(size: int, seed: int, keep: Path | None, users: int = 50_000) -> Iterator[ChdbStore]:
    """A migrated store holding `size` events of `seed` by `users` users at most: filled now, or reused
    from `keep`."""
    with tempfile.TemporaryDirectory() as folder:
        data = keep / f"{size}-{seed}-{users}-{FIRST_DAY}" if keep else Path(folder) / "data"
        filled = data / "filled"  # written once the fill is complete: a kept folder is reused after that
        store = ChdbStore(data, database="footfall")
        try:
            migrate(store)
            print(f"{size:,} events:", file=sys.stderr)
            if filled.exists():
                print(f"  reusing {data}", file=sys.stderr)
            else:
                seconds = fill(store, size, seed, users)
                filled.touch()
                print(f"  filled in {seconds:.0f} s", file=sys.stderr)
            yield store
        finally:
            store.close()


def measure(size: int, seed: int, reps: int, raw_reps: int, keep: Path | None) -> dict[str, dict[str, float]]:
    with filled_store(size, seed, keep) as store:
        rng = random.Random(seed)
        results: dict[str, dict[str, float]] = {}
        for label, draw in questions(rng).items():
            report = REPORT_OF[label]
            timed(store, report, draw(), raw=False)  # warm: caches, first read of the parts
            fast = [timed(store, report, draw(), raw=False) for _ in range(reps)]
            slow = [timed(store, report, draw(), raw=True) for _ in range(raw_reps)]
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


def print_table(by_size: dict[int, dict[str, dict[str, float]]], first: str, *, markdown: bool) -> None:
    """One row per question: p50 / p95 per size, beside the raw scan's and the speed-up, and the growth."""
    sizes = list(by_size)
    header = [first, *[f"{s:,}: p50 / p95 ms (raw p50 / p95, speed-up)" for s in sizes]]
    if len(sizes) > 1:
        header.append(f"p95 growth {sizes[0]:,} -> {sizes[-1]:,}")
    rows: list[list[str]] = []
    for label in by_size[sizes[0]]:
        row = [label]
        for size in sizes:
            r = by_size[size][label]
            speedup = r["raw_p95"] / r["p95"]
            row.append(f"{r['p50']:.1f} / {r['p95']:.1f} ({r['raw_p50']:.0f} / {r['raw_p95']:.0f}, {speedup:.0f}x)")
        if len(sizes) > 1:
            row.append(f"{by_size[sizes[-1]][label]['p95'] / by_size[sizes[0]][label]['p95']:.2f}x")
        rows.append(row)
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in [header, *rows]:
            print("  ".join(row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=20, help="timings per report from the rollups")
    parser.add_argument("--raw-reps", type=int, default=5, help="timings per report as a raw scan")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--keep", type=Path, help="fill into DIR/<size>-<seed> and reuse it next time (pending migrations applied)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    by_size = {size: measure(size, args.seed, args.reps, args.raw_reps, args.keep) for size in sizes}

    print_table(by_size, "report", markdown=args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
