#!/bin/sh
# The test command: installs what the tests need into .venv (the versions in requirements.lock), then lint,
# types and the whole suite.
# Usage: ./tests/run.sh [pytest args...]      (CI runs it through .ci/run)
#        FOOTFALL_UNLOCKED=1 ./tests/run.sh   the same against the newest releases pyproject.toml allows,
#                                             in .venv-latest, to find drift before the lock moves
set -eu
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "tests/run.sh: footfall needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 2
}
pip_install() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"; }
if [ "${FOOTFALL_UNLOCKED:-}" = 1 ]; then
    VENV=.venv-latest
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    echo "== installing the newest releases (no lock) into $VENV"
    pip_install --upgrade --upgrade-strategy eager -e '.[dev]' -e ./server-sdk-python
else
    VENV=.venv
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    # Every version from requirements.lock (./tests/lock.sh refreshes it), the build backend included:
    # footfall is built with the locked hatchling, not whatever an isolated build would fetch.
    pip_install -c requirements.lock hatchling editables
    pip_install -c requirements.lock --no-build-isolation -e '.[dev]' -e ./server-sdk-python
fi
export FOOTFALL_UNLOCKED="${FOOTFALL_UNLOCKED:-}"  # tests/test_packaging.py checks the pins unless unlocked

# Browser tests drive Debian's chromium (Playwright's own browser download does not work here).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "== installing chromium (apt)"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        echo "== installing chromium (sudo apt)"
        sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
fi
export FOOTFALL_REQUIRE_BROWSER=1  # here a missing browser fails the browser tests instead of skipping them

echo "== ruff"
"$VENV/bin/ruff" check collector tests benchmarks loadtests server-sdk-python
"$VENV/bin/ruff" format --check collector tests benchmarks loadtests server-sdk-python
echo "== mypy --strict"
"$VENV/bin/mypy"
echo "== pytest"
# On every core (pytest-xdist): each worker is a process with its own embedded ClickHouse and browser,
# and takes whole files (module fixtures, such as one served dashboard, are shared by a file's tests).
# FOOTFALL_TEST_WORKERS=0 runs the suite in this one process.
"$VENV/bin/pytest" -n "${FOOTFALL_TEST_WORKERS:-auto}" --dist loadfile "$@"
