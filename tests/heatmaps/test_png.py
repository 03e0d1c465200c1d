"""heatmap.png: with Chromium, the heatmap page's own drawing over the snapshot (anchors included); without
it, the layers' tiles over a plain outline. Pixels are checked, not just that an image came back."""

import shutil
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from heat_pages import BACKDROP, BUY, HEIGHT, WIDTH, answer, hot, snapshot
from PIL import Image

from collector.dashboard.export import HEAD, heatmap_png
from collector.dashboard.heatmaps import drawing
from collector.dashboard.pages import View
from collector.heatmaps import png


def data(points: list[list[Any]]) -> dict[str, Any]:
    return drawing(answer(points), {"w": WIDTH, "h": HEIGHT, "viewportW": WIDTH, "viewportH": 700})


def image(body: bytes) -> Image.Image:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(BytesIO(body)).convert("RGB")


def test_the_outline_draws_each_click_at_its_tile() -> None:
    found = image(png.outline(data([BUY])))  # BUY's tile: 50-51% of the width, rows 330-340
    assert found.size == (WIDTH, HEIGHT)
    assert hot(found.getpixel((int(0.505 * WIDTH), 335)))  # type: ignore[arg-type]
    assert found.getpixel((100, 1250)) == (255, 255, 255)


def test_with_chromium_the_png_is_the_page_drawing_over_the_snapshot() -> None:
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed; ./tests/run.sh installs it")
    banner = snapshot(banner=200)  # the button is 200 px lower than where its clicks were recorded
    context = {"data": data([BUY]), "snapshot": SimpleNamespace(html=banner), "page": "shop.example/"}
    view = View(template="heatmaps.html", context=context)
    found = image(heatmap_png(view))
    assert found.size == (WIDTH, HEIGHT + HEAD)  # the stored document size, and the caption
    # the Buy button of the snapshot: 400 + 100 across, 60 (header) + 200 (banner) + 300 + 25 down
    assert hot(found.getpixel((500, HEAD + 1 + 585)))  # type: ignore[arg-type]
    assert found.getpixel((100, HEAD + 1200)) == BACKDROP
