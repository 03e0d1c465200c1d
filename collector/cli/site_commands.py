"""Where a CLI command acts: a store it opens itself (embedded or a ClickHouse server), or, while
`footfall serve` owns the embedded store, that server, asked through its admin endpoints."""

import contextlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec

from collector.errors import ConfigError, DataDirLocked, StoreMissing
from collector.server.admin import site_view
from collector.settings import Settings
from collector.storage import migrate
from collector.storage.datadir import DataDir
from collector.storage.site_registry import Sites
from collector.storage.store import Store, open_store


class SiteCommands(Protocol):
    def listing(self) -> list[dict[str, Any]]: ...
    def add(self, name: str, origins: list[str], retention_days: int | None) -> dict[str, Any]: ...
    def rotate(self, name: str, which: str) -> dict[str, Any]: ...
    def origins(self, name: str, add: list[str], remove: list[str]) -> dict[str, Any]: ...
    def configure(self, name: str, changes: dict[str, Any]) -> dict[str, Any]: ...


class LocalSites:
    def __init__(self, store: Store) -> None:
        self.sites = Sites(store)
        self.sites.load()

    def listing(self) -> list[dict[str, Any]]:
        return [site_view(s) for s in self.sites.all()]

    def add(self, name: str, origins: list[str], retention_days: int | None) -> dict[str, Any]:
        keys: dict[str, Any] = msgspec.to_builtins(self.sites.add(name, origins, retention_days=retention_days))
        return keys

    def rotate(self, name: str, which: str) -> dict[str, Any]:
        keys: dict[str, Any] = msgspec.to_builtins(self.sites.rotate_key(name, "write" if which == "write" else "read"))
        return keys

    def origins(self, name: str, add: list[str], remove: list[str]) -> dict[str, Any]:
        return site_view(self.sites.set_origins(name, add=add, remove=remove))

    def configure(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        return site_view(self.sites.configure(name, changes))


class RemoteServer:
    """The running server, asked through its admin endpoints."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")  # the server's base URL, as it announced it in server.json
        self.token = token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 — our own server, from server.json
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", exc.reason)
            except ValueError:
                detail = exc.reason
            raise ConfigError(str(detail)) from exc
        except OSError as exc:
            raise ConfigError(f"the footfall server at {self.url} does not answer: {exc}") from exc


class RemoteSites(RemoteServer):
    """The site commands, asked of the running server."""

    def listing(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._call("GET", "/admin/v1/sites")
        return listed

    def add(self, name: str, origins: list[str], retention_days: int | None) -> dict[str, Any]:
        body = {"name": name, "origins": origins, "retention_days": retention_days}
        keys: dict[str, Any] = self._call("POST", "/admin/v1/sites", body)
        return keys

    def rotate(self, name: str, which: str) -> dict[str, Any]:
        keys: dict[str, Any] = self._call("POST", f"/admin/v1/sites/{name}/rotate-key", {"which": which})
        return keys

    def origins(self, name: str, add: list[str], remove: list[str]) -> dict[str, Any]:
        site: dict[str, Any] = self._call("POST", f"/admin/v1/sites/{name}/origins", {"add": add, "remove": remove})
        return site

    def configure(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        site: dict[str, Any] = self._call("POST", f"/admin/v1/sites/{name}/settings", {"changes": changes})
        return site


@contextmanager
def store_for(settings: Settings, *, create: bool = False) -> Iterator[Store]:
    """The store a command acts on, said on stderr (stdout stays for answers, --json ones too).
    Unless `create`, only a store that exists: a command run from the wrong folder must not leave an
    empty store there and answer as if it were the real one ("no sites yet")."""
    store = _open(settings, create=create)
    try:
        yield store
    finally:
        store.close()


T = TypeVar("T")


@contextmanager
def acting_on(
    settings: Settings, local: Callable[[Store], T], remote: Callable[[str, str], T], *, create: bool = False
) -> Iterator[T]:
    """Commands on the store, or, while `footfall serve` owns the folder, through that server."""
    try:
        store = _open(settings, create=create)
    except DataDirLocked as exc:
        folder = DataDir(Path(settings.data_dir))
        token = folder.admin_token()
        if not (exc.server_url and token):
            raise
        print(f"footfall: store chdb://{folder.clickhouse_path}, through {exc.server_url}", file=sys.stderr)
        yield remote(exc.server_url, token)
        return
    try:
        migrate.migrate(store, cluster=settings.cluster)  # an existing store may need a newer schema
        yield local(store)
    finally:
        store.close()


def sites_for(settings: Settings, *, create: bool = False) -> "contextlib.AbstractContextManager[SiteCommands]":
    """Site commands on the store, or through the running server."""
    return acting_on(settings, LocalSites, RemoteSites, create=create)


def _open(settings: Settings, *, create: bool) -> Store:
    folder = DataDir(Path(settings.data_dir))
    if settings.embedded and not create and not folder.holds_store():  # before opening makes the folder
        raise StoreMissing(
            f"no footfall store at {folder.path} (run `footfall serve` or `footfall site add` there first, "
            "or pass --data / FOOTFALL_DATA)"
        )
    store = open_store(settings)
    try:
        if not (create or settings.embedded):
            found = store.query(f"EXISTS TABLE {store.database}.schema_migrations")  # the ledger: a store
            if not (found and found[0].get("result")):
                raise StoreMissing(
                    f"no footfall store in database {store.database!r} at {store.url} (run `footfall migrate` "
                    "or `footfall serve` against it first, or pass --clickhouse-url / --database)"
                )
    except BaseException:
        store.close()
        raise
    print(f"footfall: store {store.url}", file=sys.stderr)
    return store
