"""A golden copy of what goes on the wire: the batch body is a contract with the collector."""

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import footfall
from faultserver import sink

GOLDEN = Path(__file__).with_name("golden_batch.json")


def test_the_batch_body_matches_the_golden_copy() -> None:
    random.seed(7)
    with sink() as server:
        c = footfall.Client("ffw_golden", host=server.url, batching=footfall.Batching(gzip=False))
        at = datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)
        c.track("signup", {"plan": "pro", "seats": 3}, user_id="u42", timestamp=at, context={"ip": "81.2.69.160"})
        c.identify("u42", {"name": "Ann"}, timestamp=at, consent={"marketing": False})
        c.page("Home", url="https://shop.example/", anonymous_id="a1", timestamp=at)
        c.shutdown(timeout=10)
    (body,) = server.bodies
    body["sent_at"] = "<sent_at>"
    for event in body["events"]:
        event["id"] = "<uuid7>" if event["id"][14] == "7" else event["id"]
    body["context"]["library"]["version"] = "<version>"
    if not GOLDEN.exists():  # write it once, then review it like code
        GOLDEN.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    assert body == json.loads(GOLDEN.read_text())
