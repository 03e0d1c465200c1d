"""Logging in and out, the first account, and who is asking: every dashboard page goes through
`viewer()` (a live session) and `site_for()` (one of that user's sites; any other site is a 404)."""

import asyncio
import hmac
import logging
import secrets
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from collector.accounts.passwords import check_new, hash_password, verify
from collector.accounts.sessions import SESSION_MS, Session, Sessions, Signer, shared_secret
from collector.accounts.shares import Shares
from collector.accounts.throttle import LoginThrottle
from collector.accounts.users import User, Users, normalise_email
from collector.dashboard.web import form, page, redirect, same_origin, secure
from collector.errors import AccountError, ApiError, SiteError
from collector.sites import Site
from collector.storage.site_registry import Sites
from collector.storage.store import Store

log = logging.getLogger("footfall")
SESSION_COOKIE: Final = "ff_session"
PRE_COOKIE: Final = "ff_pre"  # ties the login form's CSRF token to this browser before there is a session


class Accounts:
    """The dashboard's parts that live as long as the app: held on app.state.accounts."""

    def __init__(self, store: Store, *, clock_ms: Callable[[], int], setup_code: str | None = None) -> None:
        self.signer = Signer(shared_secret(store))
        self.users = Users(store, clock_ms=clock_ms)
        self.sessions = Sessions(store, self.signer, clock_ms=clock_ms)
        self.shares = Shares(store, clock_ms=clock_ms)
        self.throttle = LoginThrottle(clock_ms)
        # Until someone has an account, /dashboard/setup creates the first one for whoever holds this
        # code, which `footfall serve` prints (a fresh server on a shared network is not everyone's).
        self.setup_code: str | None = None if self.users.exists() else setup_code or secrets.token_urlsafe(9)


class Viewer(msgspec.Struct, frozen=True):
    user: User
    session: Session
    csrf: str


def accounts(request: Request) -> Accounts:
    found: Accounts = request.app.state.accounts
    return found


async def viewer(request: Request) -> Viewer | None:
    acc = accounts(request)
    session = await asyncio.to_thread(acc.sessions.find, request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    user = await asyncio.to_thread(acc.users.get, session.email)
    if user is None:
        return None
    return Viewer(user, session, acc.sessions.csrf_token(session))


def visible_sites(request: Request, user: User) -> list[tuple[Site, str]]:
    sites: Sites = request.app.state.sites
    return [(s, role) for s in sites.all() if (role := user.role_for(s.site_id)) is not None]


def site_for(request: Request, who: Viewer, *, admin: bool = False) -> tuple[Site, str]:
    """The site named in the URL, if this user may see it; otherwise the same 404 as for no such site."""
    sites: Sites = request.app.state.sites
    site = sites.by_name(request.path_params["site"])
    role = who.user.role_for(site.site_id) if site else None
    if site is None or role is None:
        raise ApiError(404, "not_found", "no such site among yours")
    if admin and role != "admin":
        raise ApiError(403, "admin_only", "only an admin of this site may do that")
    return site, role


def check_csrf(who: Viewer, fields: dict[str, str]) -> None:
    if not hmac.compare_digest(fields.get("csrf", "").encode(), who.csrf.encode()):
        raise ApiError(403, "csrf_token_invalid", "the form's CSRF token is missing or wrong: reload the page")


def login_redirect(request: Request, *, ended: bool = False) -> Response:
    target = urllib.parse.quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return redirect(f"/dashboard/?next={target}" + ("&ended=1" if ended else ""), status=303)


def _safe_next(value: str) -> str:
    return value if value.startswith("/dashboard/") and not value.startswith("//") else "/dashboard/"


def pre_token(request: Request) -> tuple[str, str]:
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)
    return pre, accounts(request).signer.derive("login", pre)


def with_pre(response: Response, request: Request, pre: str) -> Response:
    if request.cookies.get(PRE_COOKIE) != pre:
        response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", secure=secure(request), path="/")
    return response


def check_pre(request: Request, fields: dict[str, str]) -> None:
    pre = request.cookies.get(PRE_COOKIE, "")
    expected = accounts(request).signer.derive("login", pre)
    if not pre or not hmac.compare_digest(fields.get("csrf", "").encode(), expected.encode()):
        raise ApiError(403, "csrf_token_invalid", "the form's CSRF token is missing or wrong: reload the page")


