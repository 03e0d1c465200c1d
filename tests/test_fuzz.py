"""Hostile input against the real server: structured batches with hostile values, the read API driven
by schemathesis from its own OpenAPI spec, and a corpus of inputs kept because they are nasty. No
answer may be a 5xx; every refusal is a JSON error naming what is wrong. (Random bytes and gzip bombs
at the decoder: tests/ingest/test_batch.py.)"""

import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import httpx
import payloads
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import rss_kb, serving
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from support import NOW, Collector, tried

from collector.reports import openapi

CORPUS = Path(__file__).parent / "corpus"
REFUSALS = {400, 401, 403, 408, 413, 415, 422, 429}  # 401: a hostile value may replace the key


def check_answer(answer: Any, what: object) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.text[:500])
    if answer.status_code == 202:
        assert {"accepted", "rejected"} <= set(answer.json())
    else:
        assert answer.status_code in REFUSALS, (what, answer.status_code, answer.text[:500])
        body = answer.json()
        assert body["error"], what
        assert body["detail"], what


# -- structured batches with hostile values ------------------------------------------------------

HOSTILE: list[Any] = [
    None, True, -1, 0, 2**64, -(2**63) - 1, 10**400, 1e308, float("nan"), float("inf"), float("-inf"),
    "", "\u0000", "\ud800", "x" * 70_000, [], {}, [[[[[[[[[[[]]]]]]]]]]], {"a": {"b": {"c": {"d": {"e": {"f": {}}}}}}},
    "2026-02-30T25:61:00Z", "1e999", "<script>alert(1)</script>", "' OR 1=1 --",
]  # fmt: skip


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": [value]}
    return value


def dict_events(batch: dict[str, Any]) -> bool:
    """The batch still has a non-empty list of objects as its events (an earlier change may have replaced it)."""
    events = batch.get("events")
    return isinstance(events, list) and bool(events) and all(isinstance(e, dict) for e in events)


@st.composite
def hostile_bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str], str]:
    """A valid batch from the shared generator (the key goes in the query, as a beacon sends it), then one
    to three hostile changes, as JSON text or bytes."""
    visitor = payloads.Visitor(random.Random(draw(st.integers(0, 2**32))))
    made = payloads.browser_events(visitor, draw(st.integers(1, 5)), NOW) + payloads.server_events(visitor, 1, NOW)
    batch: dict[str, Any] = json.loads(payloads.encode(made, NOW, key=None, library=payloads.SNIPPET_LIBRARY))
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["batch", "event", "properties", "context"]))
        value = draw(st.sampled_from([*HOSTILE, nested(draw(st.integers(6, 200)))]))
        if where == "batch":
            field = draw(st.sampled_from(["events", "sent_at", "context", "key", "extra"]))
            batch[field] = value
        elif where == "event" and dict_events(batch):
            event = batch["events"][draw(st.integers(0, len(batch["events"]) - 1))]
            field = draw(st.sampled_from([*sorted(event), "x", "points", "depth", "type", "id", "ts"]))
            event[field] = value
        elif where == "properties" and dict_events(batch):
            batch["events"][0]["properties"] = {"v": value}
        else:
            batch["context"] = {"consent": value, "library": value}
        changes.append((where, repr(value)[:40]))
    text = json.dumps(batch, allow_nan=True)  # NaN and Infinity as JavaScript writes them
    body = text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8
    if draw(st.booleans()):
        body = body.replace(b'"type": ', b'"type": "click", "type": ', 1)  # duplicate keys
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + b"\xff\xfe" + body[cut:]  # bad UTF-8 anywhere
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain;charset=UTF-8"]))}
    if draw(st.booleans()):
        body = gzip.compress(body)
        if draw(st.booleans()):
            headers["Content-Encoding"] = "gzip"
    return body, headers, repr(changes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=hostile_bodies())
def test_hostile_batches_get_4xx_or_202_never_5xx(
    collector: Collector, case: tuple[bytes, dict[str, str], str]
) -> None:
    body, headers, changes = case
    answer = collector.http.post("/v1/batch", content=body, headers=headers, params={"key": collector.site.write_key})
    tried["fuzz: hostile batches to /v1/batch"][str(answer.status_code)] += 1
    check_answer(answer, changes)


