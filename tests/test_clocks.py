"""The tests that meet ClickHouse's TTLs, again with the app's clock a month behind and a month ahead of
ClickHouse's.

ClickHouse expires salts and events by its own clock, whatever the collector's says; a collector (or a
test with an injected clock) must not need the two to agree. Each case runs the enrichment, salt and
outage tests in a child pytest whose pinned clock is moved (FOOTFALL_TEST_CLOCK_SHIFT_DAYS, support.py),
so the same assertions are checked, not a copy of them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [
    "tests/enrich/test_steps.py",
    "tests/enrich/test_salts.py",
    "tests/server/test_app.py::test_every_event_type_is_stored_and_read_back",
    "tests/server/test_app.py::test_clickhouse_down_acks_until_the_spool_is_full_then_503_and_all_stored_after",
    "tests/server/test_app.py::test_clickhouse_away_over_midnight_costs_nothing_and_the_keys_agree_with_another_collector",
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("shift_days", [-30, 30])
def test_enrichment_salts_and_outages_pass_with_the_app_clock_a_month_off(shift_days: int, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path}", *CHECKED],
        cwd=ROOT,
        env={**os.environ, "FOOTFALL_TEST_CLOCK_SHIFT_DAYS": str(shift_days)},
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
