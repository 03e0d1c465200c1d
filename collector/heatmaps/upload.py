"""POST /v1/snapshot, after the site is known: the upload decoded, checked against its ticket and the
site's settings, sanitised, and stored once (a retried upload of the same ticket answers the same id).

Every refusal is an ApiError (4xx) that says what and where; the HTTP handler is collector.server.snapshot.
"""

import hashlib
from typing import Annotated, Final

import msgspec
from msgspec import Meta

from collector.errors import ApiError
from collector.heatmaps import snapshots
from collector.heatmaps.capture import Tickets, excluded
from collector.heatmaps.sanitise import sanitise
from collector.heatmaps.snapshots import NewSnapshot, SnapshotMeta
from collector.privacy import width_bucket
from collector.settings import Limits
from collector.sites import Site
from collector.storage.store import Store

MAX_HTML_BYTES: Final = 2 << 20  # as the capture module caps it (sdk-js/capture.js, MAX_BYTES)
# The body: the HTML escaped in JSON, gzipped or not; the decompressed limit is the gzip-bomb guard.
LIMITS: Final = Limits(max_body_bytes=3 << 20, max_decompressed_bytes=5 << 20)

Id = Annotated[str, Meta(max_length=200)]
Size = Annotated[int, Meta(ge=0, le=1_000_000)]


class UploadConsent(msgspec.Struct, frozen=True, kw_only=True):
    heatmaps: bool = False  # unlike a batch's, absent means no: a snapshot needs the visitor's yes


class Upload(msgspec.Struct, frozen=True, kw_only=True):
    ticket: Annotated[str, Meta(min_length=1, max_length=1000)]
    url: Annotated[str, Meta(min_length=1, max_length=4096, pattern=r"^https?://")]
    html: str
    viewport_w: Annotated[int, Meta(ge=1, le=100_000)]
    viewport_h: Size
    doc_w: Size
    doc_h: Annotated[int, Meta(ge=0, le=10_000_000)]
    sig: Annotated[str, Meta(max_length=64)] = ""
    key: Annotated[str, Meta(max_length=200)] | None = None
    anonymous_id: Id | None = None
    user_id: Id | None = None
    consent: UploadConsent = UploadConsent()


_decoder: Final = msgspec.json.Decoder(Upload)


def decode(body: bytes) -> Upload:
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_snapshot", str(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc


def snapshot_id(ticket: str) -> str:
    """One id per ticket: a retried upload is the same snapshot."""
    return hashlib.sha256(ticket.encode()).hexdigest()[:24]


def accept(
    store: Store,
    tickets: Tickets,
    site: Site,
    upload: Upload,
    *,
    page_key: str,
    now_ms: int,
    visitor_key: str,
) -> str:
    """Check, clean and store an upload; its snapshot id. Runs in a thread: sanitising takes a while."""
    settings = site.settings.heatmaps
    if not upload.consent.heatmaps:
        raise ApiError(
            403, "no_heatmaps_consent", "the visitor has not agreed to heatmaps, so nothing is stored - at `$.consent`"
        )
    if not settings.snapshots:
        raise ApiError(403, "snapshots_off", f"site {site.name!r} takes no snapshots (heatmaps.snapshots is false)")
    if excluded(settings, page_key):
        raise ApiError(403, "page_excluded", f"site {site.name!r} excludes {page_key!r} from snapshots - at `$.url`")
    bucket = width_bucket(upload.viewport_w)
    ticket = tickets.check(upload.ticket, site, page_key, bucket)
    size = len(upload.html.encode("utf-8", "surrogatepass"))
    if size > MAX_HTML_BYTES:
        raise ApiError(
            413, "snapshot_too_large", f"the HTML is {size:,} bytes; the limit is {MAX_HTML_BYTES:,} - at `$.html`"
        )
    if not upload.html.strip():
        raise ApiError(400, "empty_snapshot", "the HTML is empty - at `$.html`")
    identifier = snapshot_id(upload.ticket)
    if snapshots.get(store, site.site_id, identifier) is not None:
        return identifier  # a retried upload: stored already
    html = sanitise(upload.html, upload.url)
    meta = SnapshotMeta(
        snapshot_id=identifier,
        page_key=page_key,
        width_bucket=bucket,
        captured_ms=now_ms,
        viewport_w=upload.viewport_w,
        viewport_h=upload.viewport_h,
        doc_w=upload.doc_w,
        doc_h=upload.doc_h,
        bytes=len(html.encode("utf-8", "surrogatepass")),
        sig=upload.sig,
    )
    snapshots.put(
        store,
        NewSnapshot(
            site_id=site.site_id,
            meta=meta,
            url=upload.url,
            html=html,
            anonymous_id=upload.anonymous_id or "",
            user_id=upload.user_id or "",
            visitor_key=visitor_key,
            retention_days=site.settings.retention_days,
        ),
    )
    tickets.done(ticket)
    return identifier
