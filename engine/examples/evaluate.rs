//! Quality of the pipeline on labelled text sets: ARI and NMI against the labels (outliers
//! count as one more label), number of clusters and themes, outlier share, largest
//! cluster share and trustworthiness (k = 10) of the 2-D map, beside k-means told the true
//! number of clusters. Besides the sets in DIR it builds harder ones from them, so that no
//! rule can fit "5 groups of equal size":
//! - `mix10`: bbc5 and donotanswer5 in one set (10 groups, two domains);
//! - `mix10_unequal`: the same with group g keeping 1/(g+1) of its items (from all to 1/10);
//! - `mix3`: three groups of mix10 of very different size (all, 1/3, 1/9 of their items);
//! - `sharegpt_keywords`: real prompts labelled by the one intent their words name (32
//!   intents such as poem, SQL, travel; groups of 8 to 90 items).
//!
//! cargo run --release -p llm_clusters_engine --example evaluate -- DIR [method] [seed] [offline]
//! DIR holds NAME.jsonl ({"text", "label"} per line) and NAME.emb.f32 (float32 rows).
//! With `offline`, the texts are embedded by the hashed bag-of-words embedder instead.
//! `PARAMS='{"resolution": 1.5}'` sets job parameters.
//! With `MODEL_DIR`, `smalltalk34` (34 small-talk intents, `common/smalltalk.rs`) is embedded
//! and run too, and each set's titles are printed unless `NO_TITLES` is set.
//! `SETS=NAME,...` runs only the sets named. `RANKS=1` prints each title's label-name rank. `EXTRA=DIR2` adds every NAME.jsonl of DIR2 as a set of its own (its label null for items
//! of no group), embedded by the built-in model (`MODEL_DIR`) when it has no NAME.emb.f32:
//! `python3 scripts/demo_requests.py > DIR2/demo.jsonl` is the demo's traffic.

#[path = "common/smalltalk.rs"]
mod smalltalk;

use linfa::prelude::*;
use llm_clusters_engine::cluster::labels::{offline_labels, ClusterLabel};
use llm_clusters_engine::cluster::quality::{adjusted_rand_index, normalized_mutual_info, trustworthiness};
use llm_clusters_engine::cluster::{cluster, Clustering, Method, Params};
use llm_clusters_engine::embedder::minilm::{MiniLm, Precision};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use std::collections::{HashMap, HashSet};

struct Set {
    name: String,
    texts: Vec<String>,
    dim: usize,
    data: Vec<f32>,
    truth: Option<Vec<i32>>,
    /// The label names, by their number in `truth`.
    names: Option<Vec<String>>,
    /// A coarser truth (the domain) for the themes, where there is one.
    domain: Option<Vec<i32>>,
}

type Loaded = (Vec<f32>, Vec<Option<String>>, Vec<String>);

fn load(dir: &str, name: &str, offline: bool) -> Result<Loaded, Box<dyn std::error::Error>> {
    let texts = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?;
    let lines: Vec<serde_json::Value> = texts.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let labels = lines.iter().map(|v| v["label"].as_str().map(|s| format!("{name}/{s}"))).collect();
    let data = if offline {
        lines
            .iter()
            .flat_map(|v| llm_clusters_engine::embedder::hash::embed(v["text"].as_str().unwrap_or("")))
            .collect()
    } else {
        let raw = std::fs::read(format!("{dir}/{name}.emb.f32"))?;
        raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    let texts = lines.iter().map(|v| v["text"].as_str().unwrap_or("").to_string()).collect();
    Ok((data, labels, texts))
}

fn numbered(labels: &[String]) -> Vec<i32> {
    let mut names: HashMap<&str, i32> = HashMap::new();
    labels
        .iter()
        .map(|s| {
            let next = names.len() as i32;
            *names.entry(s.as_str()).or_insert(next)
        })
        .collect()
}

/// The label names in the order [`numbered`] numbers them, as words ("bbc5/sports" → "sports").
fn label_names(labels: &[String]) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for l in labels {
        if !names.contains(&l.as_str()) {
            names.push(l);
        }
    }
    names.iter().map(|n| n.rsplit('/').next().unwrap_or(n).replace('_', " ")).collect()
}

