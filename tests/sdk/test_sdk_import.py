"""Importing the SDK is cheap and has no side effects; it runs on every Python it claims to support."""

import subprocess
import sys
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[2] / "server-sdk-python"
OLDEST = Path("/root/.pyenv/versions").glob("3.9*/bin/python")


def test_import_loads_no_network_logging_or_typing_modules_and_configures_nothing() -> None:
    code = (
        "import logging as _l, sys\n"
        "before = set(sys.modules); handlers = list(_l.getLogger().handlers)\n"
        "import footfall\n"
        "heavy = {'http.client', 'ssl', 'json', 'typing', 'dataclasses', 're', 'gzip', 'hashlib'} - before\n"
        "print(sorted(m for m in heavy if m in sys.modules), _l.getLogger().handlers == handlers)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SDK)}
    )
    assert out.stdout.strip() == "[] True"


@pytest.mark.skipif(
    not any(True for _ in Path("/root/.pyenv/versions").glob("3.9*/bin/python")), reason="no Python 3.9 here"
)
def test_it_works_on_python_3_9() -> None:
    python = next(iter(OLDEST))
    code = (
        "import footfall, datetime\n"
        "c = footfall.Client('ffw_x', host='http://127.0.0.1:9', send=False)\n"
        "c.track('e', {'at': datetime.datetime.now()}, user_id='u')\n"
        "print(c.stats().dropped, footfall.__version__)\n"
    )
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SDK)}
    )
    assert out.stdout.strip() == "{} 0.1.0"
