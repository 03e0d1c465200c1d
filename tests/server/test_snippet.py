"""The generated snippet in a real Chromium, against the real collector and the embedded engine.

Pages are served from another loopback origin with the site's tag in them, as a web developer pastes it.
Timers the snippet waits on (rage bursts, dead clicks, batching) are driven by Playwright's clock where
a test must know that nothing more will come, instead of sleeping.
"""

import base64
import gzip
import hashlib
import json
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import chromium, new_page, site
from playwright.sync_api import Browser, Page, Request, Response
from support import Collector, Site, serve, wait_until

from collector.server import snippet
from collector.server.app import create_app
from collector.settings import Settings
from collector.sites import DEFAULT_ORIGINS
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

TAG = "<!--footfall-->"

LONG = f"""<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>Long page</title>
<style>
  body {{ margin: 0; font: 16px sans-serif; }}
  header {{ position: fixed; top: 0; left: 0; right: 0; height: 50px; background: #eee; z-index: 1; }}
  .tall {{ position: relative; height: 4000px; }}
  .tall > * {{ position: absolute; margin: 0; }}
  .card {{ top: 1000px; left: 10%; width: 50%; height: 200px; background: #ccf; }}
  .buy {{ top: 2300px; left: 100px; width: 200px; height: 100px; }}
  .note {{ top: 2600px; left: 0; width: 300px; height: 100px; }}
  .quiet {{ top: 2800px; left: 0; width: 300px; height: 100px; }}
  .private {{ top: 3000px; left: 0; width: 300px; height: 100px; }}
  form {{ top: 200px; left: 0; }}
</style>{TAG}</head><body>
<header><button class="menu">Menu</button></header>
<main><section class="tall">
  <div class="card" id="promo">Spring sale</div>
  <button class="buy" onclick="this.textContent = 'Added'">Buy</button>
  <p class="note">Free delivery over 50</p>
  <div class="quiet" data-footfall-ignore>Carousel</div>
  <div class="private" data-footfall-mask><span class="account" id="user-jane">Jane Doe</span></div>
  <form><input name="q" type="text"><input name="pw" type="password"><input name="mail" type="email">
    <textarea name="note"></textarea><button class="go">Go</button></form>
</section></main></body></html>"""

SHORT = f"<!doctype html><title>Short</title>{TAG}<h1>Home</h1>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@contextmanager
def tagged(
    store: ChdbStore, settings: Settings, pages: dict[str, str], **changes: Any
) -> Iterator[tuple[Collector, str]]:
    """The collector with a site configured by `changes`, and `pages` on another origin carrying its tag
    (with `csp`, under that Content-Security-Policy, `{collector}` standing for the collector's origin)."""
    csp = changes.pop("csp", "")
    sites = Sites(store)
    keys = sites.add("pages", DEFAULT_ORIGINS)
    assert keys.read_key
    if changes:
        sites.configure("pages", changes)
    with serve(create_app(settings, store=store)) as url:
        tag = f'<script defer src="{url}/s/{keys.write_key}.js"></script>'
        headers = {"Content-Security-Policy": csp.replace("{collector}", url)} if csp else {}
        collector = Collector(url, store, Site("pages", keys.write_key, keys.read_key))
        with collector.http, site({path: html.replace(TAG, tag) for path, html in pages.items()}, **headers) as origin:
            yield collector, origin


class Visit:
    """A page in its own browser context, with its uncaught errors and what it posted to the collector."""

    def __init__(self, browser: Browser, collector: Collector, *, clock: bool = False, **options: Any) -> None:
        self.page: Page = new_page(browser, **options)
        self.errors: list[str] = []
        self.posts: list[Request] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.posts.append(r) if is_post(r, collector) else None)
        if clock:
            self.page.clock.install()

    def open(self, url: str) -> Page:
        self.page.goto(url)
        self.page.wait_for_function("window.footfall !== undefined")
        return self.page

    def sent_ids(self) -> list[str]:
        """Event ids in the batches that reached the collector (a response came back)."""
        ids = []
        for request in self.posts:
            if request.response() is None:
                continue
            body = request.post_data_buffer or b""
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            ids += [event["id"] for event in json.loads(body)["events"]]
        return ids

    def leave(self) -> None:
        self.page.close(run_before_unload=False)  # pagehide: what is left goes by sendBeacon
        assert self.errors == []


def is_post(request: Request, collector: Collector) -> bool:
    """A batch the snippet posts (a snapshot upload of the capture module is not one)."""
    return request.method == "POST" and request.url == collector.url + "/v1/batch"


def is_batch(response: Response) -> bool:
    return response.url.endswith("/v1/batch")


def stored(collector: Collector, where: str = "1", *, count: int | None = None) -> list[dict[str, Any]]:
    return collector.stored(where, count=count)


# -- the script itself ------------------------------------------------------------------------------


