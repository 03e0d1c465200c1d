// The heatmap page: waits for each snapshot iframe, draws the layers over it with heat.js, scales the
// drawing to the column, and fills the badge, legend, hover tip, missing selectors and cold zones.
// #heat-a gets data-ready="1" when drawn (tests and the PNG renderer wait for it).
"use strict";
(function () {
  function data() {
    var node = document.getElementById("heat-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function backdrop(view, geometry, done) { // the snapshot's document (or an outline's), once loaded
    var frame = view.querySelector("iframe.backdrop"), outline = view.querySelector(".outline");
    if (outline) {
      outline.style.width = geometry.w + "px"; outline.style.height = geometry.h + "px";
      return done(document.implementation.createHTMLDocument("outline"), geometry);
    }
    function ready() {
      var doc = frame.contentDocument, root = doc.documentElement;
      // the iframe is as tall as its document, so it never scrolls and element boxes are page px
      var h = Math.max(root.scrollHeight, doc.body ? doc.body.scrollHeight : 0, 1);
      var g = {w: geometry.w, h: h, viewportW: geometry.viewportW, viewportH: geometry.viewportH};
      frame.height = h;
      done(doc, g);
    }
    // before the srcdoc is parsed the frame holds an empty about:blank that is "complete" too
    var doc = frame.contentDocument;
    if (doc && doc.URL === "about:srcdoc" && doc.readyState === "complete") ready();
    else frame.addEventListener("load", ready);
  }

  function fit(view, g) { // scale the frame to the column; canvases scale with it, so alignment holds
    var scaler = view.querySelector(".heat-scale"), frame = view.querySelector(".heat-frame");
    var s = Math.min(1, (view.clientWidth || g.w) / g.w);
    frame.style.width = g.w + "px"; frame.style.height = g.h + "px";
    frame.style.transform = "scale(" + s + ")";
    scaler.style.height = g.h * s + "px";
    return s;
  }

  function badge(placed) {
    var el = document.getElementById("heat-badge"), missing = document.getElementById("heat-missing");
    if (!el) return;
    var share = placed.total ? placed.matched / placed.total : 1, n = placed.missing.length;
    el.textContent = Math.round(100 * share) + "% matched to elements" + (n ? ": " + n + " selector" + (n > 1 ? "s" : "") + " not found" : "");
    el.setAttribute("data-share", share.toFixed(4));
    el.className = "badge " + (share >= 0.95 ? "good" : share >= 0.7 ? "warn" : "bad");
    if (missing) {
      var list = missing.querySelector("ul");
      list.textContent = "";
      placed.missing.slice(0, 50).forEach(function (m) {
        var li = document.createElement("li"), code = document.createElement("code");
        code.textContent = m.selector;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + m.hits.toLocaleString() + " clicks, drawn at their recorded position"));
        list.appendChild(li);
      });
      missing.hidden = !n;
    }
  }

  function coldList(cold) {
    var list = document.getElementById("heat-cold");
    if (!list || !cold) return;
    list.textContent = "";
    cold.forEach(function (c) {
      var li = document.createElement("li");
      li.textContent = c.what + ": " + Math.round(100 * c.reach) + "% of pageviews reach it, " + c.hits.toLocaleString() + " clicks";
      list.appendChild(li);
    });
    if (!cold.length) { var li = document.createElement("li"); li.className = "empty"; li.textContent = "None: everything most visitors see gets clicked."; list.appendChild(li); }
  }

  function tip(view, doc, drawn, g, scale) {
    var box = document.getElementById("heat-tip"), frame = view.querySelector(".heat-frame");
    if (!box) return;
    view.addEventListener("mousemove", function (e) {
      var r = frame.getBoundingClientRect(), x = (e.clientX - r.left) / scale, y = (e.clientY - r.top) / scale;
      if (x < 0 || y < 0 || x > g.w || y > g.h) { box.hidden = true; return; }
      var at = FootfallHeat.hover(drawn, doc, x, y, g.w), text = at.count.toLocaleString() + " here";
      if (at.element) text += " · " + at.element.selector + ": " + at.element.hits.toLocaleString() + " clicks (" + (100 * at.element.share).toFixed(1) + "%)";
      box.textContent = text;
      box.hidden = false;
      box.style.left = e.pageX + 12 + "px"; box.style.top = e.pageY + 12 + "px";
    });
    view.addEventListener("mouseleave", function () { box.hidden = true; });
  }

  function draw(view, d, answer, against, shared) {
    backdrop(view, d.geometry, function (doc, g) {
      var started = performance.now(), scale = fit(view, g);
      var drawn = FootfallHeat.render(view.querySelector(".heat-layers"), doc, answer, g, {
        layer: d.layer, palette: d.palette, visitors: d.visitors, marks: d.marks, cold: d.cold, fixed: d.fixed,
        against: against, max: shared, eager: document.documentElement.hasAttribute("data-render")
      });
      view.drawn = drawn;
      if (view.id === "heat-a") {
        badge(drawn.placed);
        FootfallHeat.legend(document.getElementById("heat-legend"), drawn, d.visitors ? "visitors" : d.layer === "move" ? "moves" : "clicks");
        coldList(d.cold ? drawn.cold : null);
      }
      tip(view, doc, drawn, g, scale);
      view.setAttribute("data-ready", "1");
      var first = function () { // the first visible tile: drawn once its IntersectionObserver reports
        if (drawn.stage.firstDrawnAt === null) return requestAnimationFrame(first);
        view.setAttribute("data-first-tile-ms", (drawn.stage.firstDrawnAt - started).toFixed(1));
      };
      first();
    });
  }

  function start() {
    var d = data();
    if (!d) return;
    var a = document.getElementById("heat-a"), b = document.getElementById("heat-b");
    if (d.against && d.view === "diff") return draw(a, d, d.answer, d.against, null);
    if (!b) return draw(a, d, d.answer, null, null);
    // side by side: one colour scale for both, so the same colour is the same count (A is drawn first
    // to learn its maximum, then both with the larger one)
    draw(a, d, d.answer, null, null);
    var wait = setInterval(function () {
      if (!a.drawn) return;
      clearInterval(wait);
      draw(b, d, d.against, null, null);
      var wait2 = setInterval(function () {
        if (!b.drawn) return;
        clearInterval(wait2);
        var shared = Math.max(a.drawn.max, b.drawn.max);
        [a, b].forEach(function (v) { v.drawn.stage.destroy(); v.removeAttribute("data-ready"); });
        draw(a, d, d.answer, null, shared);
        draw(b, d, d.against, null, shared);
      }, 20);
    }, 20);
  }

  var version = document.getElementById("heat-version");
  if (version) version.addEventListener("change", function () { version.form.submit(); });
  document.addEventListener("DOMContentLoaded", start);
})();
