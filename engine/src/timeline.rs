//! The trace timeline page (`llm_clusters.trace_html`) and the script that draws a
//! timeline, which the report's cluster page embeds too (one renderer for both). Data
//! reaches the page as JSON in a `<script>` element and text reaches the DOM through
//! `textContent` only: nothing a trace carries can become markup.

use crate::error::Result;
use crate::html::{escape_html, script_json};
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

// The pages' styles and scripts live in engine/assets/ (scripts/test.sh runs `node --check`
// on the scripts); the page inlines them, so it needs no other request.
const PAGE_CSS: &str = include_str!("../assets/trace_page.css");

const PAGE_JS: &str = include_str!("../assets/trace_page.js");

/// Styles of the timeline and of an item's summary (the report uses them too).
pub const TIMELINE_CSS: &str = include_str!("../assets/timeline.css");

/// `llmcTimeline(element, timeline, leftOut)` and `llmcSummary(element, summary)`.
pub const TIMELINE_JS: &str = include_str!("../assets/timeline.js");

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
