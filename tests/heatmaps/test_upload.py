"""An upload checked, cleaned and stored once, in the embedded engine; and read back (snapshots.py)."""

import gzip

import msgspec
import pytest

from collector.accounts.sessions import Signer, shared_secret
from collector.errors import ApiError
from collector.heatmaps import snapshots
from collector.heatmaps.capture import SECRET_NAME, Tickets
from collector.heatmaps.upload import MAX_HTML_BYTES, Upload, accept, decode
from collector.sites import Site
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

NOW = 1_800_000_000_000
PAGE = "shop.example/pricing"
HTML = "<html><head><script>alert(1)</script></head><body><h1 onclick=x()>Pricing</h1></body></html>"


class Clock:
    now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def site(store: ChdbStore) -> Site:
    sites = Sites(store)
    sites.add("shop", ["https://shop.example"])
    return sites.configure("shop", {"heatmaps.exclude": "/account/*", "retention_days": 30})


@pytest.fixture
def tickets(store: ChdbStore) -> Tickets:
    return Tickets(Signer(shared_secret(store, name=SECRET_NAME)), clock_ms=Clock())


def upload(ticket: str, **fields: object) -> Upload:
    base = {
        "ticket": ticket, "url": "https://shop.example/pricing?utm_source=x", "html": HTML, "sig": "s1",
        "viewport_w": 1300, "viewport_h": 800, "doc_w": 1300, "doc_h": 2400, "consent": {"heatmaps": True},
        "anonymous_id": "anon-1", "user_id": "user-1",
    }  # fmt: skip
    return msgspec.convert({**base, **fields}, Upload)


def test_an_upload_is_cleaned_stored_once_and_read_back(store: ChdbStore, site: Site, tickets: Tickets) -> None:
    ticket = tickets.issue(site, PAGE, 1280)
    assert ticket
    first = accept(store, tickets, site, upload(ticket), page_key=PAGE, now_ms=NOW, visitor_key="vk")
    again = accept(
        store, tickets, site, upload(ticket, html="<p>other</p>"), page_key=PAGE, now_ms=NOW + 5, visitor_key=""
    )
    assert first == again  # a retried upload: the same snapshot, not a second one
    (row,) = store.query("SELECT * FROM footfall.snapshots")
    assert (row["anonymous_id"], row["user_id"], row["visitor_key"]) == ("anon-1", "user-1", "vk")
    assert row["retention_days"] == 30
    stored = snapshots.latest(store, site.site_id, PAGE, 1280)
    assert stored is not None
    assert stored.meta == snapshots.SnapshotMeta(
        snapshot_id=first, page_key=PAGE, width_bucket=1280, captured_ms=NOW, viewport_w=1300, viewport_h=800,
        doc_w=1300, doc_h=2400, bytes=len(stored.html.encode()), sig="s1",
    )  # fmt: skip
    assert "<script" not in stored.html
    assert "onclick" not in stored.html
    assert "Pricing" in stored.html
    assert snapshots.get(store, site.site_id, first) == stored
    assert snapshots.get(store, site.site_id + 1, first) is None  # another site's id finds nothing
    assert snapshots.versions(store, site.site_id, PAGE, 1280) == [stored.meta]
    assert snapshots.widths(store, site.site_id, PAGE) == {1280: 1}


def test_versions_come_newest_first_with_their_widths(store: ChdbStore, site: Site) -> None:
    tickets = Tickets(Signer(b"k" * 32), clock_ms=Clock())
    ids = []
    for n, width in enumerate((1280, 1280, 375)):
        ticket = tickets.issue(site, PAGE, width)  # the pair's earlier ticket was used: a new one is given
        assert ticket
        sent = upload(ticket, viewport_w=width, sig=f"s{n}")
        ids.append(accept(store, tickets, site, sent, page_key=PAGE, now_ms=NOW + n * 1000, visitor_key=""))
    assert [m.snapshot_id for m in snapshots.versions(store, site.site_id, PAGE, 1280)] == [ids[1], ids[0]]
    assert snapshots.widths(store, site.site_id, PAGE) == {375: 1, 1280: 2}
    latest = snapshots.latest(store, site.site_id, PAGE, 1280)
    assert latest is not None
    assert latest.meta.sig == "s1"


def refusal(store: ChdbStore, site: Site, tickets: Tickets, sent: Upload, page: str = PAGE) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        accept(store, tickets, site, sent, page_key=page, now_ms=NOW, visitor_key="")
    return caught.value.status, caught.value.code


def test_refusals_say_what(store: ChdbStore, site: Site, tickets: Tickets) -> None:
    ticket = tickets.issue(site, PAGE, 1280)
    assert ticket
    assert refusal(store, site, tickets, upload(ticket, consent={})) == (403, "no_heatmaps_consent")
    assert refusal(store, site, tickets, upload(ticket, consent={"heatmaps": False})) == (403, "no_heatmaps_consent")
    assert refusal(store, site, tickets, upload(ticket + "x")) == (403, "bad_ticket")
    assert refusal(store, site, tickets, upload(ticket, viewport_w=400)) == (403, "ticket_mismatch")
    too_big = upload(ticket, html="<p>" + "a" * MAX_HTML_BYTES + "</p>")
    assert refusal(store, site, tickets, too_big) == (413, "snapshot_too_large")
    account = "shop.example/account/orders"
    excluded_ticket = tickets.issue(site, account, 1280)  # issued before the page was excluded, say
    assert excluded_ticket
    assert refusal(store, site, tickets, upload(excluded_ticket), page=account) == (403, "page_excluded")
    heatmaps = msgspec.structs.replace(site.settings.heatmaps, snapshots=False)
    off = msgspec.structs.replace(site, settings=msgspec.structs.replace(site.settings, heatmaps=heatmaps))
    assert refusal(store, off, tickets, upload(ticket)) == (403, "snapshots_off")
    assert store.query("SELECT count() AS n FROM footfall.snapshots") == [{"n": 0}]


def test_decode_names_the_field() -> None:
    with pytest.raises(ApiError) as caught:
        decode(b'{"ticket": "t", "url": "ftp://x", "html": "", "viewport_w": 1, "viewport_h": 1, "doc_w": 1}')
    assert (caught.value.status, caught.value.code) == (400, "invalid_snapshot")
    assert "$.url" in caught.value.detail
    with pytest.raises(ApiError) as caught:
        decode(gzip.compress(b"{}"))
    assert caught.value.code == "invalid_json"
