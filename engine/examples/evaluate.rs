//! Quality of the pipeline on labelled text sets: ARI and NMI against the labels (outliers
//! count as one more label), number of clusters and themes, outlier share, largest
//! cluster share and trustworthiness (k = 10) of the 2-D map, beside k-means told the true
//! number of clusters. Besides the sets in DIR it builds harder ones from them, so that no
//! rule can fit "5 groups of equal size":
//! - `mix10`: bbc5 and donotanswer5 in one set (10 groups, two domains);
//! - `mix10_unequal`: the same with group g keeping 1/(g+1) of its items (from all to 1/10);
//! - `mix3`: three groups of mix10 of very different size (all, 1/3, 1/9 of their items).
//!
//! cargo run --release -p llm_clusters_engine --example evaluate -- DIR [method] [seed] [offline]
//! DIR holds NAME.jsonl ({"text", "label"} per line) and NAME.emb.f32 (float32 rows).
//! With `offline`, the texts are embedded by the hashed bag-of-words embedder instead.
//! `PARAMS='{"resolution": 1.5}'` sets job parameters.

use linfa::prelude::*;
use llm_clusters_engine::cluster::labels::{label_clusters, ClusterLabel};
use llm_clusters_engine::cluster::quality::{adjusted_rand_index, normalized_mutual_info, trustworthiness};
use llm_clusters_engine::cluster::{cluster, cluster_sizes, Clustering, Method, Params};
use llm_clusters_engine::embedder::minilm::MiniLm;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use std::collections::HashMap;

struct Set {
    name: String,
    texts: Vec<String>,
    dim: usize,
    data: Vec<f32>,
    truth: Option<Vec<i32>>,
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

fn sets(dir: &str, offline: bool) -> Result<Vec<Set>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let (bbc, bbc_labels, bbc_texts) = load(dir, "bbc5", offline)?;
    let (dna, dna_labels, dna_texts) = load(dir, "donotanswer5", offline)?;
    let (share, _, share_texts) = load(dir, "sharegpt_prompts", offline)?;
    let dim = bbc.len() / bbc_labels.len();
    let known = |l: &[Option<String>]| l.iter().map(|x| x.clone().unwrap_or_default()).collect::<Vec<_>>();
    let (bbc_labels, dna_labels) = (known(&bbc_labels), known(&dna_labels));
    let set = |name: &str, texts: &[String], data: Vec<f32>, truth, domain| Set {
        name: name.into(),
        texts: texts.to_vec(),
        dim,
        data,
        truth,
        domain,
    };
    out.push(set("bbc5", &bbc_texts, bbc.clone(), Some(numbered(&bbc_labels)), None));
    out.push(set("donotanswer5", &dna_texts, dna.clone(), Some(numbered(&dna_labels)), None));
    out.push(set("sharegpt_prompts", &share_texts, share, None, None));
    let mix: Vec<f32> = bbc.iter().chain(&dna).copied().collect();
    let mix_labels: Vec<String> = bbc_labels.iter().chain(&dna_labels).cloned().collect();
    let mix_texts: Vec<String> = bbc_texts.iter().chain(&dna_texts).cloned().collect();
    let domain =
        |l: &[String]| numbered(&l.iter().map(|s| s.split('/').next().unwrap_or("").to_string()).collect::<Vec<_>>());
    out.push(set("mix10", &mix_texts, mix.clone(), Some(numbered(&mix_labels)), Some(domain(&mix_labels))));
    let (d, l, t) = subset(dim, &mix, &mix_labels, &mix_texts, |g| 1.0 / (g as f64 + 1.0));
    out.push(set("mix10_unequal", &t, d, Some(numbered(&l)), Some(domain(&l))));
    let (d, l, t) = subset(dim, &mix, &mix_labels, &mix_texts, |g| match g {
        1 => 1.0,
        6 => 1.0 / 3.0,
        8 => 1.0 / 9.0,
        _ => 0.0,
    });
    out.push(set("mix3", &t, d, Some(numbered(&l)), None));
    Ok(out)
}

/// Offline titles with and without re-ranking by the built-in model: how many are
/// distinct, and how many titles' embeddings are nearest to their own cluster's centroid
/// among all centroids; and the largest clusters' titles.
fn titles(set: &Set, result: &Clustering, model: &MiniLm) -> Result<String, Box<dyn std::error::Error>> {
    let docs: Vec<(i32, &str)> = (0..result.labels.len())
        .filter(|&i| result.rank[i] < 200)
        .map(|i| (result.labels[i], set.texts[i].as_str()))
        .collect();
    let mut best: Vec<(u32, usize)> = Vec::new();
    let mut snippets: Vec<Vec<&str>> = vec![Vec::new(); result.n_clusters];
    for (i, &l) in result.labels.iter().enumerate() {
        if l >= 0 && result.rank[i] < 3 {
            best.push((result.rank[i], i));
        }
    }
    best.sort();
    for (_, i) in best {
        snippets[result.labels[i] as usize].push(&set.texts[i]);
    }
    let sizes = cluster_sizes(&result.labels, result.n_clusters);
    let embed = |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        model.embed(&refs, 2, &|| Ok(()))
    };
    let plain = label_clusters(&docs, result.n_clusters, &sizes, &snippets, None);
    let reranked = label_clusters(&docs, result.n_clusters, &sizes, &snippets, Some((&result.centroids, &embed)));
    let own_nearest = |labels: &[ClusterLabel]| -> Result<usize, Box<dyn std::error::Error>> {
        let titles: Vec<String> = labels.iter().map(|l| l.title.clone()).collect();
        let v = embed(&titles)?;
        Ok(v.iter()
            .enumerate()
            .filter(|(c, t)| {
                let cos = |o: usize| result.centroids[o].iter().zip(t.iter()).map(|(p, q)| p * q).sum::<f32>();
                (0..result.centroids.len()).all(|o| o == *c || cos(o) < cos(*c))
            })
            .count())
    };
    let distinct =
        |labels: &[ClusterLabel]| labels.iter().map(|l| &l.title).collect::<std::collections::HashSet<_>>().len();
    Ok(format!(
        "{:<17} titles: distinct {}/{k} (re-ranked {}/{k}); nearest their own centroid {}/{k} (re-ranked {}/{k})\n    {}",
        set.name,
        distinct(&plain),
        distinct(&reranked),
        own_nearest(&plain)?,
        own_nearest(&reranked)?,
        reranked.iter().take(10).map(|l| format!("\"{}\"", l.title)).collect::<Vec<_>>().join(", "),
        k = result.n_clusters,
    ))
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
    for set in sets(dir, offline)? {
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
        if let Some(model) = &model {
            title_lines.push(titles(&set, &result, model)?);
        }
    }
    for line in title_lines {
        println!("{line}");
    }
    Ok(())
}
