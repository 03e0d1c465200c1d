"""Visitor keys: a daily pseudonymous id for a visitor, keyed with a salt that is forgotten after two days."""

import hashlib
import secrets
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Final

SALT_BYTES: Final = 16
_PERSON: Final = b"footfall.visitor"  # blake2b personalisation: these hashes are visitor keys, nothing else


def visitor_key(*, site_id: int, salt: bytes, ip: str, user_agent: str) -> str:
    """A daily pseudonymous visitor id: blake2b keyed with the day's salt over (site, ip, user agent).

    Stable for the same inputs within one salt (one UTC day), unlinkable across salts and sites. The
    raw address is never needed after this and GeoIP: the key counts unique visitors, the salt is
    secret (an unkeyed hash of an IPv4 address is reversed by trying all 2^32), and once the day's salt
    is forgotten nobody, operator included, can recompute or link that day's keys.
    """
    digest = hashlib.blake2b(key=salt, digest_size=16, person=_PERSON)
    # The address's length goes first so that no (ip, ua) pair can be shifted into another.
    digest.update(f"{site_id}:{len(ip)}:{ip}{user_agent}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


class DailySalts:
    """The salts of one UTC day, the day before and the day after, and no others.

    Built from what the caller loaded (the caller stores salts so several collectors share them, and
    creates today's and tomorrow's with `new_salt` when they are missing). Tomorrow's is held so the day
    can turn without the store (`as_of`); yesterday's serves a request stamped just before midnight and
    handled after; anything older is dropped here so old days stay unlinkable. `salt_for(day)` raising
    KeyError is the cue to load again.
    """

    __slots__ = ("_salts", "_today")

    def __init__(self, salts: Mapping[date, bytes], *, today: date) -> None:
        window = (today - timedelta(days=1), today, today + timedelta(days=1))
        kept: dict[date, bytes] = {}
        for day in window:
            salt = salts.get(day)
            if salt is None:
                continue
            if not SALT_BYTES <= len(salt) <= hashlib.blake2b.MAX_KEY_SIZE:
                raise ValueError(f"the salt for {day} has {len(salt)} bytes, expected {SALT_BYTES} to 64")
            kept[day] = bytes(salt)
        self._salts = kept
        self._today = today

    @property
    def today(self) -> date:
        return self._today

    @property
    def days(self) -> tuple[date, ...]:
        """The days held, oldest first."""
        return tuple(sorted(self._salts))

    def __contains__(self, day: object) -> bool:
        return day in self._salts

    def salt_for(self, day: date) -> bytes:
        salt = self._salts.get(day)
        if salt is None:
            raise KeyError(f"no salt for {day}: holding {', '.join(map(str, self.days)) or 'none'}")
        return salt

    def as_of(self, today: date) -> "DailySalts":
        """The salts held, with `today` as the day: what turning the day keeps of them."""
        return DailySalts(self._salts, today=today)

    def by_day(self) -> dict[date, bytes]:
        return dict(self._salts)
