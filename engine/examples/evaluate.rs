//! Quality of the pipeline on labelled text sets: ARI and NMI against the labels (outliers
//! count as one more label), number of clusters, outlier share, largest cluster share and
//! trustworthiness (k = 10) of the 2-D map, beside k-means told the true number of clusters.
//!
//! cargo run --release -p llm_clusters_engine --example evaluate -- DIR [method] [seed] [offline]
//! DIR holds NAME.jsonl ({"text", "label"} per line) and NAME.emb.f32 (float32 rows).
//! With `offline`, the texts are embedded by the built-in offline embedder instead.

use linfa::prelude::*;
use llm_clusters_engine::cluster::metrics::{adjusted_rand_index, normalized_mutual_info, trustworthiness};
use llm_clusters_engine::cluster::{cluster, Method, Params};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use std::collections::HashMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: evaluate DIR [kmeans|hdbscan] [seed]")?;
    let method = match args.get(2).map(String::as_str) {
        Some("hdbscan") => Method::Hdbscan,
        _ => Method::KMeans,
    };
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(42);
    let offline = args.get(4).is_some_and(|a| a == "offline");
    println!(
        "{:<18} {:>6} {:>7} {:>7} {:>9} {:>9} {:>8} {:>7} | {:>10} {:>10}",
        "set", "items", "ARI", "NMI", "clusters", "outliers", "largest", "trust", "kmeans-k ARI", "NMI"
    );
    for name in ["bbc5", "donotanswer5", "sharegpt_prompts"] {
        let texts = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?;
        let n = texts.lines().count();
        let mut data: Vec<f32> = if offline {
            let t = std::time::Instant::now();
            let v: Vec<f32> = texts
                .lines()
                .flat_map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("jsonl line");
                    llm_clusters_engine::embedder::hash::embed(v["text"].as_str().unwrap_or(""))
                })
                .collect();
            let secs = t.elapsed().as_secs_f64();
            println!("    offline embedder: {n} texts in {secs:.2} s = {:.0} texts/s", n as f64 / secs);
            v
        } else {
            let raw = std::fs::read(format!("{dir}/{name}.emb.f32"))?;
            raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        let dim = data.len() / n;
        let mut names: HashMap<String, i32> = HashMap::new();
        let truth: Vec<Option<i32>> = texts
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("jsonl line");
                v["label"].as_str().map(|s| {
                    let next = names.len() as i32;
                    *names.entry(s.to_string()).or_insert(next)
                })
            })
            .collect();
        let original = Array2::from_shape_vec((n, dim), data.clone())?;
        let params = Params { method, seed, ..Params::default() };
        let t = std::time::Instant::now();
        let result = cluster(&mut data, dim, &params, None, &|| Ok(()))?;
        let secs = t.elapsed().as_secs_f64();
        let map = Array2::from_shape_fn((n, 2), |(i, j)| result.coords[i][j]);
        let sample: Vec<usize> = (0..n).step_by((n / 1500).max(1)).collect();
        let trust = trustworthiness(original.select(Axis(0), &sample).view(), map.select(Axis(0), &sample).view(), 10);
        let (ari, nmi, base) = if truth.iter().all(Option::is_some) {
            let t: Vec<i32> = truth.iter().map(|x| x.unwrap_or(-1)).collect();
            let k = names.len();
            let model =
                linfa_clustering::KMeans::params_with_rng(k, rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed))
                    .fit(&DatasetBase::from(original.clone()))?;
            let base_labels: Vec<i32> = model.predict(&original).iter().map(|&l| l as i32).collect();
            (
                format!("{:.3}", adjusted_rand_index(&t, &result.labels)),
                format!("{:.3}", normalized_mutual_info(&t, &result.labels)),
                format!(
                    "{:>10.3} {:>10.3}",
                    adjusted_rand_index(&t, &base_labels),
                    normalized_mutual_info(&t, &base_labels)
                ),
            )
        } else {
            ("-".into(), "-".into(), format!("{:>10} {:>10}", "-", "-"))
        };
        println!(
            "{:<18} {:>6} {:>7} {:>7} {:>9} {:>8.1}% {:>7.1}% {:>7.3} | {}   ({secs:.1} s, silhouette {:.3})",
            name,
            n,
            ari,
            nmi,
            result.n_clusters,
            100.0 * result.quality.outlier_share,
            100.0 * result.quality.largest_cluster_share,
            trust,
            base,
            result.quality.silhouette
        );
        if method == Method::KMeans {
            let ks: Vec<String> = result
                .quality
                .k_candidates
                .iter()
                .map(|(k, s, l, m)| format!("{k}:{s:.3}/{:.0}%/{:.1}%", l * 100.0, m * 100.0))
                .collect();
            println!("    k candidates (k:silhouette/largest/smallest): {}", ks.join(" "));
        }
    }
    Ok(())
}
