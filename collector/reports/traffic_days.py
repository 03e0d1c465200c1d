"""The roll of closed days into traffic_days (migration 0014), which traffic.panels() and the traffic
endpoints read for the days before `today` when they are asked without filters.

A session is one UTC day's, so a day that is over changes only when late events arrive for it:
traffic_changed keeps when events were last stored for each site and day (by ClickHouse's clock, on
insert), and `roll` rolls the closed days stored since their last roll (or never rolled), stamping the
rows with a time `margin_s` before it reads them (an insert that was under way while it read counts as
after the roll). Rows of the roll before the one replaced are deleted (ALTER ... DELETE, in the
background); the replaced roll's stay until the next re-roll, for an answer that picked it an instant
before. The reports read a day from traffic_days only while its last roll is later than its
last events, and from traffic_sessions otherwise, so answers stay exact while a re-roll is due. The
collector calls `roll` on a timer (collector/server/pipeline.py); the first call after migration 0014
rolls every stored day.
"""

from collections import defaultdict
from datetime import date
from typing import Final

from collector.storage.sql import run, sql
from collector.storage.store import Params, Store

ROLL_MARGIN_S: Final = 300.0  # longer than an insert takes
ROLL_BATCH: Final = 31  # (site, day) pairs per round


def roll(store: Store, today: date, *, margin_s: float = ROLL_MARGIN_S, rounds: int = 100) -> int:
    """Rolls the closed days (before `today`) that changed since their last roll, `ROLL_BATCH` (site,
    day) pairs a round, until none is left or after `rounds` rounds; returns how many it rolled."""
    done: list[str] = []  # once each: a day whose events are younger than the margin stays due
    for _ in range(rounds):
        todo = run(store, "traffic_todo", {"today": today.isoformat(), "limit": ROLL_BATCH, "done": done})
        if not todo:
            break
        at = int(todo[0]["now"]) - int(margin_s * 1_000_000)  # before the roll reads the sessions
        by_site: dict[int, list[str]] = defaultdict(list)
        replaced: dict[int, int] = {}  # site -> the oldest roll this round replaces
        for row in todo:
            site_id, last = int(row["site_id"]), int(row["last_roll"])
            by_site[site_id].append(row["day"])
            done.append(f"{site_id} {row['day']}")
            if last:
                replaced[site_id] = min(last, replaced.get(site_id, last))
        for site_id, days in by_site.items():
            store.execute(sql("traffic_roll", store.database), {"site": site_id, "days": days, "at": at})
            if site_id in replaced:
                unroll: Params = {"site": site_id, "days": days, "before": replaced[site_id]}
                store.execute(sql("traffic_unroll", store.database), unroll)
    return len(done)
