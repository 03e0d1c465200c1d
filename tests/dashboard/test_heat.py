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

import pytest
from browser import chromium
from heat_pages import BACKDROP, BUY, DEPTHS, WIDTH, answer, hot, page_html, snapshot
from PIL import Image
from playwright.sync_api import Browser, Page


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
    # each count stands where its colour is on the bar: 10 of 40 a quarter along, 40 at the end
    bar = page.locator("#heat-legend canvas").bounding_box()
    spans = page.locator("#heat-legend span").all()
    assert bar
    assert len(spans) == 4
    boxes = [box for box in (span.bounding_box() for span in spans) if box]
    along = [(b["x"] + b["width"] * f - bar["x"]) / bar["width"] for b, f in zip(boxes, (0, 0.25, 0.5, 1), strict=True)]
    assert along == pytest.approx([0, 0.25, 0.5, 1], abs=0.01)
    once = show(browser, page_html(snapshot(), answer([[*BUY[:6], 1, 1]])))  # a max of 1: no repeated labels
    assert once.inner_text("#heat-legend").split()[:3] == ["0", "1", "clicks"]
    scroll = show(browser, page_html(snapshot(), answer([BUY]), layer="scroll"))
    assert pixel(scroll, 500, 40) != pixel(page, 500, 40)


def test_the_scroll_map_colours_each_band_by_its_reach_and_draws_the_reach_lines(browser: Browser) -> None:
    falling = [{"depth": d, "pageviews": 10, "share": round(1 - d / 125, 2)} for d in DEPTHS]  # 100% → 20%
    shaped = {**answer([BUY]), "scroll": {"pageviews": 10, "fold_px": 700, "reached": falling}}
    page = show(browser, page_html(snapshot(), shaped, layer="scroll"))
    h = page.evaluate("document.querySelector('iframe').contentDocument.documentElement.scrollHeight")
    near_top, near_bottom = pixel(page, 800, 200), pixel(page, 800, h - 20)
    assert near_top[0] > near_top[2] + 60, near_top  # reached by 88%: warm
    assert near_bottom[2] > near_bottom[0] + 60, near_bottom  # by 20%: cold blue
    # The 75/50/25% lines at the first depth fewer reach: 35% (0.72), 65% (0.48), 95% (0.24) of the page,
    # dashed (8 px on, 6 off, from x = 0): between dashes the band shows through.
    for y in (int(0.35 * h), int(0.65 * h), int(0.95 * h), 700):  # 700: the average fold
        assert max(pixel(page, 505, y)) < 100, y
        assert max(pixel(page, 512, y)) > 100, y


def test_cold_zones_mark_what_most_pageviews_reach_and_nobody_clicks(browser: Browser) -> None:
    plain = show(browser, page_html(snapshot(), answer([BUY])))
    cold = show(browser, page_html(snapshot(), answer([BUY]), cold=True))
    # The login link, in the header every pageview sees and never clicked: a dashed blue box around it.
    login = box_of(cold, "login")
    row = int(login["y"]) + 1  # inside the top edge's 2 px stroke
    edge = [pixel(cold, x, row) for x in range(int(login["x"]), int(login["x"] + login["w"]))]
    assert sum(1 for rgb in edge if rgb[2] > rgb[0] + 100) >= 10, edge
    assert not any(rgb[2] > rgb[0] + 100 for x in range(0, 40) for rgb in [pixel(plain, x, row)])
    # Bands all pageviews reach with under 1% of the clicks are tinted; the Buy button's band is not.
    far = pixel(cold, 800, 1200)
    assert far != pixel(plain, 800, 1200)
    assert far[2] > far[0] + 15, far
    assert pixel(cold, 900, 360) == pixel(plain, 900, 360) == BACKDROP
