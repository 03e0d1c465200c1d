"""Admin endpoints, so CLI commands work while `footfall serve` owns the embedded store.

They exist only when the server was given an admin token (the CLI writes one into the data folder,
readable by its owner only); every call must carry it as a Bearer token.
"""

import asyncio
import hmac
from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.accounts.users import User, Users
from collector.errors import AccountError, AccountNotFound, ApiError, SiteError, SiteExists, SiteNotFound
from collector.people import profile
from collector.sites import Site
from collector.storage.site_registry import Sites


class AddSite(msgspec.Struct, frozen=True):
    name: str
    origins: list[str] = []
    retention_days: int | None = None


class AddUser(msgspec.Struct, frozen=True):
    email: str
    site: str | None = None
    role: str = "viewer"
    password_hash: str | None = None  # hashed by the CLI: a password never travels


class RemoveUser(msgspec.Struct, frozen=True):
    site: str | None = None


class SetPassword(msgspec.Struct, frozen=True):
    password_hash: str


class RotateKey(msgspec.Struct, frozen=True):
    which: Literal["read", "write"] = "read"


class Configure(msgspec.Struct, frozen=True):
    changes: dict[str, Any]


class SetOrigins(msgspec.Struct, frozen=True):
    add: list[str] = []
    remove: list[str] = []


def site_view(site: Site) -> dict[str, Any]:
    """What listing a site shows: never the read key (only its hash is kept)."""
    return {
        "site": site.name,
        "site_id": site.site_id,
        "write_key": site.write_key,
        "allowed_origins": list(site.allowed_origins),
        "retention_days": site.settings.retention_days,
        "settings": msgspec.to_builtins(site.settings),
    }


def _authorise(request: Request) -> Sites:
    token = request.app.state.admin_token
    if token is None:
        raise ApiError(404, "not_found", f"{request.method} {request.url.path}: Not Found")
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(401, "bad_admin_token", "send the token from <data folder>/admin.token as a Bearer token")
    sites: Sites = request.app.state.sites
    return sites


async def _body(request: Request, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(await request.body() or b"{}", type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc


async def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except SiteNotFound as exc:
        raise ApiError(404, "site_not_found", str(exc)) from exc
    except AccountNotFound as exc:
        raise ApiError(404, "user_not_found", str(exc)) from exc
    except AccountError as exc:
        raise ApiError(422, "invalid_user", str(exc)) from exc
    except SiteExists as exc:
        raise ApiError(409, "site_exists", str(exc)) from exc
    except SiteError as exc:
        raise ApiError(422, "invalid_site", str(exc)) from exc


def _json(content: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(content), status_code=status, media_type="application/json")


async def list_sites(request: Request) -> Response:
    sites = _authorise(request)
    return _json([site_view(s) for s in sites.all()])


async def add_site(request: Request) -> Response:
    sites = _authorise(request)
    body: AddSite = await _body(request, AddSite)
    return _json(await _run(sites.add, body.name, body.origins, retention_days=body.retention_days), 201)


async def rotate_key(request: Request) -> Response:
    sites = _authorise(request)
    body: RotateKey = await _body(request, RotateKey)
    return _json(await _run(sites.rotate_key, request.path_params["name"], body.which))


async def set_origins(request: Request) -> Response:
    sites = _authorise(request)
    body: SetOrigins = await _body(request, SetOrigins)
    site = await _run(sites.set_origins, request.path_params["name"], add=body.add, remove=body.remove)
    return _json(site_view(site))


async def configure(request: Request) -> Response:
    sites = _authorise(request)
    body: Configure = await _body(request, Configure)
    site = await _run(sites.configure, request.path_params["name"], body.changes)
    return _json(site_view(site))


def user_view(user: User, sites: Sites) -> dict[str, Any]:
    names = {s.site_id: s.name for s in sites.all()}
    return {"email": user.email, "sites": {names.get(g.site_id, str(g.site_id)): g.role for g in user.grants}}


def _site_id(sites: Sites, name: str | None) -> int | None:
    if name is None:
        return None
    site = sites.by_name(name)
    if site is None:
        raise SiteNotFound(f"no site named {name!r}")
    return site.site_id


def _users(request: Request) -> Users:
    users: Users = request.app.state.accounts.users
    return users


async def list_users(request: Request) -> Response:
    sites = _authorise(request)
    return _json([user_view(u, sites) for u in await _run(_users(request).all)])


async def add_user(request: Request) -> Response:
    sites = _authorise(request)
    body: AddUser = await _body(request, AddUser)

    def add() -> User:
        site_id = _site_id(sites, body.site)
        return _users(request).add(body.email, password_hash=body.password_hash, site_id=site_id, role=body.role)

    return _json(user_view(await _run(add), sites), 201)


async def remove_user(request: Request) -> Response:
    sites = _authorise(request)
    body: RemoveUser = await _body(request, RemoveUser)

    def remove() -> None:
        _users(request).remove(request.path_params["email"], site_id=_site_id(sites, body.site))

    await _run(remove)
    return _json({"removed": request.path_params["email"], "site": body.site})


async def set_password(request: Request) -> Response:
    _authorise(request)
    body: SetPassword = await _body(request, SetPassword)
    await _run(_users(request).set_password, request.path_params["email"], body.password_hash)
    return _json({"email": request.path_params["email"], "password": "changed"})


async def person_profile(request: Request) -> Response:
    """A profile for `footfall person show` while the server owns the store (collector/people/profile.py)."""
    sites = _authorise(request)
    site = sites.by_name(request.path_params["name"])
    if site is None:
        raise ApiError(404, "site_not_found", f"no site named {request.path_params['name']!r}")
    state = request.app.state
    person_id = request.path_params["person_id"]
    answer = await asyncio.to_thread(profile.profile, state.store, site, person_id, {}, now_ms=state.now_ms())
    return _json(answer)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/v1/users", list_users, methods=["GET"]),
        Route("/admin/v1/users", add_user, methods=["POST"]),
        Route("/admin/v1/users/{email}/remove", remove_user, methods=["POST"]),
        Route("/admin/v1/users/{email}/password", set_password, methods=["POST"]),
        Route("/admin/v1/sites", list_sites, methods=["GET"]),
        Route("/admin/v1/sites", add_site, methods=["POST"]),
        Route("/admin/v1/sites/{name}/rotate-key", rotate_key, methods=["POST"]),
        Route("/admin/v1/sites/{name}/origins", set_origins, methods=["POST"]),
        Route("/admin/v1/sites/{name}/settings", configure, methods=["POST"]),
        Route("/admin/v1/sites/{name}/people/{person_id:path}", person_profile, methods=["GET"]),
    ]
