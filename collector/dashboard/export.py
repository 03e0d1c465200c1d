"""GET .../heatmap.png: the heatmap page's drawing as an image, for reports and e-mails.

Headless Chromium (Debian's `chromium`, or FOOTFALL_CHROMIUM) opens a file holding the page's own
drawing code over the same snapshot, so the image is what the page shows, anchored elements included.
It runs with the network resolved to nowhere (a snapshot's image URLs are the uploader's to choose, and
the server must not fetch them) and scripts only from that file: the snapshot's iframe has no
allow-scripts. Without Chromium, collector.heatmaps.png draws the layers' tiles over a plain outline.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Final

from collector.dashboard.pages import View
from collector.dashboard.web import HERE, render
from collector.errors import ApiError
from collector.heatmaps import png

MAX_HEIGHT: Final = 16_000  # px; Chromium's screenshots and image viewers both struggle beyond this
HEAD: Final = 44  # the caption strip above the drawing
TIMEOUT_S: Final = 60
_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=15000",
)


def chromium() -> str | None:
    return os.environ.get("FOOTFALL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def heatmap_png(view: View, *, browser: str | None = None) -> bytes:
    """The page's first view (A, or the difference A minus B) as a PNG."""
    context = view.context
    data: dict[str, Any] | None = context.get("data")
    if not data:
        raise ApiError(404, "no_heatmap", view.error or "no page has pageviews in this range: nothing to draw")
    diff = data["view"] == "diff"
    data = {**data, "view": "diff" if diff else "side", "against": data["against"] if diff else None}
    found = browser or chromium()
    if found is None:
        return png.outline(data)
    geometry = data["geometry"]
    width, height = int(geometry["w"]), min(int(geometry["h"]), MAX_HEIGHT)
    html = render_file(data, context.get("snapshot"), page=context.get("page", ""), title=_title(data))
    with tempfile.TemporaryDirectory(prefix="footfall-png-") as folder:
        page, shot = Path(folder) / "heatmap.html", Path(folder) / "heatmap.png"
        page.write_text(html, encoding="utf-8")
        command = [found, *_FLAGS, f"--user-data-dir={folder}/profile", f"--screenshot={shot}"]
        command += [f"--window-size={width},{height + HEAD}", page.as_uri()]
        try:
            subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return png.outline(data)
        if not shot.exists():
            return png.outline(data)
        return shot.read_bytes()


def render_file(
    data: dict[str, Any], snapshot: Any, *, page: str, title: str, head: int = HEAD, eager: bool = True
) -> str:
    """The heatmap page's drawing as one self-contained file: its CSS and scripts inlined, the snapshot in
    its sandboxed iframe. `eager`: every tile at once (a screenshot is taken of the whole page)."""
    context = {
        "data": data,
        "snapshot": snapshot,
        "page": page,
        "title": title,
        "head": head,
        "eager": eager,
        "css": (HERE / "static" / "dashboard.css").read_text(encoding="utf-8"),
        "heat_js": _script("heat.js"),
        "page_js": _script("heatmaps.js"),
    }
    return render("heatmap_render.html", context)


def _title(data: dict[str, Any]) -> str:
    answer = data["answer"]
    return f"{data['layer']} · {answer['width']} px · {answer['range']['since']} to {answer['range']['until']}"


def _script(name: str) -> str:
    # "</script" cannot occur in our own files, but an inlined file must never be able to end its element
    return (HERE / "static" / name).read_text(encoding="utf-8").replace("</script", "<\\/script")
