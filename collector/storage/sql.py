"""SQL files from clickhouse/queries, rendered once per database (Jinja: {{ db }}, raw, includes) and run with
parameters that ClickHouse binds ({name:Type}): never a request's text in a statement."""

import functools
from datetime import date
from typing import Final

import jinja2

from collector._resources import resource_dir
from collector.storage.store import Params, Row, Store

MAX_EVENTS_LIMIT: Final = 10_000
FIRST_DAY: Final = date(1970, 1, 1)  # ClickHouse's Date range
LAST_DAY: Final = date(2149, 6, 6)
_JSON_COLUMNS: Final = ("properties", "traits")


def _query_file(name: str) -> str:
    return (resource_dir("clickhouse") / "queries" / name).read_text(encoding="utf-8")


_env = jinja2.Environment(
    loader=jinja2.FunctionLoader(_query_file),  # files include shared parts: {% include "_people.sql" %}
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701 — SQL, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
)


@functools.cache
def sql(name: str, db: str, *, raw: bool = False, **switches: bool | str) -> str:
    """A query file rendered for one database; parameters stay as {name:Type} for ClickHouse to bind.
    `raw`: the variant of a rollup-backed query that scans `events` instead (tests and benchmarks);
    `switches`: parts a query leaves out when a request does not need them, or a column it reads (never
    a request's text)."""
    return _env.get_template(f"{name}.sql").render(db=db, raw=raw, **switches).strip().rstrip(";")


def run(store: Store, name: str, params: Params, *, raw: bool = False, **switches: bool | str) -> list[Row]:
    return store.query(sql(name, store.database, raw=raw, **switches), params)
