//! The HTML report of a run (or of one cluster): one self-contained document, no external
//! scripts, fonts or images. Text reaches the page only two ways, both inert: escaped into
//! the server-written header, and inside a JSON data block (`<`, `>`, `&` escaped) that the
//! page's script turns into DOM nodes with `textContent`, never `innerHTML`.

use crate::error::{EngineError, ErrorKind, Result};
use crate::html::{escape_html, script_json};
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
    /// What the items were embedded from (`runs.lens`).
    pub lens: String,
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
    /// `merge`, `split` or `pin` when a person's steering made the cluster
    /// (`llm_clusters.steering`); the card says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steering: Option<String>,
    /// Evaluation runs: passes among the applicable verdicts, the share of N/A verdicts,
    /// and the evaluator most of its items come from (absent at other levels).
    #[serde(rename = "passRate", skip_serializing_if = "Option::is_none")]
    pub pass_rate: Option<f64>,
    #[serde(rename = "naRate", skip_serializing_if = "Option::is_none")]
    pub na_rate: Option<f64>,
    #[serde(rename = "mainEvaluator", skip_serializing_if = "Option::is_none")]
    pub main_evaluator: Option<String>,
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
        format!("<span>lens <b id=\"lens\">{}</b></span>", escape_html(&run.lens)),
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

// In engine/assets/, inlined into the page (see timeline.rs).
const STYLE: &str = include_str!("../assets/report.css");

const SCRIPT: &str = include_str!("../assets/report.js");

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
                lens: text.into(),
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
                steering: Some("pin".into()),
                pass_rate: Some(0.5),
                na_rate: Some(0.25),
                main_evaluator: Some(text.into()),
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
        assert_eq!(data["clusters"][0]["steering"], "pin", "a steered cluster says so");
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
