"""POST /v1/batch, stage by stage: read the body, decode it, find the site, check each event.

Every refusal is an ApiError with a specific status and a detail that says what and where; a batch
with some bad events keeps the good ones and reports the bad ones by index.
"""

import asyncio
import codecs
import ipaddress
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final, Protocol

import msgspec

from collector import wire
from collector.errors import ApiError
from collector.ingest.ratelimit import RateLimiter, retry_after
from collector.settings import Limits
from collector.sites import Site
from collector.storage.rows import epoch_ms

GZIP_MAGIC: Final = b"\x1f\x8b"
BOM: Final = b"\xef\xbb\xbf"
_MEDIA_TYPES: Final = frozenset({"", "application/json", "text/plain"})
_AT: Final = re.compile(r" - at `\$(.*)`$")


# -- body ---------------------------------------------------------------------------------------


async def read_body(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str,
    content_encoding: str,
    content_length: str | None,
    limits: Limits,
) -> bytes:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in _MEDIA_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {media!r} is not accepted; send application/json or text/plain "
            "(text/plain lets browsers skip the CORS preflight)",
        )
    encoding = content_encoding.strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise ApiError(415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not accepted; use gzip or none")
    if content_length is not None:
        if not content_length.isdigit():
            raise ApiError(400, "bad_content_length", f"Content-Length {content_length!r} is not a number")
        if int(content_length) > limits.max_body_bytes:
            raise _too_large(int(content_length), limits.max_body_bytes)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout_s):  # a client trickling its body holds a task: not forever
            async for chunk in chunks:
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise _too_large(size, limits.max_body_bytes, at_least=True)
                parts.append(chunk)
    except TimeoutError:
        raise ApiError(
            408,
            "body_timeout",
            f"the body did not arrive within {limits.body_timeout_s} s ({size:,} bytes came); send it at once",
        ) from None
    body = b"".join(parts)
    # sendBeacon cannot set Content-Encoding, so a gzip body is also recognised by its magic bytes.
    if encoding == "gzip" or body[:2] == GZIP_MAGIC:
        body = gunzip(body, limit=limits.max_decompressed_bytes)
    if not body:
        raise ApiError(400, "empty_body", "the request body is empty; send a JSON batch")
    return body


def _too_large(size: int, limit: int, *, at_least: bool = False) -> ApiError:
    amount = f"at least {size:,}" if at_least else f"{size:,}"
    return ApiError(
        413,
        "body_too_large",
        f"the body is {amount} bytes; the limit is {limit:,}: send smaller batches",
    )


def gunzip(data: bytes, *, limit: int) -> bytes:
    """Decompress one gzip member, refusing to produce more than `limit` bytes (gzip-bomb guard)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, "invalid_gzip", f"the body is not valid gzip: {exc}") from exc
    if len(out) > limit:
        raise ApiError(
            413,
            "decompressed_too_large",
            f"the body inflates to more than {limit:,} bytes; the limit is {limit:,}: send smaller batches",
        )
    if not inflater.eof:
        raise ApiError(400, "invalid_gzip", "the gzip body is truncated")
    return out


# -- batch --------------------------------------------------------------------------------------


def decode_batch(body: bytes, limits: Limits) -> wire.Batch:
    if body.startswith(BOM):
        body = body[len(BOM) :]
    try:
        batch = wire.batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_batch", _with_path(str(exc), "")) from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        code, problem = undecodable(exc, body)
        raise ApiError(400, code, f"the body {problem}") from exc
    if not batch.events:
        raise ApiError(400, "empty_batch", "`events` is empty - at `$.events`")
    if len(batch.events) > limits.max_events_per_batch:
        raise ApiError(
            413,
            "too_many_events",
            f"the batch has {len(batch.events):,} events; the limit is {limits.max_events_per_batch:,} "
            "per batch - at `$.events`",
        )
    return batch


_UTF8_SLICE: Final = 1 << 16


def undecodable(exc: Exception, data: bytes | msgspec.Raw) -> tuple[str, str]:
    """("invalid_utf8" or "invalid_json", what is wrong) for bytes msgspec refused to decode.

    The one place decode errors are translated. msgspec 0.22 raises UnicodeDecodeError for a string that
    is not UTF-8, 0.23 a DecodeError ("Invalid UTF-8 encoded string") with no position; so the bytes are
    checked here whatever was raised. JSON text must be UTF-8 (RFC 8259), so a bad byte anywhere is the
    answer, and only a refused body pays for the check."""
    if isinstance(exc, RecursionError):
        return "invalid_json", "nests arrays or objects too deeply"
    at = _first_bad_utf8(data)
    if at is not None:
        return "invalid_utf8", f"is not valid UTF-8 at byte {at:,}"
    return "invalid_json", f"is not valid JSON: {exc}"


def _first_bad_utf8(data: bytes | msgspec.Raw) -> int | None:
    """Offset of the first byte that is not UTF-8, else None; in slices, so a big body is not copied whole."""
    view = memoryview(data)
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(view), _UTF8_SLICE):
        held = len(decoder.getstate()[0])  # the start of a character cut by the previous slice
        try:
            decoder.decode(view[start : start + _UTF8_SLICE], final=start + _UTF8_SLICE >= len(view))
        except UnicodeDecodeError as exc:
            return start - held + exc.start
    return None


def _with_path(message: str, prefix: str) -> str:
    """msgspec's '... - at `$.x`' made relative to the whole body ('$.events[3].x')."""
    match = _AT.search(message)
    if match:
        return f"{message[: match.start()]} - at `${prefix}{match.group(1)}`"
    return f"{message} - at `${prefix}`"


