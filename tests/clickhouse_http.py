"""A test-only ClickHouse HTTP interface over the real engine (chdb), in a thread of this process.

It speaks what clickhouse-connect sends, so `ServerStore` and the driver run end to end without a
ClickHouse server: SQL in the body, the `query` URL parameter (joined to the body by a newline, as
ClickHouse does) or a multipart form; `INSERT ... FORMAT x` followed by its data; `param_*` bindings,
passed through as the escaped text they are; `database`; every other URL parameter is a setting, SET
for that request only (the engine starts with ClickHouse's defaults, so the client's settings must be
what takes effect); request bodies chunked or with Content-Encoding gzip/deflate/lz4/zstd; compressed
answers to Accept-Encoding; basic auth; errors as ClickHouse answers them (HTTP status by error name,
`X-ClickHouse-Exception-Code`, `Code: N. DB::Exception: ... (NAME) (version V)`); the X-ClickHouse-
Summary/-Format/-Timezone/-Query-Id headers; keep-alive; `/ping`. Requests take turns on one session.
Not supported: sessions, external data, ClickHouse's own `compress`/`decompress` block framing.
chdb opens one data path per process at a time: open no ChdbStore while this runs.
"""

import base64
import gzip
import importlib
import json
import re
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gzip": (gzip.compress, gzip.decompress),
    "deflate": (zlib.compress, zlib.decompress),
}
for _name, _module in (("lz4", "lz4.frame"), ("zstd", "backports.zstd")):
    with suppress(ImportError):
        _codec = importlib.import_module(_module)
        CODECS[_name] = (_codec.compress, _codec.decompress)

# URL parameters of the HTTP interface itself, and settings that only mean something to an HTTP server.
TRANSPORT = {"query", "database", "default_format", "user", "password", "query_id", "session_id", "session_timeout"}
TRANSPORT |= {"session_check", "compress", "decompress", "buffer_size", "wait_end_of_query", "quota_key", "role"}
TRANSPORT |= {"client_protocol_version", "stacktrace", "close_session", "enable_http_compression"}
TRANSPORT |= {"send_progress_in_http_headers", "http_headers_progress_interval_ms", "add_http_cors_header"}
TRANSPORT |= {"cancel_http_readonly_queries_on_client_close", "http_zlib_compression_level"}
# The HTTP status of an error by its name, from ClickHouse's exceptionCodeToHTTPStatus.cpp; 500 for the rest.
_STATUSES = {
    400: "BAD_ARGUMENTS CANNOT_COMPILE_REGEXP CANNOT_PARSE_TEXT CANNOT_PARSE_ESCAPE_SEQUENCE "
    "CANNOT_PARSE_QUOTED_STRING CANNOT_PARSE_DATE CANNOT_PARSE_DATETIME CANNOT_PARSE_NUMBER "
    "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING CANNOT_PARSE_IPV4 CANNOT_PARSE_IPV6 CANNOT_PARSE_INPUT_ASSERTION_FAILED "
    "CANNOT_PARSE_UUID DUPLICATE_COLUMN ILLEGAL_COLUMN UNKNOWN_ELEMENT_IN_AST UNKNOWN_TYPE_OF_AST_NODE "
    "THERE_IS_NO_COLUMN TOO_DEEP_AST TOO_BIG_AST UNEXPECTED_AST_STRUCTURE SYNTAX_ERROR INCORRECT_DATA "
    "TYPE_MISMATCH VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    401: "REQUIRED_PASSWORD",
    403: "UNKNOWN_USER WRONG_PASSWORD AUTHENTICATION_FAILED SET_NON_GRANTED_ROLE ACCESS_DENIED",
    404: "UNKNOWN_TABLE UNKNOWN_FUNCTION UNKNOWN_IDENTIFIER UNKNOWN_TYPE UNKNOWN_STORAGE UNKNOWN_DATABASE "
    "UNKNOWN_SETTING UNKNOWN_DIRECTION_OF_SORTING UNKNOWN_AGGREGATE_FUNCTION UNKNOWN_FORMAT "
    "UNKNOWN_DATABASE_ENGINE UNKNOWN_TYPE_OF_QUERY UNKNOWN_ROLE",
    408: "TIMEOUT_EXCEEDED",
    411: "HTTP_LENGTH_REQUIRED",
    413: "QUERY_IS_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    501: "NOT_IMPLEMENTED",
    503: "SOCKET_TIMEOUT CANNOT_OPEN_FILE CANNOT_SCHEDULE_TASK",
}
STATUS = {name: status for status, names in _STATUSES.items() for name in names.split()}

