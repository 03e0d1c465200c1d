"""Where a served script posts: only where configuration, or this server's own address, says; never
where a request's Host or forwarded headers claim (a shared cache would hand that script to everyone)."""

import httpx
import pytest
from support import serve

from collector.errors import ConfigError
from collector.server import snippet
from collector.server.app import create_app
from collector.settings import Settings, from_env
from collector.sites import DEFAULT_ORIGINS
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore

LOOPBACK = ("127.0.0.1", 8000)


@pytest.mark.parametrize(
    ("host", "local", "bind_host", "base"),
    [
        ("localhost:8000", LOOPBACK, "127.0.0.1", "http://localhost:8000"),  # the README's first start
        ("127.0.0.1:8000", LOOPBACK, "127.0.0.1", "http://127.0.0.1:8000"),
        ("LocalHost:8000", LOOPBACK, "127.0.0.1", "http://localhost:8000"),
        ("[::1]:8000", ("::1", 8000), "::1", "http://[::1]:8000"),
        ("localhost:8000", ("::ffff:127.0.0.1", 8000), "::", "http://localhost:8000"),  # dual-stack socket
        ("localhost", ("127.0.0.1", 80), "127.0.0.1", "http://localhost"),
        ("10.0.0.5:8000", ("10.0.0.5", 8000), "0.0.0.0", "http://10.0.0.5:8000"),  # a LAN address it listens on
        ("collector.internal:8000", ("10.0.0.5", 8000), "collector.internal", "http://collector.internal:8000"),
        (None, ("10.0.0.5", 8000), "0.0.0.0", "http://10.0.0.5:8000"),  # HTTP/1.0: the connection's address
        ("evil.example", LOOPBACK, "127.0.0.1", None),
        ("evil.example:8000", LOOPBACK, "127.0.0.1", None),
        ("localhost:8001", LOOPBACK, "127.0.0.1", None),  # another port: another server
        ("localhost:8000", ("10.0.0.5", 8000), "0.0.0.0", None),  # "localhost" over the network is a lie
        ("0.0.0.0:8000", LOOPBACK, "0.0.0.0", None),
        ("10.0.0.6:8000", ("10.0.0.5", 8000), "0.0.0.0", None),
        ("localhost:8000@evil.example", LOOPBACK, "127.0.0.1", None),
        ("evil.example/localhost:8000", LOOPBACK, "127.0.0.1", None),
        ("localhost:8000 ", LOOPBACK, "127.0.0.1", None),
        ("localhost:8000", None, "127.0.0.1", None),  # no socket address (a Unix socket)
    ],
)
def test_the_host_is_believed_only_when_it_names_this_server(
    host: str | None, local: tuple[str, int] | None, bind_host: str, base: str | None
) -> None:
    assert snippet.own_base_url("http", host, local, bind_host=bind_host) == base


def _scripts(url: str, write_key: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/s/{write_key}.js", headers={"Accept-Encoding": "identity", **headers})


HOSTILE = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "host=evil.example"}


def test_without_a_public_url_a_foreign_host_gets_an_error_never_a_script_posting_there(
    store: ChdbStore, settings: Settings
) -> None:
    keys = Sites(store).add("shop", DEFAULT_ORIGINS)
    with serve(create_app(settings, store=store)) as url:
        poisoned = _scripts(url, keys.write_key, Host="evil.example")
        forwarded = _scripts(url, keys.write_key, **HOSTILE)
        own = _scripts(url, keys.write_key)
    assert poisoned.status_code == 421
    assert b"evil.example" not in poisoned.content
    assert b"--public-url" in poisoned.content  # says how to fix it
    assert poisoned.headers["cache-control"] == "no-store"
    for answer in (forwarded, own):
        assert answer.status_code == 200
        assert f'"{url}/v1/batch"'.encode() in answer.content  # http, this server: forwarded headers ignored
        assert b"evil.example" not in answer.content
        # Derived from the request, even if checked: for the asking browser's cache only.
        assert answer.headers["cache-control"] == "private, max-age=300"
        assert answer.headers["vary"] == "Accept-Encoding, Host"


def test_a_public_url_or_a_site_endpoint_is_used_whatever_the_request_says(
    store: ChdbStore, settings: Settings
) -> None:
    sites = Sites(store)
    shop, blog = sites.add("shop", DEFAULT_ORIGINS), sites.add("blog", DEFAULT_ORIGINS)
    sites.configure("blog", {"snippet.endpoint": "https://collect.blog.example/v1/batch"})
    public = settings.with_changes(public_url="https://t.shop.example/ff/")
    with serve(create_app(public, store=store)) as url:
        answers = {
            name: [_scripts(url, key, Host="evil.example", **HOSTILE), _scripts(url, key)]
            for name, key in (("shop", shop.write_key), ("blog", blog.write_key))
        }
    endpoints = {"shop": b'"https://t.shop.example/ff/v1/batch"', "blog": b'"https://collect.blog.example/v1/batch"'}
    for name, (hostile, plain) in answers.items():
        assert hostile.content == plain.content
        assert endpoints[name] in plain.content
        assert b"evil.example" not in plain.content
        assert plain.headers["cache-control"] == "public, max-age=300"  # the same for everyone
        assert plain.headers["vary"] == "Accept-Encoding"


def test_a_public_url_must_be_a_plain_http_url() -> None:
    with pytest.raises(ConfigError, match=r"invalid value for public_url \(FOOTFALL_PUBLIC_URL or --public-url\)"):
        from_env({"FOOTFALL_PUBLIC_URL": 'https://t.example/"><script>'})
    assert from_env({"FOOTFALL_PUBLIC_URL": "https://t.example:8443/ff"}).base_url == "https://t.example:8443/ff"
