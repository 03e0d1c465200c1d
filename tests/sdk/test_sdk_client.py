"""The SDK against the real collector (uvicorn on loopback, embedded ClickHouse): every verb lands."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

import footfall
from support import CHROME, Collector


class Plan(Enum):
    PRO = "pro"


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
