"""The SDK against the real collector (uvicorn on loopback, embedded ClickHouse): every verb lands."""

import itertools
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import footfall
import footfall._pipeline
import pytest
from support import CHROME, Collector


class Plan(Enum):
    PRO = "pro"


class _SlowSerialising:
    """`time` as the SDK's pipeline sees it, with 5 ms more at each monotonic reading: as if serialising
    each event took that long (a cold encoder, a slow before_send)."""

    def __init__(self) -> None:
        self.reads = itertools.count()

    def monotonic(self) -> float:
        return time.monotonic() + 0.005 * next(self.reads)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_calls_keep_their_order_in_time(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector places events by their age when sent: one clock reading per batch keeps the calls'
    order however long serialising takes (each event read the clock as it was serialised, once, so the
    first one of a batch came out last)."""
    monkeypatch.setattr(footfall._pipeline, "time", _SlowSerialising())
    client = footfall.Client(collector.site.write_key, host=collector.url)
    for n in range(20):
        client.track(f"step-{n:02d}", user_id="u42")
    assert client.shutdown(timeout=30).pending == 0
    rows = collector.stored(count=20)
    by_time = [r["name"] for r in sorted(rows, key=lambda r: (r["timestamp"], r["name"]))]  # a tie: call order
    assert by_time == [f"step-{n:02d}" for n in range(20)]


def test_every_verb_lands_with_its_fields(collector: Collector) -> None:
    client = footfall.Client(collector.site.write_key, host=collector.url)
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    client.track(
        "order_completed", {"total": Decimal("19.99"), "plan": Plan.PRO, "tags": {"b", "a"}, "at": at}, user_id="u42"
    )
    client.identify("u42", {"plan": "pro", "name": "Ann"}, anonymous_id="a1")
    client.page("Pricing", {"section": "top"}, url="https://shop.example/pricing", anonymous_id="a1")
    client.group("acme", {"seats": 12}, user_id="u42")
    client.alias("u42", "a1")
    result = client.shutdown(timeout=30)
    assert (result.sent, result.pending, result.dropped) == (5, 0, 0)
    rows = {r["type"]: r for r in collector.stored(count=5)}
    track = rows["track"]
    assert (track["name"], track["user_id"], track["library"]) == ("order_completed", "u42", "footfall-python")
    assert json.loads(track["properties"]) == {
        "total": 19.99,
        "plan": "pro",
        "tags": ["a", "b"],
        "at": "2026-11-22T09:00:00Z",
    }
    assert json.loads(rows["identify"]["traits"]) == {"plan": "pro", "name": "Ann"}
    assert (rows["pageview"]["name"], rows["pageview"]["path"]) == ("Pricing", "/pricing")
    assert rows["group"]["group_id"] == "acme"
    assert rows["alias"]["previous_id"] == "a1"
    assert all(r["event_id"] and r["age_ms"] is not None for r in rows.values())


def test_consent_and_masking_are_applied_before_anything_leaves(collector: Collector) -> None:
    seen: list[dict[str, object]] = []

    def before_send(event: dict[str, object]) -> dict[str, object] | None:
        seen.append(event)
        return None if event.get("name") == "internal" else event

    client = footfall.Client(
        collector.site.write_key,
        host=collector.url,
        consent={"marketing": False},
        masking=footfall.Masking(hash_keys=("email",), hash_salt="s3"),
        callbacks=footfall.Callbacks(before_send=before_send),
    )
    client.track("denied", {"x": 1}, user_id="u1", consent={"analytics": False})
    client.track("internal", {"x": 1}, user_id="u1")
    client.track(
        "kept",
        {"email": "ann@example.org", "note": "card 4111 1111 1111 1111", "password": "hunter2"},
        user_id="u1",
        context={"ip": "81.2.69.160", "user_agent": CHROME},
    )
    client.shutdown(timeout=30)
    assert [e["name"] for e in seen] == ["internal", "kept"]  # the denied one was never serialised
    assert client.stats().dropped == {"no_consent": 1, "before_send": 1}
    (row,) = collector.stored(count=1)
    props = json.loads(row["properties"])
    assert "password" not in props
    assert props["note"] == "card [card]"
    assert len(props["email"]) == 64
    assert "ann" not in props["email"]
    assert row["consent_marketing"] is False
