(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var PALETTE = ["#4e79a7","#f28e2b","#e15759","#76b7b2","#59a14f","#edc948","#b07aa1","#ff9da7","#9c755f","#5b8def",
                 "#8cd17d","#d37295","#86bcb6","#f1ce63","#a0cbe8","#ffbe7d","#499894","#d4a6c8","#b6992d","#79706e"];
  var OUTLIER = "#9aa1ad";
  // What a person's steering (llm_clusters.steering) made of a cluster, on its card.
  var STEERED = { merge: "merged by hand", split: "split by hand", pin: "pinned topic" };
  var byId = {};
  data.clusters.forEach(function (c) { byId[c.id] = c; });
  function colour(id) { var c = byId[id]; return id < 0 || !c ? OUTLIER : PALETTE[((c.colour % 20) + 20) % 20]; }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function svgEl(tag) { return document.createElementNS("http://www.w3.org/2000/svg", tag); }
  function fmt(v, digits, unit) { return v == null ? "–" : Number(v).toFixed(digits) + (unit || ""); }

  var tip = document.getElementById("tip");
  function showTip(text, evt) {
    tip.textContent = text; tip.style.display = "block";
    tip.style.left = Math.min(evt.clientX + 12, window.innerWidth - 440) + "px"; tip.style.top = (evt.clientY + 12) + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  function jump(id) { location.hash = "#cluster-" + id; var card = document.getElementById("cluster-" + id); if (card) card.scrollIntoView(); }
  function itemLink(item) {
    if (!data.itemUrl) return null;
    var url = data.itemUrl.replace(/\{item_id\}/g, encodeURIComponent(item.id))
      .replace(/\{trace_id\}/g, encodeURIComponent(item.trace || "")).replace(/\{run_id\}/g, String(data.run));
    // http(s) or this site's own paths: never javascript:, data:, nor //host or /\host
    return /^(https?:\/\/|\/(?![\/\\]))/i.test(url) ? url : null;
  }

  // Themes, largest first, each with its clusters (largest first); Outliers and clusters
  // without a theme (runs made before themes) come last.
  var groups = data.themes.map(function (t) { return { theme: t, clusters: [] }; });
  var groupOf = {}; groups.forEach(function (g) { groupOf[g.theme.id] = g; });
  var rest = { theme: null, clusters: [] };
  data.clusters.forEach(function (c) { (c.theme != null && groupOf[c.theme] ? groupOf[c.theme] : rest).clusters.push(c); });
  if (rest.clusters.length) groups.push(rest);
  var ordered = [].concat.apply([], groups.map(function (g) { return g.clusters; }));

  var themeBar = document.getElementById("theme-bar");
  if (themeBar) groups.forEach(function (g) {
    if (!g.theme) return;
    var a = el("a", "segment", g.theme.title); a.href = "#theme-" + g.theme.id;
    a.style.width = (100 * g.theme.share) + "%";
    a.addEventListener("mousemove", function (e) { showTip(g.theme.title + " — " + g.theme.size + " items, " + g.clusters.length + " clusters", e); });
    a.addEventListener("mouseleave", hideTip);
    themeBar.appendChild(a);
  });

  // Distribution bar: one segment per cluster, proportional, grouped by theme; click jumps to its card.
  var bar = document.getElementById("bar");
  if (bar) ordered.forEach(function (c) {
    var a = el("a", "segment"); a.href = "#cluster-" + c.id; a.dataset.cluster = c.id;
    a.style.width = (100 * c.share) + "%"; a.style.background = colour(c.id);
    a.setAttribute("aria-label", c.title + ": " + c.size + " items");
    a.addEventListener("mousemove", function (e) { showTip(c.title + " — " + c.size + " items", e); });
    a.addEventListener("mouseleave", hideTip);
    a.addEventListener("click", function (e) { e.preventDefault(); jump(c.id); });
    bar.appendChild(a);
  });

  // Scatter map.
  var svg = document.getElementById("map");
  var pts = data.points, cents = data.focus == null ? data.clusters.filter(function (c) { return c.id >= 0 && c.x != null; }) : [];
  var xs = pts.map(function (p) { return p.x; }).concat(cents.map(function (c) { return c.x; }));
  var ys = pts.map(function (p) { return p.y; }).concat(cents.map(function (c) { return c.y; }));
  // The home view fits the bulk of the items (1st to 99th percentile on each axis), so a
  // few far dots do not shrink everything else into the middle; "Show all" fits them all.
  function quantile(v, q) { if (!v.length) return 0; var s = v.slice().sort(function (a, b) { return a - b; }); return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]; }
  function box(x0, x1, y0, y1) { var pad = 0.06 * Math.max(x1 - x0, y1 - y0, 1e-6); return [x0 - pad, y0 - pad, (x1 - x0) + 2 * pad, (y1 - y0) + 2 * pad]; }
  var tail = xs.length >= 200 ? 0.01 : 0;
  var home = box(quantile(xs, tail), quantile(xs, 1 - tail), quantile(ys, tail), quantile(ys, 1 - tail));
  var all = box(quantile(xs, 0), quantile(xs, 1), quantile(ys, 0), quantile(ys, 1));
  var outside = pts.filter(function (p) { return p.x < home[0] || p.y < home[1] || p.x > home[0] + home[2] || p.y > home[1] + home[3]; }).length;
  var showAll = document.getElementById("show-all");
  if (showAll && outside > 0) {
    showAll.hidden = false; showAll.textContent = "Show all items (" + outside + " outside this view)";
    showAll.addEventListener("click", function () { setView(all); });
  }
  var view = home.slice();
  function setView(v) {
    view = v; svg.setAttribute("viewBox", v.join(" "));
    var scale = Math.max(v[2], v[3]) / Math.max(home[2], home[3]);
    svg.querySelectorAll("circle").forEach(function (c) {
      var r = c.dataset.r * scale;
      c.setAttribute("r", r); c.setAttribute("stroke-width", (c.classList.contains("outlier") ? 0.5 : 0.15) * r);
    });
  }
  var unit = Math.max(home[2], home[3]) / 260;
  pts.forEach(function (p) {
    var c = svgEl("circle"); c.setAttribute("cx", p.x); c.setAttribute("cy", p.y); c.dataset.r = p.c < 0 ? unit * 0.9 : unit;
    c.setAttribute("class", p.c < 0 ? "dot outlier" : "dot"); c.dataset.cluster = p.c; c.dataset.item = p.id;
    if (p.c >= 0) c.setAttribute("fill", colour(p.c));
    c.addEventListener("mousemove", function (e) { showTip(p.text || p.id, e); });
    c.addEventListener("mouseleave", hideTip);
    c.addEventListener("click", function () { var url = itemLink(p); if (url) window.open(url, "_blank", "noopener"); });
    svg.appendChild(c);
  });
  cents.forEach(function (k) {
    var c = svgEl("circle"); c.setAttribute("cx", k.x); c.setAttribute("cy", k.y); c.dataset.r = unit * 3.2;
    c.setAttribute("class", "dot centroid"); c.setAttribute("fill", colour(k.id)); c.dataset.cluster = k.id;
    c.addEventListener("mousemove", function (e) { showTip(k.title + " — " + k.size + " items (click for its card)", e); });
    c.addEventListener("mouseleave", hideTip);
    c.addEventListener("click", function (e) { e.stopPropagation(); jump(k.id); });
    svg.appendChild(c);
  });
  setView(home);

  // Drag to zoom into a region; double-click resets.
  var sel = document.getElementById("selection"), start = null;
  function toMap(e) { var p = svg.createSVGPoint(); p.x = e.clientX; p.y = e.clientY; return p.matrixTransform(svg.getScreenCTM().inverse()); }
  svg.addEventListener("mousedown", function (e) { start = toMap(e); });
  svg.addEventListener("mousemove", function (e) {
    if (!start) return;
    var p = toMap(e);
    sel.setAttribute("x", Math.min(start.x, p.x)); sel.setAttribute("y", Math.min(start.y, p.y));
    sel.setAttribute("width", Math.abs(p.x - start.x)); sel.setAttribute("height", Math.abs(p.y - start.y));
    sel.setAttribute("visibility", "visible");
  });
  window.addEventListener("mouseup", function (e) {
    if (!start) return;
    var p = toMap(e), w = Math.abs(p.x - start.x), h = Math.abs(p.y - start.y);
    sel.setAttribute("visibility", "hidden");
    if (w > view[2] / 50 && h > view[3] / 50) setView([Math.min(start.x, p.x), Math.min(start.y, p.y), w, h]);
    start = null;
  });
  svg.addEventListener("dblclick", function () { setView(home); });

  // Cluster cards grouped by theme: a heading per theme, then its cards; Outliers last.
  var cards = document.getElementById("cards");
  function addStat(box, label, value) { box.appendChild(el("span", null, label)); box.appendChild(el("b", null, value)); }
  var grid = null;
  if (cards) groups.forEach(function (g) {
    var section = el("section", "theme");
    if (g.theme) {
      section.id = "theme-" + g.theme.id;
      section.appendChild(el("h2", null, g.theme.title + " — " + g.theme.size + " items (" + (100 * g.theme.share).toFixed(1) + "%), " + g.clusters.length + (g.clusters.length === 1 ? " cluster" : " clusters")));
      section.appendChild(el("p", "description", g.theme.description));
    } else if (groups.length > 1) {
      section.appendChild(el("h2", null, g.clusters.some(function (c) { return c.id >= 0; }) ? "Other clusters" : "Outliers"));
    }
    grid = el("div", "cards"); section.appendChild(grid); cards.appendChild(section);
    g.clusters.forEach(addCard);
  });
  function addCard(c) {
    var card = el("div", c.id < 0 ? "card outliers" : "card"); card.id = "cluster-" + c.id;
    var h = el("h3"); var sw = el("span", "swatch"); sw.style.background = colour(c.id); h.appendChild(sw); h.appendChild(el("span", null, c.title));
    if (STEERED[c.steering]) h.appendChild(el("span", "steered", STEERED[c.steering]));
    card.appendChild(h);
    card.appendChild(el("p", "description", c.description));
    var stats = el("div", "stats");
    addStat(stats, "items", c.size + " (" + (100 * c.share).toFixed(1) + "%)");
    addStat(stats, "avg cost", fmt(c.avgCost, 5, " $")); addStat(stats, "total cost", fmt(c.totalCost, 4, " $"));
    addStat(stats, "avg latency", fmt(c.avgLatency, 2, " s")); addStat(stats, "avg tokens", fmt(c.avgTokens, 0));
    addStat(stats, "error rate", c.errorRate == null ? "–" : (100 * c.errorRate).toFixed(1) + "%");
    // Evaluation runs: how the judges ruled on the cluster's items.
    if ("passRate" in c || "naRate" in c) {
      addStat(stats, "pass rate", c.passRate == null ? "–" : (100 * c.passRate).toFixed(1) + "%");
      addStat(stats, "N/A rate", c.naRate == null ? "–" : (100 * c.naRate).toFixed(1) + "%");
      if (c.mainEvaluator) addStat(stats, "evaluator", c.mainEvaluator);
    }
    card.appendChild(stats);
    var det = el("details"); det.appendChild(el("summary", null, "Items closest to the centre"));
    var ol = el("ol", "previews"); c.nearest.forEach(function (i) { ol.appendChild(el("li", null, i.text || i.id)); });
    det.appendChild(ol); card.appendChild(det);
    grid.appendChild(card);
  }

  // An item of the cluster page: its text; its summary (title, bullets, flow, notes) on a
  // click; its trace's timeline, drawn in the page, when the page carries it.
  function itemEntry(i) {
    var li = el("li", "item");
    li.setAttribute("data-item", i.id);
    if (!i.summary) { li.textContent = i.text || i.id; return li; }
    var d = el("details", "item-summary");
    d.appendChild(el("summary", null, i.summary.title));
    llmcSummary(d, i.summary);
    var timeline = i.trace != null && data.timelines ? data.timelines[i.trace] : null;
    if (timeline) {
      var open = el("button", "open-timeline", "Timeline of trace " + i.trace), box = el("div", "timeline");
      open.addEventListener("click", function () {
        if (box.firstChild) { box.textContent = ""; return; }
        llmcTimeline(box, timeline, 0);
      });
      d.appendChild(open); d.appendChild(box);
    } else if (i.trace != null) {
      d.appendChild(el("p", "note", "Its full timeline: SELECT llm_clusters.trace_html('" + i.trace + "')"));
    }
    li.appendChild(d);
    return li;
  }

  // Detail page: description and the items in rank order, a page at a time.
  if (data.focus != null) {
    var f = byId[data.focus];
    document.getElementById("focus-description").textContent = f ? f.description : "";
    var list = document.getElementById("items"), pageLabel = document.getElementById("page"), size = 25, page = 0;
    var pages = Math.max(1, Math.ceil(data.items.length / size));
    var show = function () {
      list.textContent = "";
      list.start = page * size + 1;
      data.items.slice(page * size, (page + 1) * size).forEach(function (i) { list.appendChild(itemEntry(i)); });
      pageLabel.textContent = "page " + (page + 1) + " of " + pages;
    };
    document.getElementById("prev").addEventListener("click", function () { if (page > 0) { page--; show(); } });
    document.getElementById("next").addEventListener("click", function () { if (page < pages - 1) { page++; show(); } });
    show();
  }
})();
