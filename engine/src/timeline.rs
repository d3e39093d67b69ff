//! The trace timeline page (`llm_clusters.trace_html`) and the script that draws a
//! timeline, which the report's cluster page embeds too (one renderer for both). Data
//! reaches the page as JSON in a `<script>` element and text reaches the DOM through
//! `textContent` only: nothing a trace carries can become markup.

use crate::error::Result;
use crate::report::{escape_html, script_json};
use crate::trace::{Summary, Timeline};
use serde::Serialize;

/// One cluster the trace (or one of its generations) belongs to.
#[derive(Serialize)]
pub struct Membership {
    #[serde(rename = "job")]
    pub job_name: String,
    pub level: String,
    #[serde(rename = "run")]
    pub run_id: i64,
    #[serde(rename = "cluster")]
    pub cluster_id: i32,
    pub title: String,
}

pub struct TracePage<'a> {
    pub trace_id: &'a str,
    pub team_id: i32,
    pub summary: Option<&'a Summary>,
    /// `trace::timeline_json` of its steps.
    pub timeline: Timeline,
    /// Steps not shown (beyond what the page holds).
    pub steps_left_out: i64,
    pub clusters: &'a [Membership],
}

/// What the page's script reads.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageData<'a> {
    trace: &'a str,
    team: i32,
    summary: Option<&'a Summary>,
    timeline: &'a Timeline,
    left_out: i64,
    clusters: &'a [Membership],
}

pub fn render_trace_page(p: &TracePage<'_>) -> Result<String> {
    let data = PageData {
        trace: p.trace_id,
        team: p.team_id,
        summary: p.summary,
        timeline: &p.timeline,
        left_out: p.steps_left_out,
        clusters: p.clusters,
    };
    let title = p.summary.map(|s| s.title.as_str()).unwrap_or(p.trace_id);
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — trace timeline</title><style>{PAGE_CSS}{TIMELINE_CSS}</style></head><body>\
         <header><h1 id=\"title\"></h1><p class=\"note\">trace <code id=\"trace-id\"></code> · team {team}</p></header>\
         <main><section id=\"summary\"></section><section id=\"clusters\"><h2>Clusters</h2><ul id=\"cluster-list\"></ul></section>\
         <section><h2>Timeline</h2><div id=\"timeline\"></div></section></main>\
         <script id=\"data\" type=\"application/json\">{data}</script>\
         <script>{TIMELINE_JS}{PAGE_JS}</script></body></html>",
        title = escape_html(title),
        team = p.team_id,
        data = script_json(&data)?,
    ))
}

