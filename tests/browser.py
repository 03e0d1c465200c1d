"""Debian's chromium driven by Playwright, and pages served from another loopback origin."""

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from support import CHROME

# Without the background-networking flags chromium keeps trying to reach the internet (shared/TESTING.md).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("FOOTFALL_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (tests/run.sh installs Debian's package)")
        pytest.skip("chromium is not installed; ./tests/run.sh installs it")
    with sync_playwright() as p:
        # The agent also on the command line: requests a page makes while it unloads (beacons) and right
        # after a reload do not always get the per-page override, and HeadlessChrome is a bot.
        browser = p.chromium.launch(executable_path=path, args=[*FLAGS, f"--user-agent={CHROME}"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, **options: Any) -> Page:
    """A page that looks like a person's Chrome: HeadlessChrome in the user agent is a bot, and dropped."""
    page: Page = browser.new_page(user_agent=CHROME, **options)
    return page


@contextmanager
def site(html: dict[str, str], **headers: str) -> Iterator[str]:
    """Serve `html` (path -> HTML) on http://127.0.0.1:<port>, an origin the default site allows."""
    with pages({path: html_page(text, **headers) for path, text in html.items()}) as origin:
        yield origin


# What the snippet will do once a heatmap feature is on (stream A): after load, add the capture script.
CAPTURE_LOADER = """<script defer src="{collector}/s/{key}.js"></script>
<script>
  addEventListener("load", function () {{
    {before}
    var s = document.createElement("script");
    s.src = "{collector}/v1/capture.js?key={key}&url=" + encodeURIComponent(location.href) +
      "&w=" + innerWidth + "&sig=abc";
    s.onload = function () {{ window.captureLoaded = true; }};
    document.head.appendChild(s);
  }});
</script>"""


class _Served(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.server.pages.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        content_type, body, headers = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def pages(served: dict[str, tuple[str, bytes, dict[str, str]]]) -> Iterator[str]:
    """Serve path -> (content type, body, headers) on http://127.0.0.1:<port>; other paths are 404s."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Served)
    server.pages = served  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def html_page(text: str, **headers: str) -> tuple[str, bytes, dict[str, str]]:
    return "text/html; charset=utf-8", text.encode(), headers
