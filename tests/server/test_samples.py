"""The drop samples' budget: a few per reason and request, a few more per site, reason and minute."""

from collector.server.samples import SampleBudget

MINUTE_MS = 60_000


def test_samples_are_capped_per_request_and_per_site_reason_and_minute() -> None:
    budget = SampleBudget(per_request=3, per_minute=10)
    at = 1_000 * MINUTE_MS
    assert [budget.take(1, "dropped", "bot", 50, now_ms=at) for _ in range(5)] == [3, 3, 3, 1, 0]
    assert budget.take(1, "dropped", "no_consent", 2, now_ms=at) == 2  # another reason has its own
    assert budget.take(1, "rejected", "bot", 5, now_ms=at) == 3  # and another outcome
    assert budget.take(2, "dropped", "bot", 5, now_ms=at) == 3  # and another site
    assert budget.take(1, "dropped", "bot", 5, now_ms=at + MINUTE_MS - 1) == 0
    assert budget.take(1, "dropped", "bot", 5, now_ms=at + MINUTE_MS) == 3  # the next minute
    assert budget.take(1, "dropped", "bot", 0, now_ms=at + MINUTE_MS) == 0
