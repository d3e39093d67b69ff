//! The HTML report of a run (or of one cluster): one self-contained document, no external
//! scripts, fonts or images. Text reaches the page only two ways, both inert: escaped into
//! the server-written header, and inside a JSON data block (`<`, `>`, `&` escaped) that the
//! page's script turns into DOM nodes with `textContent`, never `innerHTML`.

use crate::error::{EngineError, ErrorKind, Result};
use crate::timeline::{TIMELINE_CSS, TIMELINE_JS};
use crate::trace::{Summary, Timeline};
use serde::Serialize;
use std::collections::BTreeMap;

/// Dots drawn at most; a larger run is shown through a uniform sample (the page says so).
pub const MAX_DOTS: usize = 5_000;
/// Characters of an item's text in a dot's tooltip and in the item lists.
pub const PREVIEW_CHARS: usize = 300;

pub struct RunInfo {
    pub run_id: i64,
    pub job_name: String,
    pub level: String,
    pub window_start: String,
    pub window_end: String,
    pub n_items: i64,
    pub finished_at: String,
    pub duration_s: f64,
}

#[derive(Serialize)]
pub struct Cluster {
    #[serde(rename = "id")]
    pub cluster_id: i32,
    pub title: String,
    pub description: String,
    pub size: i64,
    pub share: f64,
    pub colour: i32,
    pub x: Option<f64>,
    pub y: Option<f64>,
    #[serde(rename = "avgCost")]
    pub avg_cost_usd: Option<f64>,
    #[serde(rename = "avgLatency")]
    pub avg_latency_s: Option<f64>,
    #[serde(rename = "avgTokens")]
    pub avg_tokens: Option<f64>,
    #[serde(rename = "errorRate")]
    pub error_rate: Option<f64>,
    #[serde(rename = "totalCost")]
    pub total_cost_usd: Option<f64>,
    /// Its theme; `None` for Outliers (and for runs made before themes existed).
    #[serde(rename = "theme")]
    pub theme_id: Option<i32>,
    /// The items nearest the centre, in rank order.
    pub nearest: Vec<Item>,
}

/// A theme: a parent group of clusters.
#[derive(Serialize)]
pub struct Theme {
    #[serde(rename = "id")]
    pub theme_id: i32,
    pub title: String,
    pub description: String,
    pub size: i64,
    pub share: f64,
}

#[derive(Serialize)]
pub struct Item {
    #[serde(rename = "id")]
    pub item_id: String,
    #[serde(rename = "trace")]
    pub trace_id: Option<String>,
    #[serde(rename = "c")]
    pub cluster_id: i32,
    pub x: f64,
    pub y: f64,
    pub rank: i32,
    #[serde(rename = "text")]
    pub preview: String,
    /// Its summary (`llm_clusters.item_summaries`), on the cluster page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

/// The detail page of one cluster.
pub struct Focus {
    pub cluster_id: i32,
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    /// Its items in rank order (at most what the page lists).
    pub items: Vec<Item>,
    /// Timelines (`trace::timeline_json`) of the first items' traces, by trace id: a click
    /// on such an item opens its timeline in the page, which works saved, offline.
    pub timelines: Vec<(String, Timeline)>,
}

pub struct Report {
    pub run: RunInfo,
    /// Largest first.
    pub themes: Vec<Theme>,
    pub clusters: Vec<Cluster>,
    /// The dots to draw (all items, or a uniform sample of `MAX_DOTS`).
    pub points: Vec<Item>,
    /// Items the dots were drawn from (more than `points.len()` when sampled).
    pub points_of: i64,
    /// Link of a dot, with `{item_id}`, `{trace_id}` and `{run_id}` placeholders; empty: none.
    pub item_url: String,
    pub focus: Option<Focus>,
}

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON that can sit inside a `<script>` element: nothing in it can close the element.
pub fn script_json(value: &impl Serialize) -> Result<String> {
    let mut out = String::new();
    let text = serde_json::to_string(value)
        .map_err(|e| EngineError::new(ErrorKind::Internal, format!("cannot write the page's data: {e}")))?;
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// `llm_clusters.report_item_url` checked: empty (dots link nowhere), an absolute http(s)
/// URL, or a path of the report's own site (`/…`, but not `//host` or `/\host`, which
/// browsers read as another host); no control characters.
pub fn checked_item_url(template: &str) -> Result<&str> {
    let lower = template.to_ascii_lowercase();
    let same_site = template.starts_with('/') && !template[1..].starts_with(['/', '\\']);
    let allowed = template.is_empty() || lower.starts_with("http://") || lower.starts_with("https://") || same_site;
    if !allowed || template.chars().any(char::is_control) {
        return Err(EngineError::new(
            ErrorKind::InvalidParameter,
            format!("llm_clusters.report_item_url must be an http(s) URL or a path starting with a single /, got \"{template}\""),
        )
        .with_hint("For example https://app.example.com/traces/{trace_id} or /traces/{trace_id}."));
    }
    Ok(template)
}

/// What the page's script reads.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageData<'a> {
    run: i64,
    item_url: &'a str,
    points_of: i64,
    focus: Option<i32>,
    themes: &'a [Theme],
    clusters: &'a [Cluster],
    points: &'a [Item],
    items: Option<&'a [Item]>,
    timelines: Option<BTreeMap<&'a str, &'a Timeline>>,
}

fn page_data(r: &Report) -> PageData<'_> {
    PageData {
        run: r.run.run_id,
        item_url: &r.item_url,
        points_of: r.points_of,
        focus: r.focus.as_ref().map(|f| f.cluster_id),
        themes: &r.themes,
        clusters: &r.clusters,
        points: &r.points,
        items: r.focus.as_ref().map(|f| &f.items[..]),
        timelines: r.focus.as_ref().map(|f| f.timelines.iter().map(|(id, t)| (id.as_str(), t)).collect()),
    }
}

