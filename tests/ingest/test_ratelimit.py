from collector.ingest.ratelimit import RateLimiter, retry_after


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.take(1, 50, rate_eps=10, burst=50) is None
    wait = limiter.take(1, 20, rate_eps=10, burst=50)
    assert wait == 2.0  # 20 events at 10/s
    assert retry_after(wait) == "2"
    now[0] = 2.0
    assert limiter.take(1, 20, rate_eps=10, burst=50) is None
    assert limiter.take(2, 50, rate_eps=10, burst=50) is None  # another site has its own bucket


def test_a_batch_larger_than_the_burst_needs_a_full_bucket_not_forever() -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    assert limiter.take(1, 500, rate_eps=100, burst=50) is None  # a full bucket lets it through...
    assert limiter.take(1, 10, rate_eps=100, burst=50) == 4.6  # ...and the debt is paid before the next
    assert retry_after(0.001) == "1"


def test_zero_means_no_limit() -> None:
    assert RateLimiter().take(1, 10**9, rate_eps=0, burst=1) is None
