"""When a snapshot is asked for, and the tickets that let a browser upload one, on an injected clock."""

import pytest

from collector.accounts.sessions import Signer
from collector.errors import ApiError
from collector.heatmaps.capture import CHANGED_SIG_GAP_MS, DAY_MS, TICKET_MS, Tickets, excluded, reason_to_capture
from collector.heatmaps.snapshots import SnapshotMeta
from collector.sites import HeatmapSettings, Site, SiteSettings

NOW = 1_800_000_000_000
PAGE = "shop.example/pricing"
DEFAULTS = HeatmapSettings()


def site(site_id: int = 1, **heatmaps: object) -> Site:
    settings = SiteSettings(heatmaps=HeatmapSettings(**heatmaps))  # type: ignore[arg-type]
    name = f"s{site_id}"
    return Site(site_id=site_id, name=name, allowed_origins=(), write_key="w", read_key_sha256="", settings=settings)


def newest(age_ms: int, sig: str = "abc") -> SnapshotMeta:
    return SnapshotMeta(
        snapshot_id="x", page_key=PAGE, width_bucket=1280, captured_ms=NOW - age_ms,
        viewport_w=1280, viewport_h=800, doc_w=1280, doc_h=3000, bytes=100, sig=sig,
    )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def test_a_page_is_asked_for_when_missing_stale_or_changed() -> None:
    assert reason_to_capture(DEFAULTS, PAGE, None, "abc", now_ms=NOW) == "missing"
    assert reason_to_capture(DEFAULTS, PAGE, newest(3 * DAY_MS), "abc", now_ms=NOW) is None
    assert reason_to_capture(DEFAULTS, PAGE, newest(7 * DAY_MS + 1), "abc", now_ms=NOW) == "stale"
    short = HeatmapSettings(snapshot_days=1)
    assert reason_to_capture(short, PAGE, newest(DAY_MS + 1), "abc", now_ms=NOW) == "stale"
    # a changed structure: again, but at most once an hour
    assert reason_to_capture(DEFAULTS, PAGE, newest(CHANGED_SIG_GAP_MS), "xyz", now_ms=NOW) == "changed"
    assert reason_to_capture(DEFAULTS, PAGE, newest(CHANGED_SIG_GAP_MS - 1), "xyz", now_ms=NOW) is None
    assert reason_to_capture(DEFAULTS, PAGE, newest(CHANGED_SIG_GAP_MS), "", now_ms=NOW) is None  # no sig: no change


def test_excluded_pages_and_sites_without_snapshots_are_never_asked_for() -> None:
    by_path = HeatmapSettings(exclude=("/account/*", "/checkout"))
    assert excluded(by_path, "shop.example/account/orders")
    assert excluded(by_path, "shop.example/checkout")
    assert not excluded(by_path, "shop.example/checkout/done")
    assert not excluded(by_path, "shop.example/")
    by_key = HeatmapSettings(exclude=("admin.shop.example/*",))
    assert excluded(by_key, "admin.shop.example/users")
    assert not excluded(by_key, "shop.example/users")
    assert reason_to_capture(by_path, "shop.example/account/orders", None, "abc", now_ms=NOW) is None
    assert reason_to_capture(HeatmapSettings(snapshots=False), PAGE, None, "abc", now_ms=NOW) is None


def test_one_ticket_per_page_and_width_in_ten_minutes() -> None:
    clock = Clock()
    tickets = Tickets(Signer(b"k" * 32), clock_ms=clock)
    first = tickets.issue(site(), PAGE, 1280)
    assert first is not None
    assert tickets.issue(site(), PAGE, 1280) is None  # another visitor of the same page and width
    assert tickets.issue(site(), PAGE, 375) is not None  # another width
    assert tickets.issue(site(2), PAGE, 1280) is not None  # another site
    clock.now += TICKET_MS - 1
    assert tickets.issue(site(), PAGE, 1280) is None
    clock.now += 1
    assert tickets.issue(site(), PAGE, 1280) is not None  # the first may have been lost: ask again


def test_a_ticket_is_checked_for_signature_expiry_site_page_and_width() -> None:
    clock = Clock()
    tickets = Tickets(Signer(b"k" * 32), clock_ms=clock)
    token = tickets.issue(site(), PAGE, 1280)
    assert token is not None
    assert tickets.check(token, site(), PAGE, 1280).page_key == PAGE

    def refused(token: str, *where: object) -> str:
        with pytest.raises(ApiError) as caught:
            tickets.check(token, *where)  # type: ignore[arg-type]
        assert caught.value.status == 403
        return caught.value.code

    value, _, mac = token.rpartition(".")
    assert refused("", site(), PAGE, 1280) == "bad_ticket"  # missing
    assert refused(value + "." + mac[::-1], site(), PAGE, 1280) == "bad_ticket"  # a changed signature
    assert refused(value[:-2] + "." + mac, site(), PAGE, 1280) == "bad_ticket"  # a changed ticket
    assert refused(Tickets(Signer(b"j" * 32), clock_ms=clock).issue(site(), PAGE, 1280) or "", site(), PAGE, 1280) == (
        "bad_ticket"  # another store's secret
    )
    assert refused(token, site(2), PAGE, 1280) == "ticket_mismatch"
    assert refused(token, site(), "shop.example/other", 1280) == "ticket_mismatch"
    assert refused(token, site(), PAGE, 375) == "ticket_mismatch"
    clock.now += TICKET_MS + 1
    assert refused(token, site(), PAGE, 1280) == "ticket_expired"  # stale