# -- pages --------------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    """/dashboard/: the login form, the first-account form, or the user's site."""
    acc = accounts(request)
    if acc.setup_code is not None:
        return redirect("/dashboard/setup")
    who = await viewer(request)
    if who is None:
        return login_form(request, status=200, ended=request.query_params.get("ended") == "1")
    mine = visible_sites(request, who.user)
    if len(mine) == 1:
        return redirect(f"/dashboard/{mine[0][0].name}/")
    return page("sites.html", {"who": who, "sites": mine, "site": None, "nav": None})


def login_form(request: Request, *, status: int, error: str = "", email: str = "", ended: bool = False) -> Response:
    pre, token = pre_token(request)
    context = {
        "csrf": token,
        "error": error,
        "email": email,
        "next": _safe_next(request.query_params.get("next", "/dashboard/")),
        "ended": ended,
        "who": None,
        "site": None,
        "nav": None,
    }
    return with_pre(page("login.html", context, status=status), request, pre)


async def login(request: Request) -> Response:
    same_origin(request)
    fields = await form(request)
    check_pre(request, fields)
    acc = accounts(request)
    email = fields.get("email", "").strip().lower()[:320]
    address = request.client.host if request.client else ""
    wait = acc.throttle.retry_after_s(email, address)
    if wait:
        message = f"Too many failed attempts: try again in {wait // 60 + 1} minutes."
        response = login_form(request, status=429, error=message, email=email)
        response.headers["Retry-After"] = str(wait)
        return response
    user = await asyncio.to_thread(acc.users.get, email) if email else None
    ok = await asyncio.to_thread(verify, user.password_hash if user else None, fields.get("password", ""))
    if user is None or not ok:
        acc.throttle.failed(email, address)
        return login_form(request, status=401, error="Wrong e-mail or password.", email=email)
    acc.throttle.succeeded(email)
    return await _start_session(request, user.email, _safe_next(fields.get("next", "/dashboard/")))


async def _start_session(request: Request, email: str, target: str) -> Response:
    cookie, _ = await asyncio.to_thread(accounts(request).sessions.open, email)
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MS // 1000,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    same_origin(request)
    fields = await form(request)
    who = await viewer(request)
    if who is not None:
        check_csrf(who, fields)
        await asyncio.to_thread(accounts(request).sessions.close, who.session)
    response = redirect("/dashboard/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def setup(request: Request) -> Response:
    """The first account, for the holder of the setup code: an admin of every site (and of a new one)."""
    acc = accounts(request)
    if acc.setup_code is None:
        return redirect("/dashboard/")
    context: dict[str, Any] = {"who": None, "site": None, "nav": None, "error": "", "fields": {}}
    if request.method == "GET":
        pre, token = pre_token(request)
        context |= {"csrf": token, "code": request.query_params.get("code", "")}
        return with_pre(page("setup.html", context), request, pre)
    same_origin(request)
    fields = await form(request)
    check_pre(request, fields)
    try:
        await asyncio.to_thread(_create_first, request, acc, fields)
    except (AccountError, SiteError) as exc:
        pre, token = pre_token(request)
        context |= {"csrf": token, "code": fields.get("code", ""), "error": str(exc), "fields": fields}
        return with_pre(page("setup.html", context, status=422), request, pre)
    acc.setup_code = None
    return await _start_session(request, normalise_email(fields["email"]), "/dashboard/")


def _create_first(request: Request, acc: Accounts, fields: dict[str, str]) -> None:
    if not hmac.compare_digest(fields.get("code", "").strip().encode(), (acc.setup_code or "").encode()):
        raise AccountError("that is not the setup code `footfall serve` printed")
    email = normalise_email(fields.get("email", ""))
    if fields.get("password", "") != fields.get("password2", ""):
        raise AccountError("the two passwords differ")
    check_new(fields.get("password", ""))
    sites: Sites = request.app.state.sites
    name = fields.get("site", "").strip()
    if name and sites.by_name(name) is None:
        origins = [o.strip() for o in fields.get("origins", "").split(",") if o.strip()]
        sites.add(name, origins)
    every = sites.all()
    if not every:
        raise AccountError("name a first site to track")
    hashed = hash_password(fields["password"])
    acc.users.add(email, password_hash=hashed, site_id=every[0].site_id, role="admin")
    for site in every[1:]:
        acc.users.add(email, password_hash=None, site_id=site.site_id, role="admin")
    log.info("dashboard: first account %s created (admin of %s)", email, ", ".join(s.name for s in every))
