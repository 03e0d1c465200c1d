"""Where a CLI command acts: a store it opens itself (embedded or a ClickHouse server), or, while
`footfall serve` owns the embedded store, that server, asked through its admin endpoints."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import msgspec

from collector import migrate
from collector.admin import site_view
from collector.datadir import DataDir
from collector.errors import ConfigError, DataDirLocked
from collector.settings import Settings
from collector.sites import Sites
from collector.store import Store, open_store


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


class RemoteSites:
    """The same commands, asked of the running server through its admin endpoints."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")  # the server's base URL, as it announced it in server.json
        self.token = token

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


@contextmanager
def store_for(settings: Settings) -> Iterator[Store]:
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def sites_for(settings: Settings) -> Iterator[SiteCommands]:
    """Site commands on the store, or, while `footfall serve` owns the folder, through that server."""
    try:
        store = open_store(settings)
    except DataDirLocked as exc:
        token = DataDir(Path(settings.data_dir)).admin_token()
        if exc.server_url and token:
            yield RemoteSites(exc.server_url, token)
            return
        raise
    try:
        migrate.migrate(store, cluster=settings.cluster)
        yield LocalSites(store)
    finally:
        store.close()
