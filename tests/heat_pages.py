"""Fixture pages and answers for the heatmap drawing tests (tests/dashboard/test_heat.py,
tests/heatmaps/test_png.py): a snapshot with a sticky header and a Buy button, and answers in
/api/v1/heatmap/layers's shape."""

from types import SimpleNamespace
from typing import Any

from collector.dashboard.export import render_file
from collector.dashboard.heatmaps import drawing

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
    shape = {"w": WIDTH, "h": HEIGHT, "viewportW": WIDTH, "viewportH": 700}
    data = drawing(data_answer, shape, **options)
    return render_file(data, SimpleNamespace(html=html), page="shop.example/", title="test", head=0)


def hot(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > 200 and rgb[2] < 80


BUY = ["button#buy", 0, 50, 50, 50, 330, 40, 30]  # 40 clicks at the middle of the Buy button
