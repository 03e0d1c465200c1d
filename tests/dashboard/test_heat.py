"""heat.js and heatmaps.js in real Chromium, over snapshots in a sandboxed srcdoc iframe: clicks land on
the element their selector finds today, at their offset in its box; a pixel far from any click is the
backdrop's; a moved button takes its hotspot along; fixed elements are drawn where they are; an unmatched
selector falls back to its tile and the badge says so; the snapshot's own scripts never run.

The page is collector/dashboard/templates/heatmap_render.html, the file the PNG export draws with: the
dashboard's own drawing code, fed an answer in /api/v1/heatmap/layers's shape."""

import tempfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from browser import chromium
from PIL import Image
from playwright.sync_api import Browser, Page

from collector.dashboard.web import HERE, render

WIDTH, HEIGHT = 1000, 1600
BACKDROP = (240, 240, 240)
DEPTHS = range(0, 101, 5)


def snapshot(*, banner: int = 0, script: bool = False) -> str:
    top = f'<div id="banner" style="height:{banner}px;background:rgb(240,240,240)"></div>' if banner else ""
    ran = "<script>window.__ran = 1; parent.__ran = 1</script><img src=x onerror='parent.__ran=2'>" if script else ""
    return (
        "<!doctype html><html><head><style>body{margin:0;background:rgb(240,240,240)}"
        "header{position:sticky;top:0;height:60px;background:rgb(200,200,255)}"
        "#buy{display:block;margin:300px 0 0 400px;width:200px;height:50px;border:0;background:rgb(250,250,250)}"
        f'</style></head><body><header id="top"><a id="login" href="/login">Log in</a></header>{top}'
        f'<main style="height:{HEIGHT}px"><button id="buy">Buy</button></main>{ran}</body></html>'
    )


def answer(points: list[list[Any]], **layers: Any) -> dict[str, Any]:
    return {
        "page": "shop.example/",
        "width": 1024,
        "range": {"since": "2026-12-01", "until": "2026-12-02"},
        "widths": [{"width": 1024, "clicks": sum(p[6] for p in points), "pageviews": 10}],
        "layers": {
            "click": {"hits": sum(p[6] for p in points), "points": points},
            "rageclick": {"hits": 0, "points": []},
            "deadclick": {"hits": 0, "points": []},
            "move": {"hits": 0, "tiles": []},
            **layers,
        },
        "scroll": {
            "pageviews": 10,
            "fold_px": 700,
            "reached": [{"depth": d, "pageviews": 10, "share": 1.0} for d in range(0, 101, 5)],
        },
        "elements": [],
    }


