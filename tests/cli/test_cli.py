"""The `footfall` command, run as a user runs it: in its own processes."""

import json
import re
from pathlib import Path

import httpx
import pytest
from clickhouse_http import clickhouse_http
from processes import run, serving
from support import CHROME, event, read_events, wait_until

from collector.server import snippet


def test_serve_starts_on_an_empty_folder_keeps_data_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data) as served:
        text = "".join(served.output)
        assert "site default created (first start)" in text
        write_key = re.search(r"write key: (ffw_\S+)", text).group(1)  # type: ignore[union-attr]
        read_key = re.search(r"read key:  (ffr_\S+)", text).group(1)  # type: ignore[union-attr]
        assert f'<script defer src="{served.url}/s/{write_key}.js"></script>' in text
        # The tag works as printed (http://localhost:<port>), and its script posts back there; a foreign
        # Host or forwarded headers never make it post elsewhere.
        script = httpx.get(f"{served.url}/s/{write_key}.js", headers={"X-Forwarded-Host": "evil.example"})
        assert f'"{served.url}/v1/batch"' in script.text
        forged = httpx.get(f"{served.url}/s/{write_key}.js", headers={"Host": "evil.example"})
        assert (forged.status_code, "evil.example" in forged.text) == (421, False)
        sent = [event("pageview", url="http://localhost:3000/"), event("track", name="signup")]
        response = httpx.post(
            f"{served.url}/v1/batch",
            json={"key": write_key, "events": sent},
            headers={"Origin": "http://localhost:3000", "User-Agent": CHROME},
        )
        assert response.status_code == 202, response.text
    assert served.process.returncode == 0

    with serving(data) as served:
        text = "".join(served.output)
        assert "created" not in text
        assert f'site default: <script defer src="{served.url}/s/{write_key}.js"></script>' in text
        listed = read_events(served.url, read_key)
        assert {e["id"] for e in listed["events"]} == {e["id"] for e in sent}


def test_site_commands_work_while_the_server_owns_the_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data) as served:
        second = run("serve", "--data", str(data), "--port", "0")
        assert second.returncode == 1
        assert f"is in use by footfall serve at {served.url}" in second.stderr
        added = run("site", "add", "shop", "--origin", "https://shop.example", "--data", str(data), "--json")
        assert added.returncode == 0, added.stderr
        keys = json.loads(added.stdout)
        assert set(keys) == {"site", "write_key", "read_key"}
        # The running server knows the new site at once.
        response = httpx.post(
            f"{served.url}/v1/batch",
            json={"key": keys["write_key"], "events": [event("track", name="x")]},
            headers={"Origin": "https://shop.example", "User-Agent": CHROME},
        )
        assert response.status_code == 202, response.text
        listed = json.loads(run("site", "list", "--data", str(data), "--json").stdout)
        assert [s["site"] for s in listed] == ["default", "shop"]
        tag = run("snippet", "shop", "--tag-only", "--data", str(data)).stdout.strip()  # the server's port, not 8000
        assert tag == f'<script defer src="{served.url}/s/{keys["write_key"]}.js"></script>'
        taken = run("site", "add", "shop", "--data", str(data))
        assert (taken.returncode, taken.stderr.splitlines()[-1]) == (1, "footfall: a site named 'shop' exists already")
        # Settings changed through the server reach the site's script at once.
        configured = run(
            "site", "configure", "shop", "snippet.moves=false", "snippet.consent=opt-in", "--data", str(data)
        )
        assert configured.returncode == 0, configured.stderr
        assert json.loads(configured.stdout)["snippet"]["consent"] == "opt-in"
        script = httpx.get(f"{served.url}/s/{keys['write_key']}.js").text
        assert "mousemove" not in script
        assert "mousemove" in httpx.get(f"{served.url}/s/{listed[0]['write_key']}.js").text


