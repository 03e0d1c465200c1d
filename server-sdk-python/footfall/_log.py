"""footfall's logger, imported only when there is something to say; at most one line a minute per trouble."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

EVERY_S = 60.0


def logger() -> logging.Logger:
    import logging

    return logging.getLogger("footfall")


class RateLimitedLog:
    """A failing collector must not flood the host's logs."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def say(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -EVERY_S) >= EVERY_S:
            self._last[kind] = now
            logger().warning(message, *args)
