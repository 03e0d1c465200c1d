"""A brake on guessing passwords: after a few failed logins for one e-mail, or many from one address, the
next attempts are refused for a while (a failure older than the window no longer counts)."""

from collections import deque
from collections.abc import Callable
from typing import Final

PER_ACCOUNT: Final = 5  # failures per e-mail within the window
PER_ADDRESS: Final = 20  # failures per client address (a guesser trying many e-mails)
WINDOW_MS: Final = 15 * 60 * 1000
_MAX_KEYS: Final = 100_000  # forgotten oldest-first, so a flood of made-up e-mails cannot grow memory


class LoginThrottle:
    def __init__(self, clock_ms: Callable[[], int]) -> None:
        self._clock = clock_ms
        self._failures: dict[str, deque[int]] = {}

    def retry_after_s(self, email: str, address: str) -> int:
        """0 if an attempt may be made now, else the seconds until it may."""
        now = self._clock()
        waits = [0]
        for key, limit in ((f"e:{email}", PER_ACCOUNT), (f"a:{address}", PER_ADDRESS)):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append((times[0] + WINDOW_MS - now + 999) // 1000)
        return max(waits)

    def failed(self, email: str, address: str) -> None:
        now = self._clock()
        for key in (f"e:{email}", f"a:{address}"):
            self._recent(key, now).append(now)
        while len(self._failures) > _MAX_KEYS:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, email: str) -> None:
        self._failures.pop(f"e:{email}", None)

    def _recent(self, key: str, now: int) -> deque[int]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - WINDOW_MS:
            times.popleft()
        return times
