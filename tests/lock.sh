#!/bin/sh
# Refreshes requirements.lock, the pins tests/run.sh and the README's serve command install with: the
# newest releases pyproject.toml's ranges allow (runtime, dev and the SDK's extras), for every platform
# and Python >= 3.11. Run it on purpose, then run ./tests/run.sh and commit the lock with what it needed.
# Usage: ./tests/lock.sh                        upgrade everything
#        ./tests/lock.sh --upgrade-package X    move X (and what it needs), keep the other pins
set -eu
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9  # the resolver is pinned too, so two people refreshing on one day get one lock
PYTHON="${PYTHON:-python3}"
if ! .venv-lock/bin/uv --version 2>/dev/null | grep -qx "uv $UV_VERSION.*"; then
    [ -x .venv-lock/bin/python ] || "$PYTHON" -m venv .venv-lock
    .venv-lock/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
[ "$#" -gt 0 ] || set -- --upgrade
exec .venv-lock/bin/uv pip compile --quiet --universal --python-version 3.11 --all-extras \
    --custom-compile-command ./tests/lock.sh --output-file requirements.lock \
    pyproject.toml server-sdk-python/pyproject.toml "$@"
