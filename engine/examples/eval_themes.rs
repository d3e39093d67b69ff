//! Themes against a known two-level hierarchy: NMI of the run's themes (outliers one more
//! label) against the parent groups, for several seeds, beside k-means told the number of
//! parents. Sets built from DIR (labelled sets of /work/shared/data):
//! - `bbc5`, `donotanswer5`: parents = their 5 labels (the run's clusters are finer);
//! - `mix10_unequal`: both, group g keeping 1/(g+1) of its items: 10 parents of unequal size;
//! - `domains3`: bbc5, donotanswer5 and sharegpt_prompts (all, 1/2, 1/3 of their items):
//!   parents = the 3 sources (lopsided: the largest holds over half the items).
//!
//! cargo run --release -p llm_clusters_engine --example eval_themes -- DIR [seeds]

use llm_clusters_engine::cluster::quality::normalized_mutual_info;
use llm_clusters_engine::cluster::{cluster, kmeans, Params};
use ndarray::ArrayView2;
use rand::SeedableRng;
use std::collections::HashMap;

const DIM: usize = 384;

/// Rows, and each row's label (`None`: unlabelled).
type Labelled = (Vec<f32>, Vec<Option<String>>);

/// The rows and labels of DIR/NAME.
fn load(dir: &str, name: &str) -> Result<Labelled, Box<dyn std::error::Error>> {
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let raw = std::fs::read(format!("{dir}/{name}.emb.f32"))?;
    let data = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((data, lines.iter().map(|v| v["label"].as_str().map(str::to_string)).collect()))
}

/// A set: rows and each row's parent (0..).
struct Set {
    name: &'static str,
    data: Vec<f32>,
    parents: Vec<i32>,
    parent_names: Vec<String>,
}

/// Keeps, of each group, the first `keep(group number)` share of its rows.
fn add(set: &mut Set, data: &[f32], groups: &[String], keep: impl Fn(usize) -> f64, parent: impl Fn(&str) -> String) {
    let mut names: Vec<String> = Vec::new();
    let totals = groups.iter().fold(HashMap::new(), |mut m: HashMap<&str, usize>, g| {
        *m.entry(g).or_default() += 1;
        m
    });
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        if !names.contains(g) {
            names.push(g.clone());
        }
        let number = names.iter().position(|n| n == g).unwrap_or(0);
        let count = seen.entry(g).or_default();
        *count += 1;
        if (*count as f64) > (totals[g.as_str()] as f64 * keep(number)).ceil() {
            continue;
        }
        let name = parent(g);
        let p = match set.parent_names.iter().position(|n| *n == name) {
            Some(p) => p as i32,
            None => {
                set.parent_names.push(name);
                set.parent_names.len() as i32 - 1
            }
        };
        set.data.extend_from_slice(&data[i * DIM..(i + 1) * DIM]);
        set.parents.push(p);
    }
}

fn sets(dir: &str) -> Result<Vec<Set>, Box<dyn std::error::Error>> {
    let (bbc, bbc_labels) = load(dir, "bbc5")?;
    let (dna, dna_labels) = load(dir, "donotanswer5")?;
    let (share, share_labels) = load(dir, "sharegpt_prompts")?;
    let named = |labels: &[Option<String>], set: &str| -> Vec<String> {
        labels.iter().map(|l| format!("{set}/{}", l.as_deref().unwrap_or("-"))).collect()
    };
    let (bbc_groups, dna_groups, share_groups) =
        (named(&bbc_labels, "bbc"), named(&dna_labels, "dna"), named(&share_labels, "sharegpt"));
    let new = |name| Set { name, data: Vec::new(), parents: Vec::new(), parent_names: Vec::new() };
    let mut out = Vec::new();
    let mut s = new("bbc5 (5 parents)");
    add(&mut s, &bbc, &bbc_groups, |_| 1.0, str::to_string);
    out.push(s);
    let mut s = new("donotanswer5 (5 parents)");
    add(&mut s, &dna, &dna_groups, |_| 1.0, str::to_string);
    out.push(s);
    let mut s = new("mix10_unequal (10 parents)");
    add(&mut s, &bbc, &bbc_groups, |g| 1.0 / (g + 1) as f64, str::to_string);
    add(&mut s, &dna, &dna_groups, |g| 1.0 / (g + 6) as f64 * 2.0, str::to_string);
    out.push(s);
    let mut s = new("domains3 (3 parents, lopsided)");
    let domain = |g: &str| g.split('/').next().unwrap_or("").to_string();
    add(&mut s, &bbc, &bbc_groups, |_| 1.0, domain);
    add(&mut s, &dna, &dna_groups, |_| 0.5, domain);
    add(&mut s, &share, &share_groups, |_| 1.0 / 3.0, domain);
    out.push(s);
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map_or("/work/shared/data", String::as_str);
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    println!(
        "set | seed | items | clusters | themes | largest theme | theme NMI vs parents | k-means (k = parents) NMI"
    );
    for set in sets(dir)? {
        let n = set.parents.len();
        let k = set.parents.iter().copied().max().map_or(0, |m| m + 1) as usize;
        let (mut theme_nmi, mut kmeans_nmi) = (Vec::new(), Vec::new());
        for seed in 1..=seeds {
            let params = Params { seed, ..Params::default() };
            let r = cluster(&mut set.data.clone(), DIM, &params, None, &|| Ok(()))?;
            let themes = r.item_themes();
            let largest = (0..r.n_themes as i32).map(|t| themes.iter().filter(|&&x| x == t).count()).max().unwrap_or(0);
            let nmi = normalized_mutual_info(&set.parents, &themes);
            let x = ArrayView2::from_shape((n, DIM), &set.data[..])?;
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
            let centres = kmeans::fit(x, k, 10, 100, None, &mut rng, &|| Ok(()))?;
            let told: Vec<i32> = x
                .rows()
                .into_iter()
                .map(|row| {
                    centres.rows().into_iter().enumerate().fold((0, f32::INFINITY), |best, (c, centre)| {
                        let d: f32 = row.iter().zip(centre).map(|(a, b)| (a - b) * (a - b)).sum();
                        if d < best.1 {
                            (c as i32, d)
                        } else {
                            best
                        }
                    })
                })
                .map(|(c, _)| c)
                .collect();
            let told_nmi = normalized_mutual_info(&set.parents, &told);
            println!(
                "{} | {seed} | {n} | {} | {} | {:.0}% | {nmi:.3} | {told_nmi:.3}",
                set.name,
                r.n_clusters,
                r.n_themes,
                100.0 * largest as f64 / n as f64
            );
            theme_nmi.push(nmi);
            kmeans_nmi.push(told_nmi);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let spread = |v: &[f64]| {
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max) - v.iter().copied().fold(f64::INFINITY, f64::min)
        };
        println!(
            "{} | mean of {seeds} | | | | | {:.3} (range {:.3}) | {:.3}",
            set.name,
            mean(&theme_nmi),
            spread(&theme_nmi),
            mean(&kmeans_nmi)
        );
    }
    Ok(())
}