/// Rows of `(data, labels, texts)` whose group keeps `keep(group index)` of its items (the first ones).
fn subset(
    dim: usize,
    data: &[f32],
    labels: &[String],
    texts: &[String],
    keep: impl Fn(usize) -> f64,
) -> (Vec<f32>, Vec<String>, Vec<String>) {
    let groups = numbered(labels);
    let mut counts: HashMap<i32, usize> = HashMap::new();
    let totals = groups.iter().fold(HashMap::new(), |mut m: HashMap<i32, usize>, g| {
        *m.entry(*g).or_default() += 1;
        m
    });
    let (mut d, mut l, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        let seen = counts.entry(*g).or_default();
        *seen += 1;
        if (*seen as f64) <= keep(*g as usize) * totals[g] as f64 {
            d.extend_from_slice(&data[i * dim..(i + 1) * dim]);
            l.push(labels[i].clone());
            t.push(texts[i].clone());
        }
    }
    (d, l, t)
}

/// What a real prompt asks for, by the words in its first 400 characters: (intent, word
/// patterns); a pattern is consecutive words, `*` ends a prefix.
const KEYWORD_INTENTS: &[(&str, &[&str])] = &[
    ("poem", &["poem*", "haiku*", "sonnet*"]),
    ("song", &["song", "songs", "lyrics"]),
    ("joke", &["joke", "jokes"]),
    ("story", &["short story", "story about"]),
    ("translate", &["translat*"]),
    ("sql", &["sql", "query"]),
    ("python", &["python"]),
    ("javascript", &["javascript", "react", "node"]),
    ("email", &["email*", "e mail"]),
    ("resume", &["resume", "cover letter", "cv"]),
    ("summarize", &["summari*", "summary"]),
    ("essay", &["essay*"]),
    ("blog", &["blog*"]),
    ("tweet", &["tweet", "tweets", "twitter"]),
    ("youtube", &["youtube*", "video script"]),
    ("marketing", &["marketing", "ad copy"]),
    ("recipe", &["recipe*", "cook*"]),
    ("business plan", &["business plan", "startup*"]),
    ("interview", &["interview*"]),
    ("game", &["game"]),
    ("excel", &["excel", "spreadsheet*"]),
    ("travel", &["trip", "itinerar*", "travel*"]),
    ("fitness", &["diet", "workout*", "exercise*"]),
    ("math", &["equation*", "calculate*"]),
    ("seo", &["seo", "keyword", "keywords"]),
    ("name ideas", &["names for", "name for"]),
    ("rewrite", &["rewrite*", "paraphras*", "rephrase*"]),
    ("lesson", &["lesson plan*", "students"]),
    ("containers", &["docker*", "kubernetes"]),
    ("java or c", &["java", "c++", "c#"]),
    ("crypto", &["crypto*", "blockchain", "nft*"]),
    ("legal", &["contract", "legal"]),
];

