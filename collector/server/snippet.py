"""The per-site browser snippet: sdk-js/snippet.js.j2 rendered with the site's settings, then minified.

Rendering is cached per (key, endpoint, settings): a site's script is built once, compressed once
(gzip -9 and brotli 11) and then served from memory. calmjs.parse renames the template's locals, so
the source stays readable and what is served stays small (tests/server/test_snippet.py holds the budget).
"""

import base64
import functools
import gzip
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

import brotli
import jinja2
from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print

from collector._resources import resource_dir
from collector.sites import SnippetSettings

SNIPPET_VERSION = "0.3.0"
HEATMAP_FEATURES = ("clicks", "moves", "scroll", "rage", "dead")
FEATURES = (*HEATMAP_FEATURES, "identify", "offline", "compress")


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("sdk-js")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 — JavaScript, not HTML; values go in through |tojson
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("snippet.js.j2")


@dataclass(frozen=True)
class Script:
    body: bytes
    gzip: bytes
    brotli: bytes
    etag: str


def source(write_key: str, endpoint: str, settings: SnippetSettings) -> str:
    """The readable script, before minifying (for tests and `footfall snippet --source`)."""
    return _template().render(
        version=SNIPPET_VERSION,
        write_key=write_key,
        endpoint=endpoint,
        collector=_origin(endpoint),
        # without cookies nothing is kept in the browser's storage, so no offline queue either
        f={name: getattr(settings, name) and not (name == "offline" and settings.cookieless) for name in FEATURES},
        heatmaps=any(getattr(settings, name) for name in HEATMAP_FEATURES),
        opt_in=settings.consent == "opt-in",
        honour_gpc=settings.honour_gpc,
        cookieless=settings.cookieless,
        hash_routes=settings.hash_routes,
        mask=list(settings.mask),
        # a regular expression alternative: "|(?:q|page)=" keeps ?q= and ?page= beside utm_*
        keep_params="|(?:" + "|".join(map(re.escape, settings.keep_params)) + ")=" if settings.keep_params else "",
    )


def _origin(url: str) -> str | None:
    """The origin of an absolute URL (where the collector's other scripts are), else None: then the
    snippet takes its own script's origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


@functools.lru_cache(maxsize=1024)
def render(write_key: str, endpoint: str, settings: SnippetSettings) -> Script:
    tree = es5(source(write_key, endpoint, settings))
    text = minify_print(tree, obfuscate=True, obfuscate_globals=False, drop_semi=True)
    body = text.encode()
    return Script(
        body=body,
        gzip=gzip.compress(body, compresslevel=9, mtime=0),
        brotli=brotli.compress(body, quality=11),
        etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
    )


class Endpoint(NamedTuple):
    url: str
    configured: bool  # from settings, the same for every request: shared caches may keep the script


def endpoint_for(settings: SnippetSettings, public_url: str | None, own_base_url: str | None) -> Endpoint | None:
    """Where the script posts: the site's configured endpoint, else /v1/batch at the collector's public
    URL, else at the address the request reached (`own_base_url`); None when none of them is known."""
    if settings.endpoint:
        return Endpoint(settings.endpoint, configured=True)
    if public_url:
        return Endpoint(public_url.rstrip("/") + BATCH_PATH, configured=True)
    if own_base_url:
        return Endpoint(own_base_url + BATCH_PATH, configured=False)
    return None


def own_base_url(scheme: str, host: str | None, local: tuple[str, int] | None, *, bind_host: str) -> str | None:
    """This server's base URL as the request's Host names it, but only if the Host is a name this server
    answers to: the address the connection arrived at, a loopback name when that address is loopback,
    or the host `serve` was told to bind, each with the connection's own port. Anything else is None:
    a script that posts wherever the Host header says, kept by a shared cache, sends other people's
    events there. Forwarded headers (X-Forwarded-Host, -Proto) are never read: behind a proxy the
    public URL is configuration (--public-url), not something a request may claim."""
    if local is None:
        return None
    local_ip = _ip(local[0])
    if local_ip is None:
        return None
    port = local[1]
    if not host:  # HTTP/1.0 without Host: the connection's own address
        return f"{scheme}://{_netloc(str(local_ip), port)}"
    match = _HOST.match(host)
    if not match:
        return None
    name, given_port = match.group(1).lower().strip("[]"), match.group(2)
    if (int(given_port) if given_port else _DEFAULT_PORTS.get(scheme)) != port:
        return None
    ip = _ip(name)
    trusted = (
        ip == local_ip
        or (local_ip.is_loopback and (name == "localhost" or (ip is not None and ip.is_loopback)))
        or (name == bind_host.lower() and name not in _WILDCARDS)
    )
    return f"{scheme}://{_netloc(name, int(given_port) if given_port else None)}" if trusted else None


BATCH_PATH = "/v1/batch"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 — names of binds, not addresses a Host may claim


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # a dual-stack socket's IPv4 peer
        return ip.ipv4_mapped
    return ip


def _netloc(name: str, port: int | None) -> str:
    host = f"[{name}]" if ":" in name else name
    return f"{host}:{port}" if port is not None else host


# The queue stub: calls made before the deferred script has run are queued (the latest consent choice
# apart, applied first) and replayed by the script in their order after its first pageview. Inline, so a
# site with a Content-Security-Policy allows it by STUB_CSP (sdk-js/README.md gives the hash).
STUB = (
    "window.footfall||function(f){f.q=[];f.consent=function(c){f.c=c};"
    '"track identify reset".split(" ").forEach(function(m){f[m]=function(){f.q.push([m,arguments])}})'
    "}(window.footfall={})"
)
STUB_CSP = "'sha256-" + base64.b64encode(hashlib.sha256(STUB.encode()).digest()).decode() + "'"


def tag(base_url: str, write_key: str) -> str:
    """The script tag a web developer pastes into their pages."""
    return f'<script defer src="{base_url}/s/{write_key}.js"></script>'


def tags(base_url: str, write_key: str) -> str:
    """The stub and the tag: what `footfall snippet` prints, for pages that call footfall early."""
    return f"<script>{STUB}</script>\n{tag(base_url, write_key)}"
