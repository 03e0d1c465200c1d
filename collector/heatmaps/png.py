"""A heatmap as a PNG without a browser: the layers' tiles over a plain page outline.

Used when no Chromium is installed (collector/dashboard/export.py draws the real page otherwise).
Without a DOM there are no element anchors: clicks are drawn at their recorded tile, the way heat.js
draws a selector it cannot find. Pillow does the raster work (stamping, blur, colour ramp, PNG).
"""

import io
from typing import Any, Final

from PIL import Image, ImageDraw, ImageFilter

RADIUS: Final = 18
MAX_HEIGHT: Final = 16_000
# The "classic" ramp of heat.js: blue, cyan, green, yellow, red.
_STOPS: Final = (
    (0.0, (0, 0, 255)),
    (0.35, (0, 255, 255)),
    (0.55, (0, 255, 0)),
    (0.75, (255, 255, 0)),
    (1.0, (255, 0, 0)),
)


def _ramp() -> list[tuple[int, int, int]]:
    out = []
    for i in range(256):
        t = i / 255
        k = next(j for j in range(1, len(_STOPS)) if _STOPS[j][0] >= t or j == len(_STOPS) - 1)
        (t0, a), (t1, b) = _STOPS[k - 1], _STOPS[k]
        f = (t - t0) / ((t1 - t0) or 1)
        out.append((round(a[0] + (b[0] - a[0]) * f), round(a[1] + (b[1] - a[1]) * f), round(a[2] + (b[2] - a[2]) * f)))
    return out


def spots(data: dict[str, Any]) -> list[tuple[float, float, int]]:
    """(x, y, count) of the drawn layer at each recorded tile."""
    layers, width = data["answer"]["layers"], data["geometry"]["w"]
    kind = data["layer"] if data["layer"] in ("click", "move", "rageclick", "deadclick") else "click"
    index = 7 if data.get("visitors") else 6
    if kind == "move":
        return [((t[0] + 0.5) / 100 * width, t[1] + 5, t[3]) for t in layers.get("move", {}).get("tiles", [])]
    points = layers.get(kind, {}).get("points", [])
    return [((p[4] + 0.5) / 100 * width, p[5] + 5, p[index] if len(p) > index else p[6]) for p in points]


def outline(data: dict[str, Any]) -> bytes:
    geometry = data["geometry"]
    width, height = int(geometry["w"]), min(int(geometry["h"]), MAX_HEIGHT)
    page = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    for rule in range(0, height, 100):  # the outline: a rule every 100 px and the fold
        draw.line([(0, rule), (width, rule)], fill=(238, 241, 244))
    draw.rectangle([0, 0, width - 1, height - 1], outline=(200, 206, 214))
    fold = int(geometry.get("viewportH") or 0)
    if fold:
        draw.line([(0, fold), (width, fold)], fill=(90, 90, 90), width=2)
    found = spots(data)
    top = max((n for _, _, n in found), default=0)
    if top:
        alpha = Image.new("L", (width, height), 0)
        pen = ImageDraw.Draw(alpha)
        for x, y, n in sorted(found, key=lambda s: s[2]):
            level = max(12, round(255 * n / top))
            pen.ellipse([x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS], fill=level)
        alpha = alpha.filter(ImageFilter.GaussianBlur(RADIUS / 2))
        ramp = _ramp()
        colour = Image.merge("RGB", [alpha.point([c[i] for c in ramp]) for i in range(3)])
        page.paste(colour, (0, 0), alpha.point(lambda a: min(255, int((40 + a) * 0.85)) if a else 0))
    out = io.BytesIO()
    page.save(out, "PNG", optimize=True)
    return out.getvalue()
