"""Uploaded snapshot HTML cleaned on the server: the browser's capture module already drops scripts and
form values, but an upload is whatever a client chose to send, so it is cleaned again here.

The stdlib html.parser is enough because nothing of the input is passed through: the document is
rebuilt from the parsed tags, every attribute re-quoted and escaped, every text escaped, and the only
raw text kept (CSS in <style>) has its `<` written as the CSS escape `\\3c `, so no parser, in HTML or
in SVG context, can find a tag in it. What the browser parses is then exactly the tree built here,
whatever tricks the input played on the parse (no mutation XSS through raw text). A spec parser
(html5lib, justhtml) would give a more faithful tree but no extra safety, for a new dependency.
The outer layers stay: the CSP meta inserted first in <head>, and the dashboard's sandboxed srcdoc
iframe without allow-scripts.
"""

import re
from html import escape
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urljoin, urlsplit

CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline' https: http: data:; img-src https: http: data:; "
    "font-src https: http: data:"
)
CSP_META: Final = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

# Elements dropped with everything inside them.
_DROP: Final = frozenset(
    {
        "script", "noscript", "template", "object", "embed", "applet", "base", "portal", "frameset", "frame",
        "xmp", "plaintext", "noembed", "noframes", "listing", "param",
        # SVG parts that run code or carry HTML: scripts, animated href values, embedded HTML
        "foreignobject", "set", "animate", "animatemotion", "animatetransform", "handler", "listener",
    }
)  # fmt: skip
# Elements whose content is replaced by an empty box of the same size.
_PLACEHOLDER: Final = frozenset({"iframe", "video", "canvas", "audio"})
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "frame", "hr", "img", "input", "link", "meta", "param", "source",
     "track", "wbr"}
)  # fmt: skip
_NAME: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9:_.\-]*$")
_URL_ATTRS: Final = frozenset(
    {"href", "src", "action", "formaction", "poster", "background", "cite", "longdesc", "data", "xlink:href",
     "lowsrc", "dynsrc", "icon", "manifest", "codebase", "ping", "profile", "usemap"}
)  # fmt: skip
_SRCSET: Final = frozenset({"srcset", "imagesrcset"})
_DROP_ATTRS: Final = frozenset({"srcdoc", "formaction", "action", "ping", "nonce", "http-equiv", "checked", "selected"})
# input types whose value is a label the page wrote, not something a visitor typed
_LABEL_INPUTS: Final = frozenset({"submit", "button", "reset"})
_LINK_RELS: Final = frozenset({"stylesheet", "icon", "shortcut"})
_BAD_CSS: Final = re.compile(r"javascript:|vbscript:|expression\s*\(|-moz-binding|(?<![\w-])behavior\s*:", re.I)
_CSS_URL: Final = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""", re.I)
_MASK: Final = re.compile(r"\S")
_MASKING_ATTRS: Final = ("data-footfall-mask", "data-footfall-private")
_BOX_ATTRS: Final = frozenset({"id", "class", "style", "width", "height"})


def sanitise(html: str, page_url: str) -> str:
    """The snapshot as stored: safe to show in a srcdoc iframe, URLs absolute against `page_url`."""
    cleaner = _Cleaner(page_url)
    cleaner.feed(html)
    cleaner.close()
    return cleaner.result()


def mask_text(text: str) -> str:
    """Same length, no content: every visible character becomes an x (as sdk-js/capture.js masks)."""
    return _MASK.sub("x", text)


def safe_url(value: str, base: str, *, image: bool = False, link: bool = False) -> str | None:
    """`value` made absolute, or None when it is not an http(s) URL (data: images and, for links,
    mailto:/tel: excepted)."""
    value = value.strip()
    lowered = re.sub(r"[\x00-\x20]", "", value).lower()
    if lowered.startswith("data:"):
        return value if image and lowered.startswith("data:image/") else None
    if lowered.startswith(("mailto:", "tel:")):
        return value if link else None
    try:
        absolute = urljoin(base, value)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def clean_css(css: str, base: str) -> str:
    """CSS with nothing that runs, url()s absolute, and no `<` that a parser could take for a tag."""
    css = _BAD_CSS.sub("/**/", css)

    def absolute(match: re.Match[str]) -> str:
        url = safe_url(match.group(2), base, image=True)
        return f'url("{url}")' if url else "none"

    return _CSS_URL.sub(absolute, css).replace("<", "\\3c ")


def _srcset(value: str, base: str) -> str | None:
    parts = []
    for candidate in value.split(","):
        url, _, descriptor = candidate.strip().partition(" ")
        safe = safe_url(url, base, image=True) if url else None
        if safe:
            parts.append(f"{safe} {descriptor.strip()}".strip())
    return ", ".join(parts) or None


class _Cleaner(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.open: list[tuple[str, bool]] = []  # (tag, masks its text) of what is open in the output
        self.skip: list[str] = []  # the dropped element being skipped, and elements open inside it
        self.head_done = False
        self.in_style = 0

    def result(self) -> str:
        if not self.head_done:
            self.out.insert(0, f"<head>{CSP_META}</head>")
        self.out.extend(f"</{tag}>" for tag, _ in reversed(self.open))
        return "".join(self.out)

    # -- parser callbacks ---------------------------------------------------------------------------

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype") and not self.out:
            self.out.append("<!doctype html>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if not _NAME.match(tag):
            return
        names = dict(attrs)
        if tag in _DROP or (tag == "meta" and not _harmless_meta(names)) or (tag == "link" and not _stylesheet(names)):
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if tag != "html" and not self.head_done:
            self.head_done = True
            if tag == "head":
                self.out.append("<head>" + CSP_META)
                self.open.append(("head", False))
                return
            self.out.append(f"<head>{CSP_META}</head>")
        if tag in _PLACEHOLDER or "data-footfall-block" in names:
            self._placeholder(tag, attrs)
            return
        kept = self._attributes(tag, attrs)
        self.out.append(f"<{tag}{kept}>")
        if tag not in _VOID:
            masking = any(name in names for name in _MASKING_ATTRS) or bool(self.open and self.open[-1][1])
            self.open.append((tag, masking))
            if tag == "style":
                self.in_style += 1
            if tag == "textarea":  # typed text: never kept
                self.skip.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag in self.skip:
                while self.skip.pop() != tag:
                    pass
                if tag == "textarea" and not self.skip:
                    self._close("textarea")
            return
        self._close(tag)

    def handle_data(self, data: str) -> None:
        if self.skip or not data:
            return
        if self.in_style:
            self.out.append(clean_css(data, self.base))
            return
        masking = bool(self.open and self.open[-1][1])
        self.out.append(escape(mask_text(data) if masking else data, quote=False))

    # comments, processing instructions and CDATA sections are left out: nothing to show in them

    # -- the parts -----------------------------------------------------------------------------------

    def _close(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _ in self.open):
            return  # a stray end tag: nothing of ours to close
        while self.open:
            open_tag, _ = self.open.pop()
            self.out.append(f"</{open_tag}>")
            if open_tag == "style":
                self.in_style -= 1
            if open_tag == tag:
                return

    def _placeholder(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """An empty box where the element was, sized as it was (its id, class, style and size)."""
        box = [(name, value) for name, value in attrs if name in _BOX_ATTRS]
        kept = self._attributes("div", [*box, ("data-footfall-placeholder", tag)])
        self.out.append(f"<div{kept}></div>")
        if tag not in _VOID:
            self.skip.append(tag)

    def _attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        input_type = (dict(attrs).get("type") or "text").lower() if tag == "input" else ""
        parts = []
        for name, value in attrs:
            if not _NAME.match(name) or name.startswith("on") or name in _DROP_ATTRS:
                continue
            typed = tag != "input" or input_type not in _LABEL_INPUTS
            if name == "value" and tag in ("input", "option", "select", "textarea") and typed:
                continue
            text = value or ""
            if name in _URL_ATTRS:
                image = name != "href" or tag in ("link", "image")
                cleaned = safe_url(text, self.base, image=image, link=tag in ("a", "area"))
                if cleaned is None:
                    continue
                text = cleaned
            elif name in _SRCSET:
                cleaned = _srcset(text, self.base)
                if cleaned is None:
                    continue
                text = cleaned
            elif name == "style":
                text = clean_css(text, self.base)
            parts.append(f' {name}="{escape(text, quote=True)}"' if value is not None else f" {name}")
        return "".join(parts)


def _harmless_meta(attrs: dict[str, str | None]) -> bool:
    """Only charset and name=... metas stay; http-equiv ones (refresh, the page's own CSP, cookies) go."""
    return "http-equiv" not in attrs and ("charset" in attrs or "name" in attrs)


def _stylesheet(attrs: dict[str, str | None]) -> bool:
    rels = set((attrs.get("rel") or "").lower().split())
    return bool(rels) and rels <= _LINK_RELS
