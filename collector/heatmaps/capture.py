"""When a browser is asked for a snapshot, and the ticket that lets it upload one.

The snippet asks (GET /v1/capture.js) with the page, its width and a structural signature of its DOM.
A capture is wanted when the (page key, width bucket) has no snapshot, when its newest is older than
heatmaps.snapshot_days, or when the signature changed (at most one new capture an hour for that).
At most one ticket is out per pair in any 10 minutes, so a busy page asks one visitor, not all of them.
A ticket is signed (HMAC under the store's shared secret): the upload needs no state to be checked,
and any collector of the store accepts it.
"""

import base64
import fnmatch
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

import msgspec

from collector.accounts.sessions import Signer
from collector.errors import ApiError
from collector.heatmaps.snapshots import SnapshotMeta
from collector.sites import HeatmapSettings, Site

TICKET_MS: Final = 10 * 60_000  # how long an upload may take after the ask; also the gap between asks
CHANGED_SIG_GAP_MS: Final = 3_600_000  # a page whose structure keeps changing is captured hourly at most
DAY_MS: Final = 86_400_000
MAX_OUTSTANDING: Final = 10_000  # pairs remembered per process; the oldest are forgotten first
SECRET_NAME: Final = "heatmap_tickets"  # noqa: S105 — the name of a secret, not one


class Ticket(msgspec.Struct, frozen=True, array_like=True):
    site_id: int
    page_key: str
    width_bucket: int
    expires_ms: int
    nonce: str


_ticket_encoder: Final = msgspec.json.Encoder()
_ticket_decoder: Final = msgspec.json.Decoder(Ticket)


def excluded(settings: HeatmapSettings, page_key: str) -> bool:
    """Whether the site excludes the page: a glob over the whole key ("shop.example/account/*"), or, when
    it starts with "/", over the key's path ("/account/*")."""
    path = "/" + page_key.partition("/")[2]
    return any(fnmatch.fnmatchcase(path if glob.startswith("/") else page_key, glob) for glob in settings.exclude)


def reason_to_capture(
    settings: HeatmapSettings, page_key: str, newest: SnapshotMeta | None, sig: str, *, now_ms: int
) -> str | None:
    """Why this page at this width needs a snapshot ("missing", "stale", "changed"), or None."""
    if not settings.snapshots or excluded(settings, page_key):
        return None
    if newest is None:
        return "missing"
    age_ms = now_ms - newest.captured_ms
    if age_ms > settings.snapshot_days * DAY_MS:
        return "stale"
    if sig and newest.sig != sig and age_ms >= CHANGED_SIG_GAP_MS:
        return "changed"
    return None


class Tickets:
    """Signs and checks upload tickets, and remembers the pairs with a ticket out (in this process)."""

    def __init__(self, signer: Signer, *, clock_ms: Callable[[], int]) -> None:
        self._signer = signer
        self._clock = clock_ms
        self._out: OrderedDict[tuple[int, str, int], int] = OrderedDict()  # pair -> when its ticket expires

    def issue(self, site: Site, page_key: str, width_bucket: int) -> str | None:
        """A ticket for the pair, or None while an earlier one for it may still be in use."""
        now = self._clock()
        pair = (site.site_id, page_key, width_bucket)
        if self._out.get(pair, 0) > now:
            return None
        self._out[pair] = now + TICKET_MS
        self._out.move_to_end(pair)
        while len(self._out) > MAX_OUTSTANDING:
            self._out.popitem(last=False)
        ticket = Ticket(site.site_id, page_key, width_bucket, now + TICKET_MS, secrets.token_urlsafe(9))
        value = base64.urlsafe_b64encode(_ticket_encoder.encode(ticket)).decode().rstrip("=")
        return self._signer.sign(value)

    def check(self, token: str, site: Site, page_key: str, width_bucket: int) -> Ticket:
        """The ticket, if it is ours, unexpired, and for this site, page and width; else an ApiError."""
        value = self._signer.unsign(token)
        ticket = _decode(value) if value is not None else None
        if ticket is None:
            raise ApiError(
                403, "bad_ticket", "the ticket is not one this collector signed - at `$.ticket`; capture again"
            )
        if ticket.expires_ms < self._clock():
            raise ApiError(
                403, "ticket_expired", "the ticket expired (they last 10 minutes) - at `$.ticket`; capture again"
            )
        if ticket.site_id != site.site_id:
            raise ApiError(403, "ticket_mismatch", f"the ticket is for another site than {site.name!r} - at `$.ticket`")
        if ticket.page_key != page_key:
            raise ApiError(
                403,
                "ticket_mismatch",
                f"the ticket is for page {ticket.page_key!r}, the upload for {page_key!r} - at `$.url`",
            )
        if ticket.width_bucket != width_bucket:
            raise ApiError(
                403,
                "ticket_mismatch",
                f"the ticket is for width {ticket.width_bucket}, the upload's viewport is in {width_bucket} "
                "- at `$.viewport_w`",
            )
        return ticket

    def done(self, ticket: Ticket) -> None:
        """The pair's snapshot is stored: its ticket need not block another ask any longer."""
        self._out.pop((ticket.site_id, ticket.page_key, ticket.width_bucket), None)


def _decode(value: str) -> Ticket | None:
    try:
        return _ticket_decoder.decode(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, msgspec.DecodeError):
        return None
