"""The one small interface footfall needs from ClickHouse, and how to open it.

Two backends run the same SQL: the embedded engine (chdb, data in a local folder) and a ClickHouse
server or cluster (clickhouse-connect over HTTP). Both exchange rows as JSONEachRow bytes, so the sink
encodes a block once and either backend takes it as is.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import msgspec

from collector.settings import Settings

ParamValue = str | int | float | bool | datetime | Sequence[str] | Sequence[int]
Params = Mapping[str, ParamValue]
Row = dict[str, Any]

# Applied to every session/client so both backends read and write the same text.
SESSION_SETTINGS: Mapping[str, str] = {
    "date_time_input_format": "basic",
    "date_time_output_format": "iso",
    "output_format_json_quote_64bit_integers": "0",
    "output_format_json_quote_decimals": "0",
    # Named tuples (events.points) travel as [x, y, n] arrays, as on the wire.
    "input_format_json_named_tuples_as_objects": "0",
    "output_format_json_named_tuples_as_objects": "0",
}

_rows = msgspec.json.Decoder(dict[str, Any])


class Store(Protocol):
    database: str
    url: str  # where the data lives, for messages (never carries a password)

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns nothing (DDL, ALTER, INSERT ... SELECT)."""

    def insert(
        self,
        table: str,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        """Insert a block of JSONEachRow-encoded rows into `table` (a name inside `database`)."""

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        """Run a SELECT with {name:Type} parameters; rows come back as dicts."""

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    def close(self) -> None: ...


def decode_rows(data: bytes) -> list[Row]:
    return _rows.decode_lines(data) if data else []


def format_param(value: ParamValue) -> str:
    """A query parameter in ClickHouse's 'escaped' text form, as the HTTP interface's param_* expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return _datetime_text(value)
    return "[" + ",".join(_literal(item) for item in value) + "]"


def _literal(item: str | int) -> str:
    if isinstance(item, str):
        return "'" + item.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(item)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetime_text(value: datetime) -> str:
    """An aware datetime as Unix time: the same instant whatever time zone the session reads text in
    (the embedded engine's is the host's). A naive one as wall-clock text, read in that time zone, as
    clickhouse-connect sends it. Whole seconds carry no fraction, so DateTime takes them as DateTime64 does."""
    if value.utcoffset() is not None:
        millis = (value - _EPOCH) // timedelta(milliseconds=1)
        sign = "-" if millis < 0 else ""
        seconds, fraction = divmod(abs(millis), 1000)
        return f"{sign}{seconds}.{fraction:03d}" if fraction else f"{sign}{seconds}"
    return value.isoformat(sep=" ", timespec="milliseconds" if value.microsecond >= 1000 else "seconds")


def settings_clause(settings: Mapping[str, str | int]) -> str:
    """SETTINGS k = v, ... for statements that carry their settings inline (chdb inserts)."""
    parts = []
    for key, value in settings.items():
        if not key.replace("_", "").isalnum():
            raise ValueError(f"bad setting name {key!r}")
        literal = str(value) if isinstance(value, int) else _literal(str(value))
        parts.append(f"{key} = {literal}")
    return " SETTINGS " + ", ".join(parts) if parts else ""


def open_store(settings: Settings) -> Store:
    """Open the store the settings name: the embedded engine unless a ClickHouse URL is given."""
    if settings.clickhouse_url:
        from collector.storage.store_server import ServerStore

        return ServerStore(settings.clickhouse_url, database=settings.database)
    from collector.storage.store_chdb import ChdbStore

    return ChdbStore(Path(settings.data_dir), database=settings.database)
