"""The heatmap page end to end, in real Chromium: a fixture site with the real snippet is clicked, its
snapshot captured, and the dashboard draws the clicks as hot pixels over the element clicked while a
pixel far from any click is the backdrop's; a page that refuses framing gets its heatmap all the same;
the PNG export's pixels agree; "open on my site" hands the live page a short-lived token in its fragment.

FOOTFALL_DOCS_SHOTS=DIR saves the pictures docs/heatmaps.md shows."""

import itertools
import os
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import CAPTURE_LOADER, chromium, html_page, new_page, pages
from PIL import Image
from playwright.sync_api import Browser, Page
from support import NOW_MS, serve, wait_until

from collector.accounts.passwords import hash_password
from collector.accounts.users import Users
from collector.dashboard.export import HEAD
from collector.heatmaps import snapshots, tokens
from collector.privacy import page_key
from collector.server.app import create_app
from collector.settings import Settings
from collector.sites import DEFAULT_ORIGINS
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

PASSWORD = "correct horse battery"
SHOP = """<!doctype html><html><head><title>Shop</title><style>
body {{ margin: 0; font: 16px sans-serif; background: rgb(245, 245, 245); }}
header {{ position: sticky; top: 0; height: 60px; background: rgb(30, 60, 120); }}
header a {{ color: #fff; display: inline-block; padding: 18px; }}
#buy {{ display: block; margin: 400px 0 0 500px; width: 220px; height: 60px; font-size: 20px; }}
main {{ height: 4000px; }}
</style>{loader}</head><body><header><a id="login" href="#">Log in</a></header>
<main><button id="buy" type="button">Buy now</button></main></body></html>"""


