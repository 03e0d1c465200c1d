"""Stored DOM snapshots: written once per upload ticket, read by the dashboard and the read API.

The HTML kept is the sanitised one (collector.heatmaps.sanitise), ready for a sandboxed srcdoc iframe.
"""

from typing import Final

import msgspec

from collector.storage.rows import epoch_text
from collector.storage.sql import run
from collector.storage.store import Row, Store

_encoder: Final = msgspec.json.Encoder()


class SnapshotMeta(msgspec.Struct, frozen=True):
    snapshot_id: str
    page_key: str
    width_bucket: int
    captured_ms: int
    viewport_w: int
    viewport_h: int
    doc_w: int
    doc_h: int
    bytes: int
    sig: str


class Snapshot(msgspec.Struct, frozen=True):
    meta: SnapshotMeta
    html: str  # sanitised, for srcdoc


class NewSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What an accepted upload stores: the snapshot, its page, and who captured it (for erasure)."""

    site_id: int
    meta: SnapshotMeta
    url: str
    html: str
    anonymous_id: str = ""
    user_id: str = ""
    visitor_key: str = ""
    retention_days: int


def _meta(row: Row) -> SnapshotMeta:
    return SnapshotMeta(
        snapshot_id=row["snapshot_id"],
        page_key=row["page_key"],
        width_bucket=int(row["width_bucket"]),
        captured_ms=int(row["captured_ms"]),
        viewport_w=int(row["viewport_w"]),
        viewport_h=int(row["viewport_h"]),
        doc_w=int(row["doc_w"]),
        doc_h=int(row["doc_h"]),
        bytes=int(row["bytes"]),
        sig=row["sig"],
    )


def versions(store: Store, site_id: int, page_key: str, width_bucket: int) -> list[SnapshotMeta]:
    """A page's snapshots at one width bucket, newest first."""
    rows = run(store, "snapshot_versions", {"site": site_id, "page": page_key, "width": width_bucket}, html=False)
    return [_meta(row) for row in rows]


def latest(store: Store, site_id: int, page_key: str, width_bucket: int) -> Snapshot | None:
    rows = run(store, "snapshot_versions", {"site": site_id, "page": page_key, "width": width_bucket}, html=True)
    return Snapshot(meta=_meta(rows[0]), html=rows[0]["html"]) if rows else None


def get(store: Store, site_id: int, snapshot_id: str) -> Snapshot | None:
    rows = run(store, "snapshot_one", {"site": site_id, "id": snapshot_id})
    return Snapshot(meta=_meta(rows[0]), html=rows[0]["html"]) if rows else None


def widths(store: Store, site_id: int, page_key: str) -> dict[int, int]:
    """Width bucket -> how many versions a page has at it."""
    rows = run(store, "snapshot_widths", {"site": site_id, "page": page_key})
    return {int(row["width_bucket"]): int(row["versions"]) for row in rows}


def put(store: Store, snapshot: NewSnapshot) -> None:
    """Store one snapshot. The same id stored twice (a retried upload) is one row once merged, and reads
    take one row per id before that."""
    meta = snapshot.meta
    row = {
        "site_id": snapshot.site_id,
        "snapshot_id": meta.snapshot_id,
        "page_key": meta.page_key,
        "width_bucket": meta.width_bucket,
        "captured_at": epoch_text(meta.captured_ms),
        "url": snapshot.url,
        "sig": meta.sig,
        "viewport_w": meta.viewport_w,
        "viewport_h": meta.viewport_h,
        "doc_w": meta.doc_w,
        "doc_h": meta.doc_h,
        "bytes": meta.bytes,
        "html": snapshot.html,
        "anonymous_id": snapshot.anonymous_id,
        "user_id": snapshot.user_id,
        "visitor_key": snapshot.visitor_key,
        "retention_days": snapshot.retention_days,
    }
    # The id is the deduplication token: a replayed insert of the same upload is dropped by ClickHouse.
    token = {"insert_deduplication_token": f"snapshot-{meta.snapshot_id}"}
    store.insert("snapshots", _encoder.encode(row) + b"\n", settings=token)