def test_each_site_gets_its_own_script_compressed_and_cached(store: ChdbStore, settings: Settings) -> None:
    sites = Sites(store)
    full = sites.add("full", DEFAULT_ORIGINS)
    light = sites.add("light", DEFAULT_ORIGINS)
    off = {f"snippet.{name}": False for name in ("clicks", "moves", "scroll", "rage", "dead", "offline")}
    sites.configure("light", {**off, "snippet.endpoint": "/collect", "snippet.keep_params": "q"})
    with serve(create_app(settings, store=store)) as url:
        plain = httpx.get(f"{url}/s/{full.write_key}.js", headers={"Accept-Encoding": "identity"})
        brotli = httpx.get(f"{url}/s/{full.write_key}.js", headers={"Accept-Encoding": "gzip, br"})
        zipped = httpx.get(f"{url}/s/{full.write_key}.js", headers={"Accept-Encoding": "gzip"})
        again = httpx.get(f"{url}/s/{full.write_key}.js", headers={"If-None-Match": plain.headers["etag"]})
        lighter = httpx.get(f"{url}/s/{light.write_key}.js")
    assert plain.headers["content-type"].startswith("text/javascript")
    # No public URL: the endpoint is this server's address as the request named it (test_snippet_endpoint.py)
    assert plain.headers["cache-control"] == "private, max-age=300"
    assert plain.headers["vary"] == "Accept-Encoding, Host"
    assert "content-encoding" not in plain.headers
    assert (brotli.headers["content-encoding"], zipped.headers["content-encoding"]) == ("br", "gzip")
    assert brotli.content == zipped.content == plain.content  # httpx decoded them
    assert brotli.num_bytes_downloaded < zipped.num_bytes_downloaded < len(plain.content) / 2
    assert (again.status_code, again.content) == (304, b"")
    assert f'"{url}/v1/batch"'.encode() in plain.content
    for feature in (b"mousemove", b"getBoundingClientRect", b"MutationObserver", b"ff_queue"):
        assert feature in plain.content
        assert feature not in lighter.content
    assert b'"/collect"' in lighter.content  # first-party: posted to the page's own origin
    assert b"(?:q)=" in lighter.content
    assert lighter.headers["etag"] != plain.headers["etag"]


