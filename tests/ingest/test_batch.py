"""Ingest stages without HTTP: body limits, gzip, decoding and per-event checks."""

import asyncio
import gzip
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import NOW, NOW_MS, iso

from collector import wire
from collector.enrich.steps import Arrival
from collector.errors import ApiError
from collector.ingest import batch as ingest
from collector.server.intake import admit
from collector.settings import Limits
from collector.sites import Site, SiteSettings
from collector.storage.rows import EventRow, epoch_ms, epoch_text

LIMITS = Limits()
SITE = Site(
    site_id=7,
    name="shop",
    allowed_origins=("https://shop.example",),
    write_key="w",
    read_key_sha256="r",
    settings=SiteSettings(retention_days=30),
)


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def read(
    parts: list[bytes],
    *,
    ctype: str = "application/json",
    enc: str = "",
    length: str | None = None,
    limits: Limits = LIMITS,
) -> bytes:
    return asyncio.run(
        ingest.read_body(_chunks(parts), content_type=ctype, content_encoding=enc, content_length=length, limits=limits)
    )


def refused(fn: Any, *args: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        fn(*args, **kwargs)
    return caught.value


def test_body_is_joined_and_gzip_recognised_by_header_or_magic() -> None:
    assert read([b'{"a":', b"1}"]) == b'{"a":1}'
    packed = gzip.compress(b'{"a":1}')
    assert read([packed], enc="gzip") == b'{"a":1}'
    assert read([packed[:5], packed[5:]], ctype="text/plain;charset=UTF-8") == b'{"a":1}'


def test_body_limits_apply_to_declared_streamed_and_inflated_sizes() -> None:
    small = Limits(max_body_bytes=10, max_decompressed_bytes=20)
    assert refused(read, [b"x"], length="11", limits=small).status == 413
    streamed = refused(read, [b"12345", b"678901"], limits=small)
    assert (streamed.status, streamed.code) == (413, "body_too_large")
    bomb = refused(read, [gzip.compress(b"{" + b" " * 100 + b"}")], limits=Limits(max_decompressed_bytes=20))
    assert (bomb.status, bomb.code) == (413, "decompressed_too_large")
    assert refused(read, [b"x"], length="ten").code == "bad_content_length"


def test_a_body_that_trickles_past_the_timeout_gets_a_408() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"events": ['
        await asyncio.Event().wait()  # the rest never comes
        yield b"]}"

    async def slow_read() -> bytes:
        return await ingest.read_body(
            trickle(), content_type="application/json", content_encoding="", content_length="900000",
            limits=Limits(body_timeout_s=0.05),
        )  # fmt: skip

    error = refused(asyncio.run, slow_read())
    assert (error.status, error.code) == (408, "body_timeout")
    assert "12 bytes came" in error.detail


def test_gzip_bomb_is_stopped_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))
    error = refused(ingest.gunzip, bomb, limit=1 << 20)
    assert error.code == "decompressed_too_large"


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_never_escape_as_anything_but_api_errors(data: bytes) -> None:
    status = 202
    try:
        body = read([data])
        batch = ingest.decode_batch(body, LIMITS)
        ingest.check_events(batch, arrive(batch), limits=LIMITS)
    except ApiError as exc:
        status = exc.status
    assert status == 202 or 400 <= status < 500


def arrive(batch: wire.Batch) -> Arrival:
    sent_ms = None if batch.sent_at is None else epoch_ms(batch.sent_at)
    return Arrival(site=SITE, received_ms=NOW_MS, sent_ms=sent_ms, context=batch.context)


def event(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "track", "name": "x", "ts": iso(NOW), **fields}


@dataclass
class Outcome:
    rows: list[EventRow]
    rejected: list[wire.Rejected]


def checked_and_enriched(batch: wire.Batch, limits: Limits = LIMITS) -> Outcome:
    """What POST /v1/batch makes of a decoded batch: the events checked, then those that pass enriched."""
    checked, enriched = admit(batch, arrive(batch), limits)
    return Outcome(rows=enriched.rows, rejected=checked.rejected)


def check(*events: dict[str, Any], sent_at: str | None = iso(NOW), limits: Limits = LIMITS) -> Outcome:
    body: dict[str, Any] = {"events": list(events)}
    if sent_at:
        body["sent_at"] = sent_at
    batch = ingest.decode_batch(json.dumps(body).encode(), limits)
    return checked_and_enriched(batch, limits)


def test_errors_carry_the_path_from_the_top_of_the_body() -> None:
    checked = check(
        event(), event(x=1, type="click", y="high"), event(properties={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})
    )
    assert len(checked.rows) == 1
    assert [(r.index, r.reason) for r in checked.rejected] == [(1, "invalid_event"), (2, "properties_too_large")]
    assert checked.rejected[0].error == "Expected `int`, got `str` - at `$.events[1].y`"
    assert checked.rejected[1].error.endswith("- at `$.events[2].properties`")


def test_duplicate_ids_within_a_batch_are_stored_once() -> None:
    first = event()
    checked = check(first, {**first, "name": "again"})
    assert len(checked.rows) == 1
    assert checked.rejected[0].reason == "duplicate_id"


