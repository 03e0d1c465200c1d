"""What the SDK tells the application when events do not get through: on_error with a DeliveryError
once a batch is given up (refused, or undeliverable within the retry budget), and the collector's
reasons for the events it refused, counted. Nothing is ever raised into the application."""

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import footfall
import httpx
import pytest
from faultserver import sink
from support import Collector

FAST = footfall.Retry(base_s=0.01, cap_s=0.05, budget_s=0.3, timeout_s=1.0)
READ_KEY = "this is a read key (ffr_...); the SDK needs the site's write key (ffw_...)"


def _client(key: str, host: str, errors: list[BaseException]) -> footfall.Client:
    return footfall.Client(key, host=host, retry=FAST, callbacks=footfall.Callbacks(on_error=errors.append))


def test_an_unknown_write_key_is_told_to_on_error_and_not_retried(collector: Collector) -> None:
    errors: list[BaseException] = []
    with sink(upstream=collector.url) as proxy:  # passes the real collector's answers on, counting requests
        client = _client("ffw_nobody", proxy.url, errors)
        for i in range(5):
            client.track("signup", {"i": i}, user_id="u1")
        result = client.flush(timeout=30)
        assert proxy.requests == 1
    assert (result.sent, result.pending, result.dropped, result.rejected) == (0, 0, 5, {"unknown_key": 5})
    (error,) = errors
    assert isinstance(error, footfall.DeliveryError)
    assert (error.status, error.code, error.events, error.outcome) == (401, "unknown_key", 5, "dropped")
    assert "no site has this write key" in str(error)  # the collector's own words
    assert str(error).endswith("5 events dropped, not retried")
    stats = client.stats()
    assert (stats.dropped, stats.rejected) == ({"rejected_by_collector": 5}, {"unknown_key": 5})
    assert "no site has this write key" in str(stats.last_error)
    client.shutdown(timeout=5)


def test_a_read_key_never_leaves_the_process(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with sink() as server:
        client = _client("ffr_E88rTLsRfNaCCRS1ke93z3zHNFahtRwG", server.url, errors)
        (error,) = errors  # at once, before any event
        assert isinstance(error, footfall.DeliveryError)
        assert (str(error), error.code) == (f"{READ_KEY}; events are dropped, not sent", "read_key_as_write_key")
        for _ in range(3):
            client.track("signup", user_id="u1")
        result = client.shutdown(timeout=5)
        assert server.requests == 0
    assert (result.sent, result.pending) == (0, 0)
    assert client.stats().dropped == {"read_key_as_write_key": 3}  # when they were called, counted
    with pytest.raises(footfall.FootfallError, match=r"this is a read key \(ffr_\.\.\.\)"):
        footfall.Client("ffr_x", host=server.url, strict=True)


def test_the_collectors_answer_to_a_read_key_reaches_on_error(collector: Collector) -> None:
    """Should a read key get past the SDK's own check (another client's batch, replayed), the collector's
    read_key_as_write_key becomes the same message."""
    answer = httpx.post(f"{collector.url}/v1/batch", json={"key": collector.site.read_key, "events": [{}]})
    assert (answer.status_code, answer.json()["error"]) == (401, "read_key_as_write_key")
    errors: list[BaseException] = []
    with sink(lambda n: ("answer", 401, {}), bodies={401: answer.content}) as server:
        client = _client("ffw_anything", server.url, errors)
        client.track("signup", user_id="u1")
        result = client.flush(timeout=30)
    (error,) = errors
    assert str(error) == f"{READ_KEY}; 1 events dropped, not retried"
    assert result.rejected == {"read_key_as_write_key": 1}
    client.shutdown(timeout=5)


def _closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("spooled", [False, True])
def test_an_unreachable_collector_is_told_to_on_error_when_the_batch_is_given_up(tmp_path: Path, spooled: bool) -> None:
    errors: list[BaseException] = []

    def on_error(exc: BaseException) -> None:
        errors.append(exc)
        raise RuntimeError("a careless callback")  # must not reach the application either

    host = f"http://127.0.0.1:{_closed_port()}"
    spool = footfall.Spool(str(tmp_path / "spool")) if spooled else None
    client = footfall.Client(
        "ffw_x", host=host, retry=FAST, spool=spool, callbacks=footfall.Callbacks(on_error=on_error)
    )
    for i in range(4):
        client.track("signup", {"i": i}, user_id="u1")
    result = client.flush(timeout=30)
    (error,) = errors  # once per batch given up, not per attempt
    assert isinstance(error, footfall.DeliveryError)
    assert (error.status, error.code, error.events) == (0, "unreachable", 4)
    assert f"the collector at {host} did not take a batch within the retry budget (0.3 s)" in str(error)
    assert "Connection refused" in error.detail
    stats = client.stats()
    assert stats.retries > 0  # each failed attempt before that is counted, not told
    if spooled:
        assert (error.outcome, stats.spooled, stats.dropped) == ("spooled", 4, {})
        assert str(error).endswith("4 events spooled to disk, to be sent when it answers")
    else:
        assert (error.outcome, result.dropped, stats.dropped) == ("dropped", 4, {"retry_budget": 4})
    client.shutdown(timeout=1)


def test_events_the_collector_refused_are_counted_by_its_reason(collector: Collector) -> None:
    errors: list[BaseException] = []
    client = _client(collector.site.write_key, collector.url, errors)
    client.track("", user_id="u1")  # a track needs a name
    client.track("late", user_id="u1", timestamp=datetime.now(UTC) + timedelta(days=3))
    client.track("fine", user_id="u1")
    result = client.flush(timeout=30)
    assert (result.sent, result.dropped) == (1, 2)
    assert result.rejected == {"invalid_event": 1, "timestamp_out_of_range": 1}
    assert client.stats().rejected == {"invalid_event": 1, "timestamp_out_of_range": 1}
    assert client.stats().dropped == {"rejected_by_collector": 2}
    assert errors == []  # the batch was delivered: refused events are data, not a delivery failure
    assert [r["name"] for r in collector.stored(count=1)] == ["fine"]
    client.shutdown(timeout=5)
