"""What pages and SDKs call: GET /s/<key>.js, the snippet, and POST /v1/batch, the write path, one stage
after the other: the batch read and checked (collector.ingest), each event enriched (collector.enrich),
the request's record appended to the spool (collector.storage), and only then a 202."""

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from collector import wire
from collector.enrich.steps import Arrival, Enriched, enrich_all
from collector.errors import ApiError, Overloaded, StoreError
from collector.faults import crash_point
from collector.ingest import batch as ingest
from collector.metrics import Metrics
from collector.server import samples, snippet
from collector.server.responses import JSON, cors_headers, error_response
from collector.settings import Limits
from collector.sites import Site
from collector.storage.rows import SampleRow, encode
from collector.storage.segments import Record
from collector.storage.site_registry import Sites

log = logging.getLogger("footfall")


# -- ingest -------------------------------------------------------------------------------------


async def body_of(request: Request, limits: Limits) -> bytes:
    """The request's body, decompressed, within `limits` (a batch's or a snapshot upload's)."""
    headers = request.headers
    return await ingest.read_body(
        request.stream(),
        content_type=headers.get("content-type", ""),
        content_encoding=headers.get("content-encoding", ""),
        content_length=headers.get("content-length"),
        limits=limits,
    )


async def batch(request: Request) -> Response:
    state = request.app.state
    limits = state.settings.limits
    headers = request.headers
    body = await body_of(request, limits)
    received_ms = state.now_ms()
    decoded = ingest.decode_batch(body, limits)
    query_key = None if decoded.key else request.query_params.get("key")  # parse the URL only when needed
    site = await site_for_write_key(state, ingest.write_key(decoded, query_key))
    origin = headers.get("origin")
    try:
        ingest.check_origin(site, origin)
        ingest.check_rate(state.rate_limiter, site, len(decoded.events), limits)
    except ApiError as exc:
        await _count_refused_batch(state, site, decoded, exc, received_ms=received_ms, origin=origin)
        raise
    cors = cors_headers(origin)
    peer = request.client.host if request.client else ""
    arrival = await state.enricher.arrival(
        site,
        decoded,
        received_ms=received_ms,
        peer_ip=ingest.client_ip(peer, headers.get("x-forwarded-for"), state.proxies),
        user_agent=headers.get("user-agent", ""),
        browser=origin is not None,
    )
    checked, enriched = admit(decoded, arrival, limits)
    _count_refusals(state.metrics, checked)
    record = Record(
        site_id=site.site_id,
        hour=received_ms // 3_600_000 * 3600,
        rows=encode(enriched.rows) if enriched.rows else b"",
        ids=[row.event_id for row in enriched.rows],
        counters=_counters(checked, enriched, decoded.context.sdk_dropped),
        received_ms=received_ms,
        samples=_encoded(samples.of_request(state.sampler, decoded, arrival, checked, enriched)),
    )
    # 202 only once the rows are on disk; with nothing to store the counts need not wait.
    crash_point("ingest.before_append")
    await state.spool.append(record, durable=bool(enriched.rows))
    state.metrics.accepted.inc(by=len(enriched.rows))
    # Events dropped by policy (no consent, bots) were taken as sent: the client must not resend them.
    answer = wire.Accepted(accepted=len(enriched.rows) + enriched.dropped.total(), rejected=checked.rejected)
    if not enriched.rows and checked.rejected and not enriched.dropped:
        first = checked.rejected[0]
        return JSON(
            {"error": "invalid_events", "detail": first.error, **msgspec.to_builtins(answer)},
            status_code=400,
            headers=cors,
        )
    return JSON(answer, status_code=202, headers=cors)


def admit(batch: wire.Batch, arrival: Arrival, limits: Limits) -> tuple[ingest.Checked, Enriched]:
    """A decoded batch's events checked one by one (collector.ingest), then those that pass enriched."""
    checked = ingest.check_events(batch, arrival, limits=limits)
    return checked, enrich_all(checked.events, arrival, examples_per_reason=samples.PER_REQUEST)


async def _count_refused_batch(
    state: Any, site: Site, batch: wire.Batch, refusal: ApiError, *, received_ms: int, origin: str | None
) -> None:
    """A batch of a known site refused as a whole (origin, rate) is counted and sampled for that site, in a
    record of its own through the spool, as every other count is. The answer stays the refusal: a full
    spool costs the count, never turns a 403 into a 503."""
    detail = f"origin {origin!r}" if refusal.code == "origin_not_allowed" else refusal.detail
    record = Record(
        site_id=site.site_id,
        hour=received_ms // 3_600_000 * 3600,
        rows=b"",
        ids=[],
        counters=[("rejected", refusal.code, len(batch.events))],
        received_ms=received_ms,
        samples=_encoded(
            samples.of_refusal(state.sampler, site, batch, received_ms=received_ms, reason=refusal.code, detail=detail)
        ),
    )
    with contextlib.suppress(Overloaded):
        await state.spool.append(record, durable=False)


