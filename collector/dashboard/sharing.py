"""Share links: their management on a site's settings page (admins), and /share/<slug>, a read-only view
of the pages a link shows, the only dashboard URL another site may frame (the site's embed_origins)."""

import asyncio
import hmac
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from collector.accounts.passwords import hash_password, verify
from collector.accounts.shares import PAGES as SHAREABLE
from collector.accounts.shares import Share
from collector.dashboard import auth
from collector.dashboard.pages import View
from collector.dashboard.render import build, context
from collector.dashboard.web import form, headers, page, redirect, render, same_origin, secure
from collector.errors import AccountError, ApiError
from collector.sites import Site
from collector.storage.site_registry import Sites

SHARE_COOKIE_MS: Final = 24 * 3_600_000  # a password, once given, holds for a day in that browser


async def settings_page(request: Request, *, error: str = "", created: Share | None = None) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    site, role = auth.site_for(request, who, admin=True)
    shares = await asyncio.to_thread(auth.accounts(request).shares.for_site, site.site_id)
    view = View(
        template="settings.html",
        context={"shares": shares, "shareable": SHAREABLE, "created": created, "share_error": error},
    )
    return page(
        "settings.html",
        context(request, view, who=who, site=site, role=role, name="settings"),
        status=422 if error else 200,
    )


async def create(request: Request) -> Response:
    same_origin(request)
    fields = await form(request)
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    auth.check_csrf(who, fields)
    site, _ = auth.site_for(request, who, admin=True)
    reports = [name for name in SHAREABLE if fields.get(f"report_{name}")]
    password = fields.get("password", "")
    try:
        hashed = await asyncio.to_thread(hash_password, password) if password else ""
        share = await asyncio.to_thread(
            auth.accounts(request).shares.create,
            site.site_id,
            reports=reports,
            label=fields.get("label", ""),
            password_hash=hashed,
            created_by=who.user.email,
        )
    except AccountError as exc:
        return await settings_page(request, error=str(exc))
    return await settings_page(request, created=share)


async def revoke(request: Request) -> Response:
    same_origin(request)
    fields = await form(request)
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    auth.check_csrf(who, fields)
    site, _ = auth.site_for(request, who, admin=True)
    try:
        await asyncio.to_thread(auth.accounts(request).shares.revoke, site.site_id, request.path_params["slug"])
    except AccountError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    return redirect(f"/dashboard/{site.name}/settings")


def _cookie_name(share: Share) -> str:
    return f"ff_share_{share.slug[:16]}"


def _unlocked(request: Request, share: Share) -> bool:
    if not share.password_hash:
        return True
    value = auth.accounts(request).signer.unsign(request.cookies.get(_cookie_name(share), ""))
    if value is None:
        return False
    slug, _, expires = value.rpartition(":")
    return (
        hmac.compare_digest(slug.encode(), share.slug.encode())
        and expires.isdigit()
        and (request.app.state.now_ms() < int(expires))
    )


def _frame_headers(site: Site, *, snapshot: bool = False) -> dict[str, str]:
    ancestors = " ".join(site.settings.embed_origins) or "'none'"
    return headers(frame_ancestors=ancestors, framed=bool(site.settings.embed_origins), snapshot=snapshot)


async def _share(request: Request) -> tuple[Share, Site]:
    acc = auth.accounts(request)
    share = await asyncio.to_thread(acc.shares.find, request.path_params["slug"])
    sites: Sites = request.app.state.sites
    site = next((s for s in sites.all() if share and s.site_id == share.site_id), None)
    if share is None or site is None:
        raise ApiError(404, "not_found", "this share link does not exist or was revoked")
    return share, site


def _shown(share: Share, name: str) -> str:
    if name not in share.reports:
        raise ApiError(404, "not_found", "this share link does not show that page")
    return name


async def opened(request: Request, page: str) -> tuple[Share, Site] | Response:
    """The share link and its site, for a download of `page` (one of the pages the link shows); a
    locked link sends the browser to its password form first."""
    share, site = await _share(request)
    _shown(share, page)
    if not _unlocked(request, share):
        return redirect(f"/share/{share.slug}", status=303)
    return share, site


async def shared_page(request: Request) -> Response:
    share, site = await _share(request)
    frame = _frame_headers(site)
    if request.method == "POST":
        return await _unlock(request, share, site, frame)
    if not _unlocked(request, share):
        return _password_form(request, share, site, frame, status=200, error="")
    name = _shown(share, request.path_params.get("page", share.reports[0]))
    view = await build(request, site, name)
    # the heatmap page's snapshot iframe inherits its CSP: it needs the snapshot's inline styles and images
    frame = _frame_headers(site, snapshot=name == "heatmaps")
    ctx: dict[str, Any] = context(request, view, who=None, site=site, role="viewer", name=name)
    ctx |= {
        "shared": share,
        "base": f"/share/{share.slug}",
        "embed": request.query_params.get("embed") == "1",
        "theme": request.query_params.get("theme", ""),
    }
    body = render(view.template, ctx)
    return Response(body, media_type="text/html; charset=utf-8", headers=frame)


def _password_form(
    request: Request, share: Share, site: Site, frame: dict[str, str], *, status: int, error: str
) -> Response:
    pre, token = auth.pre_token(request)
    body = render("share_password.html", {"csrf": token, "error": error, "share": share, "site": site})
    response = Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=frame)
    return auth.with_pre(response, request, pre)


async def _unlock(request: Request, share: Share, site: Site, frame: dict[str, str]) -> Response:
    fields = await form(request)
    auth.check_pre(request, fields)
    acc = auth.accounts(request)
    address = request.client.host if request.client else ""
    key = f"share:{share.slug}"
    if acc.throttle.retry_after_s(key, address):
        return _password_form(request, share, site, frame, status=429, error="Too many attempts; try again later.")
    if not await asyncio.to_thread(verify, share.password_hash, fields.get("password", "")):
        acc.throttle.failed(key, address)
        return _password_form(request, share, site, frame, status=401, error="Wrong password.")
    expires = request.app.state.now_ms() + SHARE_COOKIE_MS
    response = redirect(f"/share/{share.slug}")
    response.headers.update(frame)
    # SameSite=None lets the cookie work inside another site's iframe, which browsers allow only with Secure.
    framed = secure(request)
    response.set_cookie(
        _cookie_name(share),
        acc.signer.sign(f"{share.slug}:{expires}"),
        max_age=SHARE_COOKIE_MS // 1000,
        httponly=True,
        samesite="none" if framed else "lax",
        secure=framed,
        path=f"/share/{share.slug}",
    )
    return response