/// `sharegpt_keywords`: the real prompts that match exactly one intent of
/// [`KEYWORD_INTENTS`], of intents with at least 8 such prompts: some 30 groups of 8 to 90
/// items, many small and close to one another (labels from keywords, so noisy).
fn keyword_intents(dim: usize, data: &[f32], texts: &[String]) -> (Vec<f32>, Vec<String>, Vec<String>) {
    let matches = |words: &[String], pattern: &str| {
        let pattern: Vec<&str> = pattern.split(' ').collect();
        words.windows(pattern.len()).any(|w| {
            w.iter().zip(&pattern).all(|(word, p)| match p.strip_suffix('*') {
                Some(prefix) => word.starts_with(prefix),
                None => word == p,
            })
        })
    };
    let intent: Vec<Option<&str>> = texts
        .iter()
        .map(|t| {
            let head: String = t.chars().take(400).collect::<String>().to_lowercase();
            let words: Vec<String> = head
                .split(|c: char| !(c.is_alphanumeric() || c == '+' || c == '#'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            let hits: Vec<&str> = KEYWORD_INTENTS
                .iter()
                .filter(|(_, patterns)| patterns.iter().any(|p| matches(&words, p)))
                .map(|(name, _)| *name)
                .collect();
            (hits.len() == 1).then(|| hits[0])
        })
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    intent.iter().flatten().for_each(|i| *counts.entry(i).or_default() += 1);
    let (mut d, mut l, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for (i, found) in intent.iter().enumerate() {
        if let Some(name) = found.filter(|n| counts[n] >= 8) {
            d.extend_from_slice(&data[i * dim..(i + 1) * dim]);
            l.push(format!("sharegpt_keywords/{name}"));
            t.push(texts[i].clone());
        }
    }
    (d, l, t)
}

/// `smalltalk34`: the small-talk intents of `common/smalltalk.rs`, embedded by `model`.
fn smalltalk_set(model: &MiniLm) -> Result<Set, Box<dyn std::error::Error>> {
    let rows = smalltalk::smalltalk();
    let texts: Vec<String> = rows.iter().map(|(t, _)| t.clone()).collect();
    let labels: Vec<String> = rows.iter().map(|(_, l)| format!("smalltalk34/{l}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let data = model.embed(&refs, 2, Precision::F32, &|| Ok(()))?.concat();
    Ok(Set {
        name: "smalltalk34".into(),
        dim: data.len() / texts.len().max(1),
        data,
        truth: Some(numbered(&labels)),
        names: Some(label_names(&labels)),
        domain: None,
        texts,
    })
}

/// The sets of `EXTRA`'s directory, in name order: vectors stored beside them or made by `model`.
fn extra_sets(dir: &str, model: Option<&MiniLm>) -> Result<Vec<Set>, Box<dyn std::error::Error>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".jsonl").map(str::to_string))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let texts = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?;
        let lines: Vec<serde_json::Value> = texts.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
        let texts: Vec<String> = lines.iter().map(|v| v["text"].as_str().unwrap_or("").to_string()).collect();
        let data: Vec<f32> = match std::fs::read(format!("{dir}/{name}.emb.f32")) {
            Ok(raw) => raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Err(_) => {
                let model = model.ok_or("MODEL_DIR is needed to embed the EXTRA sets")?;
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                model.embed(&refs, 2, Precision::F32, &|| Ok(()))?.concat()
            }
        };
        let labels: Vec<String> =
            lines.iter().map(|v| v["label"].as_str().map_or("-".to_string(), |l| format!("{name}/{l}"))).collect();
        let labelled = lines.iter().any(|v| v["label"].is_string());
        out.push(Set {
            name,
            dim: data.len() / texts.len().max(1),
            data,
            truth: labelled.then(|| numbered(&labels)),
            names: labelled.then(|| label_names(&labels)),
            domain: None,
            texts,
        });
    }
    Ok(out)
}

fn sets(dir: &str, offline: bool) -> Result<Vec<Set>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let (bbc, bbc_labels, bbc_texts) = load(dir, "bbc5", offline)?;
    let (dna, dna_labels, dna_texts) = load(dir, "donotanswer5", offline)?;
    let (share, _, share_texts) = load(dir, "sharegpt_prompts", offline)?;
    let dim = bbc.len() / bbc_labels.len();
    let known = |l: &[Option<String>]| l.iter().map(|x| x.clone().unwrap_or_default()).collect::<Vec<_>>();
    let (bbc_labels, dna_labels) = (known(&bbc_labels), known(&dna_labels));
    let set = |name: &str, texts: &[String], data: Vec<f32>, labels: Option<&[String]>, domain| Set {
        name: name.into(),
        texts: texts.to_vec(),
        dim,
        data,
        truth: labels.map(numbered),
        names: labels.map(label_names),
        domain,
    };
    out.push(set("bbc5", &bbc_texts, bbc.clone(), Some(&bbc_labels), None));
    out.push(set("donotanswer5", &dna_texts, dna.clone(), Some(&dna_labels), None));
    let share_data = share.clone();
    out.push(set("sharegpt_prompts", &share_texts, share, None, None));
    let mix: Vec<f32> = bbc.iter().chain(&dna).copied().collect();
    let mix_labels: Vec<String> = bbc_labels.iter().chain(&dna_labels).cloned().collect();
    let mix_texts: Vec<String> = bbc_texts.iter().chain(&dna_texts).cloned().collect();
    let domain =
        |l: &[String]| numbered(&l.iter().map(|s| s.split('/').next().unwrap_or("").to_string()).collect::<Vec<_>>());
    out.push(set("mix10", &mix_texts, mix.clone(), Some(&mix_labels), Some(domain(&mix_labels))));
    let (d, l, t) = subset(dim, &mix, &mix_labels, &mix_texts, |g| 1.0 / (g as f64 + 1.0));
    out.push(set("mix10_unequal", &t, d, Some(&l), Some(domain(&l))));
    let (d, l, t) = keyword_intents(dim, &share_data, &share_texts);
    out.push(set("sharegpt_keywords", &t, d, Some(&l), None));
    let (d, l, t) = subset(dim, &mix, &mix_labels, &mix_texts, |g| match g {
        1 => 1.0,
        6 => 1.0 / 3.0,
        8 => 1.0 / 9.0,
        _ => 0.0,
    });
    out.push(set("mix3", &t, d, Some(&l), None));
    Ok(out)
}

