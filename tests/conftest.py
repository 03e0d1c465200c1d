"""Fixtures: a real embedded ClickHouse per test, and a real collector on loopback."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from geodb import write_city_db
from support import NOW_MS, Collector, Site, serve, tried

from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.migrate import migrate
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChdbStore]:
    """A migrated embedded store of the test's own (chdb allows one folder per process at a time)."""
    opened = ChdbStore(tmp_path / "data", database="footfall")
    migrate(opened)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def mmdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_city_db(tmp_path_factory.mktemp("geo") / "city.mmdb")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Segments sealed quickly, so tests see their events stored soon after the 202.
    return Settings(data_dir=str(tmp_path / "data")).with_changes(max_delay_ms=20)


@pytest.fixture
def collector(store: ChdbStore, settings: Settings) -> Iterator[Collector]:
    sites = Sites(store)
    keys = sites.add("shop", ["https://shop.example", "http://localhost:*"])
    assert keys.read_key
    app = create_app(settings, store=store, now_ms=lambda: NOW_MS)
    with serve(app) as url:
        client = Collector(url, store, Site("shop", keys.write_key, keys.read_key))
        try:
            yield client
        finally:
            client.http.close()


# Under pytest-xdist (tests/run.sh) the cases are counted in the workers: each hands its counts back
# when it finishes, and the controller adds them up for the summary.
def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["tried"] = {name: dict(outcomes) for name, outcomes in tried.items()}


def pytest_testnodedown(node: Any, error: object) -> None:
    for name, outcomes in getattr(node, "workeroutput", {}).get("tried", {}).items():
        tried[name].update(outcomes)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many cases the fault, fuzz, security and load suites tried, and how they were answered."""
    if not tried:
        return
    terminalreporter.section("cases tried")
    for name, outcomes in sorted(tried.items()):
        detail = ", ".join(f"{outcome}: {n:,}" for outcome, n in sorted(outcomes.items()))
        if all(outcome.isdigit() for outcome in outcomes):  # HTTP statuses: the total is the cases tried
            detail = f"{sum(outcomes.values()):,} requests ({detail})"
        terminalreporter.write_line(f"{name}: {detail}")
