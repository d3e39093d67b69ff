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
    out.push(set("sharegpt_prompts", &share_texts, share, None, None));
    let mix: Vec<f32> = bbc.iter().chain(&dna).copied().collect();
    let mix_labels: Vec<String> = bbc_labels.iter().chain(&dna_labels).cloned().collect();
    let mix_texts: Vec<String> = bbc_texts.iter().chain(&dna_texts).cloned().collect();
    let domain =
        |l: &[String]| numbered(&l.iter().map(|s| s.split('/').next().unwrap_or("").to_string()).collect::<Vec<_>>());
    out.push(set("mix10", &mix_texts, mix.clone(), Some(&mix_labels), Some(domain(&mix_labels))));
    let (d, l, t) = subset(dim, &mix, &mix_labels, &mix_texts, |g| 1.0 / (g as f64 + 1.0));
    out.push(set("mix10_unequal", &t, d, Some(&l), Some(domain(&l))));
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
    let (k, t) = (result.n_clusters, result.n_themes);
    let mut out = format!(
        "{:<17} titles: distinct {}/{k}, nearest their own centroid {}/{k}, \"X and Y\" pairs {}/{k} (any \" and \": {}); \
         themes: distinct {}/{t}, nearest their own centroid {}/{t}, pairs {}/{t}",
        set.name,
        distinct(&run.clusters),
        own_nearest(&run.clusters, &result.centroids)?,
        pairs(&run.clusters),
        run.clusters.iter().filter(|l| l.title.contains(" and ")).count(),
        distinct(&run.themes),
        own_nearest(&run.themes, &result.theme_centroids)?,
        pairs(&run.themes),
    );
    if let (Some(truth), Some(names)) = (&set.truth, &set.names) {
        let name_vectors = embed(names)?;
        let title_vectors = embed(&run.clusters.iter().map(|l| l.title.clone()).collect::<Vec<_>>())?;
        // The rank of name `own` among all names by similarity to `v` (1 = nearest).
        let rank = |v: &[f32], own: usize| {
            let own_cos = cosine(v, &name_vectors[own]);
            1 + name_vectors.iter().filter(|n| cosine(v, n) > own_cos).count()
        };
        let (mut title_ranks, mut centroid_ranks) = (Vec::new(), Vec::new());
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
