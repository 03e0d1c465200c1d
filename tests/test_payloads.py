"""The shared traffic generator (loadtests/payloads.py): what it makes is what the collector accepts."""

import gzip
import random

import msgspec
import payloads
import pytest

from collector import wire
from collector.settings import Limits

NOW = payloads.utcnow()


def decode(payload: payloads.Payload) -> list[wire.AnyEvent]:
    body = payload.body
    if body[:2] == b"\x1f\x8b":  # gzip, by header (SDK) or by magic bytes (a beacon)
        body = gzip.decompress(body)
    batch = wire.batch_decoder.decode(body)
    return [wire.event_decoder.decode(raw) for raw in batch.events]


@pytest.mark.parametrize("compress", [False, True])
def test_every_payload_decodes_with_the_collectors_own_types(compress: bool) -> None:
    visitor = payloads.Visitor(random.Random(1))
    key = "ffw_test"
    made = [
        payloads.json_batch(visitor, key, payloads.browser_events(visitor, 20, NOW), NOW),
        payloads.beacon(visitor, key, payloads.browser_events(visitor, 7, NOW), NOW, compress=compress),
        payloads.sdk_batch(visitor, key, payloads.server_events(visitor, 150, NOW), NOW),
    ]
    kinds: set[str] = set()
    for payload in made:
        events = decode(payload)
        assert len(events) == payload.events
        assert [e.id for e in events] == list(payload.ids)
        kinds |= {type(e).__struct_config__.tag for e in events}  # type: ignore[misc]
    assert {"pageview", "click", "move", "scroll", "track", "identify"} <= kinds
    assert made[1].path == f"/v1/batch?key={key}"
    assert made[1].headers["Content-Type"].startswith("text/plain")
    assert made[2].headers["Content-Encoding"] == "gzip"
    assert "Origin" not in made[2].headers  # a server SDK is not a browser


def test_ids_are_unique_across_visitors_and_batches() -> None:
    ids: list[object] = []
    for seed in range(20):
        visitor = payloads.Visitor(random.Random(seed))
        for _ in range(5):
            ids += [e.id for e in payloads.browser_events(visitor, 20, NOW)]
    assert len(ids) == len(set(ids)) == 2000


def test_payload_bodies_pass_the_collectors_limits() -> None:
    visitor = payloads.Visitor(random.Random(2))
    events = payloads.server_events(visitor, 200, NOW)
    sent = payloads.sdk_batch(visitor, "ffw_x", events, NOW).body
    body = gzip.decompress(sent)
    limits = Limits()
    assert len(sent) < limits.max_body_bytes
    assert len(body) < limits.max_decompressed_bytes
    assert len(events) <= limits.max_events_per_batch
    assert msgspec.json.decode(body)["events"][0]["context"]["user_agent"] == visitor.user_agent
