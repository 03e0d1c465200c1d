"""collector/dashboard/overlay.py: where "open on my site" sends the owner."""

import pytest

from collector.dashboard.overlay import launch_url
from collector.errors import ApiError
from collector.sites import Site, SiteSettings


def shop() -> Site:
    origins = ("https://shop.example", "http://localhost:8080")
    return Site(
        site_id=1, name="shop", allowed_origins=origins, write_key="w", read_key_sha256="", settings=SiteSettings()
    )


@pytest.mark.parametrize(
    ("url", "opened"),
    [
        ("https://shop.example/cart", "https://shop.example/cart#ff_overlay=ffo_t"),
        ("https://shop.example/cart#old", "https://shop.example/cart#old&ff_overlay=ffo_t"),
        # a hash route stays the page it is: the snippet takes only the token out
        ("https://shop.example/app#/orders/7", "https://shop.example/app#/orders/7&ff_overlay=ffo_t"),
        ("http://localhost:8080/x?q=1", "http://localhost:8080/x?q=1#ff_overlay=ffo_t"),
    ],
)
def test_the_token_joins_the_fragment(url: str, opened: str) -> None:
    assert launch_url(shop(), url, "ffo_t") == opened


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://elsewhere.example/", "origin_not_allowed"),
        ("http://localhost:9090/x", "origin_not_allowed"),  # another port is another origin
        ("javascript:alert(1)", "invalid_parameter"),
        ("http://[::1/x", "invalid_parameter"),
    ],
)
def test_only_the_sites_own_origins_are_opened(url: str, code: str) -> None:
    with pytest.raises(ApiError) as raised:
        launch_url(shop(), url, "ffo_t")
    assert (raised.value.status, raised.value.code) == (422, code)
