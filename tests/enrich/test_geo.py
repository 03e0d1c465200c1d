import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from geodb import city_record
from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

from collector.enrich.geo import UNKNOWN, Geo, GeoIP
from collector.errors import ConfigError


@pytest.fixture
def geo(mmdb_path: Path) -> Iterator[GeoIP]:
    with GeoIP.open(str(mmdb_path)) as opened:
        yield opened


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("81.2.69.160", Geo(country="GB", region="ENG", city="London")),
        ("216.160.83.56", Geo(country="US", region="CA", city="San Francisco")),
        ("91.198.174.192", Geo(country="NL", region="North Holland", city="Amsterdam")),
        ("5.1.2.3", Geo(country="FR")),
        ("2a02:8100:1234::1", Geo(country="DE", region="BE", city="Berlin")),
        ("2600:1f00:0:1::42", Geo(country="US", region="CA", city="San Francisco")),
        ("2A02:8100::1", Geo(country="DE", region="BE", city="Berlin")),
        # IPv4-mapped, as dual-stack sockets report IPv4 clients
        ("::ffff:81.2.69.160", Geo(country="GB", region="ENG", city="London")),
        (" 81.2.69.160 ", Geo(country="GB", region="ENG", city="London")),
    ],
)
def test_lookup_finds_listed_addresses(geo: GeoIP, ip: str, expected: Geo) -> None:
    assert geo.lookup(ip) == expected


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",  # not in the database
        "2001:4860:4860::8888",
        "10.1.2.3",  # private, although listed
        "fd00::1",
        "192.168.1.1",
        "127.0.0.1",
        "::1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.1.1",
        "fe80::1%eth0",
        "0.0.0.0",
        "",
        "garbage",
        "81.2.69.160:443",
        "[2a02:8100::1]",
        "81.2.69.999",
        "x" * 10_000,
        "\x00",
    ],
)
def test_lookup_of_unknown_private_or_bad_addresses_is_empty(geo: GeoIP, ip: str) -> None:
    assert geo.lookup(ip) == UNKNOWN
    assert geo.lookup(ip) == Geo(country="", region="", city="")


def test_without_a_database_everything_is_unknown() -> None:
    for path in (None, ""):
        geo = GeoIP.open(path)
        assert not geo.available
        assert geo.database_type == ""
        assert geo.built is None
        assert geo.lookup("81.2.69.160") == UNKNOWN
        geo.close()


def test_metadata_is_there_for_the_startup_log(geo: GeoIP) -> None:
    assert geo.available
    assert geo.database_type == "GeoLite2-City"
    assert geo.built is not None


def test_repeated_lookups_come_from_the_cache(mmdb_path: Path) -> None:
    with GeoIP.open(str(mmdb_path), cache_size=2) as geo:
        for _ in range(3):
            assert geo.lookup("81.2.69.160").city == "London"
        assert (geo.hits, geo.misses) == (2, 1)
        geo.lookup("216.160.83.56")
        geo.lookup("5.1.2.3")  # evicts the London answer: the cache is bounded
        assert geo.lookup("81.2.69.160").city == "London"
        assert (geo.hits, geo.misses) == (2, 4)


def test_an_ipv4_only_database_answers_ipv6_with_unknown(tmp_path: Path) -> None:
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-City")
    writer.insert_network(IPSet(["81.2.69.0/24"]), city_record("GB", None, "London"))
    path = tmp_path / "v4.mmdb"
    writer.to_db_file(str(path))
    with GeoIP.open(str(path)) as geo:
        assert geo.lookup("81.2.69.1").city == "London"
        assert geo.lookup("2a02:8100::1") == UNKNOWN


def test_a_closed_geoip_answers_unknown(mmdb_path: Path) -> None:
    geo = GeoIP.open(str(mmdb_path))
    assert geo.lookup("81.2.69.160").country == "GB"
    geo.close()
    assert not geo.available
    assert geo.lookup("81.2.69.160") == UNKNOWN
    geo.close()  # twice is fine


def test_a_missing_file_stops_startup_with_a_message(tmp_path: Path) -> None:
    path = str(tmp_path / "GeoLite2-City.mmdb")
    with pytest.raises(ConfigError, match="does not exist") as raised:
        GeoIP.open(path)
    assert path in str(raised.value)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a database\n" * 100, b"\xab\xcd\xefMaxMind.com" + b"\x00" * 64],
)
def test_a_corrupt_file_stops_startup_with_a_message(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "city.mmdb"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not a valid MaxMind DB") as raised:
        GeoIP.open(str(path))
    assert str(path) in str(raised.value)


def test_a_truncated_database_stops_startup(tmp_path: Path, mmdb_path: Path) -> None:
    path = tmp_path / "half.mmdb"
    path.write_bytes(mmdb_path.read_bytes()[: mmdb_path.stat().st_size // 2])
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        GeoIP.open(str(path))


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path))):
        GeoIP.open(str(tmp_path))
