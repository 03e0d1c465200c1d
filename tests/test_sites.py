import re
from typing import Any

import pytest

from collector.errors import SiteError, SiteExists, SiteNotFound
from collector.sites import DEFAULT_ORIGINS, Site, SiteSettings, changed_settings, hash_key, normalise_origin
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore


def test_add_list_and_look_up_by_keys(store: ChdbStore) -> None:
    sites = Sites(store)
    keys = sites.add("shop", ["https://Shop.example/", "https://shop.example"], retention_days=30)
    assert keys.site == "shop"
    assert keys.write_key.startswith("ffw_")
    assert keys.read_key
    assert keys.read_key.startswith("ffr_")
    site = sites.by_write_key(keys.write_key)
    assert site is not None
    assert site.allowed_origins == ("https://shop.example",)
    assert site.settings.retention_days == 30
    assert sites.by_read_key(keys.read_key) == site
    assert sites.by_read_key(keys.write_key) is None
    # Only the hash of the read key is stored.
    stored = store.query("SELECT * FROM footfall.sites")
    assert keys.read_key not in str(stored)
    assert stored[0]["read_key_sha256"] == hash_key(keys.read_key)
    second = sites.add("blog", [])
    assert [s.name for s in sites.all()] == ["shop", "blog"]
    assert sites.by_name("blog").site_id == 2  # type: ignore[union-attr]
    assert second.read_key != keys.read_key


def test_names_and_settings_are_checked(store: ChdbStore) -> None:
    sites = Sites(store)
    sites.add("shop", [])
    with pytest.raises(SiteExists):
        sites.add("shop", [])
    for bad in ("", "Shop", "-x", "a b", "x" * 64, "é"):
        with pytest.raises(SiteError, match="site name"):
            sites.add(bad, [])
    with pytest.raises(SiteError, match="retention days"):
        sites.add("short", [], retention_days=0)
    with pytest.raises(SiteNotFound):
        sites.rotate_key("nope", "read")


def test_rotating_keys_keeps_the_site_and_drops_the_old_key(store: ChdbStore) -> None:
    sites = Sites(store)
    first = sites.add("shop", ["https://shop.example"])
    assert first.read_key
    rotated = sites.rotate_key("shop", "read")
    assert rotated.read_key
    assert rotated.read_key != first.read_key
    assert rotated.write_key == first.write_key
    assert sites.by_read_key(first.read_key) is None
    assert sites.by_read_key(rotated.read_key) is not None
    new_write = sites.rotate_key("shop", "write")
    assert new_write.read_key is None
    assert sites.by_write_key(first.write_key) is None
    site = sites.by_write_key(new_write.write_key)
    assert site is not None
    assert site.site_id == 1
    assert site.allowed_origins == ("https://shop.example",)
    created = store.query("SELECT DISTINCT created_at FROM footfall.sites")
    assert len(created) == 1  # every version keeps the first creation time


def test_changing_origins(store: ChdbStore) -> None:
    sites = Sites(store)
    sites.add("shop", ["https://a.example"])
    site = sites.set_origins("shop", add=["https://b.example", "https://a.example"])
    assert site.allowed_origins == ("https://a.example", "https://b.example")
    site = sites.set_origins("shop", remove=["https://A.example/"])
    assert site.allowed_origins == ("https://b.example",)
    assert sites.by_name("shop") == site


@pytest.mark.parametrize(
    ("patterns", "origin", "allowed"),
    [
        (("https://shop.example",), "https://shop.example", True),
        (("https://shop.example",), "http://shop.example", False),
        (("https://shop.example",), "https://shop.example:8443", False),
        (("https://shop.example",), "https://evilshop.example", False),
        (("https://*.shop.example",), "https://www.shop.example", True),
        (("https://*.shop.example",), "https://a.b.shop.example", True),
        (("https://*.shop.example",), "https://shop.example", False),
        (("https://*.shop.example",), "https://shop.example.evil.example", False),
        (DEFAULT_ORIGINS, "http://localhost", True),
        (DEFAULT_ORIGINS, "http://localhost:3000", True),
        (DEFAULT_ORIGINS, "http://127.0.0.1:5173", True),
        (DEFAULT_ORIGINS, "http://localhost.evil.example", False),
        (("*",), "https://anything.example", True),
        ((), "https://shop.example", False),
        (("https://shop.example",), "null", False),
    ],
)
def test_origin_matching(patterns: tuple[str, ...], origin: str, allowed: bool) -> None:
    site = Site(site_id=1, name="s", allowed_origins=patterns, write_key="w", read_key_sha256="r")
    assert site.allows_origin(origin) is allowed


@pytest.mark.parametrize(
    "bad", ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://", "https://a b"]
)
def test_bad_origin_patterns_are_refused(bad: str) -> None:
    with pytest.raises(SiteError, match="is not an origin"):
        normalise_origin(bad)


def test_unknown_keys_reload_at_most_once_per_interval(store: ChdbStore) -> None:
    now = [100.0]
    sites = Sites(store, clock=lambda: now[0], miss_reload_interval_s=1.0)
    sites.load()
    assert not sites.reload_due_after_miss()
    now[0] += 1.0
    assert sites.reload_due_after_miss()


def test_settings_change_by_dotted_name_and_are_checked_whole() -> None:
    settings = changed_settings(
        SiteSettings(), {"snippet.consent": "opt-in", "snippet.mask": ".account, #card", "retention_days": 30}
    )
    assert settings.snippet.consent == "opt-in"
    assert settings.snippet.mask == (".account", "#card")
    assert settings.retention_days == 30
    assert changed_settings(settings, {"snippet.mask": None}).snippet.mask == ()  # None: the default again
    assert changed_settings(settings, {"snippet.keep_params": ["q", "page"]}).snippet.keep_params == ("q", "page")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"snippet.clickz": False}, "unknown setting 'snippet.clickz'; the settings are: retention_days, "),
        ({"retention_days.x": 1}, "unknown setting 'retention_days.x'"),
        ({"snippet.consent": "maybe"}, "Invalid enum value 'maybe' - at `$.snippet.consent`"),
        ({"snippet.endpoint": "javascript:alert(1)"}, "at `$.snippet.endpoint`"),
        ({"snippet.keep_params": "a b"}, "at `$.snippet.keep_params[0]`"),
        ({"retention_days": 0}, "at `$.retention_days`"),
    ],
)
def test_bad_settings_are_refused_with_where(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SiteError, match=re.escape(message)):
        changed_settings(SiteSettings(), changes)