def _encoded(rows: list[SampleRow]) -> bytes:
    return encode(rows) if rows else b""


async def batch_preflight(request: Request) -> Response:
    """Every origin may ask: the origin check is the POST's, which answers a refused origin with a 403
    the page can read (and counts it for the site). A refused preflight would show only an opaque CORS
    error in the console, however it were answered, and keep the POST from being counted; it would
    protect nothing, since the snippet's text/plain POSTs need no preflight."""
    origin = request.headers.get("origin", "")
    if not origin:
        return error_response(403, "origin_not_allowed", "a preflight without an Origin header is not a browser's")
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Content-Encoding",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


async def find_site(state: Any, key: str) -> Site | None:
    sites: Sites = state.sites
    site = sites.by_write_key(key)
    if site is None and sites.reload_due_after_miss():
        # A site just added by another process: look again, at most once a second.
        with contextlib.suppress(StoreError, OSError):
            await asyncio.to_thread(sites.load)
        site = sites.by_write_key(key)
    return site


async def site_for_write_key(state: Any, key: str) -> Site:
    site = await find_site(state, key)
    if site is None:
        raise ApiError(401, "unknown_key", "no site has this write key; `footfall site list` shows the keys")
    return site


def _count_refusals(metrics: Metrics, checked: ingest.Checked) -> None:
    # Drops are counted by the writer, from the segment's counters, once for every process's requests.
    for rejection in checked.rejected:
        metrics.rejected.inc(rejection.reason)


def _counters(checked: ingest.Checked, enriched: Enriched, sdk_dropped: dict[str, int]) -> list[tuple[str, str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for reason, n in sdk_dropped.items():
        counts[("dropped_by_sdk", reason)] += n
    if enriched.rows:
        counts[("accepted", "")] = len(enriched.rows)
    for rejection in checked.rejected:
        counts[("rejected", rejection.reason)] += 1
    for reason, n in enriched.dropped.items():
        counts[("dropped", reason)] += n
    return [(outcome, reason, n) for (outcome, reason), n in counts.items()]


async def script(request: Request) -> Response:
    key = request.path_params["key"]
    site = await find_site(request.app.state, key)
    if site is None:
        return Response(b"/* footfall: no site has this key */\n", status_code=404, media_type="text/javascript")
    state = request.app.state
    settings = site.settings.snippet
    public_url = state.settings.public_url
    own = None
    if not (settings.endpoint or public_url):
        scope = request.scope
        host = request.headers.get("host")
        own = snippet.own_base_url(scope["scheme"], host, scope.get("server"), bind_host=state.settings.host)
    endpoint = snippet.endpoint_for(settings, public_url, own)
    if endpoint is None:
        return _unknown_host(state, request.headers.get("host", ""))
    rendered = snippet.render(site.write_key, endpoint.url, settings)
    # Short max-age: a change of settings or key reaches pages within 5 minutes; the ETag makes the
    # revalidation a 304. Bodies are compressed once per site, when rendered. A script whose endpoint
    # came from the request's Host (development, no public URL) is for that client's cache only.
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": "public, max-age=300" if endpoint.configured else "private, max-age=300",
        "Vary": "Accept-Encoding" if endpoint.configured else "Accept-Encoding, Host",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == rendered.etag:
        return Response(status_code=304, headers=headers)
    accepted = {part.split(";")[0].strip() for part in request.headers.get("accept-encoding", "").split(",")}
    body = rendered.body
    if "br" in accepted:
        body, headers["Content-Encoding"] = rendered.brotli, "br"
    elif "gzip" in accepted:
        body, headers["Content-Encoding"] = rendered.gzip, "gzip"
    return Response(body, media_type="text/javascript", headers=headers)


def _unknown_host(state: Any, host: str) -> Response:
    """No endpoint is configured and the Host names a server this is not: say how to configure one."""
    if not state.unknown_host_logged:  # once per process: a misconfiguration, or someone probing
        state.unknown_host_logged = True
        log.warning(
            "a script was asked for under the host %r, which is not this server's address; set --public-url "
            "(FOOTFALL_PUBLIC_URL) to the URL browsers use, or the site's snippet.endpoint",
            host[:100],
        )
    detail = (
        "/* footfall: this server does not know itself under the requested host, so it cannot tell where "
        "the script should send events; set --public-url (FOOTFALL_PUBLIC_URL) or the site's "
        "snippet.endpoint */\n"
    )
    headers = {"Cache-Control": "no-store"}
    return Response(detail.encode(), status_code=421, media_type="text/javascript", headers=headers)