/// The offline labels of a run (clusters and themes, as `run_job` makes them, titles chosen
/// with the built-in model): how many titles are distinct, how many titles' embeddings are
/// nearest their own cluster's (theme's) centroid among all, how many are "X and Y" pairs,
/// and, where the set has label names, the rank of the cluster's true label name (its
/// items' commonest) among the set's label names by similarity to the title (1 = the
/// title is closest to its own label's name), beside the same rank for the centroid itself.
/// `TITLES=N` prints each set's first N cluster titles (default 10) and its theme titles.
fn titles(set: &Set, result: &Clustering, model: &MiniLm) -> Result<String, Box<dyn std::error::Error>> {
    let docs: Vec<(i32, u32, &str)> = (0..result.labels.len())
        .filter(|&i| result.rank[i] < 200)
        .map(|i| (result.labels[i], result.rank[i], set.texts[i].as_str()))
        .collect();
    let embed = |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        model.embed(&refs, 2, Precision::F32, &|| Ok(()))
    };
    let run = offline_labels(&docs, result, Some(&embed));
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
    let own_nearest = |labels: &[ClusterLabel], centroids: &[Vec<f32>]| -> Result<usize, Box<dyn std::error::Error>> {
        let v = embed(&labels.iter().map(|l| l.title.clone()).collect::<Vec<_>>())?;
        Ok(v.iter()
            .enumerate()
            .filter(|(c, t)| {
                (0..centroids.len()).all(|o| o == *c || cosine(&centroids[o], t) < cosine(&centroids[*c], t))
            })
            .count())
    };
    let distinct =
        |labels: &[ClusterLabel]| labels.iter().map(|l| l.title.to_lowercase()).collect::<HashSet<_>>().len();
    let pairs = |labels: &[ClusterLabel]| labels.iter().filter(|l| is_and_pair(&l.title)).count();
    let ungrammatical = |labels: &[ClusterLabel]| labels.iter().filter(|l| !reads_as_a_title(&l.title)).count();
    let words = |labels: &[ClusterLabel]| {
        labels.iter().filter(|l| (3..=8).contains(&l.title.split_whitespace().count())).count()
    };
    let (k, t) = (result.n_clusters, result.n_themes);
    let mut out = format!(
        "{:<17} titles: distinct {}/{k}, nearest their own centroid {}/{k}, \"X and Y\" pairs {}/{k} (any \" and \": {}), \
         fragments {}/{k}, 3-8 words {}/{k}; themes: distinct {}/{t}, nearest their own centroid {}/{t}, pairs {}/{t}, \
         fragments {}/{t}",
        set.name,
        distinct(&run.clusters),
        own_nearest(&run.clusters, &result.centroids)?,
        pairs(&run.clusters),
        run.clusters.iter().filter(|l| l.title.contains(" and ")).count(),
        ungrammatical(&run.clusters),
        words(&run.clusters),
        distinct(&run.themes),
        own_nearest(&run.themes, &result.theme_centroids)?,
        pairs(&run.themes),
        ungrammatical(&run.themes),
    );
    if std::env::var("FRAGMENTS").is_ok() {
        let shown: Vec<String> = run
            .clusters
            .iter()
            .chain(&run.themes)
            .filter(|l| !reads_as_a_title(&l.title))
            .map(|l| format!("\"{}\"", l.title))
            .collect();
        out += &format!("\n    fragments: {}", shown.join(", "));
    }
    if let (Some(truth), Some(names)) = (&set.truth, &set.names) {
        let name_vectors = embed(names)?;
        let title_vectors = embed(&run.clusters.iter().map(|l| l.title.clone()).collect::<Vec<_>>())?;
        // The rank of name `own` among all names by similarity to `v` (1 = nearest).
        let rank = |v: &[f32], own: usize| {
            let own_cos = cosine(v, &name_vectors[own]);
            1 + name_vectors.iter().filter(|n| cosine(v, n) > own_cos).count()
        };
        let (mut title_ranks, mut centroid_ranks, mut ranked) = (Vec::new(), Vec::new(), Vec::new());
        for (c, (title, centroid)) in title_vectors.iter().zip(&result.centroids).enumerate() {
            let mut counts: HashMap<i32, usize> = HashMap::new();
            for (i, &l) in result.labels.iter().enumerate() {
                if l == c as i32 {
                    *counts.entry(truth[i]).or_default() += 1;
                }
            }
            let Some((&own, _)) = counts.iter().max_by_key(|(l, n)| (**n, -**l)) else { continue };
            title_ranks.push(rank(title, own as usize));
            centroid_ranks.push(rank(centroid, own as usize));
            ranked.push(format!(
                "\"{}\" ({}: {})",
                run.clusters[c].title,
                names[own as usize],
                rank(title, own as usize)
            ));
        }
        let summary = |ranks: &[usize]| {
            format!(
                "mean rank {:.2}, first {}/{}",
                ranks.iter().sum::<usize>() as f64 / ranks.len().max(1) as f64,
                ranks.iter().filter(|&&r| r == 1).count(),
                ranks.len()
            )
        };
        out += &format!(
            "\n    true label name among {} names: by title {}; by centroid {}",
            names.len(),
            summary(&title_ranks),
            summary(&centroid_ranks)
        );
        // `RANKS=1`: each title with its majority label's name and that name's rank.
        if std::env::var("RANKS").is_ok() {
            out += &format!("\n    ranks: {}", ranked.join(", "));
        }
    }
    let shown: usize = std::env::var("TITLES").ok().and_then(|n| n.parse().ok()).unwrap_or(10);
    let quoted = |labels: &[ClusterLabel], n: usize| {
        labels.iter().take(n).map(|l| format!("\"{}\"", l.title)).collect::<Vec<_>>().join(", ")
    };
    out += &format!("\n    clusters: {}\n    themes: {}", quoted(&run.clusters, shown), quoted(&run.themes, t));
    if std::env::var("DESCRIPTIONS").is_ok() {
        for l in run.clusters.iter().take(shown) {
            out += &format!("\n    [{}] {}", l.title, l.description.replace('\n', " / "));
        }
    }
    Ok(out)
}

