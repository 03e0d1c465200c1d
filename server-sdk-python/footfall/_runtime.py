"""What the host process is: green threads or a uWSGI without threads mean no background sender."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass


def threads_unavailable() -> str | None:
    """Why background threads would not run here, or None."""
    if "gevent" in sys.modules:
        try:
            from gevent import monkey

            if monkey.is_module_patched("threading"):
                return "gevent has patched threading"
        except Exception:
            pass
    if "eventlet" in sys.modules:
        try:
            from eventlet import patcher

            if patcher.is_monkey_patched("thread"):
                return "eventlet has patched threading"
        except Exception:
            pass
    if "uwsgi" in sys.modules:
        try:
            import uwsgi

            if not uwsgi.opt.get("enable-threads") and not uwsgi.opt.get("threads"):
                return "uWSGI runs without --enable-threads"
        except Exception:
            pass
    return None
