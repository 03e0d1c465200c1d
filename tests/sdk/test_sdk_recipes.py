"""Sync mode, the disk spool, the host recipes, and drops reported to the collector."""

import subprocess
import sys
import types

import footfall
import pytest
from faultserver import failing_for, sink
from footfall.integrations import flush_after, gunicorn_worker_exit
from support import Collector, wait_until


def test_sync_mode_sends_before_the_call_returns() -> None:
    with sink() as server:
        client = footfall.Client("ffw_test", host=server.url, sync_mode=True)
        client.track("e", {"n": 1})
        assert len(server.ids) == 1
        assert client.stats().mode == "sync"
        client.shutdown(timeout=5)


def test_flush_after_sends_a_handlers_events_before_it_returns() -> None:
    with sink() as server:
        client = footfall.Client("ffw_test", host=server.url, batching=footfall.Batching(interval_s=60))

        @flush_after(client)
        def handler(n: int) -> int:
            client.track("handled", {"n": n})
            return n * 2

        assert handler(21) == 42
        assert len(server.ids) == 1
        gunicorn_worker_exit(client)(None, None)
        assert client.stats().queued == 0


def test_what_could_not_be_delivered_waits_on_disk_and_goes_later(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "spool"
    retry = footfall.Retry(base_s=0.01, cap_s=0.05, budget_s=0.3)
    with sink(failing_for(3600)) as down:
        client = footfall.Client("ffw_test", host=down.url, retry=retry, spool=footfall.Spool(str(folder)))
        for i in range(30):
            client.track("e", {"i": i})
        client.flush(timeout=10)
        assert client.stats().spooled == 30
        assert client.stats().dropped == {}
        client.shutdown(timeout=1)
    assert list(folder.glob("*.batch"))
    with sink() as up:  # the application starts again; the collector answers
        again = footfall.Client("ffw_test", host=up.url, spool=footfall.Spool(str(folder)))
        again.track("new")
        wait_until(lambda: len(up.unique()) == 31, what="the spooled batch and the new event")
        again.shutdown(timeout=5)
    assert not list(folder.glob("*.batch"))


def test_drops_in_the_sdk_reach_the_sites_counters(collector: Collector) -> None:
    client = footfall.Client(collector.site.write_key, host=collector.url)
    client.track("denied", consent={"analytics": False})
    client.track("kept")
    client.shutdown(timeout=30)
    query = "SELECT outcome, reason, sum(events) AS n FROM footfall.ingest_counters GROUP BY ALL ORDER BY ALL"
    expected = [
        {"outcome": "accepted", "reason": "", "n": 1},
        {"outcome": "dropped_by_sdk", "reason": "no_consent", "n": 1},
    ]
    wait_until(lambda: collector.store.query(query) == expected, what="the SDK's drop in the counters")


def test_an_oversize_event_is_trimmed_and_counted_not_raised() -> None:
    with sink() as server:
        client = footfall.Client("ffw_test", host=server.url)
        client.track("big", {"blob": "x" * 40_000})
        client.shutdown(timeout=10)
        (event,) = server.bodies[0]["events"]
        assert event["properties"] == {"$truncated_bytes": 40_011}
        assert client.stats().dropped == {"truncated": 1}


def test_calls_never_raise_into_the_app_unless_strict() -> None:
    errors: list[BaseException] = []
    quiet = footfall.Client("ffw_test", send=False, callbacks=footfall.Callbacks(on_error=errors.append))
    quiet.track("e", ["not", "a", "mapping"])  # type: ignore[arg-type]
    assert len(errors) == 1
    strict = footfall.Client("ffw_test", send=False, strict=True)
    with pytest.raises(footfall.FootfallError):
        strict.track("e", ["not", "a", "mapping"])  # type: ignore[arg-type]


def test_a_uwsgi_without_threads_is_detected_and_said(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uwsgi", types.SimpleNamespace(opt={}))
    with sink() as server:
        client = footfall.Client("ffw_test", host=server.url)
        client.track("e")
        assert client.stats().mode == "sync"
        assert len(server.ids) == 1
        client.shutdown(timeout=5)
    assert "uWSGI runs without --enable-threads" in caplog.text


def test_events_still_queued_at_exit_are_sent(tmp_path: object) -> None:
    with sink() as server:
        code = (
            "import footfall\n"
            f"c = footfall.Client('ffw_test', host='{server.url}', batching=footfall.Batching(interval_s=60))\n"
            "for i in range(25): c.track('e', {'i': i})\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        assert len(server.unique()) == 25
