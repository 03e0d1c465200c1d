"""The load suite (loadtests/run.py): its smoke run in the suite, and the checks that make a run fail."""

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import run as loadrun
from support import tried

ROOT = Path(__file__).resolve().parents[1]


def test_a_ten_second_locust_run_stores_every_acknowledged_event_once() -> None:
    """Locust (both user classes, a browser's pace) against a fresh `footfall serve`: rows == distinct
    ids == events acknowledged, nothing left in the spool, every answer a 202."""
    argv = [sys.executable, str(ROOT / "loadtests" / "run.py"), "--seconds", "10", "--users", "20", "--no-ceilings"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=110, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    verdict = re.search(r"^OK: ([\d,]+) events acknowledged, ([\d,]+) stored$", done.stdout, re.MULTILINE)
    assert verdict, done.stdout
    assert verdict.group(1) == verdict.group(2)
    assert int(verdict.group(1).replace(",", "")) > 100
    tried["load: a 10-second Locust run"]["events stored = acknowledged"] += int(verdict.group(2).replace(",", ""))


def test_a_run_fails_on_a_lost_or_doubled_event_an_error_or_a_leftover() -> None:
    load = loadrun.Locusted(
        seconds=10, requests=100, failures=0, p50_ms=5, p95_ms=9, p99_ms=12, acknowledged=900,
        ok_events=900, errors={},
    )  # fmt: skip
    good = loadrun.Result(1, 0, load, 300.0, 0.1, stored=900, distinct=900, spooled=0, exit_code=0, null=None)
    assert good.problems == []
    assert replace(good, stored=899, distinct=899).problems == [
        "acknowledged 900 events, stored 899 rows (899 distinct ids)"
    ]
    assert replace(good, stored=901).problems  # a duplicate row
    assert replace(good, spooled=3).problems == ["3 events left in the spool after the stop"]
    assert replace(good, exit_code=1).problems
    failing = replace(load, failures=2, errors={"503 overloaded": 2})
    assert replace(good, load=failing).problems == ["2 requests not answered 202: {'503 overloaded': 2}"]
