"""The capture module in a real Chromium: fixture pages served by the test with the site's real snippet,
the collector's /v1/capture.js loaded as the snippet will load it, the snapshot stored and then shown as
the dashboard shows it, in a sandboxed srcdoc iframe."""

from collections.abc import Iterator

import pytest
from browser import CAPTURE_LOADER as LOADER
from browser import chromium, html_page, new_page, pages
from playwright.sync_api import Browser, Page
from support import serve, wait_until

from collector.heatmaps import snapshots
from collector.heatmaps.snapshots import Snapshot
from collector.privacy import page_key
from collector.server.app import create_app
from collector.settings import Settings
from collector.sites import DEFAULT_ORIGINS
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

PAGE = """<!doctype html><html><head><title>Account</title>
<link rel="stylesheet" href="/site.css">
{loader}
<script>window.pageScriptRan = true;</script>
</head><body>
<section class="hero">Welcome back</section>
<h1 id="title" onclick="alert(1)">Your account</h1>
<div data-footfall-private id="who">Jane Doe</div>
<p class="secret">Account 12345</p>
<form><input id="q" name="q" value="prefilled"><textarea id="note">draft</textarea>
<input type="password" id="pw"></form>
<iframe src="/site.css" width="300" height="120"></iframe>
<a href="javascript:alert(1)">bad link</a>
<img src="img/logo.png" alt="logo" width="10" height="10">
<script>
  document.getElementById("q").value = "typed secret";
  document.getElementById("pw").value = "hunter2";
  document.getElementById("note").value = "typed note";
</script>
</body></html>"""

CSS = ".hero { height: 100vh; color: rgb(1, 2, 3); background: url(img/bg.png) no-repeat; } h1 { margin: 0; }"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def captured(store: ChdbStore, site_id: int, page_key: str) -> Snapshot:
    found: list[Snapshot] = []

    def stored() -> bool:
        snapshot = snapshots.latest(store, site_id, page_key, 1280)
        found[:] = [snapshot] if snapshot else []
        return bool(found)

    wait_until(stored, what=f"a snapshot of {page_key}")
    return found[0]


def idle(page: Page) -> None:
    """Once the capture script has run and an idle callback after its own has come: it has decided."""
    page.wait_for_function("window.captureLoaded === true")
    page.evaluate("new Promise(function (done) { requestIdleCallback(function () { setTimeout(done); }); })")


def test_snapshots_are_captured_clean_and_shown_without_running_anything(
    store: ChdbStore, settings: Settings, browser: Browser
) -> None:
    sites = Sites(store)
    keys = sites.add("pages", DEFAULT_ORIGINS)
    sites.configure("pages", {"heatmaps.private": ".secret"})
    site = sites.by_write_key(keys.write_key)
    assert site is not None
    with serve(create_app(settings, store=store)) as url:
        loader = LOADER.format(collector=url, key=keys.write_key, before="")
        refusing = LOADER.format(
            collector=url, key=keys.write_key, before="footfall.consent({analytics: true, heatmaps: false});"
        )
        served = {
            "/": html_page(PAGE.format(loader=loader)),
            # pages that refuse to be framed: the snapshot is shown from srcdoc, so framing never comes up
            "/framed": html_page(
                PAGE.format(loader=loader),
                **{"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"},
            ),
            "/no-consent": html_page(PAGE.format(loader=refusing)),
            "/site.css": ("text/css", CSS.encode(), {}),
            "/blank": html_page("<!doctype html><title>dashboard</title><body style='margin:0'></body>"),
        }
        with pages(served) as origin:
            uploads: list[str] = []
            errors: list[str] = []
            for path in ("/", "/framed", "/no-consent"):
                page = new_page(browser, viewport={"width": 1280, "height": 800})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("request", lambda r: uploads.append(r.url) if r.url.endswith("/v1/snapshot") else None)
                page.goto(origin + path)
                idle(page)
                if path != "/no-consent":
                    captured(store, site.site_id, page_key(origin + path))
                page.close()
            assert errors == []  # the module never throws into the page
            main = captured(store, site.site_id, page_key(origin + "/"))  # "127.0.0.1:<port>/"
            framed = captured(store, site.site_id, page_key(origin + "/framed"))
            assert len(uploads) == 2  # none from the page without heatmaps consent
            assert snapshots.widths(store, site.site_id, page_key(origin + "/no-consent")) == {}

            html = main.html
            assert "<script" not in html.lower()
            assert "onclick" not in html
            assert "javascript:" not in html
            for secret in ("typed secret", "prefilled", "hunter2", "typed note", "draft", "Jane Doe", "12345"):
                assert secret not in html, secret
            assert "xxxx xxx" in html  # Jane Doe, masked at the same length
            assert "xxxxxxx xxxxx" in html  # .secret, a private selector of the site's
            assert "rgb(1, 2, 3)" in html  # same-origin CSS inlined...
            assert f'url("{origin}/img/bg.png")' in html  # ...with its url()s absolute
            assert "site.css" not in html  # no <link> left to it, nor the iframe's src
            assert 'data-footfall-placeholder="iframe"' in html
            assert f'src="{origin}/img/logo.png"' in html
            assert "height:800px!important" in html  # the 100vh hero keeps the height it had
            assert (main.meta.viewport_w, main.meta.viewport_h, main.meta.doc_w) == (1280, 800, 1280)
            assert main.meta.doc_h > 800
            assert "Your account" in framed.html

            # Shown as the dashboard shows it; a script that slipped into a stored snapshot still never runs.
            slipped = main.html.replace("<body>", "<body><script>parent.ran = true; window.ran = true;</script>", 1)
            viewer = new_page(browser, viewport={"width": 1280, "height": 800})
            viewer.goto(origin + "/blank")
            box = viewer.evaluate(
                """html => new Promise(done => {
                  const frame = document.createElement("iframe");
                  frame.setAttribute("sandbox", "allow-same-origin");
                  frame.style.cssText = "width:1280px;height:2000px;border:0";
                  frame.onload = () => {
                    const title = frame.contentDocument.getElementById("title").getBoundingClientRect();
                    done({ranHere: window.ran === true, ranThere: frame.contentWindow.ran === true, h: title.height,
                          hero: frame.contentDocument.querySelector(".hero").getBoundingClientRect().height});
                  };
                  frame.srcdoc = html;
                  document.body.appendChild(frame);
                })""",
                slipped,
            )
            viewer.close()
    assert box["ranHere"] is False
    assert box["ranThere"] is False
    assert box["h"] > 0  # the dashboard reads the snapshot's element boxes
    assert box["hero"] == 800  # not 100vh of a 2000 px frame
