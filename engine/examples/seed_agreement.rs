//! Agreement between fresh runs with other seeds: per set, the clusters' and the themes'
//! ARI between seeds (every pair), and, for labelled sets, each seed's cluster NMI and ARI
//! against the labels. Shows what a run depends on its seed for.
//!
//! cargo run --release -p llm_clusters_engine --example seed_agreement -- DIR [seeds, e.g. 1,2,3]
//! `PARAMS='{"pca_sample": 1000, "map_sample": 2000}'` sets job parameters (samples smaller
//! than a set make the seed choose them).
use llm_clusters_engine::cluster::quality::{adjusted_rand_index, normalized_mutual_info};
use llm_clusters_engine::cluster::{cluster, Params};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: seed_agreement DIR [seeds]")?;
    let seeds: Vec<u64> =
        args.get(2).map_or("1,2,3", String::as_str).split(',').map(str::parse).collect::<Result<_, _>>()?;
    let base = match std::env::var("PARAMS") {
        Ok(json) => Params::from_json(&serde_json::from_str(&json)?)?,
        Err(_) => Params::default(),
    };
    for name in ["bbc5", "donotanswer5", "sharegpt_prompts"] {
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        let truth: Vec<String> = lines.iter().map(|v| v["label"].as_str().unwrap_or("").to_string()).collect();
        let labelled = truth.iter().any(|l| !l.is_empty());
        let mut ids = std::collections::HashMap::new();
        let truth: Vec<i32> = truth
            .iter()
            .map(|l| {
                let k = ids.len() as i32;
                *ids.entry(l.clone()).or_insert(k)
            })
            .collect();
        let raw = std::fs::read(format!("{dir}/{name}.emb.f32"))?;
        let data: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let dim = data.len() / lines.len();
        let mut runs = Vec::new();
        for &seed in &seeds {
            let mut x = data.clone();
            let c = cluster(&mut x, dim, &Params { seed, ..base.clone() }, None, &|| Ok(()))?;
            let quality = if labelled {
                format!(
                    " ARI {:.3} NMI {:.3}",
                    adjusted_rand_index(&truth, &c.labels),
                    normalized_mutual_info(&truth, &c.labels)
                )
            } else {
                String::new()
            };
            println!("{name} seed {seed}: {} clusters, {} themes{quality}", c.n_clusters, c.n_themes);
            runs.push((c.labels.clone(), c.item_themes()));
        }
        for a in 0..runs.len() {
            for b in a + 1..runs.len() {
                println!(
                    "{name} seeds {} / {}: cluster ARI {:.3}, theme ARI {:.3}",
                    seeds[a],
                    seeds[b],
                    adjusted_rand_index(&runs[a].0, &runs[b].0),
                    adjusted_rand_index(&runs[a].1, &runs[b].1)
                );
            }
        }
    }
    Ok(())
}
