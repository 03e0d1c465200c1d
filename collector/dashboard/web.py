"""What every dashboard page shares: the templates, the security headers, forms and their CSRF checks."""

import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import jinja2
import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from collector.errors import ApiError

HERE: Final = Path(__file__).parent
MAX_FORM_BYTES: Final = 64 * 1024

# No inline script or style: scripts and styles come from /dashboard/static, data from
# <script type="application/json">, which is never executed. Nothing frames a page but a share link's
# embedding sites (sharing.py replaces frame-ancestors).
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)

templates: Final = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt(value: float | int | None, kind: str = "n") -> str:
    if value is None:
        return "–"  # noqa: RUF001 — an en dash: no value
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "s":
        seconds = round(value)
        return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


templates.filters["fmt"] = _fmt
templates.filters["day"] = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


# The heatmap page shows a DOM snapshot in a sandboxed srcdoc iframe, which inherits this page's policy:
# the snapshot's inline styles and the site's images and fonts must load there. Scripts stay 'self'
# only, and the iframe has no allow-scripts: nothing of the snapshot runs.
SNAPSHOT_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline' https: http:; "
    "img-src 'self' data: https: http:; font-src data: https: http:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)


def headers(*, frame_ancestors: str = "'none'", framed: bool = False, snapshot: bool = False) -> dict[str, str]:
    out = {
        "Content-Security-Policy": (SNAPSHOT_CSP if snapshot else CSP).format(ancestors=frame_ancestors),
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    if not framed:
        out["X-Frame-Options"] = "DENY"
    return out


# What the layout asks of every page; a page's own context overrides these.
_DEFAULTS: Final[dict[str, Any]] = {"who": None, "site": None, "nav": None, "error": "", "shared": None, "role": ""}


def render(name: str, context: dict[str, Any]) -> str:
    return templates.get_template(name).render(**{**_DEFAULTS, **context})


def page(name: str, context: dict[str, Any], *, status: int = 200, extra: dict[str, str] | None = None) -> Response:
    return HTMLResponse(render(name, context), status_code=status, headers={**headers(), **(extra or {})})


def json(content: Any, *, status: int = 200) -> Response:
    return Response(msgspec.json.encode(content), status_code=status, media_type="application/json", headers=headers())


def redirect(url: str, *, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status, headers=headers())


def secure(request: Request) -> bool:
    """Whether cookies get `Secure`: the request came over https (or through a proxy that said so)."""
    public = request.app.state.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the only kind our pages send)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise ApiError(415, "unsupported_media_type", "send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ApiError(413, "form_too_large", f"a form is at most {MAX_FORM_BYTES:,} bytes")
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=200)
    return {k: ",".join(v) for k, v in fields.items()}  # checkboxes of one name: their values, comma-joined


def same_origin(request: Request) -> None:
    """A browser sends Origin with every POST; one from another site is refused whatever else it carries."""
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        public = (request.app.state.settings.public_url or "").rstrip("/")
        if origin not in (own, public):
            raise ApiError(403, "cross_site_request", f"a form from {origin[:100]} may not post here")


def query_with(request: Request, **changes: str | None) -> str:
    """The current query string with some parameters set (or removed with None)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urllib.parse.urlencode(params)


_HEADINGS: Final = {401: "Log in first", 403: "Not allowed", 404: "Not found", 429: "Slow down"}


def wants_page(request: Request) -> bool:
    """A dashboard URL a browser opened (its downloads and JSON keep JSON errors)."""
    path = request.url.path
    return path.startswith(("/dashboard/", "/share/")) and not path.endswith((".csv", ".json", ".zip"))


def error_page(status: int, detail: str, extra: dict[str, str] | None = None) -> Response:
    heading = _HEADINGS.get(status, "Something is wrong" if status < 500 else "footfall cannot answer")
    return page("error.html", {"status": status, "heading": heading, "detail": detail}, status=status, extra=extra)
