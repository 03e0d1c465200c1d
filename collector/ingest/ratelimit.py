"""Per-site rate limits: a token bucket of events per second for each site, in each collector process.

A site over its rate gets 429 with Retry-After (how long until the batch would fit); other sites are
not affected. Buckets live in memory: with N processes a site may send up to N times its rate in all.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def take(self, site_id: int, events: int, *, rate_eps: int, burst: int) -> float | None:
        """Spend `events` tokens of the site's bucket: None if they were there, else seconds to wait."""
        if rate_eps <= 0:
            return None
        now = self._clock()
        bucket = self._buckets.get(site_id)
        if bucket is None:
            bucket = self._buckets[site_id] = _Bucket(tokens=float(burst), at=now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * rate_eps)
        bucket.at = now
        # A batch bigger than the burst goes through on a full bucket and leaves it in debt: it waits
        # for a full bucket rather than forever.
        need = min(events, burst)
        if bucket.tokens >= need:
            bucket.tokens -= events
            return None
        return max((need - bucket.tokens) / rate_eps, 0.001)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
