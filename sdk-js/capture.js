/* footfall: the capture module. The snippet loads it (GET /v1/capture.js) only when the collector wants a
 * snapshot of this page at this width; the collector inlines CONFIG (a ticket, where to upload, what to
 * mask) and minifies it as it does the snippet (collector/heatmaps/module.py), so ES5 only.
 *
 * It serialises document.documentElement as the visitor sees it, without anything that runs or anything
 * typed: no scripts, handlers, javascript: URLs, iframe/canvas/video content (same-size boxes instead),
 * form values, nor text inside private areas (masked, same length). Same-origin stylesheets are inlined,
 * others kept as absolute links; URLs are made absolute. The collector cleans the upload again and never
 * trusts it. Everything is wrapped: the module never throws into the page.
 */
(function (win, doc, nav, config) {
  var MAX_BYTES = 2097152; // the collector refuses more (collector/heatmaps/upload.py, MAX_HTML_BYTES)
  var DROP = /^(script|noscript|template|object|embed|applet|base|portal|frameset|frame|param)$/;
  var BOX = /^(iframe|canvas|video|audio)$/;
  var URL_ATTR = /^(href|src|poster|background|cite|xlink:href)$/;
  var LABEL_INPUT = /^(submit|button|reset)$/;
  var VOID = /^(area|br|col|hr|img|input|link|meta|source|track|wbr)$/;
  var masks = [], blocks = ["[data-footfall-block]"], vh = win.innerHeight;

  function stored(key) {
    try { return win.localStorage.getItem(key); } catch (e) {}
  }
  function consented() { // as the snippet decides: GPC/DNT, then the visitor's stored choice, then the site's default
    if (config.gpc && (nav.globalPrivacyControl || nav.doNotTrack == 1)) return false;
    var choice;
    try { choice = JSON.parse(stored("ff_consent")); } catch (e) {}
    return choice ? !!choice.heatmaps : !config.opt_in;
  }
  function valid(selector) { // a bad selector in the settings must not stop the capture
    try { doc.querySelector(selector); return true; } catch (e) { return false; }
  }
  function matches(el, list) {
    for (var i = 0; i < list.length; i++) if (el.matches(list[i])) return true;
    return false;
  }
  function absolute(url, base) {
    try { return new URL(url, base || doc.baseURI).href; } catch (e) { return ""; }
  }
  function safe(url, base) { // absolute, and only http(s) or data: images
    url = absolute(url, base);
    return /^https?:/i.test(url) || /^data:image\//i.test(url) ? url : "";
  }
  function escapeText(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function escapeAttr(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  }
  function mask(text) {
    return text.replace(/\S/g, "x");
  }
  function cssText(sheet, base) { // the rules as the browser holds them (CSSOM changes too), url()s absolute
    var rules = sheet.cssRules, out = [];
    for (var i = 0; i < rules.length; i++) out.push(rules[i].cssText);
    return out.join("\n").replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/g, function (all, quote, url) {
      return 'url("' + absolute(url, base) + '")';
    });
  }
  function box(el, tag) { // an empty box the size the element was
    var rect = el.getBoundingClientRect(), display = win.getComputedStyle(el).display;
    return '<div data-footfall-placeholder="' + tag + '"' + attr("id", el.id) + attr("class", el.getAttribute("class")) +
      ' style="display:' + (display == "inline" ? "inline-block" : display) + ";width:" + Math.round(rect.width) +
      "px;height:" + Math.round(rect.height) + 'px;background:#e5e5e5"></div>';
  }
  function attr(name, value) {
    return value ? " " + name + '="' + escapeAttr(value) + '"' : "";
  }
  function viewportHeight(el) { // a vh-sized element keeps the px height it had: in a tall iframe 100vh is the page
    var h = el.getBoundingClientRect().height, parts = [1, 0.9, 0.8, 0.75, 0.7, 0.6, 0.5];
    for (var i = 0; i < parts.length; i++) {
      if (h > 0 && Math.abs(h - vh * parts[i]) < 1) {
        var px = Math.round(h) + "px!important";
        return "height:" + px + ";min-height:" + px + ";max-height:" + px;
      }
    }
    return "";
  }
  function attributes(el, tag, masked) {
    var out = "", list = el.attributes, type = (el.getAttribute("type") || "text").toLowerCase();
    for (var i = 0; i < list.length; i++) {
      var name = list[i].name.toLowerCase(), value = list[i].value;
      if (/^on/.test(name) || /^(srcdoc|action|formaction|ping|nonce|integrity|checked|selected|autofocus)$/.test(name)) continue;
      if (name == "value" && (tag != "input" || !LABEL_INPUT.test(type))) continue; // never what was typed
      if (URL_ATTR.test(name)) {
        value = name == "href" && tag == "a" && /^(mailto|tel):/i.test(value) ? value : safe(value);
        if (!value) continue;
      }
      if (name == "srcset") value = value.split(",").map(function (part) {
        part = part.replace(/^\s+/, "").split(/\s+/);
        part[0] = safe(part[0]);
        return part.join(" ");
      }).join(", ");
      if (name == "style") continue; // written below, with the vh fix
      if (masked && /^(alt|title|placeholder|aria-label)$/.test(name)) value = mask(value);
      out += " " + name + '="' + escapeAttr(value) + '"';
    }
    var style = (el.getAttribute("style") || "") + (el.getBoundingClientRect ? ";" + viewportHeight(el) : "");
    return out + (style.replace(/^;+|;+$/g, "") ? ' style="' + escapeAttr(style.replace(/^;+|;+$/g, "")) + '"' : "");
  }
  function element(el, masked) {
    var tag = el.localName, out;
    if (DROP.test(tag)) return "";
    if (tag == "meta" && el.httpEquiv) return "";
    if (tag == "link") {
      if (!/(^|\s)stylesheet(\s|$)/i.test(el.rel)) return "";
      try {
        if (el.sheet) return "<style" + attr("media", el.media) + ">" + cssText(el.sheet, el.href) + "</style>";
      } catch (e) {} // another origin's sheet: its rules cannot be read, so it stays a link
      return '<link rel="stylesheet"' + attr("href", safe(el.href)) + attr("media", el.media) + ">";
    }
    if (BOX.test(tag) || matches(el, blocks)) return box(el, tag);
    masked = masked || matches(el, masks);
    out = "<" + tag + attributes(el, tag, masked) + ">";
    if (VOID.test(tag)) return out;
    if (tag == "style") {
      try { out += cssText(el.sheet, doc.baseURI); } catch (e) { out += el.textContent; }
    } else if (tag != "textarea") { // a textarea's text is what was typed
      for (var child = el.firstChild; child; child = child.nextSibling) {
        if (child.nodeType == 1) out += element(child, masked);
        else if (child.nodeType == 3) out += escapeText(masked ? mask(child.data) : child.data);
      }
    }
    return out + "</" + tag + ">";
  }
  function gzip(text) {
    return win.CompressionStream
      ? new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer()
      : Promise.resolve(text);
  }
  function capture() {
    try {
      if (!consented()) return;
      var list = ["[data-footfall-mask]", "[data-footfall-private]"].concat(config.mask);
      for (var i = 0; i < list.length; i++) if (valid(list[i])) masks.push(list[i]);
      var root = doc.documentElement, body = doc.body;
      var html = "<!doctype html>" + element(root, false);
      if (new Blob([html]).size > MAX_BYTES) return; // too big to be worth keeping: no snapshot this time
      var upload = {key: config.key, ticket: config.ticket, url: config.url, sig: config.sig, html: html,
        viewport_w: win.innerWidth, viewport_h: win.innerHeight, doc_w: root.scrollWidth,
        doc_h: Math.max(root.scrollHeight, body ? body.scrollHeight : 0), consent: {heatmaps: true}};
      var id = stored("ff_id"), user = stored("ff_user");
      if (id) upload.anonymous_id = id; // who captured it: a snapshot is personal data, erasure must find it
      if (user) upload.user_id = user;
      gzip(JSON.stringify(upload)).then(function (data) {
        return fetch(config.upload, {method: "POST", body: data, credentials: "omit", headers: {"Content-Type": "text/plain"}});
      })["catch"](function () {});
    } catch (e) {}
  }
  try {
    if (!config) return;
    // without a public URL in the config: the collector this script came from (known only while it runs)
    var script = doc.currentScript;
    config.upload = config.upload || absolute("/v1/snapshot", script && script.src);
    if (doc.readyState == "complete") (win.requestIdleCallback || setTimeout)(capture);
    else win.addEventListener("load", function () { (win.requestIdleCallback || setTimeout)(capture); });
  } catch (e) {}
})(window, document, navigator, FOOTFALL_CAPTURE_CONFIG);
