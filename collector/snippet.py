"""The per-site browser snippet, rendered from sdk-js/ with Jinja2 and cached by content."""

import functools
import hashlib
from dataclasses import dataclass

import jinja2
import rjsmin

from collector._resources import resource_dir

SNIPPET_VERSION = "0.1.0"


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("sdk-js")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 — JavaScript, not HTML; values go in through |tojson
    )
    return env.get_template("snippet.js.j2")


@dataclass(frozen=True)
class Script:
    body: bytes
    etag: str


@functools.lru_cache(maxsize=1024)
def render(write_key: str, endpoint: str) -> Script:
    source = _template().render(write_key=write_key, endpoint=endpoint, version=SNIPPET_VERSION)
    body = rjsmin.jsmin(source).encode()  # comments and whitespace out: what is served is what is measured
    return Script(body=body, etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def tag(base_url: str, write_key: str) -> str:
    """The one line a web developer pastes into their pages."""
    return f'<script defer src="{base_url}/s/{write_key}.js"></script>'
