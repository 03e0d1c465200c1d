"""A non-editable install must carry its SQL and snippet source and work from anywhere; the lock pins
every dependency, and the test command installs what it pins."""

import os
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = {ROOT / "pyproject.toml": "footfall-server", ROOT / "server-sdk-python" / "pyproject.toml": "footfall"}


def locked() -> dict[str, str]:
    """requirements.lock as name -> version, for the lines whose markers hold here."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pin = Requirement(line)
        (version,) = [s.version for s in pin.specifier if s.operator == "=="]
        if pin.marker is None or pin.marker.evaluate():
            pins[canonicalize_name(pin.name)] = version
        else:
            pins.setdefault(canonicalize_name(pin.name), "")  # pinned, for another platform or Python
    return pins


def named_in_pyproject() -> set[str]:
    names: set[str] = set()
    for path in PROJECTS:
        config = tomllib.loads(path.read_text())
        project = config["project"]
        texts = [*project.get("dependencies", []), *config["build-system"]["requires"]]
        texts += [t for extra in project.get("optional-dependencies", {}).values() for t in extra]
        names |= {canonicalize_name(Requirement(t).name) for t in texts}
    return names


def test_the_lock_pins_every_dependency_pyproject_names() -> None:
    missing = sorted(named_in_pyproject() - set(locked()))
    assert not missing, f"requirements.lock has no pin for {missing}: run ./tests/lock.sh"


def test_what_the_test_command_installed_is_what_the_lock_pins() -> None:
    """Everything footfall-server[dev] and the SDK[fast] need, as installed, at the locked version."""
    if os.environ.get("FOOTFALL_UNLOCKED") == "1":
        pytest.skip("FOOTFALL_UNLOCKED=1: the newest releases, not the lock")
    pins = locked()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset(config_extras(path))) for path, name in PROJECTS.items()]
    wrong: list[str] = []
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        installed = metadata.version(name)
        if key not in PROJECTS.values() and pins.get(key) != installed:
            wrong.append(f"{key} {installed} (locked: {pins.get(key) or 'no pin'})")
        for text in metadata.requires(name) or []:
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((needed.name, frozenset(needed.extras)))
    assert not wrong, f"installed, not as locked: {sorted(set(wrong))}; install with -c requirements.lock"


def config_extras(path: Path) -> list[str]:
    return list(tomllib.loads(path.read_text())["project"].get("optional-dependencies", {}))


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
        "from collector.storage.migrate import migrate;"
        "from collector.storage.store_chdb import ChdbStore;"
        "from collector.server.snippet import render; from collector.sites import SnippetSettings;"
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
