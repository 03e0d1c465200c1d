"""The server's cleaning of uploaded snapshots, on hostile inputs: nothing that runs, nothing typed."""

import re
from html.parser import HTMLParser

import pytest

from collector.heatmaps.sanitise import CSP_META, clean_css, sanitise

PAGE = "https://shop.example/shop/cart"


class _Tree(HTMLParser):
    """What a parser finds in the output: every tag and attribute, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Tree:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree


def assert_inert(out: str) -> None:
    tree = parsed(out)
    assert not {"script", "noscript", "iframe", "object", "embed", "base", "frame", "template"} & set(tree.tags)
    for name, value in tree.attrs:
        assert not name.startswith("on"), (name, value)
        assert name not in ("srcdoc", "formaction", "action")
        assert not re.match(r"\s*(javascript|vbscript|data:text)", value, re.I), (name, value)
    # What is left of an attack is text (escaped) or CSS (where `<` is an escape): no tag, no runnable URL.
    assert "<script" not in out.lower()
    assert "<img src=x" not in out
    assert not re.search(r"javascript:|vbscript:|expression\(", out, re.I)


SCRIPTS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script type=module>alert(1)</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><script href=data:,alert(1) /></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<template><script>alert(1)</script></template>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<svg><animate attributeName=href to=javascript:alert(1) /><set attributeName=onclick to=alert(1) /></svg>",
    "<svg><foreignObject><iframe src=javascript:alert(1)></iframe></foreignObject></svg>",
    "<xmp><script>alert(1)</script></xmp><noembed><img src=x onerror=alert(1)></noembed>",
    "<!--<script>alert(1)</script>--><![CDATA[<script>alert(1)</script>]]>",
]
HANDLERS = [
    "<body onload=alert(1)>x",
    "<img src=x onerror=alert(1)>",
    '<div ONMOUSEOVER="alert(1)">x</div>',
    "<svg onload=alert(1)><circle onclick=alert(1) /></svg>",
    "<details open ontoggle=alert(1)>",
    "<a href=# onfocus=alert(1) autofocus>x</a>",
]
URLS = [
    "<a href=javascript:alert(1)>x</a>",
    "<a href=' JaVaScRiPt:alert(1)'>x</a>",
    "<a href='java&#x09;script:alert(1)'>x</a>",
    "<a href=data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==>x</a>",
    "<iframe src=data:text/html,<script>alert(1)</script>></iframe>",
    "<form action=javascript:alert(1)><button formaction=javascript:alert(1)>go</button></form>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    "<img src=vbscript:msgbox(1)><video poster=javascript:alert(1)></video>",
    "<div style='background:url(javascript:alert(1))'>x</div>",
    "<div style='width:expression(alert(1))'>x</div>",
    "<link rel=import href=https://evil.example/x.html><link rel=preload href=/x.js as=script>",
]


@pytest.mark.parametrize("hostile", SCRIPTS + HANDLERS + URLS)
def test_nothing_that_runs_is_kept(hostile: str) -> None:
    out = sanitise(f"<html><head></head><body>{hostile}<p>kept</p></body></html>", PAGE)
    assert_inert(out)
    assert "kept" in out


def test_srcdoc_iframes_become_boxes_of_their_size() -> None:
    out = sanitise('<iframe srcdoc="<script>alert(1)</script>" width=300 height=150 class=ad>inside</iframe>', PAGE)
    assert '<div width="300" height="150" class="ad" data-footfall-placeholder="iframe"></div>' in out
    assert "srcdoc" not in out
    assert "inside" not in out
    canvas = sanitise('<canvas id=chart style="height:20px">fallback</canvas><video src=/v.mp4></video>', PAGE)
    assert 'data-footfall-placeholder="canvas"' in canvas
    assert "fallback" not in canvas
    assert 'data-footfall-placeholder="video"' in canvas
    assert "v.mp4" not in canvas


def test_form_values_are_never_kept() -> None:
    out = sanitise(
        "<form><input name=q value='my search'><input type=password value=hunter2>"
        "<input type=email value=jane@example.com><input type=tel value=0123456789>"
        "<input type=hidden value=csrf-token><input type=checkbox checked>"
        "<textarea>my secret note</textarea>"
        "<select><option value=a>A</option><option value=b selected>B</option></select>"
        "<input type=submit value='Send it'></form>",
        PAGE,
    )
    for secret in ("my search", "hunter2", "jane@example.com", "0123456789", "csrf-token", "my secret note"):
        assert secret not in out
    assert "checked" not in out
    assert "selected" not in out
    assert 'value="Send it"' in out  # a button's label is the page's, not the visitor's
    assert "<textarea></textarea>" in out


def test_base_and_meta_refresh_are_removed_and_urls_made_absolute() -> None:
    out = sanitise(
        '<head><base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example">'
        '<meta http-equiv="Content-Security-Policy" content="script-src *"><meta charset=utf-8>'
        '<link rel=stylesheet href="../site.css"></head>'
        '<body><img src="img/a.png" srcset="img/a.png 1x, /b.png 2x"><a href="/help">h</a></body>',
        PAGE,
    )
    assert "<base" not in out
    assert "refresh" not in out
    assert "script-src" not in out
    assert '<link rel="stylesheet" href="https://shop.example/site.css">' in out
    assert 'src="https://shop.example/shop/img/a.png"' in out
    assert 'srcset="https://shop.example/shop/img/a.png 1x, https://shop.example/b.png 2x"' in out
    assert 'href="https://shop.example/help"' in out
    assert '<meta charset="utf-8">' in out


def test_the_csp_meta_comes_first_in_head() -> None:
    with_head = sanitise("<!doctype html><html lang=en><head><meta charset=utf-8><title>t</title></head><body>x", PAGE)
    assert with_head.startswith(f'<!doctype html><html lang="en"><head>{CSP_META}<meta charset="utf-8">')
    without = sanitise("<p>just a fragment</p>", PAGE)
    assert without.startswith(f"<head>{CSP_META}</head><p>")
    assert with_head.count("Content-Security-Policy") == without.count("Content-Security-Policy") == 1


def test_private_and_blocked_areas() -> None:
    out = sanitise(
        '<div data-footfall-private><span title="Jane">Jane Doe</span> <b>42 Elm St</b></div>'
        "<p>Hello</p><div data-footfall-block style='height:80px'>card 4242</div>",
        PAGE,
    )
    assert "Jane Doe" not in out
    assert "42 Elm St" not in out
    assert "xxxx xxx" in out
    assert "xx xxx xx" in out
    assert "Hello" in out
    assert "4242" not in out
    assert 'style="height:80px" data-footfall-placeholder="div"' in out


def test_css_cannot_open_a_tag_nor_run() -> None:
    css = clean_css("a::after{content:'</style><script>alert(1)</script>'} b{background:url(i.png)}", PAGE)
    assert "<" not in css
    assert 'url("https://shop.example/shop/i.png")' in css
    assert clean_css("x{background:url('javascript:alert(1)')}", PAGE).count("javascript") == 0


def test_text_is_escaped_so_the_browser_sees_this_tree() -> None:
    out = sanitise("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p><p title='a\"b'>q</p>", PAGE)
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>" in out
    assert 'title="a&quot;b"' in out