_INSERT = re.compile(rb"\s*(INSERT\s.*?)\s+FORMAT\s+(\w+)[ \t]*(?:\r?\n)?", re.I | re.S)
_FORMAT = re.compile(r"\sFORMAT\s+(\w+)\s*;?\s*$", re.I)
_RESULT = re.compile(r"[\s(]*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN|CHECK)\b", re.I)
_ERROR = re.compile(r"Code: (\d+)\..*\((\w+)\)", re.S)
_NAME = re.compile(r"\w+")


class ClickHouseException(Exception):
    def __init__(self, message: str) -> None:
        start = message.find("Code: ")
        self.message = message[start:] if start >= 0 else f"Code: 1001. DB::Exception: {message}. (STD_EXCEPTION)"
        found = _ERROR.search(self.message)
        self.code, self.name = (found[1], found[2]) if found else ("1001", "STD_EXCEPTION")
        super().__init__(self.message)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """One chdb session that requests take turns on, with each request's database and settings."""

    def __init__(self, path: Path) -> None:
        from chdb import session

        self._session: Any = session.Session(str(path))
        self._lock = threading.Lock()
        self._database = "default"
        rows = [json.loads(line) for line in self._query("SELECT name, value FROM system.settings").splitlines()]
        self.defaults: dict[str, str] = {row["name"]: row["value"] for row in rows}
        self._now = dict(self.defaults)
        self.version, self.timezone = self._query("SELECT version(), timezone()", "TabSeparated").decode().split()

    def _query(self, sql: str, fmt: str = "JSONEachRow", params: dict[str, str] | None = None) -> bytes:
        try:
            data: bytes = self._session.query(sql, fmt, params=params).bytes()
        except RuntimeError as exc:
            raise ClickHouseException(str(exc)) from exc
        return data

    def _prepare(self, database: str, settings: dict[str, str]) -> None:
        if database != self._database:
            self._query(f"USE `{database}`", "TabSeparated")
            self._database = database
        changed = {k for k, v in self._now.items() if k in self.defaults and v != self.defaults[k]}
        for name, value in ({k: self.defaults[k] for k in changed} | settings).items():
            if not _NAME.fullmatch(name):
                raise ClickHouseException(f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)")
            if self._now.get(name) != value:
                self._query(f"SET {name} = {_quote(value)}", "TabSeparated")
                self._now[name] = value

    def run(self, text: bytes, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        binds = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in TRANSPORT and not k.startswith("param_")}
        headers = {"X-ClickHouse-Timezone": settings.get("session_timezone") or self.timezone}
        started = time.monotonic()
        with self._lock:
            self._prepare(params.get("database") or "default", settings)
            if insert := _INSERT.match(text):
                inserter = self._session.send_insert(insert[1].decode().strip(), insert[2].decode())
                try:
                    inserter.append(text[insert.end() :])
                    done = inserter.finish()
                except RuntimeError as exc:
                    inserter.cancel()
                    raise ClickHouseException(str(exc)) from exc
                data, read, written = b"", (0, 0), (done.rows_written, done.bytes_written)
            else:
                sql = text.decode()
                found = _FORMAT.search(sql)
                fmt = found[1] if found else params.get("default_format", "TabSeparated")
                try:
                    result = self._session.query(sql, fmt, params=binds or None)
                except RuntimeError as exc:
                    raise ClickHouseException(str(exc)) from exc
                data, read, written = result.bytes(), (result.rows_read(), result.bytes_read()), (0, 0)
                if _RESULT.match(sql):
                    headers["X-ClickHouse-Format"] = fmt
        summary = {"read_rows": read[0], "read_bytes": read[1], "written_rows": written[0]}
        summary |= {"written_bytes": written[1], "result_bytes": len(data)}
        summary["elapsed_ns"] = int((time.monotonic() - started) * 1e9)
        headers["X-ClickHouse-Summary"] = json.dumps({k: str(v) for k, v in summary.items()})
        return data, headers

    def close(self) -> None:
        self._session.close()


class Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for every handler thread
    block_on_close = True

    def __init__(self, engine: Engine, user: str, password: str, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.engine, self.user, self.password = engine, user, password
        self.connections: set[socket.socket] = set()
        self.stopping = False

    def drop_connections(self) -> None:
        """End kept-alive connections, as a stopping server does, so their threads finish."""
        self.stopping = True
        for conn in list(self.connections):
            drop(conn)


def drop(conn: socket.socket) -> None:
    with suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # or each answer waits on the client's delayed ACK
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)
        if self.server.stopping:  # accepted as the server stopped: drop_connections may have missed it
            drop(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        if url.path.rstrip("/") == "/ping" or (url.path == "/" and not url.query and not body):
            self._reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            return
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            if encoding := self.headers.get("Content-Encoding"):
                if encoding not in CODECS:
                    raise ClickHouseException(f"Code: 48. DB::Exception: Unknown encoding {encoding} (NOT_IMPLEMENTED)")
                body = CODECS[encoding][1](body)
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                params |= _form(body, content_type)
                body = b""
            self._authenticate(params)
            query = params.get("query", "")
            data, headers = self.server.engine.run((query + "\n").encode() + body if query else body, params)
        except Exception as error:  # every failure becomes an error response
            exc = error if isinstance(error, ClickHouseException) else ClickHouseException(repr(error))
            headers = {"X-ClickHouse-Exception-Code": exc.code, "Content-Type": "text/plain; charset=UTF-8"}
            body = f"{exc.message} (version {self.server.engine.version})\n".encode()
            self._reply(STATUS.get(exc.name, 500), body, headers)
            return
        headers |= {"X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4())}
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        accepted = [e.strip() for e in self.headers.get("Accept-Encoding", "").split(",")]
        encoding = next((e for e in accepted if e in CODECS), None)
        compress = params.get("enable_http_compression", self.server.engine.defaults["enable_http_compression"])
        if encoding and compress == "1":
            data, headers["Content-Encoding"] = CODECS[encoding][0](data), encoding
        self._reply(200, data, headers)

    def _body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", ""):
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        return b"".join(chunks)

    def _authenticate(self, params: dict[str, str]) -> None:
        user, password = params.get("user", "default"), params.get("password", "")
        if auth := self.headers.get("Authorization", ""):
            user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        user = self.headers.get("X-ClickHouse-User", user)
        password = self.headers.get("X-ClickHouse-Key", password)
        if (user, password) != (self.server.user, self.server.password):
            raise ClickHouseException(
                f"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, or there is no "
                "user with such name. (AUTHENTICATION_FAILED)"
            )

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _form(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a multipart/form-data body (clickhouse-connect sends long bindings this way)."""
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    fields = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, value = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if name := re.search(rb'name="([^"]*)"', head):
            fields[name[1].decode()] = value.removesuffix(b"\r\n").decode()
    return fields


@contextmanager
def clickhouse_http(path: Path, *, user: str = "default", password: str = "", port: int = 0) -> Iterator[str]:
    """Serve ClickHouse's HTTP interface over an engine on `path`; yield `http://user:password@host:port/`."""
    engine = Engine(path)
    server = Server(engine, user, password, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{quote(user)}:{quote(password)}@127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.drop_connections()
        server.server_close()
        thread.join()
        engine.close()
