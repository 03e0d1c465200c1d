// footfall dashboard: the little that needs a browser. The time series (uPlot, vendored) and the live
// page's polling; everything else is drawn on the server. No inline script: the CSP forbids it.
"use strict";
(function () {
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function timeseries() {
    var box = document.getElementById("timeseries");
    var series = data("timeseries-data");
    if (!box || !series || typeof uPlot === "undefined") return;
    var hourly = series.interval === "hour";
    var options = {
      width: box.clientWidth || 600,
      height: 240,
      scales: { x: { time: true } },
      legend: { live: true },
      cursor: { points: { size: 6 } },
      axes: [
        { stroke: css("--muted"), grid: { stroke: css("--line") }, values: hourly ? undefined : "{D} {MMM}" },
        { stroke: css("--muted"), grid: { stroke: css("--line") } }
      ],
      series: [
        { value: hourly ? "{YYYY}-{MM}-{DD} {HH}:00" : "{YYYY}-{MM}-{DD}" },
        { label: "Visitors", stroke: css("--accent"), width: 2, fill: css("--accent-soft") },
        { label: "Pageviews", stroke: css("--muted"), width: 1, dash: [4, 4] }
      ],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); }
    };
    var plot = new uPlot(options, [series.x, series.visitors, series.pageviews], box);
    box.uplot = plot; // tests read positions from it (valToPos) to check the pixels drawn
    var resize = function () { plot.setSize({ width: box.clientWidth, height: 240 }); };
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(resize).observe(box);
  }

  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function live() {
    var root = document.getElementById("live");
    if (!root) return;
    var url = root.getAttribute("data-url");
    var since = Number(root.getAttribute("data-since") || 0);
    var events = document.querySelector("#live-events tbody");
    var drops = document.querySelector("#live-drops tbody");
    var status = document.getElementById("live-status");
    function prepend(body, cells, cls) {
      var tr = document.createElement("tr");
      if (cls) tr.className = cls;
      cells.forEach(function (c) { tr.appendChild(cell(c)); });
      var empty = body.querySelector(".empty");
      if (empty) empty.parentNode.removeChild(empty);
      body.insertBefore(tr, body.firstChild);
      while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
    }
    function poll() {
      fetch(url + "?since_ms=" + since, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401) { status.textContent = "Your session has ended: reload to log in."; throw new Error("401"); }
          return r.json();
        })
        .then(function (answer) {
          (answer.events || []).slice().reverse().forEach(function (e) {
            prepend(events, [e.time, e.type, e.name || "", e.page || e.path || "", e.country || "", e.device || "", e.browser || ""]);
          });
          (answer.drops || []).slice().reverse().forEach(function (d) {
            prepend(drops, [d.time, d.outcome, d.reason, d.type || "", d.name || "", d.path || "", d.detail || ""], "live-drop");
          });
          if (answer.next_since_ms) since = answer.next_since_ms;
          status.textContent = "Updated " + new Date().toLocaleTimeString();
          setTimeout(poll, 3000);
        })
        .catch(function () { setTimeout(poll, 10000); });
    }
    setTimeout(poll, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () { timeseries(); live(); });
})();
