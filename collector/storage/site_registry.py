"""The sites table, in memory: every site keyed by write key and by read-key hash, reloaded from the
store on a timer and (rate-limited) when an unknown key shows up, so a site added by another process
starts working within a second. HTTP worker processes without a store read the snapshot file instead.
"""

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec

from collector.errors import SiteError, SiteExists, SiteNotFound
from collector.sites import (
    NAME,
    NewKeys,
    Site,
    SiteSettings,
    changed_settings,
    hash_key,
    normalise_origin,
    site_settings,
)
from collector.storage.store import Store

_snapshot_decoder = msgspec.json.Decoder(list[Site])


class Sites:
    """Sites from the store; or, in an HTTP worker process that has no store, from the snapshot file the
    main process writes at every load (`snapshot`)."""

    def __init__(
        self,
        store: Store | None,
        *,
        snapshot: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        miss_reload_interval_s: float = 1.0,
    ) -> None:
        self._store = store
        self._snapshot = snapshot
        self._clock = clock
        self._miss_interval = miss_reload_interval_s
        self._lock = threading.Lock()
        self._by_write: dict[str, Site] = {}
        self._by_read: dict[str, Site] = {}
        self._by_name: dict[str, Site] = {}
        self._loaded_at = float("-inf")
        self._loaded_mtime_ns = -1

    # -- reads (hot path: dict look-ups only) --------------------------------------------------

    def by_write_key(self, key: str) -> Site | None:
        return self._by_write.get(key)

    def by_read_key(self, key: str) -> Site | None:
        return self._by_read.get(hash_key(key))

    def by_name(self, name: str) -> Site | None:
        return self._by_name.get(name)

    def all(self) -> list[Site]:
        return sorted(self._by_name.values(), key=lambda s: s.site_id)

    def reload_due_after_miss(self) -> bool:
        if self._store is None:  # a snapshot: reading it again is cheap, and needed only if it changed
            return self._snapshot_mtime_ns() != self._loaded_mtime_ns
        return self._clock() - self._loaded_at >= self._miss_interval

    def _snapshot_mtime_ns(self) -> int:
        assert self._snapshot is not None
        try:
            return self._snapshot.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    # -- store ----------------------------------------------------------------------------------

    def load(self) -> None:
        if self._store is None:
            assert self._snapshot is not None
            self._loaded_mtime_ns = self._snapshot_mtime_ns()
            self._install(_snapshot_decoder.decode(self._snapshot.read_bytes()))
            return
        store = self._store
        rows = store.query(
            "SELECT site_id, name, allowed_origins, write_key, read_key_sha256, settings "
            f"FROM {store.database}.sites FINAL ORDER BY site_id"
        )
        sites = [
            Site(
                site_id=int(r["site_id"]),
                name=r["name"],
                allowed_origins=tuple(r["allowed_origins"]),
                write_key=r["write_key"],
                read_key_sha256=r["read_key_sha256"],
                settings=msgspec.json.decode(r["settings"] or "{}", type=SiteSettings),
            )
            for r in rows
        ]
        self._install(sites)
        if self._snapshot is not None:
            temp = self._snapshot.with_suffix(".tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(msgspec.json.encode(sites))
            os.replace(temp, self._snapshot)

    def _install(self, sites: list[Site]) -> None:
        with self._lock:
            self._by_write = {s.write_key: s for s in sites}
            self._by_read = {s.read_key_sha256: s for s in sites}
            self._by_name = {s.name: s for s in sites}
            self._loaded_at = self._clock()

    def _writable(self) -> Store:
        if self._store is None:
            raise SiteError("sites are changed through the main footfall process")
        return self._store

    def add(self, name: str, origins: Iterable[str], *, retention_days: int | None = None) -> NewKeys:
        if not NAME.match(name):
            raise SiteError(
                f"site name {name!r}: use 1-63 of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
            )
        allowed = tuple(dict.fromkeys(normalise_origin(o) for o in origins))
        settings = site_settings(retention_days)
        self.load()
        if name in self._by_name:
            raise SiteExists(f"a site named {name!r} exists already")
        site_id = max((s.site_id for s in self._by_name.values()), default=0) + 1
        write_key, read_key = _new_write_key(), _new_read_key()
        site = Site(
            site_id=site_id,
            name=name,
            allowed_origins=allowed,
            write_key=write_key,
            read_key_sha256=hash_key(read_key),
            settings=settings,
        )
        self._save(site, created=True)
        return NewKeys(site=name, write_key=write_key, read_key=read_key)

    def rotate_key(self, name: str, which: Literal["read", "write"]) -> NewKeys:
        self.load()
        site = self._by_name.get(name)
        if site is None:
            raise SiteNotFound(f"no site named {name!r}")
        if which == "write":
            site = msgspec.structs.replace(site, write_key=_new_write_key())
            self._save(site, created=False)
            return NewKeys(site=name, write_key=site.write_key, read_key=None)
        read_key = _new_read_key()
        site = msgspec.structs.replace(site, read_key_sha256=hash_key(read_key))
        self._save(site, created=False)
        return NewKeys(site=name, write_key=site.write_key, read_key=read_key)

    def set_origins(self, name: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Site:
        self.load()
        site = self._by_name.get(name)
        if site is None:
            raise SiteNotFound(f"no site named {name!r}")
        dropping = {normalise_origin(o) for o in remove}
        origins = [o for o in site.allowed_origins if o not in dropping]
        origins += [o for o in (normalise_origin(o) for o in add) if o not in origins]
        site = msgspec.structs.replace(site, allowed_origins=tuple(origins))
        self._save(site, created=False)
        return site

    def configure(self, name: str, changes: dict[str, Any]) -> Site:
        """Change settings by dotted name ({"snippet.consent": "opt-in"}); the whole result is checked first."""
        changed_settings(SiteSettings(), changes)  # names and values are wrong or right whatever the site
        self.load()
        site = self._by_name.get(name)
        if site is None:
            raise SiteNotFound(f"no site named {name!r}")
        site = msgspec.structs.replace(site, settings=changed_settings(site.settings, changes))
        self._save(site, created=False)
        return site

    def _save(self, site: Site, *, created: bool) -> None:
        now = datetime.now(UTC)
        store = self._writable()
        store.execute(
            f"INSERT INTO {store.database}.sites "
            "(site_id, name, allowed_origins, write_key, read_key_sha256, settings, created_at, updated_at) "
            "SELECT {id:UInt32}, {name:String}, {origins:Array(String)}, {wk:String}, {rk:String}, "
            "{settings:String}, "
            + (
                "{now:DateTime64(3)}"
                if created
                else f"(SELECT min(created_at) FROM {store.database}.sites WHERE site_id = {{id:UInt32}})"
            )
            + ", {now:DateTime64(3)}",
            {
                "id": site.site_id,
                "name": site.name,
                "origins": list(site.allowed_origins),
                "wk": site.write_key,
                "rk": site.read_key_sha256,
                "settings": msgspec.json.encode(site.settings).decode(),
                "now": now,
            },
        )
        self.load()


def _new_write_key() -> str:
    return "ffw_" + secrets.token_urlsafe(16)


def _new_read_key() -> str:
    return "ffr_" + secrets.token_urlsafe(24)
