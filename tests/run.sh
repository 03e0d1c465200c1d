#!/bin/sh
# The test command: installs what the tests need into .venv, then lint, types and the whole suite.
# Usage: ./tests/run.sh [pytest args...]      (CI runs it through .ci/run)
set -eu
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "tests/run.sh: footfall needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 2
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' -e ./server-sdk-python

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
.venv/bin/ruff check collector tests benchmarks loadtests server-sdk-python
.venv/bin/ruff format --check collector tests benchmarks loadtests server-sdk-python
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