fn header(r: &Report) -> String {
    let run = &r.run;
    let focus = r.focus.as_ref().and_then(|f| r.clusters.iter().find(|c| c.cluster_id == f.cluster_id).map(|c| (f, c)));
    let title = match focus {
        Some((_, c)) => format!("{} — {}", c.title, run.job_name),
        None => run.job_name.clone(),
    };
    let mut facts = vec![
        format!("<span>level <b>{}</b></span>", escape_html(&run.level)),
        format!(
            "<span>window <b>{}</b> – <b>{}</b></span>",
            escape_html(&run.window_start),
            escape_html(&run.window_end)
        ),
        format!("<span><b>{}</b> items</span>", run.n_items),
        format!(
            "<span>run {} finished <b>{}</b> in {:.1} s</span>",
            run.run_id,
            escape_html(&run.finished_at),
            run.duration_s
        ),
    ];
    if let Some((f, c)) = focus {
        facts.push(format!(
            "<span>cluster <b>{}</b>: <b>{}</b> items, first <b>{}</b>, last <b>{}</b></span>",
            c.cluster_id,
            c.size,
            escape_html(f.first_ts.as_deref().unwrap_or("–")),
            escape_html(f.last_ts.as_deref().unwrap_or("–"))
        ));
    }
    format!("<header><h1>{}</h1><div class=\"facts\">{}</div></header>", escape_html(&title), facts.join(""))
}

/// The whole document.
pub fn render(r: &Report) -> Result<String> {
    let sampled = if (r.points.len() as i64) < r.points_of {
        format!(
            "<p class=\"note\" id=\"sample-note\">The map shows {} of {} items, a uniform sample.</p>",
            r.points.len(),
            r.points_of
        )
    } else {
        String::new()
    };
    let body = if r.focus.is_some() {
        format!(
            "<section id=\"focus\"><p id=\"focus-description\" class=\"description\"></p></section>\
             <section><h2>Map of this cluster</h2>{sampled}{MAP}</section>\
             <section><h2>Items, closest to the centre first</h2><ol id=\"items\"></ol>\
             <div class=\"pager\"><button id=\"prev\">Previous</button> <span id=\"page\"></span> <button id=\"next\">Next</button></div></section>"
        )
    } else {
        format!(
            "<section><h2>Themes and their clusters</h2><div id=\"theme-bar\" class=\"bar themes\"></div><div id=\"bar\" class=\"bar\"></div></section>\
             <section><h2>Map</h2><p class=\"note\">Close dots are similar items; distances have no unit. The view fits the bulk of the items; drag to zoom, double-click to come back. <button id=\"show-all\" hidden></button></p>{sampled}{MAP}</section>\
             <section><div id=\"cards\"></div></section>"
        )
    };
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}{TIMELINE_CSS}</style></head>\
         <body>{header}<main>{body}</main><div id=\"tip\" role=\"tooltip\"></div>\
         <script type=\"application/json\" id=\"data\">{data}</script><script>{TIMELINE_JS}{SCRIPT}</script></body></html>\n",
        title = escape_html(&format!("{} — llm_clusters", r.run.job_name)),
        header = header(r),
        data = script_json(&page_data(r))?,
    ))
}

