// footfall heat: draws heatmap layers over a page. Shared by the dashboard (over a DOM snapshot in a
// sandboxed iframe) and the live overlay (over the real page, sdk-js/overlay.js). No dependencies, no
// eval, no CSS file: styles are set through the CSSOM, which a site's CSP allows.
//
// Data is /api/v1/heatmap/layers's answer. Clicks are placed element-first: the stored selector is looked
// up in the backdrop and the click drawn at its stored offset inside the element's box today, so a hotspot
// follows its button when the layout changes; a selector not found falls back to the click's tile. The
// heat kernel stamps a blurred disc per spot (alpha by count / max), then maps alpha through a 256-colour
// ramp. Canvases are tiles of TILE px drawn when they scroll into view, so a tall page costs one tile first.
"use strict";
(function (root) {
  var TILE = 1024, RADIUS = 18, BLUR = 14, OPACITY = 0.85;
  var STOPS = {
    classic: [[0, [0, 0, 255]], [0.35, [0, 255, 255]], [0.55, [0, 255, 0]], [0.75, [255, 255, 0]], [1, [255, 0, 0]]],
    inferno: [[0, [40, 11, 84]], [0.3, [120, 28, 109]], [0.55, [212, 72, 66]], [0.8, [251, 155, 6]], [1, [252, 255, 164]]],
    mono: [[0, [255, 200, 200]], [1, [200, 0, 0]]],
    diverging: [[0, [33, 102, 172]], [0.5, [247, 247, 247]], [1, [178, 24, 43]]]
  };

  function ramp(name) {
    var stops = STOPS[name] || STOPS.classic, lut = new Uint8ClampedArray(256 * 3), i, k, t, a, b, f;
    for (i = 0; i < 256; i++) {
      t = i / 255;
      for (k = 1; k < stops.length - 1 && stops[k][0] < t; k++);
      a = stops[k - 1]; b = stops[k]; f = (t - a[0]) / ((b[0] - a[0]) || 1);
      lut[i * 3] = a[1][0] + (b[1][0] - a[1][0]) * f;
      lut[i * 3 + 1] = a[1][1] + (b[1][1] - a[1][1]) * f;
      lut[i * 3 + 2] = a[1][2] + (b[1][2] - a[1][2]) * f;
    }
    return lut;
  }

  function css(t) { return "rgb(" + t.join(",") + ")"; }
  function style(el, props) { for (var k in props) el.style[k] = props[k]; return el; }

  // -- placing: rows of the answer become spots (x, y in the backdrop's document px) -----------------
  // geometry: {w, h} of the document, scrollX/scrollY to add to a live element's box (0 in a snapshot),
  // and live: fixed spots stay in viewport px, drawn by the overlay on a fixed canvas.
  function finder(doc) { // selector -> {el, rect}, or null when not found (or not displayed)
    var cache = {};
    return function (selector) {
      if (!selector) return null;
      if (!(selector in cache)) {
        var el = null, r;
        try { el = doc.querySelector(selector); } catch (e) {}
        if (el) { r = el.getBoundingClientRect(); if (!r.width && !r.height) el = null; }
        cache[selector] = el ? {el: el, rect: r} : null;
      }
      return cache[selector];
    };
  }

  function place(layer, doc, geometry, useVisitors) {
    var find = finder(doc), spots = {}, out = [], missing = {}, boxes = [], byEl = [], total = 0, matched = 0;
    var sx = geometry.scrollX || 0, sy = geometry.scrollY || 0;
    (layer && layer.points || []).forEach(function (p) {
      var sel = p[0], fixed = !!p[1], n = useVisitors ? (p[7] || 0) : p[6], hit = find(sel), el = hit && hit.el, x, y, key, r, i;
      total += p[6];
      if (el) {
        r = hit.rect;
        x = r.left + p[2] / 100 * r.width + (fixed ? 0 : sx);
        y = r.top + p[3] / 100 * r.height + (fixed ? 0 : sy);
        matched += p[6];
        i = byEl.indexOf(el);
        if (i < 0) { byEl.push(el); boxes.push({el: el, selector: sel, hits: 0, visitors: 0, fixed: fixed}); i = boxes.length - 1; }
        boxes[i].hits += p[6]; boxes[i].visitors += p[7] || 0;
      } else {
        if (sel) missing[sel] = (missing[sel] || 0) + p[6];
        x = (p[4] + 0.5) / 100 * (fixed && geometry.viewportW ? geometry.viewportW : geometry.w);
        y = p[5] + 5;
      }
      key = (fixed ? "f" : "") + Math.round(x / 2) + "," + Math.round(y / 2);
      if (spots[key]) spots[key].n += n;
      else out.push(spots[key] = {x: x, y: y, n: n, fixed: fixed && !el ? "tile" : fixed});
    });
    var list = Object.keys(missing).map(function (s) { return {selector: s, hits: missing[s]}; })
      .sort(function (a, b) { return b.hits - a.hits; });
    return {spots: out, total: total, matched: matched, missing: list, boxes: boxes.sort(function (a, b) { return b.hits - a.hits; })};
  }

  function tiles(layer, geometry) { // moves: [x_pct, y_px, fixed, hits]
    return (layer && layer.tiles || []).map(function (t) {
      return {x: (t[0] + 0.5) / 100 * geometry.w, y: t[1] + 5, n: t[3], fixed: t[2] ? "tile" : false};
    });
  }

  function maxOf(spots) {
    var m = 0;
    for (var i = 0; i < spots.length; i++) if (spots[i].n > m) m = spots[i].n;
    return m;
  }

  // -- drawing -----------------------------------------------------------------------------------------
  var sprite;
  function disc() { // a blurred disc, alpha 1 at the centre, 0 at RADIUS + BLUR
    if (sprite) return sprite;
    var size = 2 * (RADIUS + BLUR), c = document.createElement("canvas"), g;
    c.width = c.height = size;
    var ctx = c.getContext("2d");
    g = ctx.createRadialGradient(size / 2, size / 2, 0, size / 2, size / 2, size / 2);
    g.addColorStop(0, "rgba(0,0,0,1)");
    g.addColorStop(RADIUS / (RADIUS + BLUR) * 0.6, "rgba(0,0,0,0.6)");
    g.addColorStop(1, "rgba(0,0,0,0)");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, size, size);
    return (sprite = c);
  }

  function byTile(spots) { // spots listed under every tile they touch, so a tile looks at its own only
    var half = RADIUS + BLUR, out = [], i, k, p;
    for (i = 0; i < spots.length; i++) {
      p = spots[i];
      for (k = Math.max(0, Math.floor((p.y - half) / TILE)); k <= Math.floor((p.y + half) / TILE); k++) (out[k] = out[k] || []).push(p);
    }
    return out;
  }

  function stamp(ctx, spots, max, top, height) {
    var s = disc(), half = s.width / 2;
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    for (var i = 0; i < spots.length; i++) {
      var p = spots[i];
      if (p.y + half < top || p.y - half > top + height || !p.n) continue;
      ctx.globalAlpha = Math.max(0.04, Math.min(1, p.n / max));
      ctx.drawImage(s, p.x - half, p.y - top - half);
    }
    ctx.globalAlpha = 1;
  }

  function colorize(ctx, lut) {
    var w = ctx.canvas.width, h = ctx.canvas.height, img = ctx.getImageData(0, 0, w, h), d = img.data, i, a;
    for (i = 3; i < d.length; i += 4) {
      a = d[i];
      if (!a) continue;
      d[i - 3] = lut[a * 3]; d[i - 2] = lut[a * 3 + 1]; d[i - 1] = lut[a * 3 + 2];
      d[i] = Math.min(255, 40 + a) * OPACITY;
    }
    ctx.putImageData(img, 0, 0);
  }

  function difference(ctx, other, lut) { // ctx holds A's alpha, other B's: red where A is hotter, blue where B is
    var w = ctx.canvas.width, h = ctx.canvas.height, img = ctx.getImageData(0, 0, w, h), b = other.getImageData(0, 0, w, h).data;
    var d = img.data, i, diff, k;
    for (i = 3; i < d.length; i += 4) {
      diff = d[i] - b[i];
      if (!diff) { d[i] = 0; continue; }
      k = Math.round(127.5 + diff / 2);
      d[i - 3] = lut[k * 3]; d[i - 2] = lut[k * 3 + 1]; d[i - 1] = lut[k * 3 + 2];
      d[i] = Math.min(255, 40 + Math.abs(diff)) * OPACITY;
    }
    ctx.putImageData(img, 0, 0);
  }

  function marks(ctx, spots, top, kind) { // rage: red rings, dead: grey crosses, sized by count
    ctx.lineWidth = 2;
    for (var i = 0; i < spots.length; i++) {
      var p = spots[i], r = 5 + 3 * Math.log(1 + p.n) / Math.LN2, y = p.y - top;
      if (y < -r || y > ctx.canvas.height + r) continue;
      ctx.beginPath();
      if (kind === "rageclick") { ctx.strokeStyle = "rgba(220,0,0,0.9)"; ctx.arc(p.x, y, r, 0, 2 * Math.PI); }
      else { ctx.strokeStyle = "rgba(60,60,60,0.9)"; ctx.moveTo(p.x - r, y - r); ctx.lineTo(p.x + r, y + r); ctx.moveTo(p.x + r, y - r); ctx.lineTo(p.x - r, y + r); }
      ctx.stroke();
    }
  }

  function label(ctx, text, x, y) {
    ctx.font = "12px sans-serif";
    var w = ctx.measureText(text).width + 8;
    ctx.fillStyle = "rgba(20,20,20,0.8)"; ctx.fillRect(x, y - 14, w, 16);
    ctx.fillStyle = "#fff"; ctx.fillText(text, x + 4, y - 2);
  }

  function boxesLayer(ctx, boxes, top, total, offset) {
    ctx.lineWidth = 2;
    boxes.forEach(function (b) {
      var r = b.el.getBoundingClientRect(), y = r.top + (b.fixed ? 0 : offset.y) - top;
      if (y > ctx.canvas.height || y + r.height < 0) return;
      ctx.strokeStyle = "rgba(255,120,0,0.95)"; ctx.strokeRect(r.left + offset.x, y, r.width, r.height);
      label(ctx, b.hits.toLocaleString() + " · " + (100 * b.hits / (total || 1)).toFixed(1) + "%", r.left + offset.x, y);
    });
  }

  function reachAt(reached, pct) { // share of pageviews whose deepest point is at least pct% (5% steps)
    var i = Math.min(20, Math.max(0, Math.floor(pct / 5)));
    return reached && reached[i] ? reached[i].share : 0;
  }

  function scrollLayer(ctx, scroll, top, w, h) {
    var reached = scroll.reached || [], lines = [], k, band, y0, y1, share, hue;
    for (k = 0; k < 20; k++) {
      y0 = k * h / 20; y1 = (k + 1) * h / 20;
      if (y1 < top || y0 > top + ctx.canvas.height) continue;
      share = reachAt(reached, k * 5 + 5);
      hue = 240 * (1 - share);
      ctx.fillStyle = "hsla(" + hue + ",100%,50%,0.4)";
      ctx.fillRect(0, y0 - top, w, y1 - y0);
      label(ctx, Math.round(100 * share) + "% reach " + (k * 5 + 5) + "%", 4, y1 - top - 4);
    }
    [0.75, 0.5, 0.25].forEach(function (q) { // the first depth that fewer than q of pageviews reach
      for (k = 0; k < reached.length && reached[k].share >= q; k++);
      if (k > 0 && k < reached.length) lines.push([reached[k].depth / 100 * h, Math.round(q * 100) + "% line"]);
    });
    if (scroll.fold_px) lines.push([scroll.fold_px, "average fold"]);
    ctx.setLineDash([8, 6]); ctx.lineWidth = 2; ctx.strokeStyle = "#111";
    lines.forEach(function (l) {
      if (l[0] < top || l[0] > top + ctx.canvas.height) return;
      ctx.beginPath(); ctx.moveTo(0, l[0] - top); ctx.lineTo(w, l[0] - top); ctx.stroke();
      label(ctx, l[1], w - 120, l[0] - top - 2);
    });
    ctx.setLineDash([]);
  }

  function coldLayer(ctx, cold, top, offset) {
    ctx.setLineDash([5, 4]); ctx.lineWidth = 2; ctx.strokeStyle = "rgba(0,150,255,0.95)";
    cold.forEach(function (c) {
      if (c.rect) { var y = c.rect.top + offset.y - top; ctx.strokeRect(c.rect.left + offset.x, y, c.rect.width, c.rect.height); }
      else { ctx.fillStyle = "rgba(0,150,255,0.12)"; ctx.fillRect(0, c.y0 - top, ctx.canvas.width, c.y1 - c.y0); }
    });
    ctx.setLineDash([]);
  }

  // Cold zones: clickable elements and scroll bands that most pageviews reach and few click.
  function coldZones(doc, placed, scroll, h, offset) {
    var out = [], pageviews = scroll.pageviews || 0, total = placed.total || 0;
    if (!pageviews) return out;
    var nodes = doc.querySelectorAll("a[href],button,input,select,textarea,summary,[role=button]"), i, el, r, reach, hits;
    for (i = 0; i < nodes.length && i < 2000; i++) {
      el = nodes[i]; r = el.getBoundingClientRect();
      if (r.width < 4 || r.height < 4) continue;
      reach = reachAt(scroll.reached, (r.top + offset.y) / h * 100);
      hits = 0;
      placed.boxes.forEach(function (b) { if (el === b.el || el.contains(b.el) || b.el.contains(el)) hits += b.hits; });
      if (reach >= 0.5 && hits < 0.01 * pageviews * reach) out.push({rect: r, el: el, reach: reach, hits: hits, what: describe(el)});
    }
    out.sort(function (a, b) { return b.reach - a.reach || a.hits - b.hits; });
    out = out.slice(0, 10);
    for (i = 0; i < 20; i++) { // bands: reached by half the pageviews or more, under 1% of the clicks
      var y0 = i * h / 20, y1 = (i + 1) * h / 20, inBand = 0;
      reach = reachAt(scroll.reached, i * 5 + 5);
      placed.spots.forEach(function (s) { if (!s.fixed && s.y >= y0 && s.y < y1) inBand += s.n; });
      if (reach >= 0.5 && total && inBand < 0.01 * total) out.push({y0: y0, y1: y1, reach: reach, hits: inBand, what: Math.round(y0) + "–" + Math.round(y1) + " px"});
    }
    return out;
  }

  function describe(el) {
    var text = (el.getAttribute("aria-label") || el.textContent || el.getAttribute("value") || "").replace(/\s+/g, " ").trim();
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (text ? " “" + text.slice(0, 40) + "”" : "");
  }

  // A stage: canvases of TILE px stacked over a w × h area of `host`, each drawn when it comes into view.
  // paint(ctx, top) draws one tile; redraw() repaints those already drawn (and the rest lazily).
  function Stage(host, w, h, paint, options) {
    this.host = host; this.w = Math.max(1, Math.round(w)); this.h = Math.max(1, Math.round(h)); this.paint = paint;
    this.canvases = []; this.drawn = []; this.firstDrawnAt = null;
    var self = this, n = Math.ceil(this.h / TILE), i, c;
    this.layer = style(document.createElement("div"), {position: (options && options.position) || "absolute", left: "0", top: "0", width: this.w + "px", height: this.h + "px", pointerEvents: "none"});
    host.appendChild(this.layer);
    for (i = 0; i < n; i++) {
      c = document.createElement("canvas");
      c.width = this.w; c.height = Math.min(TILE, this.h - i * TILE);
      style(c, {position: "absolute", left: "0", top: i * TILE + "px", width: this.w + "px", height: c.height + "px"});
      c.setAttribute("data-tile", i);
      this.layer.appendChild(c); this.canvases.push(c); this.drawn.push(false);
    }
    this.eager = !!(options && options.eager) || typeof IntersectionObserver === "undefined";
    if (!this.eager) {
      this.observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) { if (e.isIntersecting) self.draw(+e.target.getAttribute("data-tile")); });
      }, {rootMargin: "200px"});
      this.canvases.forEach(function (c) { self.observer.observe(c); });
    } else this.canvases.forEach(function (c, k) { self.draw(k); });
  }
  Stage.prototype.draw = function (i) {
    this.paint(this.canvases[i].getContext("2d", {willReadFrequently: true}), i * TILE, this.canvases[i].height);
    this.drawn[i] = true;
    if (this.firstDrawnAt === null) this.firstDrawnAt = performance.now(); // benchmarks/heatmap_draw.py
  };
  Stage.prototype.redraw = function () {
    for (var i = 0; i < this.canvases.length; i++) if (this.drawn[i] || this.eager) this.draw(i);
  };
  Stage.prototype.destroy = function () {
    if (this.observer) this.observer.disconnect();
    if (this.layer.parentNode) this.layer.parentNode.removeChild(this.layer);
  };

  // One heatmap over one backdrop. opts: layer (click|move|rageclick|deadclick|scroll|elements), palette,
  // visitors (bool), marks (bool: rage and dead marks over the heat), cold (bool), fixed ("show"|"hide"),
  // max (a shared scale, for compare), against (a second answer: draw the difference), eager, position.
  function render(host, doc, data, geometry, opts) {
    var kind = opts.layer || "click", lut = ramp(kind === "diff" ? "diverging" : opts.palette), offset = {x: geometry.scrollX || 0, y: geometry.scrollY || 0};
    var heatKind = kind === "elements" || kind === "scroll" ? "click" : kind;
    var layers = data.layers || {}, placed;
    if (heatKind === "move") placed = {spots: tiles(layers.move, geometry), total: (layers.move || {}).hits || 0, matched: 0, missing: [], boxes: []};
    else placed = place(layers[heatKind], doc, geometry, opts.visitors);
    var spots = placed.spots.filter(function (s) { return opts.fixed !== "hide" || !s.fixed; });
    var other = opts.against ? (heatKind === "move" ? tiles(opts.against.layers.move, geometry) : place(opts.against.layers[heatKind], doc, geometry, opts.visitors).spots) : null;
    var max = opts.max || Math.max(maxOf(spots), other ? maxOf(other) : 0) || 1;
    var rage = opts.marks ? place(layers.rageclick, doc, geometry).spots : [], dead = opts.marks ? place(layers.deadclick, doc, geometry).spots : [];
    var cold = opts.cold && data.scroll ? coldZones(doc, placed, data.scroll, geometry.h, offset) : [];
    var scratch, mine = byTile(spots), theirs = other ? byTile(other) : null;
    function paint(ctx, top, height) {
      var k = Math.floor(top / TILE);
      if (kind === "scroll") { ctx.clearRect(0, 0, ctx.canvas.width, height); scrollLayer(ctx, data.scroll || {}, top, geometry.w, geometry.h); }
      else if (kind === "elements") { ctx.clearRect(0, 0, ctx.canvas.width, height); boxesLayer(ctx, placed.boxes, top, placed.total, offset); }
      else {
        stamp(ctx, mine[k] || [], max, top, height);
        if (other) {
          scratch = scratch || document.createElement("canvas");
          scratch.width = ctx.canvas.width; scratch.height = ctx.canvas.height;
          var sctx = scratch.getContext("2d", {willReadFrequently: true});
          stamp(sctx, theirs[k] || [], max, top, height);
          difference(ctx, sctx, ramp("diverging"));
        } else colorize(ctx, lut);
        if (kind === "rageclick" || kind === "deadclick") marks(ctx, mine[k] || [], top, kind);
        marks(ctx, rage, top, "rageclick"); marks(ctx, dead, top, "deadclick");
      }
      if (cold.length) coldLayer(ctx, cold, top, offset);
    }
    var stage = new Stage(host, geometry.w, geometry.h, paint, opts);
    return {stage: stage, placed: placed, spots: spots, max: max, cold: cold, lut: lut};
  }

  // The count in the 1% × 10 px cell at (x, y), and the element there with its clicks and share.
  function hover(drawn, doc, x, y, w) {
    var cellW = w / 100, cx = Math.floor(x / cellW), cy = Math.floor(y / 10), n = 0, el, box = null;
    drawn.spots.forEach(function (s) { if (Math.floor(s.x / cellW) === cx && Math.floor(s.y / 10) === cy) n += s.n; });
    try { el = doc.elementFromPoint(x, y); } catch (e) { el = null; }
    for (; el && !box; el = el.parentElement) drawn.placed.boxes.forEach(function (b) { if (b.el === el) box = b; });
    return {count: n, element: box ? {selector: box.selector, hits: box.hits, visitors: box.visitors, share: box.hits / (drawn.placed.total || 1)} : null};
  }

  function legend(host, drawn, unit) { // a gradient bar with real counts at its stops
    host.textContent = "";
    var bar = document.createElement("canvas"), ctx, i;
    bar.width = 256; bar.height = 12;
    ctx = bar.getContext("2d");
    for (i = 0; i < 256; i++) { ctx.fillStyle = css([drawn.lut[i * 3], drawn.lut[i * 3 + 1], drawn.lut[i * 3 + 2]]); ctx.fillRect(i, 0, 1, 12); }
    host.appendChild(bar);
    // Each count where its colour is (alpha is count / max), each once: a max of 1 reads "0 1", not "0 1 1 1".
    var stops = document.createElement("div"), shown = [];
    style(stops, {position: "relative", width: "256px", height: "16px", fontSize: "12px"});
    [0, 0.25, 0.5, 1].forEach(function (q) {
      var n = q ? Math.max(1, Math.round(q * drawn.max)) : 0, at = n / drawn.max, s;
      if (shown.indexOf(n) >= 0) return;
      shown.push(n);
      s = document.createElement("span");
      s.textContent = n.toLocaleString();
      style(s, {position: "absolute", left: at * 100 + "%", transform: "translateX(-" + at * 100 + "%)", whiteSpace: "nowrap"});
      stops.appendChild(s);
    });
    host.appendChild(stops);
    var note = document.createElement("div");
    note.textContent = unit + " per spot";
    style(note, {fontSize: "12px"});
    host.appendChild(note);
  }

  root.FootfallHeat = {render: render, place: place, stamp: stamp, colorize: colorize, hover: hover, legend: legend, ramp: ramp, describe: describe, TILE: TILE};
})(window);