def page_html(html: str, data_answer: dict[str, Any], **options: Any) -> str:
    data = {
        "answer": data_answer,
        "against": options.pop("against", None),
        "geometry": {"w": WIDTH, "h": HEIGHT, "viewportW": WIDTH, "viewportH": 700},
        "snapshot": True,
        "layer": "click",
        "palette": "classic",
        "visitors": False,
        "marks": False,
        "cold": False,
        "fixed": "show",
        "view": "side",
        **options,
    }
    return render(
        "heatmap_render.html",
        {
            "data": data,
            "snapshot": SimpleNamespace(html=html),
            "page": "shop.example/",
            "title": "test",
            "head": 0,
            "eager": True,
            "css": (HERE / "static" / "dashboard.css").read_text(),
            "heat_js": (HERE / "static" / "heat.js").read_text(),
            "page_js": (HERE / "static" / "heatmaps.js").read_text(),
        },
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


def show(browser: Browser, html: str) -> Page:
    folder = Path(tempfile.mkdtemp(prefix="heat-"))
    (folder / "page.html").write_text(html)
    page = browser.new_page(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
    page.goto((folder / "page.html").as_uri())
    page.wait_for_selector("#heat-a[data-ready]")
    return page


def pixel(page: Page, x: int, y: int) -> tuple[int, int, int]:
    """The colour at document (x, y) of a full-page screenshot."""
    found = Image.open(BytesIO(page.screenshot(full_page=True))).convert("RGB").getpixel((x, y))
    assert isinstance(found, tuple)
    return (found[0], found[1], found[2])


def hot(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > 200 and rgb[2] < 80


BUY = ["button#buy", 0, 50, 50, 50, 330, 40, 30]  # 40 clicks at the middle of the Buy button


def box_of(page: Page, element_id: str) -> dict[str, float]:
    """An element's box in the snapshot (its document px: the iframe is as tall as its document)."""
    box: dict[str, float] = page.evaluate(
        "(id) => { var r = document.querySelector('iframe').contentDocument.getElementById(id)"
        ".getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; }",
        element_id,
    )
    return box


def centre(page: Page, element_id: str) -> tuple[int, int]:
    box = box_of(page, element_id)
    return int(box["x"] + box["w"] / 2), int(box["y"] + box["h"] / 2)


def test_clicks_are_hot_over_the_element_and_the_backdrop_is_untouched_far_away(browser: Browser) -> None:
    page = show(browser, page_html(snapshot(), answer([BUY])))
    assert hot(pixel(page, *centre(page, "buy")))
    assert pixel(page, 100, 1200) == BACKDROP
    assert page.get_attribute("#heat-badge", "data-share") == "1.0000"
    assert page.inner_text("#heat-badge") == "100% matched to elements"


def test_a_banner_above_moves_the_hotspot_with_its_button(browser: Browser) -> None:
    before = show(browser, page_html(snapshot(), answer([BUY])))
    old = box_of(before, "buy")
    after = show(browser, page_html(snapshot(banner=200), answer([BUY])))
    new = box_of(after, "buy")
    assert new["y"] == old["y"] + 200
    cx = int(new["x"] + new["w"] / 2)
    assert hot(pixel(after, cx, int(new["y"] + new["h"] / 2)))
    assert pixel(after, cx, int(old["y"] + old["h"] / 2) - 60) == BACKDROP  # where it used to be: cold
    assert after.inner_text("#heat-badge") == "100% matched to elements"


def test_a_sticky_header_clicked_after_scrolling_draws_on_the_header(browser: Browser) -> None:
    # recorded 3,000 px down the page, in viewport px, flagged fixed: the anchor puts them on the header
    login = ["header#top > a#login", 1, 50, 50, 3, 10, 30, 20]
    page = show(browser, page_html(snapshot(), answer([login])))
    r = centre(page, "login")
    assert hot(pixel(page, *r))
    hidden = show(browser, page_html(snapshot(), answer([login]), fixed="hide"))
    assert not hot(pixel(hidden, *r))


def test_a_selector_not_found_falls_back_to_its_tile_and_the_badge_lists_it(browser: Browser) -> None:
    gone = ["div.promo > a.old", 0, 50, 50, 10, 1000, 40, 30]  # tile: 10-11% of the width, rows 1000-1010
    page = show(browser, page_html(snapshot(), answer([BUY, gone])))
    assert page.inner_text("#heat-badge") == "50% matched to elements: 1 selector not found"
    missing = page.evaluate("document.getElementById('heat-a').drawn.placed.missing")
    assert missing == [{"selector": "div.promo > a.old", "hits": 40}]
    assert hot(pixel(page, int(0.105 * WIDTH), 1005))


def test_the_snapshots_scripts_never_run(browser: Browser) -> None:
    page = show(browser, page_html(snapshot(script=True), answer([BUY])))
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("document.querySelector('iframe').contentWindow.__ran") is None
    assert page.get_attribute("iframe", "sandbox") == "allow-same-origin"


def test_a_difference_map_is_red_where_a_has_more_and_blue_where_b_has(browser: Browser) -> None:
    login = ["header#top > a#login", 1, 50, 50, 3, 10, 40, 20]
    page = show(browser, page_html(snapshot(), answer([BUY]), against=answer([login]), view="diff"))
    red = pixel(page, *centre(page, "buy"))
    r = centre(page, "login")
    blue = pixel(page, *r)
    assert red[0] > red[2] + 80, red
    assert blue[2] > blue[0] + 80, blue


def test_the_legend_counts_are_the_data_and_the_scroll_layer_draws_bands(browser: Browser) -> None:
    page = show(browser, page_html(snapshot(), answer([BUY])))
    assert page.inner_text("#heat-legend").split()[:4] == ["0", "10", "20", "40"]
    scroll = show(browser, page_html(snapshot(), answer([BUY]), layer="scroll"))
    assert pixel(scroll, 500, 40) != pixel(page, 500, 40)