def test_the_size_budget_holds() -> None:
    """(a) pageviews + custom events ≤ 1,000 B and (b) every feature ≤ 4,000 B, gzip -9 (the script exits 1 over)."""
    script = Path(__file__).parents[2] / "benchmarks" / "snippet_size.py"
    result = subprocess.run(
        [sys.executable, str(script), "--no-peers"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "footfall (a) pageviews + custom events" in result.stdout


# -- pageviews, custom events, identity ------------------------------------------------------------


def test_one_tag_sends_pageviews_spa_routes_custom_events_and_identity(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        page = visit.open(f"{origin}/")
        page.evaluate("footfall.track('signup', {plan: 'pro'})")
        page.evaluate("history.pushState({}, '', '/pricing')")
        page.evaluate("history.pushState({}, '', '/pricing')")  # the same route: no second pageview
        page.evaluate("history.replaceState({}, '', '/pricing#faq')")  # a hash alone is not a page
        page.evaluate("history.pushState({}, '', '/docs')")
        page.evaluate("footfall.identify('user-7', {plan: 'pro'})")
        page.evaluate("footfall.track('upgrade')")
        page.go_back()  # popstate: back on /pricing
        visit.leave()
        rows = stored(collector, "type IN ('pageview', 'track', 'identify')", count=7)
        scrolls = stored(collector, "type = 'scroll'", count=4)
    assert [(r["type"], r["name"] or r["path"]) for r in rows] == [
        ("pageview", "/"),
        ("track", "signup"),
        ("pageview", "/pricing"),
        ("pageview", "/docs"),
        ("identify", "/docs"),
        ("track", "upgrade"),
        ("pageview", "/pricing"),
    ]
    assert sorted(r["path"] for r in scrolls) == ["/", "/docs", "/pricing", "/pricing"]  # one per pageview
    by_type = {(r["type"], r["name"]): r for r in rows}
    signup = by_type[("track", "signup")]
    assert (signup["library"], signup["browser"], signup["host"]) == ("footfall-js", "Chrome", "127.0.0.1")
    assert signup["properties"] == '{"plan":"pro"}'
    assert signup["user_id"] == ""
    assert by_type[("track", "upgrade")]["user_id"] == "user-7"
    assert len({r["anonymous_id"] for r in rows}) == 1
    assert len({r["session_id"] for r in rows}) == 1
    assert rows[0]["referrer"] == ""
    assert rows[-1]["referrer"] == f"{origin}/docs"
    docs = next(r for r in rows if r["type"] == "pageview" and r["path"] == "/docs")
    assert docs["referrer"] == f"{origin}/pricing"


def test_the_visitor_id_outlives_the_page_and_reset_forgets_it(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        page = visit.open(f"{origin}/")
        page.reload()
        page.wait_for_function("window.footfall !== undefined")
        page.evaluate("footfall.reset()")
        page.evaluate("footfall.track('after-reset')")
        visit.leave()
        rows = stored(collector, "type IN ('pageview', 'track')", count=3)
    first, reloaded, after = rows
    assert first["anonymous_id"] == reloaded["anonymous_id"] != after["anonymous_id"]


# -- clicks for heatmaps -----------------------------------------------------------------------------


def test_a_click_on_a_long_page_is_stored_where_it_happened(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}, **{"snippet.moves": False}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        page.evaluate("window.scrollTo(0, 2000)")
        page.mouse.click(150, 350)  # the Buy button: document (150, 2350), 50 px into its box
        page.mouse.click(20, 10)  # the menu button in the fixed header
        visit.leave()
        clicks = stored(collector, "type = 'click'", count=2)
    buy, menu = clicks
    assert (buy["x"], buy["y"], buy["fixed"]) == (150, 2350, False)
    assert buy["selector"] == "main > section.tall > button.buy"
    assert (buy["el_x"], buy["el_y"], buy["el_w"], buy["el_h"]) == (50, 50, 200, 100)
    assert (buy["viewport_w"], buy["viewport_h"], buy["doc_h"]) == (1280, 800, 4000)
    assert buy["x_frac"] == pytest.approx(150 / buy["doc_w"])
    assert (menu["x"], menu["y"], menu["fixed"], menu["selector"]) == (20, 10, True, "header > button.menu")


def test_element_offsets_agree_across_layouts(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        for width in (375, 1440):
            visit = Visit(browser, collector, viewport={"width": width, "height": 800})
            page = visit.open(f"{origin}/")
            page.evaluate("window.scrollTo(0, 900)")
            box = page.evaluate(
                "(() => { const r = promo.getBoundingClientRect(); return [r.left, r.top, r.width, r.height] })()"
            )
            page.mouse.click(box[0] + box[2] * 0.25, box[1] + box[3] * 0.5)
            visit.leave()
        narrow, wide = stored(collector, "type = 'click'", count=2)
    assert narrow["selector"] == wide["selector"] == "div#promo"
    assert narrow["el_w"] < wide["el_w"]
    assert narrow["width_bucket"] < wide["width_bucket"]
    for row in (narrow, wide):
        assert row["el_x"] / row["el_w"] == pytest.approx(0.25, abs=1.5 / row["el_w"])
        assert row["el_y"] / row["el_h"] == pytest.approx(0.5, abs=1.5 / row["el_h"])


def test_a_phone_and_a_desktop_stay_apart(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    """375 and 1280 px lay the page out differently: each width bucket has its own heatmap."""
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        for width, target, clicks in ((375, "button.buy", 3), (1280, "#promo", 1)):
            visit = Visit(browser, collector, viewport={"width": width, "height": 800})
            page = visit.open(f"{origin}/")
            for n in range(clicks):  # 40 px apart: no rage burst
                page.click(target, position={"x": 10 + 40 * n, "y": 10})
            visit.leave()
        rows = stored(collector, "type = 'click'", count=4)
        read = {"Authorization": f"Bearer {collector.site.read_key}"}
        days = {"since": min(r["timestamp"] for r in rows)[:10], "until": max(r["timestamp"] for r in rows)[:10]}

        def answer(width: int) -> dict[str, Any]:
            params = {"page": f"{origin}/", "width": width, **days}
            found: dict[str, Any] = collector.http.get("/api/v1/heatmap/layers", params=params, headers=read).json()
            return found

        def drawn(width: int) -> list[tuple[str, int]]:
            return [(point[0], point[6]) for point in answer(width)["layers"]["click"]["points"]]

        wait_until(lambda: sum(n for _, n in drawn(375)) == 3, what="the phone's clicks in the rollup")
        wait_until(lambda: sum(n for _, n in drawn(1280)) == 1, what="the desktop's click in the rollup")
        phone, desktop = answer(375), answer(1280)
    assert [(r["viewport_w"], r["width_bucket"]) for r in rows] == [(375, 375)] * 3 + [(1280, 1280)]
    assert {(w["width"], w["clicks"]) for w in phone["widths"]} == {(375, 3), (1280, 1)}
    assert {point[0] for point in phone["layers"]["click"]["points"]} == {"main > section.tall > button.buy"}
    assert {point[0] for point in desktop["layers"]["click"]["points"]} == {"div#promo"}
    assert [e["selector"] for e in phone["elements"]] == ["main > section.tall > button.buy"]
    assert [e["selector"] for e in desktop["elements"]] == ["div#promo"]


# Scroll events are dispatched with the next frame, before its animation callbacks.
AFTER_SCROLL_EVENTS = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def test_scrolling_to_three_quarters_stores_a_depth_of_75(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        for y in (500, 2200, 1200):  # the deepest point counts, not the last
            page.evaluate(f"window.scrollTo(0, {y})")
            page.evaluate(AFTER_SCROLL_EVENTS)
        visit.leave()
        (scroll,) = stored(collector, "type = 'scroll'", count=1)
    assert scroll["depth"] == pytest.approx(75, abs=2)
    assert scroll["doc_h"] == 4000
    assert scroll["path"] == "/"


def test_rage_dead_and_ignored_clicks(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, clock=True, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        page.evaluate("window.scrollTo(0, 2300)")
        page.clock.run_for(100)  # the scroll is over before the clicks
        for _ in range(4):
            page.mouse.click(150, 50)  # Buy, four times fast: one rage click; it changes the DOM: not dead
        page.clock.run_for(2500)
        page.mouse.click(100, 350)  # the plain paragraph: nothing happens, a dead click
        page.clock.run_for(2500)
        for _ in range(4):
            page.mouse.click(100, 550)  # data-footfall-ignore: nothing at all
        page.clock.run_for(2500)
        visit.leave()
        rows = stored(collector, "type IN ('click', 'rageclick', 'deadclick')", count=7)
    kinds = sorted((r["type"], r["selector"]) for r in rows)
    assert kinds == sorted(
        [("click", "main > section.tall > button.buy")] * 4
        + [("rageclick", "main > section.tall > button.buy"), ("click", "main > section.tall > p.note")]
        + [("deadclick", "main > section.tall > p.note")]
    )
    (rage,) = [r for r in rows if r["type"] == "rageclick"]
    assert rage["clicks"] == 4
    assert (rage["x"], rage["y"]) == (150, 2350)


def test_a_rage_burst_ended_by_a_click_elsewhere_is_still_sent(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    """Three fast clicks on Buy, then at once one on the paragraph: the burst ends there, it is not lost."""
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, clock=True, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        page.evaluate("window.scrollTo(0, 2300)")
        page.clock.run_for(100)
        for _ in range(3):
            page.mouse.click(150, 50)
        page.mouse.click(100, 350)  # within the second: before the burst's own timer ends it
        page.clock.run_for(2500)
        visit.leave()
        (rage,) = stored(collector, "type = 'rageclick'", count=1)
        stored(collector, "type = 'click'", count=4)
    buy = "main > section.tall > button.buy"
    assert (rage["selector"], rage["clicks"], rage["x"], rage["y"]) == (buy, 3, 150, 2350)


def test_clicks_inside_masked_elements_describe_only_the_mask(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}, **{"snippet.mask": ".card"}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        page.click("#user-jane")  # inside data-footfall-mask
        page.click("#promo")  # matches the site's mask selector
        visit.leave()
        rows = stored(collector, "type = 'click'", count=2)
    assert [r["selector"] for r in rows] == ["main > section.tall > div.private:nth-of-type(3)", "div#promo"]


def test_mouse_movement_is_aggregated_into_cells_in_the_browser(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        page.evaluate("window.scrollTo(0, 1000)")
        for x in range(100, 700, 15):
            page.mouse.move(x, 300)
            page.evaluate(AFTER_SCROLL_EVENTS)  # a frame apart, as a hand moves
        visit.leave()
        (move,) = stored(collector, "type = 'move'", count=1)
        requests = len(visit.posts)
    points = move["points"]
    assert 1 < len(points) <= 40  # one [x, y, hits] per 20 px cell visited, not one per mousemove
    assert all(x % 20 == 0 and y == 1300 for x, y, _ in points)  # document coordinates: 1000 + 300
    assert sum(n for _, _, n in points) <= 40
    assert requests <= 3  # the pageview, and what was left on leaving


# -- privacy ---------------------------------------------------------------------------------------


def test_typed_text_is_stored_nowhere(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    secrets = {"q": "needle-text-41", "pw": "needle-pass-42", "mail": "needle@mail.example", "note": "needle-note-43"}
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/")
        for name, text in secrets.items():
            page.click(f"[name={name}]")
            page.keyboard.type(text)
        with page.expect_navigation():
            page.click("form .go")  # submits the GET form: the values land in the page URL
        page.wait_for_function("window.footfall !== undefined")
        visit.leave()
        rows = stored(collector, count=8)
    assert len([r for r in rows if r["type"] == "click"]) == 5
    dump = json.dumps(rows, default=str)
    assert "needle" not in dump
    assert "mail.example" not in dump


def test_urls_keep_only_allowed_parameters_and_lose_emails_and_ids(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": SHORT}, **{"snippet.keep_params": "page"}) as (collector, origin):
        visit = Visit(browser, collector)
        visit.open(f"{origin}/?utm_source=news&page=2&email=jo%40x.example&session=abc")
        page = visit.page
        page.evaluate("history.pushState({}, '', '/users/12345678/orders/9f0b4c1e-8a2d-4c3b-9e7f-0a1b2c3d4e5f')")
        page.evaluate("history.pushState({}, '', '/to/jo@x.example')")
        visit.leave()
        rows = stored(collector, "type = 'pageview'", count=3)
    assert [r["url"] for r in rows] == [
        f"{origin}/?utm_source=news&page=2",
        f"{origin}/users/:id/orders/:id",
        f"{origin}/to/:email",
    ]


def test_hash_routes_are_pages_only_when_the_site_says_so(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": SHORT}, **{"snippet.hash_routes": True}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
        page = visit.open(f"{origin}/#/inbox")
        page.click("h1")
        page.evaluate("location.hash = '#/settings'")  # hashchange
        page.wait_for_function("location.hash === '#/settings'")
        page.click("h1")
        page.click("h1", position={"x": 5, "y": 5})
        visit.leave()
        rows = stored(collector, "type IN ('pageview', 'click')", count=5)
        read = {"Authorization": f"Bearer {collector.site.read_key}"}
        days = {"since": min(r["timestamp"] for r in rows)[:10], "until": max(r["timestamp"] for r in rows)[:10]}
        here = origin.removeprefix("http://")  # 127.0.0.1:<port>

        def clicks() -> list[tuple[str, int]]:
            return [
                (answer["page"], answer["layers"]["click"]["hits"])
                for url in (f"{origin}/#/inbox", f"{origin}/#/settings", f"{origin}/")
                for answer in [
                    collector.http.get(
                        "/api/v1/heatmap/layers", params={"page": url, "width": 1280, **days}, headers=read
                    ).json()
                ]
            ]

        # the rollup's part may become visible a moment after the events' part of the same insert
        expected = [(f"{here}/#/inbox", 1), (f"{here}/#/settings", 2), (f"{here}/", 0)]
        wait_until(lambda: clicks() == expected, what="the routes' clicks in the heatmap rollup")
    assert [r["url"] for r in rows if r["type"] == "pageview"] == [f"{origin}/#/inbox", f"{origin}/#/settings"]
    # Each route is a page of its own for heatmaps and pages; a port other than 80/443 is part of the page.
    assert [(r["type"], r["page_key"]) for r in rows] == [
        ("pageview", f"{here}/#/inbox"),
        ("click", f"{here}/#/inbox"),
        ("pageview", f"{here}/#/settings"),
        ("click", f"{here}/#/settings"),
        ("click", f"{here}/#/settings"),
    ]


def test_cookieless_mode_keeps_nothing_in_the_browser(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": LONG}, **{"snippet.cookieless": True}) as (collector, origin):
        visit = Visit(browser, collector)
        page = visit.open(f"{origin}/")
        page.mouse.click(150, 150)
        page.evaluate("footfall.consent({analytics: true, heatmaps: true, marketing: false})")
        page.evaluate("footfall.identify('user-7')")
        page.reload()
        page.wait_for_function("window.footfall !== undefined")
        kept = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
        visit.leave()
        rows = stored(collector, "type = 'pageview'", count=2)
    assert kept == [0, 0, ""]
    assert rows[0]["anonymous_id"] != rows[1]["anonymous_id"]  # nothing links the two loads in the browser
    assert rows[0]["visitor_key"] == rows[1]["visitor_key"] != ""  # the collector's daily key still counts them


def captures(visit: Visit, collector: Collector) -> list[dict[str, str]]:
    """The capture scripts the page asks the collector for (answered here with an empty script)."""
    asked: list[dict[str, str]] = []

    def answer(route: Any) -> None:
        asked.append(dict(httpx.URL(route.request.url).params))
        route.fulfill(status=200, content_type="text/javascript", body="")

    visit.page.route(f"{collector.url}/v1/capture.js*", answer)
    return asked


def wait_for(page: Page, asked: list[Any], count: int) -> None:
    for _ in range(100):
        if len(asked) >= count:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{len(asked)} capture requests, not {count}")


def test_with_heatmaps_consent_the_page_structure_is_offered_for_capture_once_per_route(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, viewport={"width": 1111, "height": 800})
        asked = captures(visit, collector)
        page = visit.open(f"{origin}/?utm_source=x&secret=1")
        wait_for(page, asked, 1)
        page.evaluate("history.replaceState({}, '', '/?utm_source=x#top')")  # the same page: not again
        page.evaluate("history.pushState({}, '', '/pricing')")
        wait_for(page, asked, 2)
        page.wait_for_timeout(500)  # and no third
        signature = page.evaluate(
            "(() => { let h = 0; for (const el of [...document.body.getElementsByTagName('*')].slice(0, 2000))"
            " for (const c of el.tagName) h = Math.imul(h, 31) + c.charCodeAt(0) | 0; "
            " return (h >>> 0).toString(36) })()"
        )
        visit.leave()
    assert asked == [
        {"key": collector.site.write_key, "url": f"{origin}/?utm_source=x", "w": "1111", "sig": signature},
        {"key": collector.site.write_key, "url": f"{origin}/pricing", "w": "1111", "sig": signature},
    ]


def test_without_heatmaps_consent_nothing_is_offered_for_capture(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}, **{"snippet.consent": "opt-in"}) as (collector, origin):
        visit = Visit(browser, collector)
        asked = captures(visit, collector)
        page = visit.open(f"{origin}/")
        page.evaluate("footfall.consent({analytics: true, heatmaps: false, marketing: false})")
        page.wait_for_timeout(1_500)
        assert asked == []
        page.evaluate("footfall.consent({analytics: true, heatmaps: true, marketing: false})")  # a change of mind
        wait_for(page, asked, 1)
        visit.leave()
    assert [a["url"] for a in asked] == [f"{origin}/"]


def test_the_overlay_link_loads_the_overlay_for_the_tab_and_leaves_no_token_in_urls(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": SHORT, "/next": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        asked: list[str] = []

        def answer(route: Any) -> None:
            asked.append(route.request.url)
            route.fulfill(status=200, content_type="text/javascript", body="")

        visit.page.route(f"{collector.url}/s/overlay.js*", answer)
        page = visit.open(f"{origin}/#ff_overlay=tok.en-1")  # and on at once: its pageview goes as it hides
        assert page.url == f"{origin}/"
        assert page.evaluate("sessionStorage.getItem('ff_overlay')") == "tok.en-1"
        with visit.page.expect_response(is_batch):
            page = visit.open(f"{origin}/next")  # a later page in the tab: the overlay again
            wait_for(page, asked, 2)
        visit.leave()
        rows = stored(collector, "type = 'pageview'", count=2)
    assert asked == [f"{collector.url}/s/overlay.js?t=tok.en-1"] * 2
    assert [r["path"] for r in rows] == ["/", "/next"]
    assert not [r for r in rows if "ff_overlay" in json.dumps(r, default=str)]


def test_an_overlay_link_to_a_hash_route_keeps_the_route(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": SHORT}, **{"snippet.hash_routes": True}) as (collector, origin):
        visit = Visit(browser, collector)
        visit.page.route(f"{collector.url}/s/overlay.js*", lambda route: route.fulfill(status=200, body=""))
        # The batch is awaited: a beacon sent as a page with routes closes can be dropped by Playwright.
        with visit.page.expect_response(is_batch):
            page = visit.open(f"{origin}/#/orders&ff_overlay=tok.en-1")  # as overlay.launch_url builds it
            assert page.url == f"{origin}/#/orders"
        visit.leave()
        (row,) = stored(collector, "type = 'pageview'", count=1)
    assert (row["url"], row["page_key"]) == (f"{origin}/#/orders", origin.removeprefix("http://") + "/#/orders")


NOTHING_SENT_IN = 5_000  # ms of page time: batches go out after 1 s


def test_global_privacy_control_sends_nothing(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": LONG}) as (collector, origin):
        visit = Visit(browser, collector, clock=True)
        visit.page.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
        page = visit.open(f"{origin}/")
        page.evaluate("footfall.consent({analytics: true, heatmaps: true})")  # GPC wins over a banner's default
        page.evaluate("footfall.track('anything')")
        page.mouse.click(100, 100)
        page.clock.run_for(NOTHING_SENT_IN)
        visit.leave()
    assert visit.posts == []


def test_refused_consent_sends_nothing_and_a_grant_sends_what_was_held(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    with tagged(store, settings, {"/": LONG}, **{"snippet.consent": "opt-in"}) as (collector, origin):
        refusing = Visit(browser, collector, clock=True)
        page = refusing.open(f"{origin}/")
        page.evaluate("footfall.track('before')")
        page.evaluate("footfall.consent({analytics: false, heatmaps: false, marketing: false})")
        page.evaluate("footfall.track('after')")
        page.clock.run_for(NOTHING_SENT_IN)
        refusing.leave()
        assert refusing.posts == []

        granting = Visit(browser, collector, clock=True, viewport={"width": 1280, "height": 800})
        page = granting.open(f"{origin}/")
        page.evaluate("footfall.track('held')")
        page.mouse.click(150, 150)
        page.clock.run_for(NOTHING_SENT_IN)
        assert granting.posts == []  # undecided: held in memory, nothing sent
        assert page.evaluate("Object.keys(localStorage)") == []  # and nothing kept
        page.evaluate("footfall.consent({analytics: true, heatmaps: false, marketing: false})")
        page.clock.run_for(1_500)
        granting.leave()
        rows = stored(collector, count=2)
    assert [(r["type"], r["name"]) for r in rows] == [("pageview", ""), ("track", "held")]  # not the click
    assert all(r["consent_analytics"] and not r["consent_marketing"] for r in rows)


def early(calls: str) -> str:
    """A page that runs `calls` before the deferred tag: the documented stub, then the page's own script."""
    return f"<!doctype html><title>Early</title><script>{snippet.STUB}</script><script>{calls}</script>{TAG}<h1>Hi</h1>"


def inline_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def test_the_documented_stub_is_the_served_one_with_its_hash() -> None:
    readme = (Path(__file__).parents[2] / "sdk-js" / "README.md").read_text()
    assert f"<script>{snippet.STUB}</script>" in readme
    assert f"script-src {inline_hash(snippet.STUB)}" in readme
    assert snippet.tags("https://f.example", "ffw_k").splitlines()[0] == f"<script>{snippet.STUB}</script>"


def test_calls_made_before_the_tag_has_run_are_queued_by_the_stub_and_replayed(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    calls = (
        "footfall.track('early', {n: 1}); footfall.identify('user-9', {plan: 'pro'});"
        "footfall.consent({analytics: true, marketing: false}); footfall.track('late')"
    )
    # Under a strict policy: the documented hash admits the stub (the page's own script has its own).
    csp = f"script-src {{collector}} {snippet.STUB_CSP} {inline_hash(calls)}"
    with tagged(store, settings, {"/": early(calls)}, csp=csp, **{"snippet.consent": "opt-in"}) as (collector, origin):
        visit = Visit(browser, collector)
        with visit.page.expect_response(is_batch):
            page = visit.open(f"{origin}/")
        assert page.evaluate("footfall.q") is None  # the script has taken over from the stub
        sent = visit.sent_ids()
        visit.leave()
        rows = sorted(stored(collector, count=4), key=lambda r: sent.index(str(r["event_id"])))
    # The consent given before the script ran admits the pageview; the rest follows in the page's order
    # (in the order sent: they are often made in the same millisecond).
    assert [(r["type"], r["name"] or r["user_id"]) for r in rows] == [
        ("pageview", ""),
        ("track", "early"),
        ("identify", "user-9"),
        ("track", "late"),
    ]
    assert all(r["path"] == "/" and r["consent_analytics"] and not r["consent_marketing"] for r in rows)
    assert rows[3]["user_id"] == "user-9"
    assert json.loads(rows[1]["properties"]) == {"n": 1}


def test_a_refusal_made_before_the_tag_has_run_applies_to_its_first_pageview(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    calls = "footfall.track('early'); footfall.consent({analytics: false}); footfall.nosuch && footfall.nosuch()"
    with tagged(store, settings, {"/": early(calls)}) as (collector, origin):
        visit = Visit(browser, collector, clock=True)
        page = visit.open(f"{origin}/")
        page.wait_for_function("!footfall.q")
        page.evaluate("footfall.track('after')")
        page.clock.run_for(NOTHING_SENT_IN)
        visit.leave()
    assert visit.posts == []  # opt-out site, but the visitor said no before the script ran


# -- transport -------------------------------------------------------------------------------------


# A CompressionStream that never finishes: the page goes while its batch is still being compressed.
STUCK_GZIP = """window.CompressionStream = function () {
  return new TransformStream({transform() {}, flush() { return new Promise(() => {}); }});
};"""


@pytest.mark.parametrize("offline", [True, False])
def test_a_batch_still_being_compressed_when_the_page_goes_is_sent_anyway(
    store: ChdbStore, settings: Settings, browser: Browser, offline: bool
) -> None:
    with tagged(store, settings, {"/": SHORT, "/next": SHORT}, **{"snippet.offline": offline}) as (collector, origin):
        visit = Visit(browser, collector, clock=True)
        visit.page.add_init_script(STUCK_GZIP)
        page = visit.open(f"{origin}/")
        page.evaluate("footfall.track('just before leaving')")
        page.clock.run_for(1_100)  # the batch timer: compression starts, and never ends
        page.goto(f"{origin}/next")  # pagehide: the batch goes uncompressed by sendBeacon
        visit.leave()
        rows = stored(collector, "type IN ('pageview', 'track')", count=3)
    assert [(r["type"], r["path"], r["name"]) for r in rows] == [
        ("pageview", "/", ""),
        ("track", "/", "just before leaving"),
        ("pageview", "/next", ""),
    ]


def test_offline_events_are_delivered_once_back_online(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        with visit.page.expect_response(is_batch):
            page = visit.open(f"{origin}/")
        page.context.set_offline(True)
        page.evaluate("['o1', 'o2', 'o3'].forEach(n => footfall.track(n))")
        page.wait_for_function("(localStorage.getItem('ff_queue') || '').includes('o3')")
        with page.expect_response(is_batch):
            page.context.set_offline(False)  # the online event: the queue goes out
        page.wait_for_function("!localStorage.getItem('ff_queue')")
        ids = visit.sent_ids()
        visit.leave()
        rows = stored(collector, "type = 'track'", count=3)
    assert len(ids) == len(set(ids)) == 4  # each event reached the collector once
    assert sorted(r["name"] for r in rows) == ["o1", "o2", "o3"]


def test_queued_events_older_than_a_day_are_dropped(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        page = visit.open(f"{origin}/")
        stale = {
            "id": "0190a000-0000-4000-8000-000000000001",
            "type": "track",
            "name": "stale",
            "ts": "2020-01-01T00:00:00Z",
        }
        fresh = {**stale, "id": "0190a000-0000-4000-8000-000000000002", "name": "fresh"}
        page.evaluate(
            f"""fresh => {{ fresh.ts = new Date().toISOString();
            localStorage.setItem('ff_queue', JSON.stringify([{json.dumps(stale)}, fresh])) }}""",
            fresh,
        )
        with page.expect_response(is_batch):
            page.reload()  # the next page sends what waits
        page.wait_for_function("!localStorage.getItem('ff_queue')")
        visit.leave()
        rows = stored(collector, "type = 'track'", count=1)
    assert [r["name"] for r in rows] == ["fresh"]


def test_whatever_is_in_storage_the_page_gets_no_error(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        visit.page.add_init_script(
            "for (const k of ['ff_consent', 'ff_queue', 'ff_id']) localStorage.setItem(k, '{not json');"
            "sessionStorage.setItem('ff_session', '[1, 2');"
        )
        visit.open(f"{origin}/")
        visit.leave()  # no uncaught error
        (pageview,) = stored(collector, "type = 'pageview'", count=1)
    assert pageview["consent_analytics"]


def test_batches_are_gzipped_plain_text_posts(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    with tagged(store, settings, {"/": SHORT}) as (collector, origin):
        visit = Visit(browser, collector)
        with visit.page.expect_response(is_batch):
            visit.open(f"{origin}/")
        visit.leave()
    (post,) = visit.posts
    assert post.method == "POST"
    assert post.headers["content-type"] == "text/plain"
    assert (post.post_data_buffer or b"")[:2] == b"\x1f\x8b"  # CompressionStream's gzip, found by magic bytes


# -- cost in the page ------------------------------------------------------------------------------

MEASURE = """
window.__cost = {click: [], mousemove: []};
for (const type of ['click', 'mousemove']) {
  // window capture runs before the snippet's document-capture handler, window bubble after it
  addEventListener(type, () => { window.__t0 = performance.now(); }, true);
  addEventListener(type, () => { window.__cost[type].push(performance.now() - window.__t0); });
}
window.__long = [];
new PerformanceObserver(list => window.__long.push(...list.getEntries().map(e => e.duration)))
  .observe({type: 'longtask', buffered: true});
"""


def interact(page: Page) -> tuple[dict[str, list[float]], list[float]]:
    """300 mouse moves and 30 clicks; per event, the time between the window's capture and bubble
    listeners (ms), and the long tasks seen meanwhile."""
    page.wait_for_timeout(0)
    before = page.evaluate("window.__long.length")
    for i in range(300):
        page.mouse.move(200 + i % 100 * 7, 300 + i // 3)
    for i in range(30):
        page.mouse.click(40 + i * 3, 500)
    cost: dict[str, list[float]] = page.evaluate("window.__cost")
    long_tasks: list[float] = page.evaluate(f"window.__long.slice({before})")
    return cost, long_tasks


def test_handler_cost_per_click_and_mousemove(store: ChdbStore, settings: Settings, browser: Browser) -> None:
    """Reported with -s (docs/performance.md has runs): the same page without the tag is the baseline.
    performance.now() has 100 µs steps in a page that is not cross-origin isolated: means over many
    events are the figure to read."""
    bare = LONG.replace(TAG, "")
    with tagged(store, settings, {"/": LONG, "/bare": bare}) as (collector, origin):
        costs = {}
        for path in ("/bare", "/"):
            visit = Visit(browser, collector, viewport={"width": 1280, "height": 800})
            visit.page.add_init_script(MEASURE)
            visit.page.goto(f"{origin}{path}")
            costs[path], long_tasks = interact(visit.page)
            visit.leave()
            assert long_tasks == []  # no task of 50 ms or more while the events were handled
    for kind in ("click", "mousemove"):
        mean = {path: statistics.fmean(cost[kind]) * 1000 for path, cost in costs.items()}
        samples = costs["/"][kind]
        print(
            f"{kind}: n={len(samples)} mean={mean['/']:.0f} µs (page without the snippet: {mean['/bare']:.0f} µs) "
            f"max={max(samples) * 1000:.0f} µs"
        )
    assert len(costs["/"]["click"]) == 30
    assert len(costs["/"]["mousemove"]) >= 250
