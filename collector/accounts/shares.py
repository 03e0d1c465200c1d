"""Share links: a read-only view of one site's chosen dashboard pages at /share/<slug>, revocable, and
optionally behind a password (argon2id, as users' are)."""

import secrets
from collections.abc import Callable
from typing import Final

import msgspec

from collector.errors import AccountError, AccountNotFound
from collector.storage.rows import epoch_text
from collector.storage.sql import run
from collector.storage.store import Store

PAGES: Final = ("overview", "heatmaps", "retention", "cohorts", "funnels", "segments")  # what a link may show
_encoder: Final = msgspec.json.Encoder()


class Share(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    site_id: int
    label: str
    reports: tuple[str, ...]
    password_hash: str  # "": no password
    created_by: str
    created_ms: int


class Shares:
    def __init__(self, store: Store, *, clock_ms: Callable[[], int]) -> None:
        self._store = store
        self._clock = clock_ms

    def create(self, site_id: int, *, reports: list[str], label: str, password_hash: str, created_by: str) -> Share:
        unknown = [r for r in reports if r not in PAGES]
        if unknown or not reports:
            raise AccountError(f"a share link shows some of {', '.join(PAGES)}; got {', '.join(unknown) or 'none'}")
        share = Share(
            slug=secrets.token_urlsafe(18),
            site_id=site_id,
            label=label.strip()[:200],
            reports=tuple(r for r in PAGES if r in reports),
            password_hash=password_hash,
            created_by=created_by,
            created_ms=self._clock(),
        )
        self._write(share, revoked=False)
        return share

    def find(self, slug: str) -> Share | None:
        if not slug or len(slug) > 64:
            return None
        rows = run(self._store, "account_shares", {"slug": slug}, one=True)
        return _share(rows[0]) if rows else None

    def for_site(self, site_id: int) -> list[Share]:
        return [_share(r) for r in run(self._store, "account_shares", {"site": site_id}, one=False)]

    def revoke(self, site_id: int, slug: str) -> None:
        share = self.find(slug)
        if share is None or share.site_id != site_id:
            raise AccountNotFound("no such share link for this site")
        self._write(share, revoked=True)

    def _write(self, share: Share, *, revoked: bool) -> None:
        row = {
            **msgspec.structs.asdict(share),
            "created_at": epoch_text(share.created_ms),
            "revoked": revoked,
            "updated_at": epoch_text(max(self._clock(), share.created_ms + int(revoked))),
        }
        del row["created_ms"]
        self._store.insert("share_links", _encoder.encode(row) + b"\n", settings={"insert_deduplicate": 0})


def _share(row: dict[str, object]) -> Share:
    return msgspec.convert(row, Share)