class Shop:
    def __init__(self, url: str, app: Any, store: ChdbStore, read_key: str, write_key: str) -> None:
        self.url, self.app, self.store, self.write_key = url, app, store, write_key
        self.api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {read_key}"}, timeout=60)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    folder = tmp_path_factory.mktemp("heatmap-page")
    store = ChdbStore(folder / "data", database="footfall")
    from collector.storage.migrate import migrate

    migrate(store)
    keys = Sites(store).add("shop", list(DEFAULT_ORIGINS))
    assert keys.read_key
    Users(store, clock_ms=lambda: NOW_MS).add(
        "owner@shop.example", password_hash=hash_password(PASSWORD), site_id=1, role="admin"
    )
    ticks = itertools.count(NOW_MS, 7)
    app = create_app(
        Settings(data_dir=str(folder / "data")).with_changes(max_delay_ms=20), store=store, now_ms=lambda: next(ticks)
    )
    with serve(app) as url:
        shop = Shop(url, app, store, keys.read_key, keys.write_key)
        yield shop
        shop.api.close()
    store.close()  # chdb holds one data folder per process: the next module opens its own


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def clicked_site(browser: Browser, shop: Shop, path: str, origin: str) -> str:
    """Open a fixture page, click Buy 6 times and the sticky header's link after scrolling; its page key."""
    page = new_page(browser, viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    page.goto(origin + path)
    page.wait_for_function("window.captureLoaded === true")
    key = page_key(origin + path)  # the key the collector gives the page's URL
    wait_until(lambda: snapshots.latest(shop.store, 1, key, 1280) is not None, what="the snapshot")
    for _ in range(6):
        page.click("#buy")
        page.wait_for_timeout(0)
    page.mouse.wheel(0, 3000)
    page.wait_for_function("window.scrollY > 2000")
    page.click("#login")
    page.close()  # pagehide: the last batch leaves
    wait_until(lambda: layers(shop, key)["layers"]["click"]["hits"] >= 7, what="the clicks")
    return key


def layers(shop: Shop, key: str) -> dict[str, Any]:
    response = shop.api.get("/api/v1/heatmap/layers", params={"page": key, "width": "1280"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def logged_in(browser: Browser, shop: Shop) -> Page:
    page = new_page(browser, viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page.goto(shop.url + "/dashboard/")
    page.fill("input[name=email]", "owner@shop.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard/shop/.*"))
    return page


def shot(page: Page) -> Image.Image:
    return Image.open(BytesIO(page.screenshot(full_page=True))).convert("RGB")


def buy_point(page: Page) -> tuple[int, int]:
    """The Buy button's centre on the dashboard page: its box in the snapshot, scaled like the frame."""
    found: list[float] = page.evaluate(
        """() => { var frame = document.querySelector('#heat-a .heat-frame'), f = frame.getBoundingClientRect();
        var s = f.width / frame.offsetWidth, b = document.querySelector('#heat-a iframe').contentDocument
          .getElementById('buy').getBoundingClientRect();
        return [f.left + scrollX + (b.left + b.width / 2) * s, f.top + scrollY + (b.top + b.height / 2) * s]; }"""
    )
    return int(found[0]), int(found[1])


def hot(rgb: tuple[int, ...]) -> bool:
    return rgb[0] > 200 and rgb[2] < 90


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/", {}), ("/blocked", {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"})],
)
def test_clicks_are_drawn_hot_over_the_button_and_far_pixels_are_the_backdrop(
    browser: Browser, shop: Shop, path: str, headers: dict[str, str]
) -> None:
    loader = CAPTURE_LOADER.format(collector=shop.url, key=shop.write_key, before="")
    with pages({path: html_page(SHOP.format(loader=loader), **headers)}) as origin:
        key = clicked_site(browser, shop, path, origin)
    page = logged_in(browser, shop)
    page.goto(f"{shop.url}/dashboard/shop/heatmaps?page={key}&width=1280")
    page.wait_for_selector("#heat-a[data-ready]")
    assert page.inner_text("#heat-badge").startswith("100% matched to elements")
    x, y = buy_point(page)
    drawn = shot(page)
    page.evaluate("document.querySelector('#heat-a .heat-layers').style.display = 'none'")
    bare = shot(page)
    assert hot(drawn.getpixel((x, y))), drawn.getpixel((x, y))  # type: ignore[arg-type]
    far = (x + 400, y + 600)
    assert drawn.getpixel(far) == bare.getpixel(far)
    if path == "/" and os.environ.get("FOOTFALL_DOCS_SHOTS"):
        page.evaluate("document.querySelector('#heat-a .heat-layers').style.display = ''")
        page.screenshot(
            path=str(Path(os.environ["FOOTFALL_DOCS_SHOTS"]) / "heatmap-clicks.jpg"), quality=70, full_page=False
        )
    # the PNG export draws the same over the same snapshot
    response = shop.api.get("/api/v1/heatmap.png", params={"page": key, "width": "1280"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(BytesIO(response.content)).convert("RGB")
    box: list[float] = page.evaluate(
        "(() => { var b = document.querySelector('#heat-a iframe').contentDocument.getElementById('buy')"
        ".getBoundingClientRect(); return [b.left + b.width / 2, b.top + b.height / 2]; })()"
    )
    assert hot(image.getpixel((int(box[0]), HEAD + 1 + int(box[1]))))  # type: ignore[arg-type]
    page.close()


def test_a_share_link_shows_the_heatmap_and_its_png_but_not_the_owners_overlay(browser: Browser, shop: Shop) -> None:
    # the pages the test above clicked on; a link without a password opens at once
    accounts = shop.app.state.accounts
    share = accounts.shares.create(1, reports=["heatmaps"], label="board", password_hash="", created_by="owner")
    page = new_page(browser, viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page.goto(f"{shop.url}/share/{share.slug}/heatmaps")
    page.wait_for_selector("#heat-a[data-ready]")
    assert page.inner_text("#heat-badge").startswith("100% matched to elements")
    x, y = buy_point(page)
    assert hot(shot(page).getpixel((x, y)))  # type: ignore[arg-type]
    assert page.locator("text=Open on my site").count() == 0  # the live overlay is the owner's alone
    png = page.get_attribute("a[href*='heatmap.png']", "href")
    assert png is not None
    assert png.startswith(f"/share/{share.slug}/heatmap.png?")
    image = httpx.get(shop.url + png, timeout=60)
    assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
    assert httpx.get(f"{shop.url}/share/{share.slug}/heatmaps/launch?url=x").status_code == 404
    page.close()


def test_open_on_my_site_sends_a_token_in_the_fragment_that_reads_the_layers(browser: Browser, shop: Shop) -> None:
    page = logged_in(browser, shop)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    page.close()
    client = httpx.Client(base_url=shop.url, cookies=cookies, timeout=30)
    refused = client.get("/dashboard/shop/heatmaps/launch", params={"url": "https://evil.example/"})
    assert refused.status_code == 422
    assert "allowed origins" in refused.text
    launched = client.get("/dashboard/shop/heatmaps/launch", params={"url": "http://127.0.0.1:9/pricing"})
    assert launched.status_code == 303
    target, _, fragment = launched.headers["location"].partition("#")
    assert target == "http://127.0.0.1:9/pricing"
    assert fragment.startswith("ff_overlay=ffo_1.")
    token = fragment.removeprefix("ff_overlay=")
    asked = httpx.get(
        f"{shop.url}/api/v1/heatmap/layers",
        params={"page": "http://127.0.0.1:9/pricing"},
        headers={"Authorization": f"Bearer {token}", "Origin": "http://127.0.0.1:9"},
    )
    assert asked.status_code == 200
    assert asked.headers["access-control-allow-origin"] == "http://127.0.0.1:9"
    foreign = httpx.get(
        f"{shop.url}/api/v1/heatmap/layers",
        params={"page": "x/"},
        headers={"Authorization": f"Bearer {token}", "Origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in foreign.headers
    assert httpx.get(f"{shop.url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    forged = httpx.get(
        f"{shop.url}/api/v1/heatmap/layers", params={"page": "x/"}, headers={"Authorization": f"Bearer {token}x"}
    )
    assert forged.status_code == 401
    assert forged.json()["error"] == "overlay_expired"
    preflight = httpx.options(
        f"{shop.url}/api/v1/heatmap/layers",
        headers={"Origin": "http://127.0.0.1:9", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    client.close()


def test_the_overlay_launches_from_the_fragment_drops_it_and_stops_at_expiry(browser: Browser, shop: Shop) -> None:
    tag = f'<script defer src="{shop.url}/s/{shop.write_key}.js"></script>'
    with pages({"/": html_page(SHOP.format(loader=tag))}) as origin:
        signer, now = shop.app.state.accounts.signer, shop.app.state.now_ms()
        token = tokens.mint(signer, 1, now, lifetime_ms=60_000)
        page = new_page(browser, viewport={"width": 1280, "height": 800})
        page.clock.install()
        page.goto(f"{origin}/#ff_overlay={token}")
        page.wait_for_selector("[data-footfall-overlay][data-state=drawn]", state="attached")
        assert "ff_overlay" not in page.evaluate("location.href")
        assert page.evaluate("sessionStorage.getItem('ff_overlay')") == token
        assert page.evaluate("!!document.querySelector('[data-footfall-overlay]').shadowRoot")
        assert (
            page.evaluate(
                "document.querySelector('[data-footfall-overlay]').shadowRoot.querySelectorAll('canvas').length"
            )
            > 0
        )
        page.clock.fast_forward(61_000)  # the server said how long the token has left; past it, the drawing goes
        page.wait_for_selector("[data-footfall-overlay][data-state=expired]", state="attached")
        assert (
            page.evaluate(
                "document.querySelector('[data-footfall-overlay]').shadowRoot.querySelectorAll('canvas').length"
            )
            == 0
        )
        assert page.evaluate("sessionStorage.getItem('ff_overlay')") is None
        page.close()
        expired = tokens.mint(signer, 1, now, lifetime_ms=-1)  # refused by the server: the same ending
        page = new_page(browser, viewport={"width": 1280, "height": 800})
        page.goto(f"{origin}/#ff_overlay={expired}")
        page.wait_for_selector("[data-footfall-overlay][data-state=expired]", state="attached")
        assert "expired" in page.evaluate("document.querySelector('[data-footfall-overlay]').shadowRoot.textContent")
        page.close()
