"""How fast the heatmap page draws: N clicks over a W x H snapshot, in Debian's chromium.

Prints the time from the start of drawing to the first visible tile (heat.js draws 1,024 px tiles as
they scroll into view), the time to draw every tile, and, as the same-run baseline, the time to draw all
the clicks on one canvas the size of the page (what a renderer without tiles does).

    .venv/bin/python benchmarks/heatmap_draw.py [--clicks 20000] [--height 10000] [--reps 5]
"""

import argparse
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from playwright.sync_api import sync_playwright

from collector.dashboard.export import render_file
from collector.dashboard.heatmaps import drawing

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"]


def snapshot(width: int, height: int, buttons: int) -> str:
    rows = "".join(
        f'<button id="b{i}" style="position:absolute;left:{(i * 137) % (width - 220)}px;'
        f'top:{i * (height - 100) // buttons}px;width:200px;height:50px">Button {i}</button>'
        for i in range(buttons)
    )
    body = f"margin:0;height:{height}px;position:relative;background:#f4f4f4"
    return f'<!doctype html><html><body style="{body}">{rows}</body></html>'


def answer(size: tuple[int, int], clicks: int, rows: int, buttons: int, rng: random.Random) -> dict[str, Any]:
    """`clicks` in `rows` answer rows on `buttons` buttons, one in ten under a selector the page lacks."""
    width, height = size
    points: list[list[Any]] = []
    per = max(1, clicks // rows)  # rows = clicks: every click a row of its own, the answer's worst case
    for _ in range(rows):
        i = rng.randrange(buttons)
        selector = f"button#b{i}" if rng.random() < 0.9 else f"div.gone{i}"
        cell = [rng.randrange(101), rng.randrange(101), rng.randrange(100), rng.randrange(height // 10) * 10]
        points.append([selector, 0, *cell, per, per])
    return {
        "page": "bench.example/",
        "width": width,
        "range": {"since": "2026-12-01", "until": "2026-12-02"},
        "widths": [{"width": width, "clicks": clicks, "pageviews": clicks}],
        "layers": {"click": {"hits": clicks, "points": points}, "move": {"hits": 0, "tiles": []}},
        "scroll": {"pageviews": 0, "fold_px": 800, "reached": []},
        "elements": [],
    }


FULL = """() => { var v = document.getElementById('heat-a'), t = performance.now();
    v.drawn.stage.eager = true; v.drawn.stage.redraw(); return performance.now() - t; }"""
# The baseline: every click on one canvas the size of the page, as a renderer without tiles draws.
SINGLE = """([w, h]) => { var d = document.getElementById('heat-a').drawn, t = performance.now();
    var c = document.createElement('canvas'); c.width = w; c.height = h;
    var ctx = c.getContext('2d', {willReadFrequently: true});
    FootfallHeat.stamp(ctx, d.spots, d.max, 0, h); FootfallHeat.colorize(ctx, d.lut);
    return performance.now() - t; }"""
PLACING = """([w, h]) => {
    var t = performance.now(), data = JSON.parse(document.getElementById('heat-data').textContent);
    FootfallHeat.place(data.answer.layers.click, document.querySelector('iframe').contentDocument, {w: w, h: h});
    return performance.now() - t; }"""


def page_file(folder: Path, args: argparse.Namespace) -> Path:
    shape = {"w": args.width, "h": args.height, "viewportW": args.width, "viewportH": 800}
    found = answer((args.width, args.height), args.clicks, args.rows or args.clicks, 60, random.Random(7))
    backdrop = SimpleNamespace(html=snapshot(args.width, args.height, 60))
    path = folder / "bench.html"
    path.write_text(render_file(drawing(found, shape), backdrop, page="bench", title="", head=0, eager=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=20_000)
    parser.add_argument("--height", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--rows", type=int, default=0, help="answer rows the clicks come in (default: one per click)")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    browser_path = shutil.which("chromium")
    if browser_path is None:
        print("chromium is not installed", file=sys.stderr)
        return 2
    first: list[float] = []
    full: list[float] = []
    single: list[float] = []
    placing: list[float] = []
    size = [args.width, args.height]
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        path = page_file(Path(folder), args)
        browser = p.chromium.launch(executable_path=browser_path, args=FLAGS)
        for _ in range(args.reps):
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(path.as_uri())
            page.wait_for_selector("#heat-a[data-first-tile-ms]")
            first.append(float(page.get_attribute("#heat-a", "data-first-tile-ms") or "nan"))
            full.append(page.evaluate(FULL))
            single.append(page.evaluate(SINGLE, size))
            placing.append(page.evaluate(PLACING, size))
            page.close()
        browser.close()
    med = statistics.median
    rows = args.rows or args.clicks
    print(f"{args.clicks:,} clicks in {rows:,} rows over {args.width} x {args.height:,} px, {args.reps} runs, medians:")
    print(f"  first visible tile (placing + one 1,024 px tile):  {med(first):7.1f} ms")
    print(f"  of which placing the clicks on elements:          {med(placing):7.1f} ms")
    print(f"  every tile drawn:                                  {med(full):7.1f} ms")
    print(f"  baseline, one {args.width} x {args.height:,} canvas:             {med(single):7.1f} ms")
    print(f"  first tile vs baseline:                            {med(single) / med(first):7.1f}x sooner")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
