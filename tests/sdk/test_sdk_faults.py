"""The SDK against a misbehaving collector: nothing lost, nothing sent twice, shutdown on time."""

import time

import footfall
from faultserver import failing_for, sink
from support import Collector

FAST = footfall.Retry(base_s=0.02, cap_s=0.2, budget_s=60, timeout_s=1.0)


def client(url: str) -> footfall.Client:
    return footfall.Client("ffw_test", host=url, retry=FAST, batching=footfall.Batching(max_events=20, interval_s=0.05))


def send(c: footfall.Client, n: int) -> None:
    for i in range(n):
        c.track("e", {"i": i}, user_id="u")


def test_500s_then_recovery_lose_nothing() -> None:
    with sink(failing_for(0.5, status=500)) as server:
        c = client(server.url)
        send(c, 200)
        result = c.shutdown(timeout=30)
        assert result.pending == 0
        assert len(server.unique()) == 200
        assert len(server.ids) == 200
        assert c.stats().retries > 0


def test_a_long_503_is_ridden_out_with_one_probe_at_a_time() -> None:
    with sink(failing_for(3.0, status=503)) as server:
        c = client(server.url)
        send(c, 300)
        result = c.shutdown(timeout=30)
        assert (result.pending, len(server.unique()), len(server.ids)) == (0, 300, 300)
        assert server.requests < 300  # a breaker, not a hammer


def test_retry_after_is_honoured_as_a_minimum() -> None:
    with sink(failing_for(0.01, status=429, headers={"Retry-After": "1"})) as server:
        c = client(server.url)
        started = time.monotonic()
        send(c, 5)
        c.flush(timeout=30)
        assert time.monotonic() - started >= 1.0
        assert len(server.unique()) == 5
        c.shutdown(timeout=5)


def test_hangs_and_resets_are_retried_without_duplicates() -> None:
    def plan(number: int) -> tuple[str, int, dict[str, str]]:
        return [("hang", 0, {}), ("reset", 0, {}), ("reset", 0, {})][number] if number < 3 else ("answer", 202, {})

    with sink(plan) as server:
        c = client(server.url)
        send(c, 50)
        result = c.shutdown(timeout=30)
        assert result.pending == 0
        # A hung request the client gave up on may still have been answered later: the ids repeat,
        # which the collector stores once; here the stand-in never answers it.
        assert server.unique() == set(server.ids)
        assert len(server.unique()) == 50


def test_shutdown_returns_within_its_timeout_while_the_collector_is_down() -> None:
    with sink(failing_for(3600, status=503)) as server:
        c = client(server.url)
        send(c, 100)
        started = time.monotonic()
        result = c.shutdown(timeout=1.0)
        assert time.monotonic() - started < 1.5
        assert result.sent == 0
        assert result.dropped + result.pending == 100
        assert c.stats().dropped.get("shutdown", 0) + result.pending == 100


def test_rejected_events_are_counted_not_retried() -> None:
    with sink(lambda n: ("answer", 400, {})) as server:
        c = client(server.url)
        send(c, 10)
        c.shutdown(timeout=10)
        assert c.stats().dropped == {"rejected_by_collector": 10}
        assert server.requests == 1


def test_lost_answers_hangs_and_503s_in_front_of_the_real_collector_store_each_event_once(
    collector: Collector,
) -> None:
    script = ["lose_answer", "reset", "503", "lose_answer", "hang", "lose_answer"]

    def plan(number: int) -> tuple[str, int, dict[str, str]]:
        step = script[number] if number < len(script) else "answer"
        return (step, 503, {}) if step == "503" else (step, 202, {})

    with sink(plan, upstream=collector.url) as proxy:
        c = footfall.Client(
            collector.site.write_key,
            host=proxy.url,
            retry=FAST,
            batching=footfall.Batching(max_events=25, interval_s=0.05),
        )
        sent = 200
        send(c, sent)
        result = c.shutdown(timeout=60)
        assert (result.pending, result.dropped) == (0, 0)
    rows = collector.stored(count=sent)
    assert len(rows) == sent
    assert len({r["event_id"] for r in rows}) == sent  # no FINAL: a second copy would show here