# -- site and sender ----------------------------------------------------------------------------


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def client_ip(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """The visitor's address: the peer's, or, behind proxies we trust, the last hop they did not add."""
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def write_key(batch: wire.Batch, query_key: str | None) -> str:
    return check_write_key(batch.key or query_key)


def check_write_key(key: str | None) -> str:
    """The write key a request names (in its body or ?key=), refused when absent or a read key."""
    if not key:
        raise ApiError(401, "missing_key", "no write key: put the site's write key in `key` or in ?key=")
    if key.startswith("ffr_"):  # by its prefix alone: whether it is a real read key is not told here
        raise ApiError(
            401,
            "read_key_as_write_key",
            "this is a read key (ffr_...), which is secret; send the site's write key (ffw_...), which "
            "`footfall site list` shows",
        )
    return key


def check_origin(site: Site, origin: str | None) -> None:
    """Browsers always send Origin on a cross-site POST; servers send none and are trusted by key."""
    if origin is not None and not site.allows_origin(origin):
        raise ApiError(
            403,
            "origin_not_allowed",
            f"origin {origin!r} is not allowed for site {site.name!r}; "
            f"add it with: footfall site origins {site.name} --add {origin}",
        )


def check_rate(limiter: RateLimiter, site: Site, events: int, limits: Limits) -> None:
    rate = site.settings.rate_limit_eps if site.settings.rate_limit_eps is not None else limits.site_rate_eps
    wait_s = limiter.take(site.site_id, events, rate_eps=rate, burst=limits.site_burst_events)
    if wait_s is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"site {site.name!r} is sending more than {rate:,} events/s; retry after the time in Retry-After",
            headers={"Retry-After": retry_after(wait_s)},
        )


# -- events -------------------------------------------------------------------------------------


class Arrived(Protocol):
    """What the event checks read of a request's arrival (collector.enrich.steps.Arrival is one)."""

    @property
    def site(self) -> Site: ...
    @property
    def received_ms(self) -> int: ...
    @property
    def sent_ms(self) -> int | None: ...
    def corrected_ms(self, client_ms: int, age_ms: int | None = None) -> int: ...


@dataclass
class Checked:
    """The events that passed, in order, for enrichment; the others, by index, with the reason."""

    events: list[wire.AnyEvent] = field(default_factory=list)
    rejected: list[wire.Rejected] = field(default_factory=list)

    def reject(self, index: int, reason: str, message: str) -> None:
        self.rejected.append(wire.Rejected(index=index, error=message, reason=reason))


def check_events(batch: wire.Batch, arrival: Arrived, *, limits: Limits) -> Checked:
    site, received_ms, sent_ms = arrival.site, arrival.received_ms, arrival.sent_ms
    newest_ms = (sent_ms if sent_ms is not None else received_ms) + limits.max_future_s * 1000
    oldest_ms = received_ms - site.settings.retention_days * 86_400_000
    out = Checked()
    seen: set[object] = set()
    for index, raw in enumerate(batch.events):
        here = f".events[{index}]"
        try:
            event = wire.event_decoder.decode(raw)
        except msgspec.ValidationError as exc:
            out.reject(index, "invalid_event", _with_path(str(exc), here))
            continue
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            out.reject(index, "invalid_event", f"the event {undecodable(exc, raw)[1]} - at `${here}`")
            continue
        problem = _check_nesting(event, raw, limits)
        if problem:
            field_name, message = problem
            out.reject(index, "properties_too_large", f"{message} - at `${here}.{field_name}`")
            continue
        client_ms = epoch_ms(event.ts)
        if client_ms > newest_ms:
            out.reject(
                index,
                "timestamp_out_of_range",
                f"ts is more than {limits.max_future_s // 3600}h after the batch was sent - at `${here}.ts`",
            )
            continue
        if arrival.corrected_ms(client_ms, event.age_ms) < oldest_ms:
            out.reject(
                index,
                "timestamp_out_of_range",
                f"ts is older than site {site.name!r} keeps events "
                f"({site.settings.retention_days} days) - at `${here}.ts`",
            )
            continue
        if event.id in seen:
            out.reject(index, "duplicate_id", f"id {event.id} appears twice in this batch - at `${here}.id`")
            continue
        seen.add(event.id)
        out.events.append(event)
    return out


def _check_nesting(event: wire.AnyEvent, raw: msgspec.Raw, limits: Limits) -> tuple[str, str] | None:
    """(field, what is wrong) for properties or traits over the limits, else None."""
    for name in ("properties", "traits", "traits_once"):
        value = getattr(event, name, None)
        if not value:
            continue
        if len(raw) > limits.max_properties_bytes:  # cheap bound first; encode only when it could be over
            size = len(msgspec.json.encode(value))
            if size > limits.max_properties_bytes:
                return name, f"{name} are {size:,} bytes as JSON; the limit is {limits.max_properties_bytes:,}"
        if _depth(value, limits.max_properties_depth) > limits.max_properties_depth:
            return name, f"{name} nest deeper than {limits.max_properties_depth} levels"
    return None


def _depth(value: object, cap: int) -> int:
    """Nesting depth of objects/arrays (a flat object is 1), counting no further than cap + 1."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > cap:
            return deepest
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest
