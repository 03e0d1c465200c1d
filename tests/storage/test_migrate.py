from pathlib import Path

import pytest

from collector.errors import MigrationError
from collector.storage import migrate
from collector.storage.store_chdb import ChdbStore


@pytest.fixture
def bare(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = ChdbStore(tmp_path / "data", database="ff_test")
    yield store
    store.close()


def _tables(store: ChdbStore) -> set[str]:
    return {r["name"] for r in store.query(f"SHOW TABLES FROM {store.database}")}


def test_applies_every_migration_once_and_records_it(bare: ChdbStore) -> None:
    ran = migrate.migrate(bare)
    assert [m.version for m in ran] == [m.version for m in migrate.load()]
    assert {"sites", "events", "ingest_counters", "schema_migrations"} <= _tables(bare)
    assert migrate.migrate(bare) == []
    assert set(migrate.applied(bare)) == {m.version for m in ran}


def test_new_files_apply_on_top(bare: ChdbStore, tmp_path: Path) -> None:
    migrate.migrate(bare)
    extra = migrate.Migration(9000, "extra", "CREATE TABLE IF NOT EXISTS {{ db }}.extra (a UInt8)\nENGINE = Memory;\n")
    ran = migrate.migrate(bare, migrations=[*migrate.load(), extra])
    assert ran == [extra]
    assert "extra" in _tables(bare)


def test_an_edited_applied_migration_is_refused(bare: ChdbStore) -> None:
    migrate.migrate(bare)
    first = migrate.load()[0]
    edited = migrate.Migration(first.version, first.name, first.template + "\n-- sneaky edit\n")
    with pytest.raises(MigrationError, match="was edited after it was applied"):
        migrate.migrate(bare, migrations=[edited, *migrate.load()[1:]])


def test_a_store_migrated_by_a_newer_version_is_refused(bare: ChdbStore) -> None:
    future = migrate.Migration(9999, "future", "SELECT 1;\n")
    migrate.migrate(bare, migrations=[*migrate.load(), future])
    with pytest.raises(MigrationError, match=r"9999 applied"):
        migrate.migrate(bare)


def test_a_failed_migration_stops_names_the_statement_and_reruns_from_its_start(bare: ChdbStore) -> None:
    broken = migrate.Migration(
        9001,
        "broken",
        "CREATE TABLE IF NOT EXISTS {{ db }}.half (a UInt8) ENGINE = Memory;\nSELECT nope_function();\n",
    )
    with pytest.raises(MigrationError, match="9001_broken, statement 2"):
        migrate.migrate(bare, migrations=[*migrate.load(), broken])
    assert 9001 not in migrate.applied(bare)
    fixed = migrate.Migration(9001, "broken", "CREATE TABLE IF NOT EXISTS {{ db }}.half (a UInt8) ENGINE = Memory;\n")
    assert migrate.migrate(bare, migrations=[*migrate.load(), fixed]) == [fixed]


def test_templates_render_database_and_cluster() -> None:
    events = next(m for m in migrate.load() if m.name == "events")
    plain = events.statements(db="analytics", cluster=None)
    assert len(plain) == 1
    assert plain[0].startswith("-- ") is False
    assert "CREATE TABLE IF NOT EXISTS analytics.events" in plain[0]
    assert "ON CLUSTER" not in plain[0]
    clustered = events.statements(db="analytics", cluster="main")
    assert "analytics.events ON CLUSTER main" in clustered[0]


def test_statement_splitting_ignores_comments_and_needs_terminators() -> None:
    migration = migrate.Migration(1, "x", "-- only a comment\nSELECT 1;\n\nSELECT 2; -- trailing\n-- end\n")
    assert migration.statements(db="d", cluster=None) == ["SELECT 1", "SELECT 2"]


def test_file_names_are_checked(tmp_path: Path) -> None:
    (tmp_path / "01_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_lower_snake\.sql"):
        migrate.load(tmp_path)
    (tmp_path / "01_bad.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="two migrations are numbered 0001"):
        migrate.load(tmp_path)


def test_every_shipped_statement_is_terminated() -> None:
    for migration in migrate.load():
        body = "\n".join(line for line in migration.template.splitlines() if not line.strip().startswith("--"))
        assert body.rstrip().endswith(";"), migration.name
