"""Crash points for the fault tests: FOOTFALL_CRASH_AT=<point>[:<n>] kills this process with SIGKILL
the n-th time (default: first) it passes <point>. Unset, each point costs one comparison."""

import os
import signal
import threading

_POINT, _, _NTH = os.environ.get("FOOTFALL_CRASH_AT", "").partition(":")
_passed: dict[str, int] = {}


def crash_point(name: str, *, after_s: float = 0.0) -> None:
    """Die here (or `after_s` seconds from here, on a timer: a crash in the middle of what follows)."""
    if name != _POINT:
        return
    count = _passed[name] = _passed.get(name, 0) + 1
    if count != int(_NTH or 1):
        return
    if after_s:
        threading.Timer(after_s, _die).start()
    else:
        _die()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
