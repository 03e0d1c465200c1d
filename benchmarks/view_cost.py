"""What each rollup's materialized view adds to an insert into `events`.

    .venv/bin/python benchmarks/view_cost.py                 # 20,000-row blocks, 4 s of inserts each
    .venv/bin/python benchmarks/view_cost.py --rows 1000 --seconds 2

One embedded store, migrated; the same block of realistic enriched rows (benchmarks/steps.py) inserted
again and again (new ids each time, as benchmarks/ingest.py does) with no view, with all of them, and
with each one alone. Printed: rows/s and µs per row, and each view's µs per row over the insert without
views. `events` is emptied between measurements.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import ingest
import steps
import traffic

from collector.storage.migrate import migrate
from collector.storage.rows import encode
from collector.storage.store_chdb import ChdbStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows per insert (default 20,000)")
    parser.add_argument("--seconds", type=float, default=4.0, help="insert time per measurement (default 4)")
    args = parser.parse_args(argv)
    rows: int = args.rows
    seconds: float = args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        enricher = steps.make_enricher(
            traffic.write_geo_db(folder / "city.mmdb"), traffic.write_salts(folder / "s.json")
        )
        block = encode(steps.realistic_rows(rows, enricher, seed=7, server_share=0.1))
        store = ChdbStore(folder / "data", database="footfall")
        try:
            migrate(store)
            views = [
                str(r["name"])
                for r in store.query(
                    "SELECT name FROM system.tables WHERE database = 'footfall' AND engine = 'MaterializedView'"
                )
            ]
            ddl = {v: str(store.query(f"SHOW CREATE TABLE footfall.{v}")[0]["statement"]) for v in views}

            def us_per_row(keep: list[str]) -> float:
                for view in views:
                    store.execute(f"DROP VIEW IF EXISTS footfall.{view}")
                for view in keep:
                    store.execute(ddl[view])
                store.execute("TRUNCATE TABLE footfall.events")
                times = ingest.insert_blocks(store, block, seconds)
                return sum(times) / (rows * len(times)) * 1e6

            bare = us_per_row([])
            every = us_per_row(views)
            print(f"no view: {1e6 / bare:,.0f} rows/s ({bare:.1f} µs/row)")
            print(f"all {len(views)} views: {1e6 / every:,.0f} rows/s ({every:.1f} µs/row, +{every - bare:.1f})")
            for view in views:
                alone = us_per_row([view])
                print(f"  {view} alone: {1e6 / alone:,.0f} rows/s (+{alone - bare:.1f} µs/row)")
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
