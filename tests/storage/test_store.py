"""One contract, every backend: the embedded engine, a server (the HTTP shim over the same engine), and a
real ClickHouse server when FOOTFALL_TEST_CLICKHOUSE_URL is set."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from clickhouse_http import clickhouse_http
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import server_url

from collector.errors import QueryError, StoreUnavailable
from collector.storage.migrate import load, migrate
from collector.storage.store import ParamValue, Store
from collector.storage.store_chdb import ChdbStore
from collector.storage.store_server import ServerStore

REAL_SERVER = pytest.param(
    "server",
    marks=[
        pytest.mark.server,
        pytest.mark.skipif(not server_url(), reason="set FOOTFALL_TEST_CLICKHOUSE_URL to test a real ClickHouse"),
    ],
)
AT = datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)
EXAMPLES = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text in every corner ClickHouse escapes: quotes, backslashes, tabs, newlines, NUL, and beyond ASCII.
TEXT = st.text(st.one_of(st.sampled_from("'\"\\`\t\n\r\0{}%?&=#[],"), st.characters(codec="utf-8")), max_size=40)


def real_server() -> str:
    """The test server's URL without a database path: each test makes a database of its own."""
    url = server_url()
    assert url
    return urlsplit(url)._replace(path="/").geturl()


@pytest.fixture(params=["chdb", "shim", REAL_SERVER])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty database of the test's own, on the backend the parameter names."""
    database = f"footfall_test_{uuid.uuid4().hex[:12]}"
    with ExitStack() as stack:
        opened: Store
        if request.param == "chdb":
            opened = ChdbStore(tmp_path / "data", database=database)
        elif request.param == "shim":
            opened = ServerStore(stack.enter_context(clickhouse_http(tmp_path / "shim")), database=database)
        else:
            opened = ServerStore(real_server(), database=database)
        stack.callback(opened.close)
        if request.param == "server":
            stack.callback(opened.execute, f"DROP DATABASE IF EXISTS {database}")
        opened.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        yield opened