/// A title of two short phrases joined by "and" ("Poem and story", "Stock and firm"): the
/// keyword glue the titles must avoid unless the cluster is both.
fn is_and_pair(title: &str) -> bool {
    match title.split_once(" and ") {
        Some((a, b)) => a.split_whitespace().count() <= 2 && b.split_whitespace().count() <= 2,
        None => false,
    }
}

/// A grammar check of a title, kept apart from the labeller's own rules (its own word
/// lists): a fragment starts with a pronoun, possessive, conjunction or adverb ("My
/// package", "Usually an m"), holds a contraction or a finite verb ("link doesn't",
/// "Password is wrong"), ends in a function word, an auxiliary, a pronoun, an adverb, a
/// common adjective or a participle ("Shipped yet", "Formula to calculate", "Questions
/// about legal", "Stereotypes associated"), or is a list of keywords ("Forgotten, password, reset").
fn reads_as_a_title(title: &str) -> bool {
    const BAD_FIRST: &[&str] = &[
        "i", "my", "me", "you", "your", "it", "its", "we", "our", "they", "their", "he", "she", "his", "her", "this",
        "that", "these", "those", "and", "or", "but", "of", "to", "yet", "so", "if", "then", "because", "is", "are",
    ];
    const BAD_ANYWHERE: &[&str] = &["is", "are", "was", "were", "am", "has", "have", "had", "does", "did", "don't"];
    const BAD_LAST: &[&str] = &[
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "about",
        "as",
        "into",
        "and",
        "or",
        "but",
        "be",
        "been",
        "do",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "not",
        "yet",
        "now",
        "again",
        "still",
        "already",
        "just",
        "too",
        "also",
        "very",
        "i",
        "me",
        "my",
        "you",
        "your",
        "it",
        "its",
        "we",
        "our",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "how",
        "what",
        "why",
        "when",
        "where",
        "which",
        "who",
        "like",
        "some",
        "any",
        "all",
        "more",
        "most",
        "other",
        "nothing",
        "something",
        "please",
        "thanks",
        "here",
        "there",
        "simple",
        "new",
        "old",
        "good",
        "bad",
        "best",
        "wrong",
        "right",
        "different",
        "free",
        "easy",
        "hard",
        "specific",
        "general",
        "private",
        "public",
        "local",
        "global",
        "legal",
        "illegal",
        "online",
        "sexual",
        "personal",
        "financial",
        "medical",
        "political",
        "social",
        "mental",
        "physical",
        "racial",
        "ethnic",
        "emotional",
        "negative",
        "positive",
        "offensive",
        "harmful",
        "dangerous",
        "possible",
        "available",
        "able",
        "sure",
        "back",
        "one",
        "two",
        "three",
    ];
    let words: Vec<String> = title
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else { return false };
    let contraction =
        words.iter().any(|w| w.contains("n't") || ["it's", "that's", "what's", "i'm"].contains(&w.as_str()));
    // A clause after "whether", "when" or "where" may hold its finite verb and end in a
    // participle ("Asking whether orders have shipped").
    let clause = words.iter().position(|w| ["whether", "when", "where"].contains(&w.as_str())).filter(|&at| at > 0);
    let outside = &words[..clause.unwrap_or(words.len())];
    let participle = clause.is_none() && last.len() > 4 && last.ends_with("ed") && !last.ends_with("eed");
    let adverb_first =
        first.ends_with("ly") && title.split_whitespace().nth(1).is_some_and(|w| w.starts_with(char::is_lowercase));
    !(BAD_FIRST.contains(&first.as_str())
        || BAD_LAST.contains(&last.as_str())
        || outside.iter().any(|w| BAD_ANYWHERE.contains(&w.as_str()))
        || contraction
        || participle
        || adverb_first
        || last.ends_with("ous")
        || title.contains(", "))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: evaluate DIR [graph|kmeans|hdbscan] [seed] [offline]")?;
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(42);
    let offline = args.get(4).is_some_and(|a| a == "offline");
    let mut params = match std::env::var("PARAMS") {
        Ok(json) => Params::from_json(&serde_json::from_str(&json)?)?,
        Err(_) => Params::default(),
    };
    params.seed = seed;
    params.method = match args.get(2).map(String::as_str) {
        Some("hdbscan") => Method::Hdbscan,
        Some("kmeans") => Method::KMeans,
        Some("graph") => Method::Graph,
        _ => params.method,
    };
    println!(
        "{:<17} {:>5} {:>6} {:>6} {:>4} {:>6} {:>7} {:>6} {:>6} {:>7} | {:>6} {:>6} {:>5}",
        "set", "items", "ARI", "NMI", "k", "themes", "outlier", "larg.", "trust", "thARI", "kmARI", "kmNMI", "true"
    );
    let model = std::env::var("MODEL_DIR").ok().map(|d| MiniLm::load(std::path::Path::new(&d))).transpose()?;
    let mut title_lines = Vec::new();
    let mut all = sets(dir, offline)?;
    if let Some(model) = &model {
        all.push(smalltalk_set(model)?);
    }
    if let Ok(extra) = std::env::var("EXTRA") {
        all.extend(extra_sets(&extra, model.as_ref())?);
    }
    // `SETS=demo,sharegpt_prompts` runs only those.
    if let Ok(only) = std::env::var("SETS") {
        all.retain(|s| only.split(',').any(|n| n == s.name));
    }
    for set in all {
        let n = set.data.len() / set.dim;
        let original = Array2::from_shape_vec((n, set.dim), set.data.clone())?;
        let mut data = set.data.clone();
        let t = std::time::Instant::now();
        let result = cluster(&mut data, set.dim, &params, None, &|| Ok(()))?;
        let secs = t.elapsed().as_secs_f64();
        let map = Array2::from_shape_fn((n, 2), |(i, j)| result.coords[i][j]);
        let sample: Vec<usize> = (0..n).step_by((n / 1500).max(1)).collect();
        let trust = trustworthiness(original.select(Axis(0), &sample).view(), map.select(Axis(0), &sample).view(), 10);
        let item_theme = result.item_themes();
        let theme_ari = set
            .domain
            .as_ref()
            .or(set.truth.as_ref())
            .map_or("-".into(), |d| format!("{:.3}", adjusted_rand_index(d, &item_theme)));
        let (ari, nmi, base) = match &set.truth {
            Some(t) => {
                let k = t.iter().copied().max().unwrap_or(0) as usize + 1;
                let model =
                    linfa_clustering::KMeans::params_with_rng(k, rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed))
                        .fit(&DatasetBase::from(original.clone()))?;
                let base_labels: Vec<i32> = model.predict(&original).iter().map(|&l| l as i32).collect();
                (
                    format!("{:.3}", adjusted_rand_index(t, &result.labels)),
                    format!("{:.3}", normalized_mutual_info(t, &result.labels)),
                    format!(
                        "{:>6.3} {:>6.3} {:>5}",
                        adjusted_rand_index(t, &base_labels),
                        normalized_mutual_info(t, &base_labels),
                        k
                    ),
                )
            }
            None => ("-".into(), "-".into(), format!("{:>6} {:>6} {:>5}", "-", "-", "-")),
        };
        println!(
            "{:<17} {:>5} {:>6} {:>6} {:>4} {:>6} {:>6.1}% {:>5.1}% {:>6.3} {:>7} | {}  ({secs:.1} s)",
            set.name,
            n,
            ari,
            nmi,
            result.n_clusters,
            result.n_themes,
            100.0 * result.quality.outlier_share,
            100.0 * result.quality.largest_cluster_share,
            trust,
            theme_ari,
            base,
        );
        if let Some(model) = model.as_ref().filter(|_| std::env::var("NO_TITLES").is_err()) {
            title_lines.push(titles(&set, &result, model)?);
        }
    }
    for line in title_lines {
        println!("{line}");
    }
    Ok(())
}
