// footfall live overlay: the heatmap drawn over the real page, for the site's owner alone.
// Loaded by the snippet only when the page was opened from the dashboard with #ff_overlay=<token>
// (served as /s/overlay.js?t=<token>, after heat.js). Everything lives in a Shadow DOM host that the
// snippet ignores (data-footfall-ignore); styles are set through the CSSOM and there is no eval, so a
// strict site CSP that allows the snippet allows this too. The token reads this site's heatmap layers,
// for 30 minutes; on expiry (or a 401) the overlay removes its drawing and says how to reopen it.
"use strict";
(function () {
  var me = document.currentScript, src, token;
  try { src = new URL(me.src); token = src.searchParams.get("t"); } catch (e) { return; }
  if (!token || window.__footfallOverlay || !window.FootfallHeat) return;
  // the width buckets of collector/privacy.py WIDTH_BREAKPOINTS (a test keeps the two lists equal)
  var EXPIRED = "This heatmap link has expired: open it again from the dashboard.";
  var BREAKPOINTS = [320, 375, 414, 768, 1024, 1280, 1440, 1920, 2560];
  var LAYERS = [["click", "Clicks"], ["move", "Moves"], ["rageclick", "Rage clicks"], ["deadclick", "Dead clicks"], ["scroll", "Scroll reach"], ["elements", "Elements"]];
  var answer = null, drawn = [], layer = "click", timer;

  function style(el, props) { for (var k in props) el.style[k] = props[k]; return el; }
  function make(tag, parent, props, text) {
    var el = style(document.createElement(tag), props || {});
    if (text) el.textContent = text;
    if (parent) parent.appendChild(el);
    return el;
  }

  var host = make("div", null, {position: "absolute", left: "0", top: "0", width: "0", height: "0", zIndex: "2147483646"});
  host.setAttribute("data-footfall-ignore", "");
  host.setAttribute("data-footfall-overlay", "");
  var shadow = host.attachShadow({mode: "open"});
  var stageBox = make("div", shadow, {position: "absolute", left: "0", top: "0", pointerEvents: "none"});
  var fixedBox = make("div", shadow, {position: "fixed", left: "0", top: "0", pointerEvents: "none"});
  var panel = make("div", shadow, {position: "fixed", right: "12px", top: "12px", background: "#111", color: "#fff",
    font: "13px/1.4 system-ui, sans-serif", padding: "8px 10px", borderRadius: "8px", boxShadow: "0 2px 8px rgba(0,0,0,.4)", maxWidth: "320px"});
  make("strong", panel, {}, "footfall heatmap");
  var picker = make("select", panel, {marginLeft: "8px"});
  LAYERS.forEach(function (l) { var o = make("option", picker, {}, l[1]); o.value = l[0]; });
  var close = make("button", panel, {marginLeft: "8px"}, "×");
  close.setAttribute("aria-label", "Close the heatmap");
  var status = make("div", panel, {marginTop: "4px"}, "Loading…");
  status.setAttribute("role", "status");
  window.__footfallOverlay = host;
  document.documentElement.appendChild(host);

  function bucket(w) {
    var b = 320;
    for (var i = 0; i < BREAKPOINTS.length; i++) if (w >= BREAKPOINTS[i]) b = BREAKPOINTS[i];
    return b;
  }

  function clear() { drawn.forEach(function (d) { d.stage.destroy(); }); drawn = []; }

  function stop(message) {
    clear();
    clearTimeout(timer);
    picker.disabled = true;
    status.textContent = message;
    host.setAttribute("data-state", "expired");
    try { sessionStorage.removeItem("ff_overlay"); } catch (e) {}
  }

  function only(fixed) { // the answer with the points of fixed (or of not-fixed) elements only
    var out = {layers: {}, scroll: answer.scroll}, k;
    for (k in answer.layers) {
      var l = answer.layers[k];
      out.layers[k] = {hits: l.hits, points: (l.points || []).filter(function (p) { return !!p[1] === fixed; }),
        tiles: (l.tiles || []).filter(function (t) { return !!t[2] === fixed; })};
    }
    return out;
  }

  function draw() {
    clear();
    if (!answer) return;
    var root = document.documentElement, w = root.scrollWidth, h = Math.max(root.scrollHeight, document.body.scrollHeight);
    var opts = {layer: layer, marks: layer === "click", eager: false};
    var page = FootfallHeat.render(stageBox, document, only(false), {w: w, h: h, scrollX: window.scrollX, scrollY: window.scrollY, viewportW: innerWidth}, opts);
    var fixed = FootfallHeat.render(fixedBox, document, only(true), {w: innerWidth, h: innerHeight, scrollX: 0, scrollY: 0, viewportW: innerWidth}, {layer: layer === "scroll" ? "click" : layer, eager: true});
    drawn = [page, fixed];
    var total = page.placed.total + fixed.placed.total, matched = page.placed.matched + fixed.placed.matched;
    status.textContent = (answer.layers.click ? answer.layers.click.hits : 0).toLocaleString() + " clicks at " + answer.width + " px, " +
      (total ? Math.round(100 * matched / total) : 100) + "% matched to elements";
    host.setAttribute("data-state", "drawn");
  }

  function load() {
    var url = src.origin + "/api/v1/heatmap/layers?page=" + encodeURIComponent(location.href) + "&width=" + bucket(innerWidth);
    fetch(url, {headers: {Authorization: "Bearer " + token}, credentials: "omit"}).then(function (r) {
      if (r.status === 401) { stop(EXPIRED); return null; }
      if (!r.ok) { status.textContent = "footfall answered " + r.status; return null; }
      return r.json();
    }).then(function (a) {
      if (!a) return;
      answer = a;
      draw();
      // the end by the server's clock: the owner's computer may be minutes off
      if (a.overlay) timer = setTimeout(function () { stop(EXPIRED); }, Math.max(0, a.overlay.expires_in_ms));
    }, function () { status.textContent = "footfall cannot be reached"; });
  }

  picker.addEventListener("change", function () { layer = picker.value; draw(); });
  close.addEventListener("click", function () { clear(); host.parentNode.removeChild(host); window.__footfallOverlay = null; try { sessionStorage.removeItem("ff_overlay"); } catch (e) {} });
  var resizing;
  window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(draw, 200); });
  load();
})();
