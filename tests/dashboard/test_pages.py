"""Every dashboard page in real Chromium on a site with six weeks of traffic: what is drawn equals what
the read API answers, the triangle is coloured by rate, the time series' pixels sit where the data says,
the live page shows a bot's drop as it happens; at 375 px, in dark mode, by keyboard; then log out.

FOOTFALL_DOCS_SHOTS=DIR saves the screenshots docs/dashboard.md shows."""

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import chromium, new_page
from playwright.sync_api import Browser, Page
from site_history import history
from support import NOW, NOW_MS, event, serve

from collector.accounts.passwords import hash_password
from collector.accounts.users import Users
from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.migrate import migrate
from collector.storage.rows import encode
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

PASSWORD = "correct horse battery"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)


class Shop:
    def __init__(self, url: str, read_key: str, write_key: str) -> None:
        self.url = url
        self.api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {read_key}"}, timeout=30)
        self.write_key = write_key

    def ask(self, report: str, **params: str) -> dict[str, Any]:
        response = self.api.get(f"/api/v1/{report}", params=params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    folder = tmp_path_factory.mktemp("pages")
    store = ChdbStore(folder / "data", database="footfall")
    migrate(store)
    keys = Sites(store).add("shop", ["https://shop.example"])
    assert keys.read_key
    store.insert("events", encode(history(1, NOW)))
    Users(store, clock_ms=lambda: NOW_MS).add(
        "owner@shop.example", password_hash=hash_password(PASSWORD), site_id=1, role="admin"
    )
    settings = Settings(data_dir=str(folder / "data")).with_changes(max_delay_ms=20)
    ticks = itertools.count(NOW_MS)  # a millisecond per reading: arrivals stay in order for live paging
    app = create_app(settings, store=store, now_ms=lambda: next(ticks))
    try:
        with serve(app) as url:
            running = Shop(url, keys.read_key, keys.write_key)
            yield running
            running.api.close()
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("FOOTFALL_DOCS_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"dashboard-{name}.jpg"), type="jpeg", quality=60)  # kept small


def log_in(browser: Browser, shop: Shop, **options: Any) -> Page:
    page = new_page(browser, viewport={"width": 1280, "height": 900}, **options)
    page.goto(f"{shop.url}/dashboard/")
    page.get_by_label("E-mail").fill("owner@shop.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{shop.url}/dashboard/shop/")
    return page


def number(text: str) -> str:
    return text.split(maxsplit=1)[0]


def test_the_overview_shows_the_apis_numbers_and_its_rows_filter_the_page(browser: Browser, shop: Shop) -> None:
    page = log_in(browser, shop)
    answer = shop.ask("overview")["current"]
    for key in ("visitors", "pageviews", "sessions", "events"):
        assert number(page.locator(f'.stat[data-key="{key}"] .value').inner_text()) == f"{answer[key]:,}", key
    assert page.locator('.stat[data-key="bounce_rate"] .value').inner_text() == f"{answer['bounce_rate'] * 100:.1f}%"
    revenue = page.locator('.stat[data-key="revenue"]').inner_text()
    for money in answer["revenue"]:
        assert money["currency"] in revenue
    countries = shop.ask("breakdown", by="country")["rows"]
    cells = page.locator("#breakdown-country td[data-visitors]")
    assert [int(c) for c in cells.evaluate_all("cells => cells.map(c => c.dataset.visitors)")] == [
        r["visitors"] for r in countries[:10]
    ]
    shot(page, "overview")

    page.locator("#breakdown-country a", has_text=countries[-1]["value"]).click()  # a row is a filter
    page.wait_for_url(f"**country={countries[-1]['value']}**")
    filtered = shop.ask("overview", country=countries[-1]["value"])["current"]
    assert number(page.locator('.stat[data-key="visitors"] .value').inner_text()) == f"{filtered['visitors']:,}"
    assert filtered["visitors"] < answer["visitors"]
    assert "country: " + countries[-1]["value"] in page.locator(".filters").inner_text()
    page.close()


def test_the_time_series_is_drawn_where_the_data_says(browser: Browser, shop: Shop) -> None:
    page = log_in(browser, shop)
    page.wait_for_function("document.getElementById('timeseries').uplot !== undefined")
    points = shop.ask("timeseries")["points"]
    busiest = max(range(len(points)), key=lambda i: points[i]["visitors"])
    quietest = min(range(len(points)), key=lambda i: points[i]["visitors"])
    assert points[busiest]["visitors"] > points[quietest]["visitors"]
    # The visitors line around the busiest bucket's point (drawn hollow), and above it no line at all.
    probe = """([i, dy]) => {
        const u = document.getElementById('timeseries').uplot;
        const x = Math.round(u.valToPos(u.data[0][i], 'x', true));
        const y = Math.round(u.valToPos(u.data[1][i], 'y', true)) + dy;
        return Array.from(u.ctx.getImageData(x - 4, y - 4, 9, 9).data);  // the point's ring and the line
    }"""
    drawn = page.evaluate(probe, [busiest, 0])
    above = page.evaluate(probe, [busiest, -40])
    plotted = page.evaluate("() => document.getElementById('timeseries').uplot.data[1]")
    assert plotted == [p["visitors"] for p in points]

    def bluest(pixels: list[int]) -> int:  # the line is the accent, blue (37, 99, 235); the fill is pale
        opaque = [pixels[i + 2] - pixels[i] for i in range(0, len(pixels), 4) if pixels[i + 3] > 200]
        return max(opaque, default=0)

    assert bluest(drawn) > 120
    assert bluest(above) < 40
    page.close()


def test_retention_is_a_triangle_coloured_by_rate(browser: Browser, shop: Shop) -> None:
    page = log_in(browser, shop)
    page.goto(f"{shop.url}/dashboard/shop/retention?period=week&periods=6")
    answer = shop.ask("retention", period="week", periods="6")
    rows = page.locator("#retention tbody tr")
    assert rows.count() == len(answer["cohorts"])
    cells = page.locator("#retention td.cell[data-rate]").evaluate_all(
        """cells => cells.map(c => {
            const [r, g, b] = getComputedStyle(c).backgroundColor.match(/\\d+/g).map(Number);
            return {rate: Number(c.dataset.rate), period: c.cellIndex - 2, light: 0.2126 * r + 0.7152 * g + 0.0722 * b};
        })"""
    )
    shown = sorted(round(c["rate"], 4) for c in cells)
    expected = sorted(round(rate, 4) for cohort in answer["cohorts"] for rate in cohort["rates"])
    assert shown == expected
    later = [c for c in cells if c["period"] > 0]
    for a in later:  # a higher rate is a darker cell
        for b in later:
            if a["rate"] > b["rate"] + 0.1:
                assert a["light"] < b["light"], (a, b)
    assert all(c["light"] == min(x["light"] for x in cells) for c in cells if c["period"] == 0)  # period 0: full colour
    assert page.locator("#retention td.unfinished").count() > 0  # the periods not over yet are marked
    shot(page, "retention")
    page.close()


def test_funnels_cohorts_and_segments_show_the_apis_answers(browser: Browser, shop: Shop) -> None:
    page = log_in(browser, shop)
    page.goto(f"{shop.url}/dashboard/shop/funnels")
    page.get_by_label("Steps").fill("$pageview,signup,purchase")
    page.get_by_label("Within").select_option("2592000")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#funnel")
    funnel = shop.ask("funnel", steps="$pageview,signup,purchase", window_s="2592000")["steps"]
    drawn = page.locator("#funnel li").evaluate_all(
        "items => items.map(li => [Number(li.dataset.people), "
        "Number(li.querySelector('rect.kept').getAttribute('width'))])"
    )
    assert [p for p, _ in drawn] == [s["people"] for s in funnel]
    assert [w for _, w in drawn] == pytest.approx([s["of_first"] * 100 for s in funnel], abs=0.01)
    assert funnel[0]["people"] > funnel[1]["people"] > funnel[2]["people"] > 0
    shot(page, "funnel")

    page.goto(f"{shop.url}/dashboard/shop/cohorts?period=week")
    cohorts = shop.ask("cohorts", period="week")["cohorts"]
    assert page.locator("#cohorts tbody tr").count() == len(cohorts)

    page.goto(f"{shop.url}/dashboard/shop/segments")
    page.get_by_label("Did").fill("signup")
    page.get_by_label("and not").fill("purchase")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#segment-count")
    segment = shop.ask("segment", did="signup", not_did="purchase")
    assert page.locator("#segment-count").inner_text() == f"{segment['count']:,}"
    with page.expect_download() as download:
        page.locator("#segment .csv").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "person,first_day"
    assert len(lines) - 1 == segment["count"]
    page.close()


def test_the_live_page_shows_what_a_bot_sent_was_dropped(browser: Browser, shop: Shop) -> None:
    page = log_in(browser, shop)
    page.goto(f"{shop.url}/dashboard/shop/live")
    batch = {"key": shop.write_key, "events": [event("pageview", url="https://shop.example/from-a-bot")]}
    sent = httpx.post(
        f"{shop.url}/v1/batch", json=batch, headers={"User-Agent": HEADLESS, "Origin": "https://shop.example"}
    )
    assert sent.status_code == 202
    page.wait_for_selector("#live-drops tr.live-drop >> text=bot", timeout=30_000)  # the page polls
    refused = httpx.post(f"{shop.url}/v1/batch", json=batch, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "https://evil.example"  # the console can read why
    page.wait_for_selector("#live-drops tr.live-drop >> text=origin_not_allowed", timeout=30_000)
    shot(page, "live")
    page.close()


def test_pages_fit_a_phone_follow_dark_mode_and_work_by_keyboard(browser: Browser, shop: Shop) -> None:
    page = log_in(browser, shop, color_scheme="dark")
    for path in ("", "retention", "funnels?steps=$pageview,signup", "segments?did=signup", "live"):
        page.set_viewport_size({"width": 375, "height": 800})
        page.goto(f"{shop.url}/dashboard/shop/{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path  # wide tables scroll inside
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
                .filter(e => !e.closest('label') && !e.getAttribute('aria-label')).map(e => e.name)"""
        )
        assert unlabelled == [], path
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 19, 24)"
    shot(page, "phone-dark")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{shop.url}/dashboard/shop/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{shop.url}/dashboard/")
    page.goto(f"{shop.url}/dashboard/shop/")
    assert page.get_by_label("Password").is_visible()  # the session is over
    page.close()
