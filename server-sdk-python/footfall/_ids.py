"""Event ids (UUIDv7: time-ordered, made on the client) and timestamps, formatted on the sender thread."""

from __future__ import annotations

import datetime as dt
import random

UTC = dt.timezone.utc


def random_bits() -> int:
    # `random` is reseeded in a forked child by CPython itself, so parent and child never share ids.
    return random.getrandbits(74)


def uuid7(unix_s: float, rand: int) -> str:
    ms = int(unix_s * 1000) & 0xFFFF_FFFF_FFFF
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Clock:
    """ISO 8601 UTC text for epoch seconds, reusing the formatted second (events come in bursts)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, unix_s: float) -> str:
        second = int(unix_s)
        if second != self._second:
            self._second = second
            self._prefix = dt.datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((unix_s - second) * 1000):03d}Z"
