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

echo "== ruff"
.venv/bin/ruff check collector tests benchmarks server-sdk-python
.venv/bin/ruff format --check collector tests benchmarks server-sdk-python
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
