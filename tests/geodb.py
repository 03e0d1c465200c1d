"""A small GeoIP database for tests, shaped like GeoLite2 City (built with mmdb-writer)."""

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

LANGUAGES = ("de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN")


def names(name: str) -> dict[str, str]:
    return dict.fromkeys(LANGUAGES, name)


def city_record(country: str, subdivision: dict[str, object] | None, city: str | None) -> dict[str, object]:
    """A record shaped like GeoLite2 City's (names in several languages, ids, location)."""
    record: dict[str, object] = {
        "continent": {"code": "EU", "geoname_id": 6255148, "names": names("Europe")},
        "country": {"geoname_id": 1, "iso_code": country, "names": names(country)},
        "registered_country": {"geoname_id": 1, "iso_code": country, "names": names(country)},
        "location": {"accuracy_radius": 20, "latitude": 51.5, "longitude": -0.1, "time_zone": "Europe/London"},
    }
    if subdivision is not None:
        record["subdivisions"] = [subdivision]
    if city is not None:
        record["city"] = {"geoname_id": 2, "names": names(city)}
    return record


def write_city_db(path: Path) -> Path:
    """81.2.69.x is London, 216.160.83.x San Francisco, and a few more (see the table)."""
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    networks = {
        "81.2.69.0/24": city_record("GB", {"iso_code": "ENG", "names": names("England")}, "London"),
        "216.160.83.0/24": city_record("US", {"iso_code": "CA", "names": names("California")}, "San Francisco"),
        # DB-IP City Lite names subdivisions without ISO codes
        "91.198.174.0/24": city_record("NL", {"names": {"en": "North Holland"}}, "Amsterdam"),
        "5.1.0.0/16": city_record("FR", None, None),
        "2a02:8100::/32": city_record("DE", {"iso_code": "BE", "names": names("Berlin")}, "Berlin"),
        "2600:1f00::/24": city_record("US", {"iso_code": "CA", "names": names("California")}, "San Francisco"),
        # private ranges a careless database might list; lookups must not even ask
        "10.0.0.0/8": city_record("ZZ", None, "Nowhere"),
        "fc00::/7": city_record("ZZ", None, "Nowhere"),
    }
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
