"""Sites: who may send events (write key + allowed origins) and who may read them (read key).

The registry keeps every site in memory, keyed by write key and by read-key hash, and reloads from
the store on a timer and (rate-limited) when an unknown key shows up, so a site added by another
process starts working within a second.
"""

import functools
import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from collector.errors import SiteError, SiteExists, SiteNotFound
from collector.store import Store

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ORIGIN = re.compile(r"^(https?)://(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(?::(\d{1,5}|\*))?$")
DEFAULT_ORIGINS = ("http://localhost", "http://localhost:*", "http://127.0.0.1:*")


class SnippetSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the site's generated script does (sdk-js/README.md); features switched off are left out of it."""

    clicks: bool = True  # click positions for heatmaps
    moves: bool = True  # mouse movement, aggregated in the browser into 20 px cells
    scroll: bool = True  # deepest scroll of each pageview
    rage: bool = True  # rage clicks: 3+ clicks within 30 px and 1 s
    dead: bool = True  # dead clicks: no DOM change, scroll or navigation within 2 s
    identify: bool = True  # a visitor id kept in localStorage, a session id per tab, footfall.identify()/reset()
    offline: bool = True  # failed batches wait in localStorage and are retried with backoff
    compress: bool = True  # gzip batches with CompressionStream where the browser has it
    consent: Literal["opt-out", "opt-in"] = "opt-out"  # opt-in: nothing leaves the page before footfall.consent()
    honour_gpc: bool = True  # Global Privacy Control or Do-Not-Track: nothing is sent
    cookieless: bool = False  # no identifiers (nor anything else) kept in the browser's storage
    hash_routes: bool = False  # "#/route" changes are pages of their own (hash-based SPA routers)
    # CSS selectors treated like data-footfall-mask: clicks inside are described by the masked element only
    mask: tuple[Annotated[str, Meta(min_length=1, max_length=200)], ...] = ()
    # query parameters kept in page URLs beside utm_* (all others are dropped in the browser)
    keep_params: tuple[Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-\[\]]{1,64}$")], ...] = ()
    # where the script posts; default: this server's /v1/batch; "/path" is on the page's own origin
    endpoint: Annotated[str, Meta(pattern=r"^(/|https?://)[^\s\"'<>]*$", max_length=500)] | None = None


class SiteSettings(msgspec.Struct, frozen=True, kw_only=True):
    retention_days: Annotated[int, Meta(ge=1, le=3650)] = 400
    keep_bots: bool = False  # store events from bots' user agents instead of dropping them
    drop_params: tuple[str, ...] = ()  # URL parameters removed, beyond footfall's own list
    deny_keys: tuple[str, ...] = ()  # property keys removed, beyond footfall's own list
    rate_limit_eps: Annotated[int, Meta(ge=0)] | None = None  # events/s per process; None: the default
    snippet: SnippetSettings = SnippetSettings()


class Site(msgspec.Struct, frozen=True, kw_only=True):
    site_id: int
    name: str
    allowed_origins: tuple[str, ...]
    write_key: str
    read_key_sha256: str
    settings: SiteSettings = SiteSettings()

    def allows_origin(self, origin: str) -> bool:
        return _origin_matcher(self.allowed_origins)(origin.lower())


_snapshot_decoder = msgspec.json.Decoder(list[Site])


class NewKeys(msgspec.Struct, frozen=True):
    """What `site add` / `rotate-key` hand back: the read key is shown once and never stored."""

    site: str
    write_key: str
    read_key: str | None


def hash_key(key: str) -> str:
    # Read keys are 192-bit random tokens, so a plain SHA-256 is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode()).hexdigest()


def normalise_origin(pattern: str) -> str:
    """'https://Shop.example/' → 'https://shop.example'; refuses anything but scheme://host[:port]."""
    text = pattern.strip().lower().rstrip("/")
    if text == "*":
        return text
    if not _ORIGIN.match(text):
        raise SiteError(
            f"{pattern!r} is not an origin: use scheme://host[:port], e.g. https://shop.example, "
            "https://*.shop.example, http://localhost:*, or * for any"
        )
    return text


@functools.lru_cache(maxsize=4096)
def _origin_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled regex per distinct list of origin patterns."""
    if "*" in patterns:
        return lambda origin: True
    if not patterns:
        return lambda origin: False
    parts = [
        re.escape(p).replace(r"://\*\.", r"://(?:[a-z0-9-]+\.)+").replace(r":\*", r"(?::\d{1,5})?") for p in patterns
    ]
    regex = re.compile("^(?:" + "|".join(parts) + ")$")
    return lambda origin: regex.match(origin) is not None


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
        settings = _site_settings(retention_days)
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


def changed_settings(settings: SiteSettings, changes: dict[str, Any]) -> SiteSettings:
    """`settings` with `changes` applied. A list setting also takes a comma-separated string; a value of
    None puts the default back. Unknown names and bad values raise SiteError naming the setting."""
    merged = msgspec.to_builtins(settings)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = merged
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise SiteError(f"unknown setting {dotted!r}; the settings are: {', '.join(_names(merged))}")
            node = node[part]
        if leaf not in node:
            raise SiteError(f"unknown setting {dotted!r}; the settings are: {', '.join(_names(merged))}")
        if value is None:
            node.pop(leaf)
        elif isinstance(node[leaf], (list, tuple)) and isinstance(value, str):
            node[leaf] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            node[leaf] = value
    try:
        return msgspec.convert(merged, SiteSettings)
    except msgspec.ValidationError as exc:
        raise SiteError(f"setting not changed: {exc}") from exc


def _names(tree: dict[str, Any], prefix: str = "") -> list[str]:
    names: list[str] = []
    for key, value in tree.items():
        names += _names(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    return names


def _site_settings(retention_days: int | None) -> SiteSettings:
    raw = {} if retention_days is None else {"retention_days": retention_days}
    try:
        return msgspec.convert(raw, SiteSettings)
    except msgspec.ValidationError as exc:
        raise SiteError(f"retention days must be from 1 to 3650, got {retention_days}") from exc


def _new_write_key() -> str:
    return "ffw_" + secrets.token_urlsafe(16)


def _new_read_key() -> str:
    return "ffr_" + secrets.token_urlsafe(24)
