"""The dashboard's URLs: /dashboard/ (login), /dashboard/<site>/<page>, their CSV, zip and PNG downloads,
/share/<slug> with the same downloads of what it shows, and the static assets. Every page answers for
one site the logged-in user may see."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.dashboard import assets, auth, live, overlay, sharing
from collector.dashboard.pages import ZIPPED, View
from collector.dashboard.render import build, context, today
from collector.dashboard.web import headers, page, redirect
from collector.errors import ApiError
from collector.sites import Site
from collector.tables import Table, to_csv, to_zip


async def site_page(request: Request) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request, ended=auth.SESSION_COOKIE in request.cookies)
    site, role = auth.site_for(request, who)
    name = request.path_params.get("page", "overview")
    view = await build(request, site, name)
    # the heatmap page's snapshot iframe inherits its CSP: it needs the snapshot's inline styles and images
    extra = headers(snapshot=True) if name == "heatmaps" else None
    return page(view.template, context(request, view, who=who, site=site, role=role, name=name), extra=extra)


def _table(view: View, name: str) -> Table:
    for table in view.tables:
        if table.name == name:
            return table
    raise ApiError(
        404, "not_found", f"this page has no table {name!r}; it has {', '.join(t.name for t in view.tables)}"
    )


def csv_response(site: Site, table: Table) -> Response:
    disposition = f'attachment; filename="{site.name}-{table.name}.csv"'
    return Response(
        to_csv(table), media_type="text/csv; charset=utf-8", headers={**headers(), "Content-Disposition": disposition}
    )


async def page_csv(request: Request) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    site, _ = auth.site_for(request, who)
    return await _csv(request, site, request.path_params["page"])


async def _csv(request: Request, site: Site, name: str) -> Response:
    view = await build(request, site, name)
    return csv_response(
        site, _table(view, request.query_params.get("table", view.tables[0].name if view.tables else ""))
    )


async def export_zip(request: Request) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return auth.login_redirect(request)
    site, _ = auth.site_for(request, who)
    return await _zip(request, site, ZIPPED)


async def _zip(request: Request, site: Site, pages: tuple[str, ...]) -> Response:
    tables = [t for name in pages for t in (await build(request, site, name)).tables]
    disposition = f'attachment; filename="{site.name}-{today(request).isoformat()}.zip"'
    return Response(
        to_zip(tables), media_type="application/zip", headers={**headers(), "Content-Disposition": disposition}
    )


# A share link's downloads: what its pages show, once the link is unlocked.


async def shared_csv(request: Request) -> Response:
    found = await sharing.opened(request, request.path_params["page"])
    return found if isinstance(found, Response) else await _csv(request, found[1], request.path_params["page"])


async def shared_zip(request: Request) -> Response:
    found = await sharing.opened(request, "overview")  # the overview page offers the zip
    if isinstance(found, Response):
        return found
    share, site = found
    return await _zip(request, site, tuple(name for name in ZIPPED if name in share.reports))


async def shared_png(request: Request) -> Response:
    found = await sharing.opened(request, "heatmaps")
    return found if isinstance(found, Response) else await overlay.png_response(request, found[1])


async def root(request: Request) -> Response:
    return redirect("/dashboard/", status=307)


def routes() -> list[BaseRoute]:
    return [
        Route("/", root, methods=["GET"]),
        Route("/dashboard/static/{path:path}", assets.static, methods=["GET"]),
        Route("/dashboard/", auth.home, methods=["GET"]),
        Route("/dashboard/login", auth.login, methods=["POST"]),
        Route("/dashboard/logout", auth.logout, methods=["POST"]),
        Route("/dashboard/setup", auth.setup, methods=["GET", "POST"]),
        Route("/dashboard/{site}/", site_page, methods=["GET"]),
        Route("/dashboard/{site}/export.zip", export_zip, methods=["GET"]),
        Route("/dashboard/{site}/settings", sharing.settings_page, methods=["GET"]),
        Route("/dashboard/{site}/shares", sharing.create, methods=["POST"]),
        Route("/dashboard/{site}/shares/{slug}/revoke", sharing.revoke, methods=["POST"]),
        Route("/dashboard/{site}/live.json", live.live_json, methods=["GET"]),
        Route("/dashboard/{site}/heatmaps/launch", overlay.launch, methods=["GET"]),
        Route("/dashboard/{site}/heatmap.png", overlay.png, methods=["GET"]),
        Route("/dashboard/{site}/{page}.csv", page_csv, methods=["GET"]),
        Route("/dashboard/{site}/{page}", site_page, methods=["GET"]),
        Route("/share/{slug}", sharing.shared_page, methods=["GET", "POST"]),
        Route("/share/{slug}/export.zip", shared_zip, methods=["GET"]),
        Route("/share/{slug}/heatmap.png", shared_png, methods=["GET"]),
        Route("/share/{slug}/{page}.csv", shared_csv, methods=["GET"]),
        Route("/share/{slug}/{page}", sharing.shared_page, methods=["GET"]),
    ]
