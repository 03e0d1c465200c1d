"""Who gets in, over a real uvicorn on loopback: the first account, logging in and out, sessions that
end, CSRF, the login brake, another site's URL, share links and their framing, downloads."""

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support import NOW_MS, serve

from collector.accounts.passwords import hash_password
from collector.accounts.sessions import SESSION_MS
from collector.accounts.throttle import PER_ACCOUNT
from collector.cli.user_commands import RemoteUsers
from collector.errors import ConfigError
from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.migrate import migrate
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "admin-token-for-tests"


class Clock:
    ms = NOW_MS

    def __call__(self) -> int:
        return self.ms


class Served:
    def __init__(self, url: str, app: Any, clock: Clock) -> None:
        self.url = url
        self.app = app
        self.clock = clock
        self.clients: list[httpx.Client] = []

    def browser(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        self.clients.append(client)  # closed when the module is done
        return client

    def logged_in(self, email: str) -> httpx.Client:
        client = self.browser()
        form = client.get("/dashboard/")
        response = client.post("/dashboard/login", data={"csrf": csrf(form), "email": email, "password": PASSWORD})
        assert response.status_code == 303, response.text
        return client


def csrf(response: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert found, response.text[:500]
    return found.group(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("dashboard")
    store = ChdbStore(folder / "data", database="footfall")
    migrate(store)
    sites = Sites(store)
    sites.add("shop", ["https://shop.example"])
    sites.add("other", ["https://other.example"])
    sites.configure("shop", {"embed_origins": ["https://intranet.shop.example"]})
    clock = Clock()
    app = create_app(
        Settings(data_dir=str(folder / "data")), store=store, now_ms=clock, admin_token=ADMIN_TOKEN, setup_code="s3t"
    )
    try:
        with serve(app) as url:
            running = Served(url, app, clock)
            yield running
            for client in running.clients:
                client.close()
    finally:
        store.close()


def test_the_first_account_needs_the_setup_code_then_setup_closes(served: Served) -> None:
    client = served.browser()
    assert client.get("/").headers["location"] == "/dashboard/"
    assert client.get("/dashboard/").headers["location"] == "/dashboard/setup"
    form = client.get("/dashboard/setup")
    fields = {"csrf": csrf(form), "email": "owner@shop.example", "password": PASSWORD, "password2": PASSWORD}
    wrong = client.post("/dashboard/setup", data={**fields, "code": "guess"})
    assert wrong.status_code == 422
    assert "setup code" in wrong.text
    no_csrf = client.post("/dashboard/setup", data={**fields, "csrf": "x", "code": "s3t"})
    assert no_csrf.status_code == 403
    done = client.post("/dashboard/setup", data={**fields, "code": "s3t"})
    assert done.status_code == 303
    assert "ff_session=" in done.headers["set-cookie"]
    # An admin of every site; the session is live, and setup is over for everyone.
    assert client.get("/dashboard/").status_code == 200  # two sites: the list
    assert served.browser().get("/dashboard/setup").headers["location"] == "/dashboard/"
    users = served.app.state.accounts.users
    assert [g.role for g in users.get("owner@shop.example").grants] == ["admin", "admin"]
    users.add("viewer@shop.example", password_hash=hash_password(PASSWORD), site_id=1, role="viewer")


def test_logging_in_sets_a_hardened_cookie_and_pages_have_strict_headers(served: Served) -> None:
    client = served.browser()
    form = client.get("/dashboard/")
    assert form.status_code == 200
    assert 'type="password"' in form.text
    response = client.post(
        "/dashboard/login",
        data={
            "csrf": csrf(form),
            "email": "Viewer@shop.example",
            "password": PASSWORD,
            "next": "/dashboard/shop/cohorts",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/shop/cohorts"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    page = client.get("/dashboard/shop/cohorts")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "private, no-store"
    assert "<script>" not in page.text
    assert " style=" not in page.text
    assert client.get("/dashboard/").headers["location"] == "/dashboard/shop/"  # one site: straight there


def test_a_wrong_password_an_unsafe_next_and_csrf_less_posts_are_refused(served: Served) -> None:
    client = served.browser()
    form = client.get("/dashboard/")
    wrong = client.post(
        "/dashboard/login", data={"csrf": csrf(form), "email": "viewer@shop.example", "password": "x" * 12}
    )
    assert wrong.status_code == 401
    assert "Wrong e-mail or password" in wrong.text
    assert "ff_session" not in wrong.headers.get("set-cookie", "")
    unknown = client.post(
        "/dashboard/login", data={"csrf": csrf(form), "email": "nobody@shop.example", "password": PASSWORD}
    )
    assert unknown.status_code == 401
    assert "Wrong e-mail or password" in unknown.text
    assert (
        client.post("/dashboard/login", data={"email": "viewer@shop.example", "password": PASSWORD}).status_code == 403
    )
    offsite = client.post(
        "/dashboard/login",
        data={
            "csrf": csrf(form),
            "email": "viewer@shop.example",
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert offsite.headers["location"] == "/dashboard/"
    cross = served.logged_in("owner@shop.example")
    page = cross.get("/dashboard/shop/settings")
    refused = cross.post(
        "/dashboard/shop/shares",
        data={"csrf": csrf(page), "report_overview": "1"},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert cross.post("/dashboard/shop/shares", data={"report_overview": "1"}).status_code == 403
    assert cross.post("/dashboard/logout", data={"csrf": "forged"}).status_code == 403
    assert cross.get("/dashboard/shop/settings").status_code == 200  # still logged in


def test_another_sites_url_is_a_404_and_viewers_cannot_manage(served: Served) -> None:
    viewer = served.logged_in("viewer@shop.example")
    for path in (
        "/dashboard/other/",
        "/dashboard/other/retention",
        "/dashboard/other/retention.csv",
        "/dashboard/nosuch/",
    ):
        assert viewer.get(path).status_code == 404, path
    assert viewer.get("/dashboard/shop/settings").status_code == 403
    page = viewer.get("/dashboard/shop/")
    assert viewer.post("/dashboard/shop/shares", data={"csrf": csrf(page), "report_overview": "1"}).status_code == 403
    assert 'href="/dashboard/shop/settings"' not in page.text


def test_logout_and_expiry_end_the_session(served: Served) -> None:
    client = served.logged_in("viewer@shop.example")
    page = client.get("/dashboard/shop/retention")
    token = client.cookies["ff_session"]
    assert client.post("/dashboard/logout", data={"csrf": csrf(page)}).headers["location"] == "/dashboard/"
    replayed = served.browser()
    replayed.cookies.set("ff_session", token)
    assert replayed.get("/dashboard/shop/").headers["location"].startswith("/dashboard/?next=")
    expiring = served.logged_in("viewer@shop.example")
    served.clock.ms += SESSION_MS
    try:
        ended = expiring.get("/dashboard/shop/retention")
        assert ended.status_code == 303
        assert "ended=1" in ended.headers["location"]
        assert "session has ended" in expiring.get(ended.headers["location"]).text
    finally:
        served.clock.ms -= SESSION_MS


def test_failed_logins_are_braked(served: Served) -> None:
    client = served.browser()
    form = client.get("/dashboard/")
    for _ in range(PER_ACCOUNT):
        client.post("/dashboard/login", data={"csrf": csrf(form), "email": "victim@shop.example", "password": "x" * 12})
    braked = client.post(
        "/dashboard/login", data={"csrf": csrf(form), "email": "victim@shop.example", "password": "x" * 12}
    )
    assert braked.status_code == 429
    assert int(braked.headers["retry-after"]) > 0


def test_share_links_are_read_only_revocable_password_protected_and_framed_only_by_the_site(served: Served) -> None:
    owner = served.logged_in("owner@shop.example")
    page = owner.get("/dashboard/shop/settings")
    made = owner.post(
        "/dashboard/shop/shares",
        data={
            "csrf": csrf(page),
            "label": "Board",
            "report_overview": "1",
            "report_retention": "1",
            "password": "board password",
        },
    )
    assert made.status_code == 200
    slug = re.search(r'id="new-share" href="/share/([\w-]+)"', made.text).group(1)  # type: ignore[union-attr]
    anyone = served.browser()
    locked = anyone.get(f"/share/{slug}")
    assert locked.status_code == 200
    assert 'type="password"' in locked.text
    assert locked.headers["content-security-policy"].endswith("frame-ancestors https://intranet.shop.example")
    assert "x-frame-options" not in locked.headers
    assert anyone.post(f"/share/{slug}", data={"csrf": csrf(locked), "password": "wrong password"}).status_code == 401
    opened = anyone.post(f"/share/{slug}", data={"csrf": csrf(locked), "password": "board password"})
    assert opened.status_code == 303
    assert anyone.get(f"/share/{slug}/retention").status_code == 200
    assert anyone.get(f"/share/{slug}/cohorts").status_code == 404  # not a page this link shows
    assert anyone.get("/dashboard/shop/").status_code == 303  # a share link is not a login
    shown = anyone.get(f"/share/{slug}/retention")
    assert "Log out" not in shown.text
    assert "/settings" not in shown.text
    served.clock.ms += 25 * 3_600_000
    try:
        assert 'type="password"' in anyone.get(f"/share/{slug}/retention").text  # the password holds for a day
    finally:
        served.clock.ms -= 25 * 3_600_000
    page = owner.get("/dashboard/shop/settings")
    assert owner.post(f"/dashboard/shop/shares/{slug}/revoke", data={"csrf": csrf(page)}).status_code == 303
    assert anyone.get(f"/share/{slug}/retention").status_code == 404
    other = served.logged_in("owner@shop.example")
    page = other.get("/dashboard/other/settings")
    open_link = other.post("/dashboard/other/shares", data={"csrf": csrf(page), "report_cohorts": "1"})
    slug = re.search(r'id="new-share" href="/share/([\w-]+)"', open_link.text).group(1)  # type: ignore[union-attr]
    unframed = served.browser().get(f"/share/{slug}")
    assert unframed.status_code == 200
    assert unframed.headers["x-frame-options"] == "DENY"


def test_a_share_link_offers_the_downloads_of_what_it_shows_heatmaps_included(served: Served) -> None:
    owner = served.logged_in("owner@shop.example")
    page = owner.get("/dashboard/shop/settings")
    fields = {"csrf": csrf(page), "report_overview": "1", "report_heatmaps": "1", "password": "board password"}
    made = owner.post("/dashboard/shop/shares", data=fields)
    slug = re.search(r'id="new-share" href="/share/([\w-]+)"', made.text).group(1)  # type: ignore[union-attr]
    anyone = served.browser()
    for locked in ("overview.csv", "export.zip", "heatmap.png", "heatmaps"):
        answer = anyone.get(f"/share/{slug}/{locked}")
        assert (answer.status_code, answer.headers.get("location")) in ((303, f"/share/{slug}"), (200, None)), locked
        assert b"PNG" not in answer.content[:8]
        assert "attachment" not in answer.headers.get("content-disposition", "")
    form = anyone.get(f"/share/{slug}")
    assert anyone.post(f"/share/{slug}", data={"csrf": csrf(form), "password": "board password"}).status_code == 303
    overview = anyone.get(f"/share/{slug}")
    assert f'href="/share/{slug}/heatmaps"' in overview.text
    for link in re.findall(r'href="(/share/[^"]+\.(?:csv|zip)[^"]*)"', overview.text):  # every download it offers
        assert anyone.get(link.replace("&amp;", "&")).status_code == 200, link
    csv = anyone.get(f"/share/{slug}/overview.csv")
    assert (csv.status_code, csv.headers["content-type"]) == (200, "text/csv; charset=utf-8")
    assert csv.headers["content-disposition"] == 'attachment; filename="shop-timeseries.csv"'  # the page's first table
    names = zipfile.ZipFile(io.BytesIO(anyone.get(f"/share/{slug}/export.zip").content)).namelist()
    assert names
    assert not any(name.startswith(("retention", "cohorts")) for name in names)
    heatmaps = anyone.get(f"/share/{slug}/heatmaps")
    assert heatmaps.status_code == 200
    assert "No pageviews in this range yet" in heatmaps.text  # a site without data (this was a 500)
    assert "Open on my site" not in heatmaps.text  # the live overlay is the owner's alone
    assert anyone.get(f"/share/{slug}/retention.csv").status_code == 404
    assert anyone.get(f"/share/{slug}/heatmaps/launch").status_code == 404


def test_every_table_downloads_as_csv_and_all_of_them_as_a_zip(served: Served) -> None:
    client = served.logged_in("viewer@shop.example")
    csv = client.get("/dashboard/shop/retention.csv?period=day&periods=3")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="shop-retention.csv"'
    assert csv.text.splitlines()[0] == "cohort,people,day 0,day 1,day 2,day 3"
    assert client.get("/dashboard/shop/retention.csv?table=nosuch").status_code == 404
    archive = client.get("/dashboard/shop/export.zip")
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert {"retention.csv", "cohorts.csv"} <= set(names)


def test_static_files_are_compressed_and_revalidated(served: Served) -> None:
    client = served.browser()
    script = client.get("/dashboard/static/vendor/uPlot.iife.min.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["content-encoding"] == "gzip"
    assert int(script.headers["content-length"]) < 25_000  # uPlot: 51 KB as stored, ~22 KB gzip
    again = client.get("/dashboard/static/vendor/uPlot.iife.min.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/dashboard/static/vendor%2F..%2F..%2Fweb.py").status_code == 404
    assert client.get("/dashboard/static/nosuch.js").status_code == 404


def test_the_user_commands_reach_a_running_server(served: Served) -> None:
    remote = RemoteUsers(served.url, ADMIN_TOKEN)
    added = remote.add("cli@shop.example", "other", "viewer", hash_password(PASSWORD))
    assert added == {"email": "cli@shop.example", "sites": {"other": "viewer"}}
    assert remote.exists("CLI@shop.example")
    client = served.logged_in("cli@shop.example")
    assert client.get("/dashboard/").headers["location"] == "/dashboard/other/"
    remote.passwd("cli@shop.example", hash_password("another password"))
    assert client.get("/dashboard/other/").status_code == 303  # a new password ends the old sessions
    remote.remove("cli@shop.example", None)
    assert not remote.exists("cli@shop.example")
    with pytest.raises(ConfigError, match="no user"):
        remote.remove("cli@shop.example", None)
    with pytest.raises(ConfigError, match="no site"):
        remote.add("x@shop.example", "nosuch", "viewer", hash_password(PASSWORD))
