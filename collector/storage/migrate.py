"""Numbered, forward-only schema migrations with a ledger table.

Each `clickhouse/migrations/NNNN_name.sql` is a Jinja2 template (`{{ db }}`, `{{ on_cluster }}`) of
statements each ending with `;` at the end of a line. Statements must be safe to run twice
(IF NOT EXISTS ...), because a migration that fails halfway is run again from its start. The ledger
records each applied file with the checksum of its text, so an edited, already-applied file is refused
rather than silently diverging.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from collector._resources import resource_dir
from collector.errors import MigrationError, StoreError
from collector.storage.store import Store

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?(?:\n|$)")
_env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)  # noqa: S701 — SQL, not HTML

LEDGER = """
CREATE TABLE IF NOT EXISTS {db}.schema_migrations {on_cluster}
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    template: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()

    def statements(self, *, db: str, cluster: str | None) -> list[str]:
        on_cluster = f"ON CLUSTER {cluster}" if cluster else ""
        try:
            sql = _env.from_string(self.template).render(db=db, on_cluster=on_cluster)
        except jinja2.TemplateError as exc:
            raise MigrationError(f"migration {self.version:04d}_{self.name}: {exc}") from exc
        statements = ("\n".join(_code_lines(chunk)) for chunk in _STATEMENT_END.split(sql))
        return [s for s in statements if s]


def _code_lines(chunk: str) -> list[str]:
    """The chunk without blank lines and whole-line comments."""
    return [line.rstrip() for line in chunk.splitlines() if line.strip() and not line.strip().startswith("--")]


def load(folder: Path | None = None) -> list[Migration]:
    folder = folder or resource_dir("clickhouse") / "migrations"
    found: dict[int, Migration] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations are numbered {version:04d}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def applied(store: Store) -> dict[int, str]:
    """version → checksum of what the ledger says is applied; empty for a new store."""
    rows = store.query(
        "SELECT version, argMax(checksum, applied_at) AS checksum FROM "
        f"{store.database}.schema_migrations GROUP BY version"
    )
    return {int(r["version"]): str(r["checksum"]) for r in rows}


def migrate(store: Store, *, cluster: str | None = None, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is pending, in order; return what was applied."""
    migrations = load() if migrations is None else migrations
    on_cluster = f"ON CLUSTER {cluster}" if cluster else ""
    db = store.database
    try:
        store.execute(f"CREATE DATABASE IF NOT EXISTS {db} {on_cluster}")
        store.execute(LEDGER.format(db=db, on_cluster=on_cluster))
        done = applied(store)
    except StoreError as exc:
        raise MigrationError(f"cannot prepare the schema ledger in {db}: {exc}") from exc
    _check_history(migrations, done)
    ran: list[Migration] = []
    for migration in migrations:
        if migration.version in done:
            continue
        for number, statement in enumerate(migration.statements(db=db, cluster=cluster), 1):
            try:
                store.execute(statement)
            except StoreError as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}, statement {number}: {exc}"
                ) from exc
        store.execute(
            f"INSERT INTO {db}.schema_migrations (version, name, checksum, applied_at) "
            "VALUES ({version:UInt32}, {name:String}, {checksum:String}, {at:DateTime64(3)})",
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum,
                "at": datetime.now(UTC),
            },
        )
        ran.append(migration)
    return ran


def _check_history(migrations: list[Migration], done: dict[int, str]) -> None:
    known = {m.version: m for m in migrations}
    for version, checksum in sorted(done.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the store has migration {version:04d} applied, which this footfall does not know; "
                "it was migrated by a newer version"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name} was edited after it was applied; "
                "migrations are forward-only: add a new file instead"
            )
