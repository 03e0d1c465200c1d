"""The served snippet in a real Chromium, against the real collector: what a web developer gets."""

from collections.abc import Iterator

import pytest
from browser import chromium, new_page, site
from support import Collector, Site, serve, wait_until

from collector.app import create_app
from collector.settings import Settings
from collector.sites import DEFAULT_ORIGINS, Sites
from collector.store import Store
from collector.store_chdb import ChdbStore


@pytest.fixture
def page_site(store: ChdbStore, settings: Settings) -> Iterator[tuple[Collector, str]]:
    """The collector, and pages on another loopback origin carrying the site's tag."""
    keys = Sites(store).add("pages", DEFAULT_ORIGINS)
    assert keys.read_key
    with serve(create_app(settings, store=store)) as url:
        tag = f'<script defer src="{url}/s/{keys.write_key}.js"></script>'
        pages = {"/": f"<!doctype html><title>Home</title>{tag}", "/shop": f"<!doctype html><title>Shop</title>{tag}"}
        with site(pages) as origin:
            yield Collector(url, store, Site("pages", keys.write_key, keys.read_key)), origin


def names(store: Store) -> list[tuple[str, str]]:
    rows = store.query("SELECT type, name, path FROM footfall.events ORDER BY client_ts")
    return [(r["type"], r["name"] or r["path"]) for r in rows]


def test_one_tag_sends_pageviews_spa_routes_and_custom_events(page_site: tuple[Collector, str]) -> None:
    collector, origin = page_site
    with chromium() as browser:
        page = new_page(browser)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{origin}/")
        page.wait_for_function("window.footfall !== undefined")
        page.evaluate("footfall.track('signup', {plan: 'pro'})")
        page.evaluate("history.pushState({}, '', '/pricing')")
        page.evaluate("history.pushState({}, '', '/pricing')")  # the same route: no second pageview
        page.evaluate("history.pushState({}, '', '/docs')")
        page.close(run_before_unload=False)  # pagehide: the rest goes by sendBeacon
        assert errors == []
    wait_until(lambda: len(names(collector.store)) == 4, what="what the page sent")
    assert names(collector.store) == [
        ("pageview", "/"),
        ("track", "signup"),
        ("pageview", "/pricing"),
        ("pageview", "/docs"),
    ]
    row = collector.store.query("SELECT * FROM footfall.events WHERE type = 'track'")[0]
    assert (row["library"], row["browser"], row["host"]) == ("footfall-js", "Chrome", "127.0.0.1")
    assert row["properties"] == '{"plan":"pro"}'