# -- the read API, from its OpenAPI spec ----------------------------------------------------------

# One test per operation, drawing valid requests and requests the spec forbids, each with an id of its
# own: schema.parametrize() gives all of them one node id, and pytest-xdist, which schedules by id, then
# ran a single one of the 19 operations.
OPERATIONS = [
    result.ok()
    for result in schemathesis.openapi.from_dict(openapi.spec()).get_all_operations()
    if isinstance(result, Ok)
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_read_api_answers_whatever_it_is_sent_without_a_5xx(
    operation: Any, data: st.DataObject, collector: Collector
) -> None:
    mode = data.draw(st.sampled_from(list(GenerationMode)))
    case = data.draw(operation.as_strategy(generation_mode=mode))
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {collector.site.read_key}"}  # not a made-up one
    answer = case.call(base_url=collector.url)
    tried["fuzz: read API requests from its OpenAPI spec (schemathesis)"][str(answer.status_code)] += 1
    assert answer.status_code < 500, (case.path, case.query, answer.status_code, answer.text[:500])
    if answer.status_code != 200:
        assert answer.status_code in (400, 401, 404, 405, 422), (case.method, case.path, case.query, answer.status_code)
        assert answer.json()["error"]


def test_the_read_api_refuses_other_methods_with_a_405(collector: Collector) -> None:
    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    for path in sorted({re.sub(r"\{[^}]+\}", "x", operation.path) for operation in OPERATIONS}):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            answer = collector.http.request(method, path, headers=auth)
            tried["fuzz: read API requests from its OpenAPI spec (schemathesis)"][str(answer.status_code)] += 1
            assert answer.status_code == 405, (method, path, answer.status_code)
            assert answer.json()["error"]


# -- the corpus -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CORPUS.glob("batch/*")), ids=lambda p: p.name)
def test_every_input_in_the_corpus_gets_its_answer(collector: Collector, path: Path) -> None:
    """Each file is a body sent as it is; its name starts with the status it must get (202 or a 4xx)."""
    expected = int(path.name.split("-", 1)[0])
    headers = {"Content-Type": "application/json"}
    key = {"key": collector.site.write_key}
    answer = collector.http.post("/v1/batch", content=path.read_bytes(), headers=headers, params=key)
    tried["fuzz: corpus inputs"][str(answer.status_code)] += 1
    check_answer(answer, path.name)
    assert answer.status_code == expected, (path.name, answer.text[:300])


@pytest.mark.parametrize("path", sorted(CORPUS.glob("read/*")), ids=lambda p: p.name)
def test_every_read_request_in_the_corpus_gets_its_answer(collector: Collector, path: Path) -> None:
    """Each file is one request line (path and query) to the read API, named for the status it must get."""
    expected = int(path.name.split("-", 1)[0])
    auth = {"Authorization": f"Bearer {collector.site.read_key}"}
    answer = collector.http.get(path.read_text().strip(), headers=auth)
    tried["fuzz: corpus inputs"][str(answer.status_code)] += 1
    assert answer.status_code == expected, (path.name, answer.text[:300])
    if expected >= 400:
        assert answer.json()["error"]


def test_the_corpus_leaves_a_collectors_memory_bounded(tmp_path: Path) -> None:
    """Every corpus input ten times at a real `footfall serve` (gzip bombs, deep nesting, 10,000 events):
    its memory grows by a bounded amount, not with what the inputs would inflate to."""
    inputs = sorted(CORPUS.glob("batch/*"))  # bodies; the read corpus is small requests
    with serving(tmp_path / "data") as served:
        key = re.search(r"write key: (ffw_\S+)", "".join(served.output)).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=served.url, timeout=30) as http:
            http.post("/v1/batch", content=inputs[0].read_bytes(), params={"key": key})  # warm: first request
            before = rss_kb(served.process.pid)
            for _ in range(10):
                for path in inputs:
                    answer = http.post("/v1/batch", content=path.read_bytes(), params={"key": key})
                    assert answer.status_code < 500, (path.name, answer.text[:300])
            after = rss_kb(served.process.pid)
    tried["fuzz: corpus inputs at a served collector"]["requests"] += 10 * len(inputs)
    print(f"{10 * len(inputs)} corpus requests: RSS {before >> 10} -> {after >> 10} MiB")
    assert after - before < 64 * 1024
