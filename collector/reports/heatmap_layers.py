"""GET /api/v1/heatmap/layers: everything the heatmap page draws for one page at one width, in one answer.

Clicks, rage clicks and dead clicks come per (selector, fixed, offset cell inside the element, tile), so
the drawing can place each on the element its selector finds in the backdrop and fall back to the tile
(clickhouse/migrations/0016_click_points.sql); moves as page tiles; scroll reach with the average fold;
the widths the page was seen at. Without a segment it reads rollups; a segment (country, device, ...)
or `raw=True` scans `events`, in the same shape (tests compare the two).
"""

from datetime import date
from typing import Annotated, Any, Final, Literal

from msgspec import Meta

from collector.reports.answers import Page, reach, scroll
from collector.reports.api import Range, days, parse, to_page_key
from collector.reports.api import dates as _dates
from collector.sites import Site
from collector.storage.sql import run
from collector.storage.store import Params, Store

SEGMENT: Final = ("country", "device", "browser", "os", "utm_source", "identified")
KINDS: Final = ("click", "rageclick", "deadclick")
TOP_ELEMENTS: Final = 200
Text = Annotated[str, Meta(max_length=500)]


class LayersQuery(Range, kw_only=True):
    page: Page
    width: Annotated[int, Meta(ge=0, le=100_000, description="a width bucket (320 ... 2560); 0: the busiest")] = 0
    visitors: Annotated[bool, Meta(description="also count distinct visitors per point (slower)")] = False
    country: Text = ""
    device: Text = ""
    browser: Text = ""
    os: Text = ""
    utm_source: Text = ""
    identified: Literal["", "yes", "no"] = ""

    def segment(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SEGMENT}


def layers(store: Store, site: Site, query: dict[str, str], today: date, *, raw: bool = False) -> dict[str, Any]:
    p = parse(LayersQuery, query)
    since, until = days(p, today)
    page = to_page_key(p.page, site)
    segment = p.segment()
    filtered = any(segment.values())
    raw = raw or filtered
    base: Params = {"site": site.site_id, "page": page, **_dates(since, until), **segment}
    widths = run(store, "heat_widths", base, raw=raw, filtered=filtered)
    width = p.width or (widths[0]["width"] if widths else 0)
    asked: Params = {**base, "width": width}
    rows: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    scrolled: dict[str, Any] = {"pageviews": 0, "fold_px": 0, "reached": reach({})}
    # Width 0 here: the page was never seen at a width in the range. The queries would read 0 as "every
    # width" (or as rows without one), so the answer is an empty drawing instead.
    if width:
        rows = run(store, "heat_points", asked, raw=raw, visitors=p.visitors, filtered=filtered)
        move_tiles: Params = {**asked, "kind": "move", "step_x": 1, "step_y": 10}
        moves = run(store, "heatmap", move_tiles, raw=raw, visitors=False, filtered=filtered)
        scrolled = _scroll(store, site, asked, p, today, raw=raw, filtered=filtered)
    found: dict[str, dict[str, Any]] = {kind: {"hits": 0, "points": []} for kind in KINDS}
    per_selector: dict[str, list[int]] = {}
    for r in rows:
        layer = found[r["kind"]]
        point = [r["selector"], int(r["fixed"]), r["fx"], r["fy"], r["tile_x"], r["y_px"], r["hits"]]
        if p.visitors:
            point.append(r["visitors"])
        layer["points"].append(point)
        layer["hits"] += r["hits"]
        if r["kind"] == "click" and r["selector"]:
            per_selector.setdefault(r["selector"], [0])[0] += r["hits"]
    clicks = found["click"]["hits"]
    elements = sorted(per_selector.items(), key=lambda item: (-item[1][0], item[0]))[:TOP_ELEMENTS]
    return {
        "page": page,
        "width": width,
        "range": _dates(since, until),
        "segment": {k: v for k, v in segment.items() if v},
        "widths": widths,
        "layers": {
            **found,
            "move": {
                "hits": sum(t["hits"] for t in moves),
                "tiles": [[t["x_pct"], t["y_px"], int(t["fixed"]), t["hits"]] for t in moves],
            },
        },
        "scroll": scrolled,
        "elements": [{"selector": s, "hits": n[0], "share": n[0] / clicks if clicks else 0.0} for s, n in elements],
        "coverage": {"clicks": clicks, "moves": sum(t["hits"] for t in moves)},
    }


def _scroll(
    store: Store, site: Site, asked: Params, p: LayersQuery, today: date, *, raw: bool, filtered: bool
) -> dict[str, Any]:
    """Reach per 5% depth (answers.scroll's), its pageviews and the average fold."""
    rows = run(store, "heat_fold", asked, raw=raw, filtered=filtered)
    pageviews = sum(r["pageviews"] for r in rows)
    fold = round(sum(r["viewport_h_sum"] for r in rows) / pageviews) if pageviews else 0
    if raw:  # the segment's pageviews by depth, from the same scan
        reached = reach({r["depth"]: r["pageviews"] for r in rows})
    else:
        question = {"page": str(asked["page"]), "width": str(asked["width"]), "since": str(asked["since"])}
        reached = scroll(store, site, {**question, "until": str(asked["until"])}, today)["reached"]
    return {"pageviews": pageviews, "fold_px": fold, "reached": reached}
