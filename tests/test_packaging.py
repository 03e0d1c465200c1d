"""A non-editable install must carry its SQL and snippet source and work from anywhere."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_sql_and_snippet_and_migrates_from_its_own_files(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("footfall_server-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "clickhouse").rglob("*.sql")}
    assert {f"collector/{name}" for name in shipped} <= names
    assert "collector/sdk-js/snippet.js.j2" in names
    assert any(n.endswith("entry_points.txt") for n in names)

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    script = (
        "import collector, pathlib, sys;"
        "from collector._resources import resource_dir;"
        "from collector.migrate import migrate;"
        "from collector.store_chdb import ChdbStore;"
        "from collector.snippet import render; from collector.sites import SnippetSettings;"
        f"assert pathlib.Path(collector.__file__).is_relative_to({str(unpacked)!r}), collector.__file__;"
        f"assert resource_dir('clickhouse').is_relative_to({str(unpacked)!r});"
        "s = ChdbStore(pathlib.Path('data'), database='footfall');"
        "print(len(migrate(s)));"
        "print(b'ffw_k' in render('ffw_k', 'http://x/v1/batch', SnippetSettings()).body)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    migrations = len(list((ROOT / "clickhouse" / "migrations").glob("*.sql")))
    assert result.stdout.split() == [str(migrations), "True"]
