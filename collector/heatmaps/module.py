"""GET /v1/capture.js bodies: a comment when no snapshot is wanted, else sdk-js/capture.js with its config.

The module is minified once per process (calmjs.parse, as the snippet); each answer only puts the
config, a JSON literal, where the source names FOOTFALL_CAPTURE_CONFIG.
"""

import functools
from typing import Final

import msgspec
from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print

from collector._resources import resource_dir

NOTHING: Final = b"/* footfall: no snapshot needed for this page */\n"
_PLACE: Final = "FOOTFALL_CAPTURE_CONFIG"


class CaptureConfig(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    ticket: str
    upload: str  # POST /v1/snapshot on the collector that signed the ticket
    url: str  # the page URL as the snippet sends it: the ticket is for its page key
    sig: str
    mask: tuple[str, ...]  # selectors whose text is masked, beside [data-footfall-mask] / [data-footfall-private]
    opt_in: bool  # without a stored choice, no consent: as the snippet's snippet.consent = "opt-in"
    gpc: bool  # Global Privacy Control / Do-Not-Track mean no, as snippet.honour_gpc


@functools.cache
def source() -> str:
    return (resource_dir("sdk-js") / "capture.js").read_text(encoding="utf-8")


@functools.cache
def _minified() -> str:
    text: str = minify_print(es5(source()), obfuscate=True, obfuscate_globals=False)
    assert text.count(_PLACE) == 1, "capture.js names its config once"
    return text


def render(config: CaptureConfig) -> bytes:
    # JSON is a JavaScript literal; "<" escaped so the body can never close a <script> it is put into.
    literal = msgspec.json.encode(config).decode().replace("<", "\\u003c")
    literal = literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return _minified().replace(_PLACE, literal).encode()