def test_site_commands_on_a_stopped_store(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    added = run("site", "add", "blog", "--origin", "https://*.blog.example", "--retention-days", "90", "--data", data)
    assert added.returncode == 0, added.stderr
    assert "site blog added" in added.stdout
    assert "read key:  ffr_" in added.stdout
    listed = run("site", "list", "--data", data)
    assert "blog  (id 1)" in listed.stdout
    assert "https://*.blog.example" in listed.stdout
    assert "90 days" in listed.stdout
    rotated = json.loads(run("site", "rotate-key", "blog", "--data", data, "--json").stdout)
    assert rotated["read_key"].startswith("ffr_")
    rotated_write = json.loads(run("site", "rotate-key", "blog", "--write", "--data", data, "--json").stdout)
    assert rotated_write["read_key"] is None
    assert rotated_write["write_key"] != rotated["write_key"]
    origins = run("site", "origins", "blog", "--add", "https://blog.example", "--data", data)
    assert "https://*.blog.example, https://blog.example" in origins.stdout
    tag = run("snippet", "blog", "--data", data, "--public-url", "https://t.blog.example")
    assert tag.stdout.splitlines() == [  # the queue stub first (tests/server/test_snippet.py runs it)
        f"<script>{snippet.STUB}</script>",
        f'<script defer src="https://t.blog.example/s/{rotated_write["write_key"]}.js"></script>',
    ]
    shown = json.loads(run("site", "configure", "blog", "--data", data).stdout)
    assert shown["snippet"]["clicks"] is True
    changed = run(
        "site", "configure", "blog", "snippet.mask=.account,#card", "snippet.endpoint=/collect", "--data", data
    )
    assert json.loads(changed.stdout)["snippet"]["mask"] == [".account", "#card"]
    restored = json.loads(run("site", "configure", "blog", "snippet.endpoint=null", "--data", data).stdout)
    assert restored["snippet"]["endpoint"] is None
    assert restored["snippet"]["mask"] == [".account", "#card"]
    migrated = run("migrate", "--data", data)
    assert migrated.returncode == 0
    assert "applied 0 migration(s)" in migrated.stdout


@pytest.fixture(scope="module")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the site `default`, for commands that fail whatever it holds."""
    data = tmp_path_factory.mktemp("existing") / "data"
    assert run("site", "add", "default", "--data", str(data)).returncode == 0
    return data


# Every command but `serve` and `site add` needs a store that exists (the default site's name is given
# where a command needs one: the error must come before any look-up).
NEEDS_A_STORE = [
    ["site", "list"],
    ["site", "list", "--json"],
    ["snippet", "default"],
    ["site", "rotate-key", "default"],
    ["site", "origins", "default", "--add", "https://shop.example"],
    ["site", "configure", "default"],
    ["migrate"],
]


@pytest.mark.parametrize("args", NEEDS_A_STORE, ids=" ".join)
def test_a_command_run_where_there_is_no_store_says_so_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for given, where in (([], elsewhere / "footfall-data"), (["--data", "gone/data"], elsewhere / "gone" / "data")):
        result = run(*args, *given, cwd=elsewhere)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr.strip() == (
            f"footfall: no footfall store at {where} (run `footfall serve` or `footfall site add` there first, "
            "or pass --data / FOOTFALL_DATA)"
        )
    assert list(elsewhere.iterdir()) == []  # not even an empty folder


def test_every_command_names_the_store_it_used(tmp_path: Path) -> None:
    """On stderr, so stdout (and --json) stays the answer; absolute wherever the command ran."""
    here = tmp_path / "project"
    here.mkdir()
    store = f"footfall: store chdb://{here}/footfall-data/clickhouse"
    added = run("site", "add", "shop", "--json", cwd=here)  # may create: that is what it is for
    assert (added.returncode, added.stderr.strip()) == (0, store)
    assert json.loads(added.stdout)["site"] == "shop"
    for args in NEEDS_A_STORE:
        result = run(*[a.replace("default", "shop") for a in args], cwd=here)
        assert (result.returncode, result.stderr.strip()) == (0, store), args
    with serving(here / "footfall-data") as served:
        remote = run("site", "list", "--json", cwd=here)
        assert remote.stderr.strip() == f"{store}, through {served.url}"
        assert [s["site"] for s in json.loads(remote.stdout)] == ["shop"]
    assert served.process.returncode == 0


def test_on_a_clickhouse_server_only_migrate_serve_and_site_add_create_the_schema(tmp_path: Path) -> None:
    with clickhouse_http(tmp_path / "shim", password="s3cret") as url:
        shown = url.replace(":s3cret@", ":***@")  # named, never with its password
        listed = run("site", "list", "--clickhouse-url", url, cwd=tmp_path)
        assert listed.returncode == 2
        assert listed.stderr.strip() == (
            f"footfall: no footfall store in database 'footfall' at {shown} (run `footfall migrate` or "
            "`footfall serve` against it first, or pass --clickhouse-url / --database)"
        )
        migrated = run("migrate", "--clickhouse-url", url, cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stderr.strip() == f"footfall: store {shown}"
        again = run("site", "list", "--clickhouse-url", url, cwd=tmp_path)
        assert (again.returncode, again.stderr.strip()) == (0, f"footfall: store {shown}")
        assert "no sites yet" in again.stdout  # an empty store that exists, on purpose
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shim"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["serve", "--port", "eighty"], {}, "argument --port: invalid int value: 'eighty'"),
        (["migrate"], {"FOOTFALL_PORT": "eighty"}, "footfall: invalid value for port (FOOTFALL_PORT or --port)"),
        (["migrate", "--clickhouse-url", "ftp://ch.example"], {}, "--clickhouse-url must look like http://"),
        (
            ["migrate", "--clickhouse-url", "http://default:secret@127.0.0.1:1/db"],
            {},
            "cannot reach ClickHouse at http://default:***@127.0.0.1:1/db",
        ),
        (["site", "add", "Bad Name"], {}, "site name 'Bad Name'"),
        (["serve", "--geoip", "/nowhere/city.mmdb"], {}, "GeoIP database '/nowhere/city.mmdb' does not exist"),
        (["serve", "--trusted-proxies", "10.0.0.0/33"], {}, "--trusted-proxies: '10.0.0.0/33' does not appear"),
        (["site", "add", "shop", "--origin", "shop.example"], {}, "'shop.example' is not an origin"),
        (["site", "rotate-key", "nobody"], {}, "no site named 'nobody'"),
        (["snippet", "nobody"], {}, "no site named 'nobody'"),
        (["site", "configure", "nobody", "snippet.clicks=false"], {}, "no site named 'nobody'"),
        (["site", "configure", "default", "snippet.clickz=false"], {}, "unknown setting 'snippet.clickz'"),
        (["site", "configure", "default", "snippet.consent=maybe"], {}, "at `$.snippet.consent`"),
        (["site", "configure", "default", "snippet"], {}, "write NAME=VALUE"),
        (["site"], {}, "the following arguments are required: SUBCOMMAND"),
    ],
)
def test_bad_usage_gets_a_clear_message_and_no_traceback(
    existing: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run(*args, "--data", str(existing), env=env) if args != ["site"] else run(*args)
    assert result.returncode in (1, 2)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def test_a_busy_port_is_reported(tmp_path: Path) -> None:
    with serving(tmp_path / "a") as served:
        port = served.url.rsplit(":", 1)[1]
        result = run("serve", "--data", str(tmp_path / "b"), "--port", port)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use; pick another with --port" in result.stderr


def test_several_workers_share_a_clickhouse_server(tmp_path: Path) -> None:
    with (
        clickhouse_http(tmp_path / "shim") as url,
        serving(tmp_path / "unused", "--clickhouse-url", url, "--workers", "2") as served,
    ):
        text = "".join(served.output)
        write_key = re.search(r"write key: (ffw_\S+)", text).group(1)  # type: ignore[union-attr]
        read_key = re.search(r"read key:  (ffr_\S+)", text).group(1)  # type: ignore[union-attr]
        wait_until(lambda: _answers(f"{served.url}/readyz"), what="the workers to answer")
        sent = [event("track", name=f"e{i}") for i in range(40)]
        with httpx.Client(timeout=30) as client:  # one connection per batch, so both workers take some
            for chunk in range(0, 40, 4):
                response = client.post(
                    f"{served.url}/v1/batch",
                    json={"key": write_key, "events": sent[chunk : chunk + 4]},
                    headers={"Connection": "close"},
                )
                assert response.status_code == 202, response.text
        listed = read_events(served.url, read_key, expect=len(sent))
        assert {e["id"] for e in listed["events"]} == {e["id"] for e in sent}
    assert served.process.returncode == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_several_workers_on_the_embedded_engine(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, "--workers", "3", env={"FOOTFALL_MAX_DELAY_MS": "30"}) as served:
        text = "".join(served.output)
        write_key = re.search(r"write key: (ffw_\S+)", text).group(1)  # type: ignore[union-attr]
        read_key = re.search(r"read key:  (ffr_\S+)", text).group(1)  # type: ignore[union-attr]
        wait_until(lambda: _answers(f"{served.url}/readyz"), what="the workers to answer")
        # A site added while serving reaches the edge processes too.
        added = json.loads(run("site", "add", "shop", "--data", str(data), "--json").stdout)
        sent = [event("track", name=f"e{i}") for i in range(60)]
        keys = [write_key, added["write_key"]]
        with httpx.Client(timeout=30) as client:  # a new connection per batch: the kernel spreads them
            for number, chunk in enumerate(range(0, 60, 3)):
                body = {"key": keys[number % 2], "events": sent[chunk : chunk + 3]}
                response = client.post(f"{served.url}/v1/batch", json=body, headers={"Connection": "close"})
                assert response.status_code == 202, response.text
        default = read_events(served.url, read_key, expect=30)  # relayed to the main process by edges
        shop = read_events(served.url, added["read_key"], expect=30)
        assert {e["id"] for e in default["events"]} | {e["id"] for e in shop["events"]} == {e["id"] for e in sent}
        folders = sorted(p for p in (data / "spool").iterdir() if p.is_dir() and p.name.isdigit())
        assert [f.name for f in folders] == ["0", "1", "2"]
        # A folder whose open segment is not its first has spooled something: more than one process did.
        busy = [f for f in folders if any(int(p.name.partition("-")[0]) > 1 for p in f.glob("*.open"))]
        assert len(busy) >= 2
    assert served.process.returncode == 0


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_edge_processes_stop_when_the_main_process_is_killed(tmp_path: Path) -> None:
    with serving(tmp_path / "data", "--workers", "2") as served:
        wait_until(lambda: _answers(f"{served.url}/readyz"), what="the workers to answer")
        edges = [
            pid for pid in _children(served.process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        assert edges, "no edge process found"
        served.process.kill()
        wait_until(lambda: not any(_alive(pid) for pid in edges), what="orphaned edges to stop")
