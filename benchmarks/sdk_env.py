"""The benchmark venv for benchmarks/python_sdk.py (peers never go into the project's venv), and the
footprint figures measured in it: import time, modules loaded, runtime dependency closure.

The venv lives under ~/.cache/footfall-bench/ (or $XDG_CACHE_HOME/footfall-bench/, or --venv), is made
with `python -m venv` once and reused: the pinned peers and orjson are pip-installed when the pins change,
footfall's SDK (non-editable, built from a copy of server-sdk-python/ so the work tree is not touched)
whenever its sources change, and every install is followed by `python -m compileall` of site-packages so
import times never include compiling (this environment sets PYTHONDONTWRITEBYTECODE=1; the benchmark's
processes run with `python -I`, which ignores it).
"""

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parent
SDK_SOURCE: Final = ROOT / "server-sdk-python"
WORKER: Final = HERE / "sdk_worker.py"
# The versions the research measured (docs: shared/research/pysdk.md); orjson is footfall's optional extra.
PINS: Final = (
    "posthog==7.91.1",
    "segment-analytics-python==2.4.0",
    "rudder-sdk-python==2.1.9",
    "mixpanel==5.4.1",
    "amplitude-analytics==1.3.0",
    "orjson==3.13.0",
)
STAMP: Final = "footfall-bench.json"
INSTALL_TIMEOUT_S: Final = 900.0
PROBE_TIMEOUT_S: Final = 60.0

Say = Callable[[str], None]


def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "footfall-bench" / "sdk-peers"


def bench_env() -> dict[str, str]:
    """The environment of every benchmark process: no PYTHON* knobs (the processes also run with -I)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def _run(argv: list[str], timeout_s: float, cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_s, env=bench_env(), cwd=cwd, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return done.stdout


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(SDK_SOURCE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(SDK_SOURCE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def site_packages(python: Path) -> Path:
    return Path(
        _run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], 60).strip()
    )


def ensure_venv(venv: Path, say: Say) -> Path:
    """The venv's python, with the pinned peers, orjson and the current footfall SDK installed and compiled."""
    python = venv / "bin" / "python"
    stamp_path = venv / STAMP
    if not python.exists():
        say(f"creating the benchmark venv {venv}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(venv)], 300)
    stamp = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    changed = False
    if stamp.get("pins") != list(PINS):
        say("pip install " + " ".join(PINS))
        _run([str(python), "-m", "pip", "install", "-q", *PINS], INSTALL_TIMEOUT_S)
        stamp["pins"], changed = list(PINS), True
    digest = source_hash()
    if stamp.get("footfall") != digest:
        say(f"pip install footfall from {SDK_SOURCE.relative_to(ROOT)} (non-editable, sources {digest})")
        with tempfile.TemporaryDirectory(prefix="footfall-sdk-build-") as tmp:
            copy = Path(tmp) / "server-sdk-python"
            shutil.copytree(SDK_SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            _run(
                [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(copy)],
                INSTALL_TIMEOUT_S,
            )
        stamp["footfall"], changed = digest, True
    if changed or not stamp.get("compiled"):
        say("compiling the venv's site-packages (python -m compileall)")
        _run([str(python), "-I", "-m", "compileall", "-q", "-j", "0", str(site_packages(python))], INSTALL_TIMEOUT_S)
        stamp["compiled"] = True
    stamp_path.write_text(json.dumps(stamp, indent=1))
    return python


def versions(python: Path, dists: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(d):\n"
        "    try: return m.version(d)\n"
        "    except m.PackageNotFoundError: return '-'\n"
        "print(json.dumps({d: v(d) for d in sys.argv[1:]}))"
    )
    result: dict[str, str] = json.loads(_run([str(python), "-I", "-c", code, *dists], PROBE_TIMEOUT_S))
    return result


def dependencies(python: Path, dists: list[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = json.loads(_run([str(python), "-I", str(WORKER), "deps", *dists], PROBE_TIMEOUT_S))
    return result


# -- import time -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportTime:
    module: str
    importtime_ms: float  # median over runs of the cumulative -X importtime of what `import module` added
    runs_ms: list[float]
    wall_delta_ms: float  # median wall time of `python -c 'import module'` less that of `python -c pass`
    modules: int  # modules in sys.modules after the import that were not there before


def _top_level_import_us(stderr: str, skip: set[str]) -> tuple[float, set[str]]:
    total, names = 0.0, set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        stripped = name.strip()
        names.add(stripped)
        if len(name) - len(name.lstrip(" ")) == 1 and stripped not in skip:  # top-level: one space of indent
            total += float(cumulative)
    return total, names


def _importtime(python: Path, code: str, cwd: Path) -> str:
    done = subprocess.run(
        [str(python), "-I", "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        env=bench_env(),
        cwd=cwd,
        check=True,
    )
    return done.stderr


def _wall(python: Path, code: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(python), "-I", "-c", code],
        capture_output=True,
        timeout=PROBE_TIMEOUT_S,
        env=bench_env(),
        cwd=cwd,
        check=True,
    )
    return (time.perf_counter() - start) * 1e3


def import_time(python: Path, module: str, runs: int) -> ImportTime:
    """Measured in an empty temporary folder (rudder reads a .env from the working directory)."""
    with tempfile.TemporaryDirectory(prefix="footfall-bench-import-") as tmp:
        cwd = Path(tmp)
        code = f"import {module}"
        _, startup = _top_level_import_us(_importtime(python, "pass", cwd), set())
        _importtime(python, code, cwd)  # warm the page cache
        runs_ms = [_top_level_import_us(_importtime(python, code, cwd), startup)[0] / 1e3 for _ in range(runs)]
        bare, loaded = [], []
        for _ in range(runs + 2):  # interleaved, so drift hits both alike
            bare.append(_wall(python, "pass", cwd))
            loaded.append(_wall(python, code, cwd))
        count = _run(
            [
                str(python),
                "-I",
                "-c",
                f"import sys; before = set(sys.modules); {code}; print(len(set(sys.modules) - before))",
            ],
            PROBE_TIMEOUT_S,
            cwd=cwd,
        )
    return ImportTime(
        module=module,
        importtime_ms=statistics.median(runs_ms),
        runs_ms=runs_ms,
        wall_delta_ms=statistics.median(loaded) - statistics.median(bare),
        modules=int(count),
    )