const MAP: &str = "<svg id=\"map\" xmlns=\"http://www.w3.org/2000/svg\" preserveAspectRatio=\"xMidYMid meet\"><rect id=\"selection\" visibility=\"hidden\"></rect></svg>";

const STYLE: &str = r##"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#fff;border-bottom:1px solid #dde1e7;padding:16px 24px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:15px;margin:20px 0 8px}
.facts span{margin-right:18px;color:#4a5468}
main{padding:0 24px 32px;max-width:1200px}
.note{color:#6b7385;font-size:12px;margin:4px 0}
.bar{display:flex;height:28px;border-radius:6px;overflow:hidden;background:#e4e7ec}
.bar.themes{height:22px;margin-bottom:4px;background:#fff;gap:2px}
.bar.themes .segment{background:#39425a;color:#fff;font-size:11px;line-height:22px;padding:0 6px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;text-decoration:none;box-sizing:border-box}
.theme{margin-top:22px}.theme>h2{margin-bottom:2px}.theme>.description{margin-bottom:0}
.segment{display:block;height:100%;min-width:2px}
.segment:hover{filter:brightness(1.15)}
#map{width:100%;height:520px;background:#fff;border:1px solid #dde1e7;border-radius:6px;cursor:crosshair;user-select:none}
#map circle.dot{opacity:.75}
#map circle.outlier{fill:none;stroke:#8d939e;opacity:.9}
#map circle.centroid{stroke:#1d2433;cursor:pointer;opacity:1}
#map circle.dot:hover{opacity:1;stroke:#1d2433}
#selection{fill:rgba(60,110,240,.12);stroke:#3c6ef0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px;margin-top:12px}
.card{background:#fff;border:2px solid #dde1e7;border-radius:8px;padding:12px 14px}
.card.outliers{border-style:dashed;border-color:#9aa1ad}
.card:target{box-shadow:0 0 0 3px #3c6ef0}
.card h3{font-size:15px;margin:0 0 6px;display:flex;gap:8px;align-items:center}
.swatch{width:12px;height:12px;border-radius:3px;flex:none}
.description{white-space:pre-line;color:#394155;margin:0 0 8px}
.stats{display:grid;grid-template-columns:auto auto;gap:2px 12px;font-size:13px;color:#4a5468}
.stats b{color:#1d2433;font-weight:600}
details{margin-top:8px}summary{cursor:pointer;color:#3c6ef0}
ol.previews li,#items li{margin:4px 0;color:#394155;word-break:break-word}
.pager{margin-top:8px}
#tip{position:fixed;pointer-events:none;background:#1d2433;color:#fff;padding:6px 8px;border-radius:4px;font-size:12px;max-width:420px;white-space:pre-wrap;word-break:break-word;display:none;z-index:10}
"##;

const SCRIPT: &str = r##"
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var PALETTE = ["#4e79a7","#f28e2b","#e15759","#76b7b2","#59a14f","#edc948","#b07aa1","#ff9da7","#9c755f","#5b8def",
                 "#8cd17d","#d37295","#86bcb6","#f1ce63","#a0cbe8","#ffbe7d","#499894","#d4a6c8","#b6992d","#79706e"];
  var OUTLIER = "#9aa1ad";
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
    card.appendChild(h);
    card.appendChild(el("p", "description", c.description));
    var stats = el("div", "stats");
    addStat(stats, "items", c.size + " (" + (100 * c.share).toFixed(1) + "%)");
    addStat(stats, "avg cost", fmt(c.avgCost, 5, " $")); addStat(stats, "total cost", fmt(c.totalCost, 4, " $"));
    addStat(stats, "avg latency", fmt(c.avgLatency, 2, " s")); addStat(stats, "avg tokens", fmt(c.avgTokens, 0));
    addStat(stats, "error rate", c.errorRate == null ? "–" : (100 * c.errorRate).toFixed(1) + "%");
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
"##;

#[cfg(test)]
mod tests {
    #[test]
    fn item_urls_stay_on_http_or_this_site() {
        use super::checked_item_url;
        for ok in ["", "https://app.example.com/t/{trace_id}", "HTTP://x/{item_id}", "/traces/{trace_id}", "/"] {
            assert_eq!(checked_item_url(ok).unwrap(), ok);
        }
        for bad in [
            "//evil.example/{trace_id}",
            "/\\evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "traces/{trace_id}",
            "/t\n{item_id}",
        ] {
            assert!(checked_item_url(bad).is_err(), "{bad}");
        }
    }

    use super::*;
    use serde_json::{json, Value};

    fn report(text: &str) -> Report {
        let item = Item {
            item_id: "i1".into(),
            trace_id: Some("t1".into()),
            cluster_id: 0,
            x: 1.0,
            y: 2.0,
            rank: 0,
            preview: text.into(),
            summary: None,
        };
        Report {
            run: RunInfo {
                run_id: 7,
                job_name: format!("job {text}"),
                level: "trace".into(),
                window_start: "2026-11-20".into(),
                window_end: "2026-11-27".into(),
                n_items: 1,
                finished_at: "2026-11-27 00:15".into(),
                duration_s: 1.5,
            },
            themes: vec![Theme { theme_id: 0, title: text.into(), description: text.into(), size: 1, share: 1.0 }],
            clusters: vec![Cluster {
                cluster_id: 0,
                title: text.into(),
                description: text.into(),
                size: 1,
                share: 1.0,
                colour: 3,
                x: Some(1.0),
                y: Some(2.0),
                avg_cost_usd: None,
                avg_latency_s: None,
                avg_tokens: None,
                error_rate: None,
                total_cost_usd: None,
                theme_id: Some(0),
                nearest: vec![Item { preview: text.into(), ..item_clone(&item) }],
            }],
            points: vec![item],
            points_of: 1,
            item_url: String::new(),
            focus: None,
        }
    }

    fn item_clone(i: &Item) -> Item {
        Item {
            item_id: i.item_id.clone(),
            trace_id: i.trace_id.clone(),
            preview: i.preview.clone(),
            summary: i.summary.clone(),
            ..*i
        }
    }

    #[test]
    fn hostile_text_cannot_leave_its_place() {
        for hostile in [
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "</script><script>alert(1)</script>",
            "a\u{2028}b & 'q'",
        ] {
            let html = render(&report(hostile)).unwrap();
            // Exactly the page's own two script elements, and no injected markup anywhere.
            assert_eq!(html.matches("<script").count(), 2, "{hostile}");
            assert_eq!(html.matches("</script>").count(), 2, "{hostile}");
            assert!(!html.contains("<img"), "{hostile}");
            let data = &html[html.find("id=\"data\">").unwrap()..];
            assert!(!data[..data.find("</script>").unwrap()].contains('\u{2028}'), "a raw U+2028 in the data block");
        }
        assert_eq!(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn data_block_round_trips() {
        let html = render(&report("<b>bold</b> & \"quoted\"")).unwrap();
        let start = html.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let data: Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(data["clusters"][0]["title"], "<b>bold</b> & \"quoted\"");
        assert_eq!(data["themes"][0]["title"], "<b>bold</b> & \"quoted\"");
        assert_eq!(data["clusters"][0]["theme"], 0);
        assert_eq!(data["points"][0]["trace"], "t1");
    }

    #[test]
    fn says_when_the_map_is_a_sample() {
        let mut r = report("x");
        assert!(!render(&r).unwrap().contains("sample-note"));
        r.points_of = 100_000;
        assert!(render(&r).unwrap().contains("The map shows 1 of 100000 items, a uniform sample."));
    }

    #[test]
    fn the_cluster_page_carries_summaries_and_timelines_as_data() {
        let hostile = "</script><img src=x onerror=alert(1)>";
        let mut r = report(hostile);
        let step = crate::trace::Step {
            uuid: "u".into(),
            event: "$ai_generation".into(),
            timestamp_ms: Some(5.0),
            input: Some(json!([{"role": "user", "content": hostile}])),
            output: Some(json!(hostile)),
            ..Default::default()
        };
        let summary = crate::trace::summarize(std::slice::from_ref(&step), "t1");
        let mut item = item_clone(&r.points[0]);
        item.summary = Some(summary.clone());
        r.focus = Some(Focus {
            cluster_id: 0,
            first_ts: None,
            last_ts: None,
            items: vec![item],
            timelines: vec![("t1".into(), crate::trace::timeline_json(&[step], "t1", 100, usize::MAX))],
        });
        let html = render(&r).unwrap();
        assert_eq!(html.matches("<script").count(), 2);
        assert!(!html.contains("<img"));
        let start = html.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let data: Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(data["items"][0]["summary"]["title"], summary.title.as_str());
        assert_eq!(
            data["timelines"]["t1"]["steps"][0]["input"]["text"].as_str().map(|t| t.contains(hostile)),
            Some(true)
        );
        assert!(html.contains("function llmcTimeline"));
    }

    #[test]
    fn self_contained() {
        let html = render(&report("x")).unwrap();
        for external in ["src=", "href=\"http", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
