"""The heatmap page: one page's layers (collector.reports.heatmap_layers) over its DOM snapshot
(collector.heatmaps.snapshots), with a second answer beside it or subtracted from it when comparing.

The drawing happens in the browser (static/heat.js): element anchors need the backdrop's DOM. This
module picks the page, the width and the snapshot, and hands heat.js everything as one JSON document.
"""

from datetime import date
from typing import Any, Final
from urllib.parse import urlsplit

from collector.dashboard.pages import View, own
from collector.errors import ApiError
from collector.heatmaps import snapshots
from collector.reports import answers
from collector.reports.heatmap_layers import LayersQuery, layers
from collector.sites import Site
from collector.storage.store import Store
from collector.tables import Table

LAYERS: Final = ("click", "move", "rageclick", "deadclick", "scroll", "elements")
PALETTES: Final = ("classic", "inferno", "mono")
# Segment filters a side of a comparison may set; side B's carry a "b_" prefix in the page's URL.
FILTERS: Final = ("country", "device", "browser", "os", "utm_source", "identified")
OUTLINE_HEIGHT: Final = 3000  # a page with no snapshot and no scroll data: an outline this tall


def _asked(store: Store, site: Site, query: dict[str, str], today: date) -> tuple[dict[str, Any], str]:
    fields = LayersQuery.__struct_fields__
    try:
        return layers(store, site, {k: v for k, v in query.items() if k in fields and v != ""}, today), ""
    except ApiError as exc:
        if exc.status != 422:
            raise
        return {}, exc.detail


def side_b(query: dict[str, str]) -> dict[str, str] | None:
    """The second answer's parameters when comparing: another range or another segment."""
    mode = query.get("compare", "")
    if mode not in ("range", "segment"):
        return None
    base = {k: v for k, v in query.items() if not k.startswith("b_")}
    if mode == "range":
        return {**base, "since": query.get("b_since", ""), "until": query.get("b_until", "")}
    return {**{k: v for k, v in base.items() if k not in FILTERS}, **{f: query.get(f"b_{f}", "") for f in FILTERS}}


def page_url(site: Site, page_key: str) -> str:
    """A URL to open a page key at: the site's allowed origin with that host, else https."""
    host, _, path = page_key.partition("/")
    for origin in site.allowed_origins:
        if "*" not in origin and urlsplit(origin).netloc == host:
            return origin + "/" + path
    return f"https://{host}/{path}"


def geometry(answer: dict[str, Any], snapshot: snapshots.Snapshot | None) -> dict[str, int]:
    """The drawing's size: the snapshot's document, else an outline as wide as the width bucket and as
    tall as the deepest click or tile seen."""
    if snapshot is not None:
        m = snapshot.meta
        return {"w": m.doc_w or m.viewport_w, "h": m.doc_h, "viewportW": m.viewport_w, "viewportH": m.viewport_h}
    width = answer.get("width") or 1280
    found = answer["layers"]
    deepest = [p[5] for kind in ("click", "rageclick", "deadclick") for p in found.get(kind, {}).get("points", [])]
    deepest += [t[1] for t in found.get("move", {}).get("tiles", [])]
    height = max([OUTLINE_HEIGHT, *(y + 200 for y in deepest)])
    return {"w": width, "h": height, "viewportW": width, "viewportH": answer.get("scroll", {}).get("fold_px") or 800}


def drawing(answer: dict[str, Any], shape: dict[str, int], **options: Any) -> dict[str, Any]:
    """What heatmaps.js draws: a layers answer, the drawing's size, and the page's options (the
    defaults are a plain click heatmap)."""
    return {"answer": answer, "geometry": shape, **DRAWING, **options}


DRAWING: Final[dict[str, Any]] = {
    "against": None,
    "snapshot": True,
    "layer": "click",
    "palette": "classic",
    "visitors": False,
    "marks": False,
    "cold": False,
    "fixed": "show",
    "view": "side",
}


def heatmaps(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    listed = answers.pages(store, site, own("pages", {**query, "limit": "50"}), today)["pages"]
    page = query.get("page") or (listed[0]["page"] if listed else "")
    context: dict[str, Any] = {
        "page_list": listed,
        "page": page,
        "layer_names": LAYERS,
        "palettes": PALETTES,
        "filters": FILTERS,
    }
    if not page:
        return View(template="heatmaps.html", context={**context, "answer": {}})
    answer, error = _asked(store, site, {**query, "page": page}, today)
    if error:
        return View(template="heatmaps.html", context={**context, "answer": {}}, error=error)
    width = answer["width"]
    chosen = query.get("snapshot", "")
    snapshot = snapshots.get(store, site.site_id, chosen) if chosen else None
    if snapshot is None:
        snapshot = snapshots.latest(store, site.site_id, answer["page"], width)
    asked_b = side_b({**query, "page": page, "width": str(width)})
    b_answer, b_error = _asked(store, site, asked_b, today) if asked_b is not None else ({}, "")
    data = drawing(
        answer,
        geometry(answer, snapshot),
        against=b_answer or None,
        snapshot=snapshot is not None,
        layer=query.get("layer", "click") if query.get("layer") in LAYERS else "click",
        palette=query.get("palette", "classic"),
        visitors=query.get("visitors") == "true",
        marks=query.get("marks") == "on",
        cold=query.get("cold") == "on",
        fixed="hide" if query.get("fixed") == "hide" else "show",
        view="diff" if query.get("view") == "diff" and b_answer else "side",
    )
    elements = Table(
        name="elements",
        title="Clicked elements",
        columns=("selector", "clicks", "share"),
        rows=[[e["selector"], e["hits"], e["share"]] for e in answer.get("elements", [])],
    )
    scroll = Table(
        name="scroll",
        title="Scroll reach",
        columns=("depth_pct", "pageviews", "share"),
        rows=[[r["depth"], r["pageviews"], r["share"]] for r in answer.get("scroll", {}).get("reached", [])],
    )
    context.update(
        answer=answer,
        b_error=b_error,
        snapshot=snapshot,
        versions=snapshots.versions(store, site.site_id, answer["page"], width),
        data=data,
        url=page_url(site, answer["page"]),
    )
    return View(template="heatmaps.html", context=context, tables=[elements, scroll])