const PAGE_CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2333;background:#f6f7fb}
header{padding:16px 24px;background:#fff;border-bottom:1px solid #e3e6ef}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 8px}
main{padding:0 24px 24px;max-width:1200px}.note{color:#69708a;margin:0}
section{background:#fff;border:1px solid #e3e6ef;border-radius:8px;padding:4px 16px 12px;margin-top:16px}
"#;

const PAGE_JS: &str = r#"
(function () {
  var data = JSON.parse(document.getElementById("data").textContent);
  document.getElementById("title").textContent = data.summary ? data.summary.title : data.trace;
  document.getElementById("trace-id").textContent = data.trace;
  var summary = document.getElementById("summary");
  if (data.summary) { llmcSummary(summary, data.summary); } else { summary.hidden = true; }
  var list = document.getElementById("cluster-list");
  if (!data.clusters.length) { var none = document.createElement("li"); none.textContent = "In no cluster yet (no succeeded run placed it)."; list.appendChild(none); }
  data.clusters.forEach(function (c) {
    var li = document.createElement("li");
    li.textContent = c.job + " (" + c.level + ", run " + c.run + "): " + c.title + (c.cluster === -1 ? "" : " — cluster " + c.cluster);
    list.appendChild(li);
  });
  llmcTimeline(document.getElementById("timeline"), data.timeline, data.leftOut);
})();
"#;

/// Styles of the timeline and of an item's summary (the report uses them too).
pub const TIMELINE_CSS: &str = r#"
.tl-head{color:#69708a;margin:4px 0 8px}
.tl-row{display:grid;grid-template-columns:minmax(260px,40%) 1fr;gap:8px;align-items:center;padding:3px 4px;border-radius:4px;cursor:pointer}
.tl-row:hover{background:#f0f2f8}.tl-row.error .tl-label{color:#b3261e;font-weight:600}
.tl-label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tl-kind{display:inline-block;min-width:74px;font-size:11px;text-transform:uppercase;color:#69708a}
.tl-meta{color:#69708a;font-size:12px;margin-left:6px}
.tl-track{position:relative;height:14px;background:#f0f2f8;border-radius:3px}
.tl-bar{position:absolute;top:2px;height:10px;border-radius:2px;background:#5b7bd5;min-width:2px}
.tl-bar.span{background:#8a9ab8}.tl-bar.trace{background:#c3cadb}.tl-bar.embedding{background:#4aa39a}.tl-row.error .tl-bar{background:#d9534f}
.tl-detail{margin:2px 0 8px 24px;padding:8px;border-left:3px solid #e3e6ef;background:#fafbfe}
.tl-detail pre{white-space:pre-wrap;word-break:break-word;max-height:240px;overflow:auto;background:#fff;border:1px solid #e3e6ef;padding:6px;margin:4px 0}
.tl-detail pre.open{max-height:none}.tl-error{color:#b3261e;font-weight:600}
.sum-flow{white-space:pre;overflow-x:auto;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#fafbfe;border:1px solid #e3e6ef;padding:6px}
.sum-notes li{color:#8a5300}
"#;

/// `llmcTimeline(element, timeline, leftOut)` and `llmcSummary(element, summary)`.
pub const TIMELINE_JS: &str = r#"
function llmcEl(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
function llmcMs(ms) { return ms == null ? "" : ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(2) + " s"; }
function llmcSummary(box, s) {
  box.appendChild(llmcEl("h3", "sum-title", s.title));
  if (s.bullets.length) { var ul = llmcEl("ul", "sum-bullets"); s.bullets.forEach(function (b) { ul.appendChild(llmcEl("li", null, b)); }); box.appendChild(ul); }
  if (s.flow) box.appendChild(llmcEl("pre", "sum-flow", s.flow));
  if (s.notes.length) { var nl = llmcEl("ul", "sum-notes"); s.notes.forEach(function (n) { nl.appendChild(llmcEl("li", null, n)); }); box.appendChild(nl); }
}
function llmcText(box, label, t) {
  if (!t) return;
  box.appendChild(llmcEl("div", null, label + (t.chars > t.text.length ? " (first " + t.text.length + " of " + t.chars + " characters)" : "")));
  var pre = llmcEl("pre", null, t.text);
  box.appendChild(pre);
  if (t.text.length > 1500) {
    var more = llmcEl("button", null, "show all");
    more.addEventListener("click", function (e) { e.stopPropagation(); pre.classList.toggle("open"); more.textContent = pre.classList.contains("open") ? "fold" : "show all"; });
    box.appendChild(more);
  }
}
function llmcTimeline(box, t, leftOut) {
  var total = t.span || 0;
  box.appendChild(llmcEl("p", "tl-head", t.steps.length + " steps" + (total ? ", " + llmcMs(total) + " from first start to last end" : "") +
    (leftOut ? "; " + leftOut + " more steps not shown" : "") + ". Click a step for its input and output."));
  t.steps.forEach(function (s) {
    var row = llmcEl("div", "tl-row" + (s.error ? " error" : ""));
    row.setAttribute("data-step", s.id);
    var label = llmcEl("div", "tl-label");
    label.style.paddingLeft = Math.min(s.depth, 30) * 14 + "px";
    label.appendChild(llmcEl("span", "tl-kind", s.kind));
    label.appendChild(document.createTextNode((s.name || s.model || "") + (s.name && s.model ? " · " + s.model : "")));
    var meta = [llmcMs(s.duration)];
    if (s.inTokens != null || s.outTokens != null) meta.push((s.inTokens || 0) + "→" + (s.outTokens || 0) + " tok");
    if (s.cost != null) meta.push("$" + s.cost.toFixed(4));
    label.appendChild(llmcEl("span", "tl-meta", meta.filter(Boolean).join(" · ")));
    var track = llmcEl("div", "tl-track");
    if (s.start != null && total > 0) {
      var bar = llmcEl("div", "tl-bar " + s.kind);
      bar.style.left = (100 * s.start / total) + "%";
      bar.style.width = Math.max(0.3, 100 * (s.duration || 0) / total) + "%";
      bar.title = llmcMs(s.duration);
      track.appendChild(bar);
    }
    row.appendChild(label); row.appendChild(track);
    var detail = null;
    row.addEventListener("click", function () {
      if (detail) { detail.remove(); detail = null; return; }
      detail = llmcEl("div", "tl-detail");
      if (s.error) detail.appendChild(llmcEl("div", "tl-error", "Error: " + s.error));
      if (s.tools.length) detail.appendChild(llmcEl("div", null, "Tool calls: " + s.tools.join(", ")));
      llmcText(detail, "Input", s.input); llmcText(detail, "Output", s.output);
      if (!s.input && !s.output && !s.error) detail.appendChild(llmcEl("div", "tl-meta", "No input or output captured."));
      row.after(detail);
    });
    box.appendChild(row);
  });
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{summarize, timeline_json, Step};
    use serde_json::json;

    #[test]
    fn the_page_carries_every_text_as_data_only() {
        let evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
        let step = Step {
            uuid: "u1".into(),
            event: "$ai_generation".into(),
            timestamp_ms: Some(1_000.0),
            name: Some(evil.into()),
            model: Some(evil.into()),
            error: Some(evil.into()),
            is_error: Some(true),
            input: Some(json!([{"role": "user", "content": evil}])),
            output: Some(json!(evil)),
            ..Step::default()
        };
        let summary = summarize(std::slice::from_ref(&step), evil);
        let clusters =
            [Membership { job_name: evil.into(), level: "trace".into(), run_id: 1, cluster_id: 0, title: evil.into() }];
        let page = render_trace_page(&TracePage {
            trace_id: evil,
            team_id: 3,
            summary: Some(&summary),
            timeline: timeline_json(std::slice::from_ref(&step), evil, 1_000, usize::MAX),
            steps_left_out: 0,
            clusters: &clusters,
        })
        .unwrap();
        // One script element of data and one of code: the texts never close either.
        assert_eq!(page.matches("<script").count(), 2, "{page}");
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(!page.contains("<img"));
        assert!(page.contains("<title>&lt;/script&gt;"));
        assert!(!TIMELINE_JS.contains("innerHTML") && !PAGE_JS.contains("innerHTML"));
    }
}