@pytest.fixture(params=["shim", REAL_SERVER])
def http_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ClickHouse HTTP interface: the shim, and a real server to hold it to."""
    if request.param == "server":
        yield real_server()
        return
    with clickhouse_http(tmp_path / "shim") as url:
        yield url


def jsonl(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def test_ddl_insert_and_query_round_trip(store: Store) -> None:
    db = store.database
    store.execute(
        f"CREATE TABLE {db}.t (id UInt64, name String, big Int64, at DateTime64(3, 'UTC'), tags Array(String),"
        " point Tuple(x UInt32, y UInt32)) ENGINE = MergeTree ORDER BY id"
    )
    rows = [
        {"id": 1, "name": "a\tb\n'c'", "big": 2**62 + 1, "at": "2026-11-22 10:00:00.123", "tags": ["x", "y"]},
        {"id": 2, "name": "ünï", "big": -(2**63), "at": "2026-11-22 10:00:01.000", "tags": [], "point": [3, 4]},
    ]
    store.insert("t", jsonl(*rows))
    got = store.query(f"SELECT * FROM {db}.t ORDER BY id")
    assert got == [
        {**rows[0], "at": "2026-11-22T10:00:00.123Z", "point": [0, 0]},
        {**rows[1], "at": "2026-11-22T10:00:01.000Z"},
    ]


def test_64_bit_integers_are_numbers_and_datetimes_iso_utc(store: Store) -> None:
    row = store.query(
        "SELECT toInt64(9007199254740993) AS i, toUInt64(18446744073709551615) AS u, toDecimal64(1.25, 2) AS d,"
        " toDateTime64('2026-11-22 10:00:00.123', 3, 'UTC') AS t, toDateTime('2026-11-22 10:00:00', 'UTC') AS s"
    )
    assert row == [
        {"i": 9007199254740993, "u": 2**64 - 1, "d": 1.25, "t": "2026-11-22T10:00:00.123Z", "s": "2026-11-22T10:00:00Z"}
    ]
    assert isinstance(row[0]["i"], int)


def test_insert_with_columns_and_settings(store: Store) -> None:
    db = store.database
    store.execute(
        f"CREATE TABLE {db}.t (id UInt32, name String, note String DEFAULT 'none') ENGINE = MergeTree ORDER BY id"
        " SETTINGS non_replicated_deduplication_window = 100"
    )
    block = jsonl({"id": 1, "name": "a"}, {"id": 2, "name": "b"})
    store.insert("t", block, columns=["id", "name"], settings={"insert_deduplication_token": "batch-1"})
    store.insert("t", block, columns=["id", "name"], settings={"insert_deduplication_token": "batch-1"})
    assert store.query(f"SELECT count() AS n, any(note) AS note FROM {db}.t") == [{"n": 2, "note": "none"}]
    store.insert("t", block, columns=["id", "name"], settings={"insert_deduplication_token": "batch-2"})
    assert store.query(f"SELECT count() AS n FROM {db}.t") == [{"n": 4}]
    # A setting given for one insert does not stick to the next statement.
    store.insert("t", jsonl({"id": 3, "name": "c"}), columns=["id", "name"], settings={"max_insert_block_size": 10})
    assert store.query("SELECT getSetting('insert_deduplication_token') AS token") == [{"token": ""}]


def test_insert_of_bad_rows_is_a_query_error(store: Store) -> None:
    store.execute(f"CREATE TABLE {store.database}.t (id UInt32) ENGINE = MergeTree ORDER BY id")
    with pytest.raises(QueryError, match=r"Code: \d+\. DB::Exception"):
        store.insert("t", b'{"id": "not a number"}\n')
    assert store.query(f"SELECT count() AS n FROM {store.database}.t") == [{"n": 0}]


@EXAMPLES
@given(text=TEXT)
def test_string_parameters_round_trip(store: Store, text: str) -> None:
    assert store.query("SELECT {s:String} AS s, length({s:String}) AS n", {"s": text}) == [
        {"s": text, "n": len(text.encode())}
    ]


@EXAMPLES
@given(items=st.lists(TEXT, max_size=5))
def test_string_array_parameters_round_trip(store: Store, items: list[str]) -> None:
    assert store.query("SELECT {a:Array(String)} AS a", {"a": items}) == [{"a": items}]


def test_long_parameters_round_trip(store: Store) -> None:
    text = "ü'\\\t\n" * 2000  # longer than a URL should carry: clickhouse-connect sends it as a form
    assert store.query("SELECT {s:String} AS s", {"s": text}) == [{"s": text}]


@pytest.mark.parametrize(
    ("placeholder", "value", "expected"),
    [
        ("Int64", 2**63 - 1, 2**63 - 1),
        ("Int64", -(2**63), -(2**63)),
        ("UInt32", 0, 0),
        ("Float64", 1.5, 1.5),
        ("Float64", -1e-05, -1e-05),
        ("Float64", 1e300, 1e300),
        ("Bool", True, True),
        ("Bool", False, False),
        ("DateTime64(3)", AT, "2026-11-22T10:00:00.123Z"),
        ("DateTime64(3)", AT.astimezone(timezone(timedelta(hours=5, minutes=30))), "2026-11-22T10:00:00.123Z"),
        ("DateTime64(3, 'UTC')", AT, "2026-11-22T10:00:00.123Z"),
        ("DateTime", AT.replace(microsecond=0), "2026-11-22T10:00:00Z"),
        ("Array(String)", ["a'b", "c\\d", "e\tf\ng", ""], ["a'b", "c\\d", "e\tf\ng", ""]),
        ("Array(String)", ("x", "y"), ["x", "y"]),
        ("Array(String)", [], []),
        ("Array(Int64)", [1, -2, 2**63 - 1], [1, -2, 2**63 - 1]),
        ("Array(Int64)", (), []),
    ],
)
def test_typed_parameters_round_trip(store: Store, placeholder: str, value: ParamValue, expected: object) -> None:
    assert store.query(f"SELECT {{v:{placeholder}}} AS v", {"v": value}) == [{"v": expected}]


def test_embedded_datetime_parameters_do_not_depend_on_the_hosts_time_zone(tmp_path: Path) -> None:
    """The embedded engine reads DateTime text in the host's time zone; an aware datetime must not shift."""
    script = (
        "import sys, datetime as dt; from pathlib import Path; from collector.storage.store_chdb import ChdbStore\n"
        "at = dt.datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=dt.UTC)\n"
        "store = ChdbStore(Path(sys.argv[1]), database='default')\n"
        "sql = 'SELECT timezone() AS tz, {t:DateTime64(3)} AS t, {s:DateTime} AS s'\n"
        "print(store.query(sql, {'t': at, 's': at.replace(microsecond=0)})[0])\n"
    )
    env = {**os.environ, "TZ": "Asia/Kolkata"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = {"tz": "Asia/Kolkata", "t": "2026-11-22T10:00:00.123Z", "s": "2026-11-22T10:00:00Z"}
    assert done.stdout.strip() == repr(expected)


def test_parameters_in_statements(store: Store) -> None:
    db = store.database
    store.execute(f"CREATE TABLE {db}.t (id UInt32, name String, at DateTime64(3, 'UTC')) ENGINE = Memory")
    sql = f"INSERT INTO {db}.t VALUES ({{id:UInt32}}, {{name:String}}, {{at:DateTime64(3)}})"
    store.execute(sql, {"id": 7, "name": "it's", "at": AT})
    assert store.query(f"SELECT * FROM {db}.t") == [{"id": 7, "name": "it's", "at": "2026-11-22T10:00:00.123Z"}]


def test_bad_sql_is_a_query_error_with_clickhouses_message(store: Store) -> None:
    with pytest.raises(QueryError, match=r"Code: 62\. DB::Exception: Syntax error"):
        store.query("SELEC 1")
    with pytest.raises(QueryError, match=r"Code: 60\. DB::Exception: .*nope"):
        store.query(f"SELECT * FROM {store.database}.nope")
    with pytest.raises(QueryError, match=r"Code: 60\."):
        store.execute(f"ALTER TABLE {store.database}.nope ADD COLUMN x UInt8")
    with pytest.raises(QueryError, match=r"Code: 60\."):
        store.insert("nope", b'{"x": 1}\n')
    assert store.query("SELECT 1 AS ok") == [{"ok": 1}]  # the store still works after errors


def test_ping(store: Store) -> None:
    store.ping()


def test_migrate_applies_cleanly_and_is_idempotent(store: Store) -> None:
    migrations = load()
    assert [m.version for m in migrate(store)] == [m.version for m in migrations]
    assert migrate(store) == []
    ledger = store.query(f"SELECT version, name, applied_at FROM {store.database}.schema_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in ledger] == [(m.version, m.name) for m in migrations]
    assert all(r["applied_at"].endswith("Z") for r in ledger)
    tables = store.query(
        "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", {"db": store.database}
    )
    assert {"events", "ingest_counters", "schema_migrations", "sites"} <= {t["name"] for t in tables}


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:1"):
        ServerStore("http://127.0.0.1:1/", database="footfall", connect_timeout_s=2)


def test_a_stopped_server_is_unavailable(tmp_path: Path) -> None:
    with clickhouse_http(tmp_path / "shim") as url:
        store = ServerStore(url, database="default")
        assert store.query("SELECT 1 AS ok") == [{"ok": 1}]
    try:
        with pytest.raises(StoreUnavailable):
            store.query("SELECT 1 AS ok")
        with pytest.raises(StoreUnavailable):
            store.execute("SELECT 1")
        with pytest.raises(StoreUnavailable):
            store.insert("t", b"{}\n")
        with pytest.raises(StoreUnavailable):
            store.ping()
    finally:
        store.close()


def test_a_wrong_password_is_unavailable(tmp_path: Path) -> None:
    with clickhouse_http(tmp_path / "shim", password="secret") as url:
        ServerStore(url, database="default").close()
        with pytest.raises(StoreUnavailable, match="516"):
            ServerStore(url.replace(":secret@", ":wrong@"), database="default")


def test_clickhouse_connect_native_inserts_and_queries(tmp_path: Path) -> None:
    """The driver's own paths: lz4-compressed Native inserts (chunked) and compressed Native results."""
    import clickhouse_connect

    with clickhouse_http(tmp_path / "shim", password="pw") as url:
        client = clickhouse_connect.get_client(dsn=url)
        try:
            client.command("CREATE TABLE default.t (id UInt32, name String, at DateTime64(3, 'UTC')) ENGINE = Memory")
            client.insert("default.t", [[1, "a", AT], [2, "b", AT]], column_names=["id", "name", "at"])
            result = client.query("SELECT id, name, at FROM default.t WHERE id > {min:UInt32} ORDER BY id", {"min": 0})
            assert result.result_rows == [(1, "a", AT.replace(tzinfo=None)), (2, "b", AT.replace(tzinfo=None))]
        finally:
            client.close()


def test_http_interface_answers_like_clickhouse(http_url: str) -> None:
    base = urlsplit(http_url)
    auth = (base.username or "default", base.password or "")
    with httpx.Client(base_url=f"{base.scheme}://{base.hostname}:{base.port}", auth=auth, timeout=30) as http:
        assert http.get("/ping").text == "Ok.\n"
        ok = http.post(
            "/", params={"param_x": "a\\tb", "default_format": "JSONEachRow"}, content="SELECT {x:String} AS x"
        )
        assert ok.status_code == 200
        assert ok.json() == {"x": "a\tb"}
        assert ok.headers["X-ClickHouse-Format"] == "JSONEachRow"
        assert json.loads(ok.headers["X-ClickHouse-Summary"])["read_rows"] == "1"
        in_url = http.get("/", params={"query": "SELECT 1 + 1"})
        assert (in_url.status_code, in_url.text) == (200, "2\n")
        bad = http.post("/", content="SELEC 1")
        assert bad.status_code == 400
        assert bad.headers["X-ClickHouse-Exception-Code"] == "62"
        assert bad.text.startswith("Code: 62. DB::Exception: Syntax error")
        assert "(SYNTAX_ERROR)" in bad.text
        missing = http.post("/", content="SELECT * FROM default.footfall_no_such_table")
        assert (missing.status_code, missing.headers["X-ClickHouse-Exception-Code"]) == (404, "60")
        unknown = http.post("/", params={"no_such_setting": "1"}, content="SELECT 1")
        assert (unknown.status_code, unknown.headers["X-ClickHouse-Exception-Code"]) == (404, "115")
        denied = http.post("/", content="SELECT 1", auth=("default", "wrong password"))
        assert (denied.status_code, denied.headers["X-ClickHouse-Exception-Code"]) == (403, "516")