def test_time_window_follows_sent_at_and_the_sites_retention() -> None:
    ok_future = event(ts=iso(NOW + timedelta(hours=2)))  # ahead of sent_at, within 24 h: clamped to arrival
    checked = check(ok_future)
    assert checked.rows[0].timestamp == epoch_text(NOW_MS)
    assert check(event(ts=iso(NOW + timedelta(days=2)))).rejected[0].reason == "timestamp_out_of_range"
    # A client whose clock is a year behind: its events are a year "old" but it says so in sent_at.
    year_ago = NOW - timedelta(days=365)
    checked = check(event(ts=iso(year_ago - timedelta(minutes=1))), sent_at=iso(year_ago))
    assert checked.rows[0].timestamp == epoch_text(NOW_MS - 60_000)
    # Without sent_at the same event is older than the site keeps (30 days).
    assert (
        check(event(ts=iso(year_ago - timedelta(minutes=1))), sent_at=None)
        .rejected[0]
        .error.startswith("ts is older than site 'shop' keeps events (30 days)")
    )


def test_rows_take_site_consent_library_and_retention() -> None:
    body = {
        "sent_at": iso(NOW),
        "context": {"library": {"name": "footfall-js", "version": "1.2"}, "consent": {"marketing": False}},
        "events": [event(anonymous_id="a", url="https://shop.example/a/b?utm_campaign=x#top")],
    }
    batch = ingest.decode_batch(json.dumps(body).encode(), LIMITS)
    (row,) = checked_and_enriched(batch).rows
    assert (row.site_id, row.retention_days, row.library, row.library_version) == (7, 30, "footfall-js", "1.2")
    assert (row.consent_analytics, row.consent_heatmaps, row.consent_marketing) == (True, True, False)
    assert (row.path, row.utm_campaign) == ("/a/b", "x")


def test_origin_is_checked_only_when_a_browser_sends_one() -> None:
    ingest.check_origin(SITE, None)
    ingest.check_origin(SITE, "https://shop.example")
    assert refused(ingest.check_origin, SITE, "https://other.example").status == 403


def test_a_utf8_bom_is_tolerated() -> None:
    batch = ingest.decode_batch(b"\xef\xbb\xbf" + json.dumps({"events": [event()]}).encode(), LIMITS)
    assert len(batch.events) == 1


def test_bytes_that_are_not_utf8_are_invalid_utf8_at_their_offset_in_the_body_or_the_event() -> None:
    error = refused(ingest.decode_batch, b'{"events": [], "key": "ab\xff"}', LIMITS)
    assert (error.status, error.code) == (400, "invalid_utf8")
    assert error.detail == "the body is not valid UTF-8 at byte 25"
    # msgspec leaves an event's bytes alone until the event is decoded: rejected by index, the rest kept.
    body = json.dumps({"events": [event(), event(name="bad")]}).encode().replace(b'"bad"', b'"\xc3"')
    batch = ingest.decode_batch(body, LIMITS)
    checked = checked_and_enriched(batch)
    assert len(checked.rows) == 1
    (rejected,) = checked.rejected
    assert (rejected.index, rejected.reason) == (1, "invalid_event")
    assert rejected.error.startswith("the event is not valid UTF-8 at byte ")
    assert rejected.error.endswith(" - at `$.events[1]`")


@pytest.mark.parametrize(
    "raised",
    [
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),  # msgspec 0.22
        msgspec.DecodeError("Invalid UTF-8 encoded string"),  # msgspec 0.23
    ],
    ids=["msgspec-0.22", "msgspec-0.23"],
)
def test_either_msgspecs_utf8_error_is_invalid_utf8(raised: Exception) -> None:
    assert ingest.undecodable(raised, b'{"key": "\xff"}') == ("invalid_utf8", "is not valid UTF-8 at byte 9")
    code, problem = ingest.undecodable(msgspec.DecodeError("JSON is malformed"), b'{"key": "\xc3\xbc"')
    assert (code, problem) == ("invalid_json", "is not valid JSON: JSON is malformed")


def test_the_utf8_check_finds_a_character_cut_between_its_slices() -> None:
    for before in range(65_530, 65_540):  # a three-byte character across the 64 KiB slice boundary
        assert ingest.undecodable(ValueError(), b"a" * before + "\u20ac".encode() + b"\xff")[1].endswith(
            f"at byte {before + 3:,}"
        )
        assert ingest.undecodable(ValueError(), b"a" * before + b"\xe2\x82")[1].endswith(f"at byte {before:,}")


def test_too_many_events_counts_them() -> None:
    error = refused(ingest.decode_batch, json.dumps({"events": [{}] * 3}).encode(), Limits(max_events_per_batch=2))
    assert (error.status, error.code) == (413, "too_many_events")


def test_wire_decoders_cover_every_type() -> None:
    assert set(wire.EVENT_TYPES) == {
        "pageview",
        "track",
        "identify",
        "group",
        "alias",
        "click",
        "rageclick",
        "deadclick",
        "move",
        "scroll",
    }
