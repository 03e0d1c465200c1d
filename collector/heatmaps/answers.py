"""The read API's answers about snapshots: GET /api/v1/snapshots (a page's versions at a width) and
GET /api/v1/snapshots/{id} (one, with its sanitised HTML). docs/api.md#snapshots."""

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from collector.errors import ApiError
from collector.heatmaps import snapshots
from collector.reports.api import to_page_key
from collector.sites import Site
from collector.storage.store import Store


class SnapshotsQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    page: Annotated[str, Meta(min_length=1, max_length=4096, description="a page key or a URL")]
    width: Annotated[int, Meta(ge=0, description="a width bucket; 0: the one with the most versions")] = 0


def parse(query: dict[str, str]) -> SnapshotsQuery:
    try:
        return msgspec.convert(query, SnapshotsQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_parameter", str(exc).replace("$.", "")) from exc


def listing(store: Store, site: Site, query: dict[str, str]) -> dict[str, Any]:
    params = parse(query)
    page = to_page_key(params.page, site)
    widths = snapshots.widths(store, site.site_id, page)
    width = params.width or max(widths, key=lambda bucket: (widths[bucket], bucket), default=0)
    versions = snapshots.versions(store, site.site_id, page, width) if width else []
    return {
        "page": page,
        "width": width,
        "widths": [{"width": bucket, "versions": n} for bucket, n in sorted(widths.items())],
        "versions": msgspec.to_builtins(versions),
    }


def one(store: Store, site: Site, snapshot_id: str) -> dict[str, Any]:
    found = snapshots.get(store, site.site_id, snapshot_id)
    if found is None:
        raise ApiError(404, "not_found", f"site {site.name!r} has no snapshot {snapshot_id!r}")
    return {"snapshot": msgspec.to_builtins(found.meta), "html": found.html}
