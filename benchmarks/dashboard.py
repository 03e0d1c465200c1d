"""The overview page as a logged-in browser gets it: GET /dashboard/<site>/ through the whole app
(session check, every panel's query, the template), against the same page's data as raw scans.

    .venv/bin/python benchmarks/dashboard.py                          # 10M events, seed 7
    .venv/bin/python benchmarks/dashboard.py --sizes 1000000,10000000 --keep /tmp/ffbench

The store is benchmarks/queries.py's fill (kept folders are shared with it and benchmarks/overview.py).
The app runs in-process (Starlette's TestClient: no sockets, so the figure is the server's work); each
request asks for a 30-day range ending 0-9 days before the fill's last day, drawn from the seed. Printed:
p50 / p95 of the page, and of traffic.panels(raw=True) (the same numbers by scanning `events`) beside it.
"""

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from queries import SITE, TODAY, filled_store, p95
from starlette.testclient import TestClient

from collector.accounts.passwords import hash_password
from collector.accounts.users import Users
from collector.reports import traffic, traffic_days
from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.site_registry import Sites

PASSWORD = "benchmark password"


def measure(size: int, seed: int, reps: int, raw_reps: int, keep: Path | None) -> dict[str, float]:
    with filled_store(size, seed, keep) as store:
        sites = Sites(store)
        sites.load()
        site = sites.by_name("bench")
        if site is None:
            sites.add("bench", [])  # site 1, whose events the fill wrote
            site = sites.by_name("bench")
        assert site is not None
        assert site.site_id == SITE.site_id
        # The real clock: ClickHouse expires sessions by its own (a TTL); the pages get explicit ranges.
        now_ms = time.time_ns() // 1_000_000
        users = Users(store, clock_ms=lambda: now_ms)
        if users.get("bench@footfall.example") is None:
            users.add("bench@footfall.example", password_hash=hash_password(PASSWORD), site_id=site.site_id)
        traffic_days.roll(store, TODAY)  # the closed days, as the collector rolls them every 10 minutes
        app = create_app(Settings(data_dir=str(store.datadir.path)), store=store, now_ms=lambda: now_ms)
        rng = random.Random(seed)

        def window() -> dict[str, str]:
            until = TODAY - timedelta(days=rng.randrange(0, 10))
            return {"since": str(until - timedelta(days=29)), "until": str(until)}

        with TestClient(app, base_url="http://localhost") as client:
            form = client.get("/dashboard/")
            token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            client.post(
                "/dashboard/login", data={"csrf": token, "email": "bench@footfall.example", "password": PASSWORD}
            )
            pages = []
            client.get("/dashboard/bench/", params=window())  # warm
            for _ in range(reps):
                started = time.perf_counter()
                response = client.get("/dashboard/bench/", params=window())
                pages.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text[:300]
                assert 'id="stats"' in response.text, response.text[-3000:]
        raws = []
        for _ in range(raw_reps):
            started = time.perf_counter()
            traffic.panels(store, SITE, window(), TODAY, raw=True)
            raws.append((time.perf_counter() - started) * 1000)
        out = {
            "p50": statistics.median(pages),
            "p95": p95(pages),
            "raw_p50": statistics.median(raws),
            "raw_p95": p95(raws),
        }
        print(f"  overview page: p95 {out['p95']:.1f} ms, raw panels p95 {out['raw_p95']:.0f} ms", file=sys.stderr)
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--raw-reps", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="reuse DIR/<size>-<seed> (see benchmarks/queries.py)")
    args = parser.parse_args(argv)
    keep = args.keep
    print("| events | overview page p50 / p95 ms | raw scan of its panels p50 / p95 ms | speed-up (p95) |")
    print("|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, args.seed, args.reps, args.raw_reps, keep)
        page, raw = f"{r['p50']:.1f} / {r['p95']:.1f}", f"{r['raw_p50']:.0f} / {r['raw_p95']:.0f}"
        print(f"| {size:,} | {page} | {raw} | {r['raw_p95'] / r['p95']:.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
