"""GeoIP: the country, region and city of a client address, from a MaxMind-format City database.

footfall ships no database. An operator points footfall at a `.mmdb` file in the GeoLite2-City /
DB-IP City Lite layout; two are free:
  - MaxMind GeoLite2 City: create a free MaxMind account, download `GeoLite2-City.mmdb` (their EULA asks
    for attribution and for updates within 30 days of a new release; `geoipupdate` does that);
  - DB-IP "IP to City Lite", mmdb format, monthly, CC BY 4.0 (credit "IP Geolocation by DB-IP").
Without a database the geo columns stay empty and everything else works the same. Addresses are looked
up in memory and never stored (see collector.privacy).
"""

import functools
import ipaddress
from datetime import UTC, date, datetime
from typing import Final, Self

import maxminddb
import msgspec

from collector.errors import ConfigError

__all__ = ["UNKNOWN", "Geo", "GeoIP"]


class Geo(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    country: str = ""  # ISO 3166-1 alpha-2, e.g. "GB"
    region: str = ""  # first subdivision's ISO code ("ENG", "CA"), or its English name where the db has no code
    city: str = ""  # English name


UNKNOWN: Final = Geo()

# Longest textual address worth parsing: a full IPv6 with an embedded IPv4 is 45 characters; scope ids
# ("fe80::1%eth0") only occur on link-local addresses, which are unknown anyway.
_MAX_ADDRESS_CHARS: Final = 64


class GeoIP:
    """Looks addresses up in one open database; without one, every answer is UNKNOWN.

    Recent answers are kept in a bounded LRU keyed by the address text: every event of a batch, and
    most batches of one visit, come from the same address, and a cached answer costs a fraction of a
    microsecond against ~11 µs for parsing the address and decoding a GeoLite2 City record.
    """

    def __init__(self, *, reader: maxminddb.Reader | None = None, cache_size: int = 8192) -> None:
        self._reader = reader
        self._cached = functools.lru_cache(maxsize=cache_size)(functools.partial(_look_up, reader))

    @classmethod
    def open(cls, path: str | None, *, cache_size: int = 8192) -> Self:
        """Open `path` (None or "": no database). A missing or unreadable file stops startup with a ConfigError."""
        if not path:
            return cls(cache_size=cache_size)
        try:
            reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
        except FileNotFoundError as exc:
            raise ConfigError(
                f"GeoIP database {path!r} does not exist: download GeoLite2-City.mmdb (MaxMind, free account) "
                "or DB-IP's IP to City Lite .mmdb, or leave the setting empty to run without geo"
            ) from exc
        except PermissionError as exc:
            raise ConfigError(f"GeoIP database {path!r} cannot be read: permission denied") from exc
        except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
            raise ConfigError(f"GeoIP database {path!r} is not a valid MaxMind DB (.mmdb) file: {exc}") from exc
        return cls(reader=reader, cache_size=cache_size)

    @property
    def available(self) -> bool:
        return self._reader is not None

    @property
    def database_type(self) -> str:
        """What the file says it is ("GeoLite2-City", "DBIP-City-Lite"...): worth a line in the startup log."""
        return "" if self._reader is None else self._reader.metadata().database_type

    @property
    def built(self) -> date | None:
        if self._reader is None:
            return None
        return datetime.fromtimestamp(self._reader.metadata().build_epoch, UTC).date()

    def lookup(self, ip: str) -> Geo:
        """Never raises: garbage, private, loopback and unlisted addresses are all UNKNOWN."""
        if self._reader is None or len(ip) > _MAX_ADDRESS_CHARS:
            return UNKNOWN
        return self._cached(ip)

    @property
    def hits(self) -> int:
        return self._cached.cache_info().hits

    @property
    def misses(self) -> int:
        return self._cached.cache_info().misses

    def close(self) -> None:
        reader, self._reader = self._reader, None
        self._cached.cache_clear()
        if reader is not None:
            reader.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _look_up(reader: maxminddb.Reader | None, text: str) -> Geo:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; not every database aliases that range.
        address = address.ipv4_mapped
    if reader is None or not address.is_global:  # private, loopback, link-local, CGNAT, documentation...
        return UNKNOWN
    try:
        record = reader.get(address)
    except (ValueError, maxminddb.InvalidDatabaseError):  # IPv6 in an IPv4-only db, closed reader, bad data
        return UNKNOWN
    if not isinstance(record, dict):
        return UNKNOWN
    return Geo(
        country=_text(record, "country", "iso_code"),
        region=_text(record, "subdivisions", 0, "iso_code") or _text(record, "subdivisions", 0, "names", "en"),
        city=_text(record, "city", "names", "en"),
    )


def _text(node: object, *path: str | int) -> str:
    """The string at `path` in a decoded record, or "" when any step is missing or of another type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or len(node) <= step:
                return ""
            node = node[step]
        else:
            if not isinstance(node, dict):
                return ""
            node = node.get(step)
    return node if isinstance(node, str) else ""
