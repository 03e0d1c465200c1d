"""The embedded backend: the ClickHouse engine in this process (chdb), data in a local folder."""

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode

from collector.errors import QueryError, StoreUnavailable
from collector.storage.datadir import DataDir
from collector.storage.store import SESSION_SETTINGS, Params, Row, decode_rows, format_param, settings_clause


class ChdbStore:
    def __init__(self, data_dir: Path, *, database: str) -> None:
        from chdb import session  # imported here: loading the engine takes a moment

        self.database = database
        self.datadir = DataDir(data_dir)
        self.datadir.acquire()  # before the engine touches the folder
        self.url = f"chdb://{self.datadir.clickhouse_path}"
        conn = f"{self.datadir.clickhouse_path}?{urlencode(SESSION_SETTINGS)}"
        try:
            # A streaming insert holds its session, so reads get a session of their own.
            self._writer = session.Session(conn)
            self._reader = session.Session(conn)
        except Exception as exc:
            self.datadir.release()
            raise StoreUnavailable(f"cannot open the embedded ClickHouse in {self.url}: {exc}") from exc
        self._write_lock = threading.Lock()
        # Query parameters are session state in chdb: two threads querying one session at once can
        # see each other's parameters, so reads take turns.
        self._read_lock = threading.Lock()
        self._closed = False

    def execute(self, sql: str, params: Params | None = None) -> None:
        with self._write_lock:
            self._run(self._writer, sql, params)

    def insert(
        self,
        table: str,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        cols = f" ({', '.join(columns)})" if columns else ""
        statement = f"INSERT INTO {self.database}.{table}{cols}{settings_clause(settings or {})}"
        with self._write_lock:
            self._check_open()
            try:
                inserter = self._writer.send_insert(statement, "JSONEachRow")
                try:
                    inserter.append(data)
                    inserter.finish()
                except BaseException:
                    inserter.cancel()
                    raise
            except RuntimeError as exc:
                raise QueryError(_engine_message(exc)) from exc

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        with self._read_lock:
            return decode_rows(self._run(self._reader, sql, params))

    def ping(self) -> None:
        with self._read_lock:
            self._run(self._reader, "SELECT 1", None)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._write_lock:
            for conn in (self._reader, self._writer):
                conn.close()
        self.datadir.release()

    def _run(self, conn: object, sql: str, params: Params | None) -> bytes:
        self._check_open()
        text = {k: format_param(v) for k, v in params.items()} if params else None
        try:
            result = conn.query(sql, "JSONEachRow", params=text)  # type: ignore[attr-defined]
        except RuntimeError as exc:
            raise QueryError(_engine_message(exc)) from exc
        data: bytes = result.bytes()
        return data

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable("the embedded ClickHouse is closed")


def _engine_message(exc: BaseException) -> str:
    text = str(exc)
    # chdb prefixes its own wording; keep ClickHouse's "Code: N. DB::Exception: ..." part.
    start = text.find("Code: ")
    return text[start:] if start >= 0 else text
