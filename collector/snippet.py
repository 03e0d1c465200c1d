"""The per-site browser snippet: sdk-js/snippet.js.j2 rendered with the site's settings, then minified.

Rendering is cached per (key, endpoint, settings): a site's script is built once, compressed once
(gzip -9 and brotli 11) and then served from memory. calmjs.parse renames the template's locals, so
the source stays readable and what is served stays small (tests/test_snippet_size.py holds the budget).
"""

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass

import brotli
import jinja2
from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print

from collector._resources import resource_dir
from collector.sites import SnippetSettings

SNIPPET_VERSION = "0.2.0"
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


@functools.lru_cache(maxsize=1024)
def render(write_key: str, endpoint: str, settings: SnippetSettings) -> Script:
    text = minify_print(es5(source(write_key, endpoint, settings)), obfuscate=True, obfuscate_globals=False)
    body = text.encode()
    return Script(
        body=body,
        gzip=gzip.compress(body, compresslevel=9, mtime=0),
        brotli=brotli.compress(body, quality=11),
        etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
    )


def endpoint_for(settings: SnippetSettings, base_url: str) -> str:
    """Where the script posts: the site's configured endpoint, else this server's /v1/batch."""
    return settings.endpoint or base_url.rstrip("/") + "/v1/batch"


def tag(base_url: str, write_key: str) -> str:
    """The one line a web developer pastes into their pages."""
    return f'<script defer src="{base_url}/s/{write_key}.js"></script>'
