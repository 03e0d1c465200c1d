"""The server backend: a ClickHouse server or cluster over HTTP, through clickhouse-connect."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from collector.errors import ConfigError, QueryError, StoreUnavailable
from collector.storage.store import SESSION_SETTINGS, Params, Row, decode_rows

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    username: str
    password: str
    secure: bool
    database: str | None


def parse_url(url: str) -> Target:
    """http[s]://user:password@host:port/database, checked and taken apart."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--clickhouse-url must look like http://user:password@host:8123/database, got {redact(url)!r}"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--clickhouse-url has a bad port: {redact(url)!r}") from exc
    return Target(
        host=parts.hostname,
        port=port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        secure=parts.scheme == "https",
        database=parts.path.strip("/") or None,
    )


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


class ServerStore:
    def __init__(self, url: str, *, database: str, connect_timeout_s: float = 5.0) -> None:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import ClickHouseError

        target = parse_url(url)
        self.database = target.database or database
        self.url = redact(url)
        try:
            # The database may not exist yet (migrations create it), so connect to `default`.
            self._client = clickhouse_connect.get_client(
                host=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                secure=target.secure,
                database="default",
                connect_timeout=connect_timeout_s,
                send_receive_timeout=60,
                settings=dict(SESSION_SETTINGS),
                autogenerate_session_id=False,
            )
        except ClickHouseError as exc:
            raise StoreUnavailable(f"cannot reach ClickHouse at {self.url}: {_first_line(exc)}") from exc

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._call(lambda: self._client.command(sql, parameters=_bind(params)))

    def insert(
        self,
        table: str,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        settings: Mapping[str, str | int] | None = None,
    ) -> None:
        self._call(
            lambda: self._client.raw_insert(
                f"{self.database}.{table}",
                column_names=list(columns) if columns else None,
                insert_block=data,
                settings=dict(settings or {}),
                fmt="JSONEachRow",
            )
        )

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        data = self._call(lambda: self._client.raw_query(sql, parameters=_bind(params), fmt="JSONEachRow"))
        return decode_rows(bytes(data))

    def ping(self) -> None:
        if not self._client.ping():
            raise StoreUnavailable(f"ClickHouse at {self.url} does not answer")

    def close(self) -> None:
        self._client.close()

    def _call(self, fn: Callable[[], T]) -> T:
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

        try:
            return fn()
        except OperationalError as exc:
            raise StoreUnavailable(f"ClickHouse at {self.url}: {_first_line(exc)}") from exc
        except DatabaseError as exc:
            raise QueryError(_first_line(exc)) from exc
        except UnicodeEncodeError as exc:  # a lone surrogate in a parameter: not sendable as UTF-8
            raise QueryError(f"a parameter is not valid UTF-8 text: {exc}") from exc


def _bind(params: Params | None) -> dict[str, object] | None:
    """clickhouse-connect renders only a list as an array (a tuple is a tuple literal), so make sequences
    lists. No parameters means None: an empty dict would still run the SQL through %-formatting."""
    if not params:
        return None
    return {k: v if isinstance(v, str | int | float | datetime) else list(v) for k, v in params.items()}


def _first_line(exc: BaseException) -> str:
    """ClickHouse's own 'Code: N. DB::Exception: ...' line, as the embedded backend reports it."""
    text = str(exc).strip()
    start = text.find("Code: ")
    text = text[start:] if start >= 0 else text
    return text.splitlines()[0] if text else type(exc).__name__
