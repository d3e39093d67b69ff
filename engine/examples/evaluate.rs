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
use llm_clusters_engine::cluster::metrics::{adjusted_rand_index, normalized_mutual_info, trustworthiness};
use llm_clusters_engine::cluster::{cluster, Method, Params};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use std::collections::HashMap;

struct Set {
    name: String,
    dim: usize,
    data: Vec<f32>,
    truth: Option<Vec<i32>>,
    /// A coarser truth (the domain) for the themes, where there is one.
    domain: Option<Vec<i32>>,
}

fn load(dir: &str, name: &str, offline: bool) -> Result<(Vec<f32>, Vec<Option<String>>), Box<dyn std::error::Error>> {
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
    Ok((data, labels))
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

/// Rows of `(data, labels)` whose group keeps `keep(group index)` of its items (the first ones).
fn subset(dim: usize, data: &[f32], labels: &[String], keep: impl Fn(usize) -> f64) -> (Vec<f32>, Vec<String>) {
    let groups = numbered(labels);
    let mut counts: HashMap<i32, usize> = HashMap::new();
    let totals = groups.iter().fold(HashMap::new(), |mut m: HashMap<i32, usize>, g| {
        *m.entry(*g).or_default() += 1;
        m
    });
    let (mut d, mut l) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        let seen = counts.entry(*g).or_default();
        *seen += 1;
        if (*seen as f64) <= keep(*g as usize) * totals[g] as f64 {
            d.extend_from_slice(&data[i * dim..(i + 1) * dim]);
            l.push(labels[i].clone());
        }
    }
    (d, l)
}

fn sets(dir: &str, offline: bool) -> Result<Vec<Set>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let (bbc, bbc_labels) = load(dir, "bbc5", offline)?;
    let (dna, dna_labels) = load(dir, "donotanswer5", offline)?;
    let (share, _) = load(dir, "sharegpt_prompts", offline)?;
    let dim = bbc.len() / bbc_labels.len();
    let known = |l: &[Option<String>]| l.iter().map(|x| x.clone().unwrap_or_default()).collect::<Vec<_>>();
    let (bbc_labels, dna_labels) = (known(&bbc_labels), known(&dna_labels));
    out.push(Set { name: "bbc5".into(), dim, data: bbc.clone(), truth: Some(numbered(&bbc_labels)), domain: None });
    out.push(Set {
        name: "donotanswer5".into(),
        dim,
        data: dna.clone(),
        truth: Some(numbered(&dna_labels)),
        domain: None,
    });
    out.push(Set { name: "sharegpt_prompts".into(), dim, data: share, truth: None, domain: None });
    let mix: Vec<f32> = bbc.iter().chain(&dna).copied().collect();
    let mix_labels: Vec<String> = bbc_labels.iter().chain(&dna_labels).cloned().collect();
    let domain =
        |l: &[String]| numbered(&l.iter().map(|s| s.split('/').next().unwrap_or("").to_string()).collect::<Vec<_>>());
    out.push(Set {
        name: "mix10".into(),
        dim,
        data: mix.clone(),
        truth: Some(numbered(&mix_labels)),
        domain: Some(domain(&mix_labels)),
    });
    let (d, l) = subset(dim, &mix, &mix_labels, |g| 1.0 / (g as f64 + 1.0));
    out.push(Set { name: "mix10_unequal".into(), dim, data: d, truth: Some(numbered(&l)), domain: Some(domain(&l)) });
    let (d, l) = subset(dim, &mix, &mix_labels, |g| match g {
        1 => 1.0,
        6 => 1.0 / 3.0,
        8 => 1.0 / 9.0,
        _ => 0.0,
    });
    out.push(Set { name: "mix3".into(), dim, data: d, truth: Some(numbered(&l)), domain: None });
    Ok(out)
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
        let item_theme: Vec<i32> =
            result.labels.iter().map(|&l| if l < 0 { -1 } else { result.themes[l as usize] as i32 }).collect();
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
    }
    Ok(())
}
