//! Theme rules compared on the same clusterings, several seeds (docs/evaluation.md, "Theme
//! identity and stability"): the engine's rule (`themes::themes_of`) beside alternatives
//! measured and not adopted: a cut of the same tree at a fixed cosine height, a consensus
//! over subsets of the clusters, and a seed-free partition of the items (principal-direction
//! bisection refined by spherical k-means) that clusters join by majority. Prints, per set,
//! the clusters' ARI between seeds, then per rule the themes, the largest theme's share, the
//! items' theme ARI between seeds and the theme NMI against the set's parents.
//!
//! cargo run --release -p llm_clusters_engine --example theme_rules -- [seeds, e.g. 42,43,44]
use llm_clusters_engine::cluster::quality::{adjusted_rand_index, normalized_mutual_info};
use llm_clusters_engine::cluster::themes::{agglomerate, themes_of, Tree};
use llm_clusters_engine::cluster::{cluster, Params};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
const DIM: usize = 384;
const CAP: f64 = 0.35;

fn load(dir: &str, name: &str) -> (Vec<f32>, Vec<String>) {
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let raw = std::fs::read(format!("{dir}/{name}.emb.f32")).unwrap();
    let data = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (data, lines.iter().map(|v| format!("{name}/{}", v["label"].as_str().unwrap_or("-"))).collect())
}
fn add(
    data: &mut Vec<f32>,
    parents: &mut Vec<String>,
    src: &[f32],
    groups: &[String],
    keep: impl Fn(usize) -> f64,
    parent: impl Fn(&str) -> String,
) {
    let mut names: Vec<String> = Vec::new();
    let mut totals: HashMap<&str, usize> = HashMap::new();
    groups.iter().for_each(|g| *totals.entry(g).or_default() += 1);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        if !names.contains(g) {
            names.push(g.clone());
        }
        let number = names.iter().position(|n| n == g).unwrap();
        let c = seen.entry(g).or_default();
        *c += 1;
        if (*c as f64) > (totals[g.as_str()] as f64 * keep(number)).ceil() {
            continue;
        }
        data.extend_from_slice(&src[i * DIM..(i + 1) * DIM]);
        parents.push(parent(g));
    }
}

fn cap_split(mut groups: Vec<Vec<usize>>, merges: &[(Vec<usize>, Vec<usize>)], sizes: &[usize]) -> Vec<usize> {
    let n = sizes.iter().sum::<usize>() as f64;
    let over = |g: &[usize]| g.len() > 1 && g.iter().map(|&c| sizes[c]).sum::<usize>() as f64 / n > CAP + 1e-9;
    while let Some(g) = groups.iter().position(|g| over(g)) {
        let same = |a: &[usize], b: &[usize]| a.len() == b.len() && a.iter().all(|c| b.contains(c));
        let Some((l, r)) = merges
            .iter()
            .find(|(a, b)| a.len() + b.len() == groups[g].len() && same(&[&a[..], &b[..]].concat(), &groups[g]))
        else {
            break;
        };
        groups[g] = l.clone();
        groups.push(r.clone());
    }
    let mut theme = vec![0; sizes.len()];
    groups.iter_mut().for_each(|g| g.sort_unstable());
    groups.sort_by_key(|g| g[0]);
    for (t, g) in groups.iter().enumerate() {
        g.iter().for_each(|&c| theme[c] = t);
    }
    theme
}
fn height_cut(tree: &Tree, sizes: &[usize], tau: f64) -> Vec<usize> {
    let Tree { partitions, heights, merges } = tree;
    let k = sizes.len();
    let i = heights.iter().position(|&h| h > tau).unwrap_or(k - 1).max(1).min(k - 2);
    cap_split(partitions[i].clone(), merges, sizes)
}
fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum()
}
fn avg_tree(c: &[Vec<f32>], sizes: &[usize]) -> Tree {
    agglomerate(c.len(), &|a, b| {
        let (mut s, mut w) = (0.0, 0.0);
        for &i in a {
            for &j in b {
                let x = (sizes[i] * sizes[j]).max(1) as f64;
                s += x * (1.0 - dot(&c[i], &c[j])).max(0.0);
                w += x;
            }
        }
        s / w
    })
}
fn current(c: &[Vec<f32>], sizes: &[usize]) -> Vec<usize> {
    themes_of(c, sizes)
}
/// Consensus: themes of the current rule on random 80% subsets of the clusters; co-association; average linkage on 1 - co, cut at 0.5.
fn consensus(c: &[Vec<f32>], sizes: &[usize], rounds: usize, keep: f64, thr: f64) -> Vec<usize> {
    let k = c.len();
    if k < 4 {
        return (0..k).collect();
    }
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(k as u64);
    let (mut together, mut both) = (vec![vec![0.0f64; k]; k], vec![vec![0.0f64; k]; k]);
    for _ in 0..rounds {
        let pick: Vec<usize> = (0..k).filter(|_| rng.gen::<f64>() < keep).collect();
        if pick.len() < 4 {
            continue;
        }
        let cc: Vec<Vec<f32>> = pick.iter().map(|&i| c[i].clone()).collect();
        let ss: Vec<usize> = pick.iter().map(|&i| sizes[i]).collect();
        let t = current(&cc, &ss);
        for (a, &i) in pick.iter().enumerate() {
            for (b, &j) in pick.iter().enumerate() {
                both[i][j] += 1.0;
                if t[a] == t[b] {
                    together[i][j] += 1.0;
                }
            }
        }
    }
    let co: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| if both[i][j] > 0.0 { together[i][j] / both[i][j] } else { 0.0 }).collect())
        .collect();
    let tree = agglomerate(k, &|a, b| {
        let (mut s, mut w) = (0.0, 0.0);
        for &i in a {
            for &j in b {
                let x = (sizes[i] * sizes[j]).max(1) as f64;
                s += x * (1.0 - co[i][j]);
                w += x;
            }
        }
        s / w
    });
    let Tree { partitions, heights, merges } = &tree;
    let i = heights.iter().position(|&h| h > thr).unwrap_or(k - 1).max(1);
    cap_split(partitions[i.min(k - 1)].clone(), merges, sizes)
}

/// Deterministic item-level themes: bisect by principal direction (power iteration from a fixed start) until t groups, refine by Lloyd (spherical), clusters to their majority group.
fn pddp(x: &[f32], labels: &[i32], k: usize, t: usize) -> Vec<usize> {
    let n = labels.len();
    let rows: Vec<usize> = (0..n).filter(|&i| labels[i] >= 0).collect();
    let row = |i: usize| &x[i * DIM..(i + 1) * DIM];
    let mut groups: Vec<Vec<usize>> = vec![rows.clone()];
    let sse = |g: &[usize]| -> (f64, Vec<f64>) {
        let mut m = vec![0f64; DIM];
        for &i in g {
            for (a, b) in m.iter_mut().zip(row(i)) {
                *a += f64::from(*b);
            }
        }
        m.iter_mut().for_each(|a| *a /= g.len().max(1) as f64);
        let s = g.iter().map(|&i| row(i).iter().zip(&m).map(|(a, b)| (f64::from(*a) - b).powi(2)).sum::<f64>()).sum();
        (s, m)
    };
    while groups.len() < t {
        let (gi, _) = groups.iter().enumerate().map(|(i, g)| (i, sse(g).0)).max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        let g = groups.remove(gi);
        let (_, m) = sse(&g);
        let mut v = vec![1.0f64; DIM];
        for _ in 0..30 {
            let mut w = vec![0f64; DIM];
            for &i in &g {
                let r = row(i);
                let p: f64 = r.iter().zip(&m).zip(&v).map(|((a, b), c)| (f64::from(*a) - b) * c).sum();
                for d in 0..DIM {
                    w[d] += p * (f64::from(r[d]) - m[d]);
                }
            }
            let nn = w.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
            v = w.iter().map(|a| a / nn).collect();
        }
        let (l, r): (Vec<usize>, Vec<usize>) = g.iter().partition(|&&i| {
            row(i).iter().zip(&m).zip(&v).map(|((a, b), c)| (f64::from(*a) - b) * c).sum::<f64>() < 0.0
        });
        groups.push(l);
        groups.push(r);
    }
    let mut centres: Vec<Vec<f64>> = groups.iter().map(|g| sse(g).1).collect();
    let mut assign = vec![0usize; n];
    for _ in 0..20 {
        for &i in &rows {
            assign[i] = (0..centres.len())
                .max_by(|&a, &b| {
                    let da: f64 = row(i).iter().zip(&centres[a]).map(|(p, q)| f64::from(*p) * q).sum();
                    let db: f64 = row(i).iter().zip(&centres[b]).map(|(p, q)| f64::from(*p) * q).sum();
                    da.total_cmp(&db)
                })
                .unwrap();
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let g: Vec<usize> = rows.iter().copied().filter(|&i| assign[i] == c).collect();
            if !g.is_empty() {
                *centre = sse(&g).1;
                let nn = centre.iter().map(|a| a * a).sum::<f64>().sqrt();
                centre.iter_mut().for_each(|a| *a /= nn);
            }
        }
    }
    let mut votes = vec![vec![0usize; t]; k];
    for &i in &rows {
        votes[labels[i] as usize][assign[i]] += 1;
    }
    let raw: Vec<usize> = votes.iter().map(|v| (0..t).max_by_key(|&j| (v[j], std::cmp::Reverse(j))).unwrap()).collect();
    let mut ids: Vec<usize> = raw.clone();
    ids.sort();
    ids.dedup();
    raw.iter().map(|r| ids.iter().position(|x| x == r).unwrap()).collect()
}

/// A theme rule: each cluster's theme from the clusters' centroids and sizes.
type Rule = Box<dyn Fn(&[Vec<f32>], &[usize]) -> Vec<usize>>;

fn main() {
    let dir = "/work/shared/data";
    let (bbc, bl) = load(dir, "bbc5");
    let (dna, dl) = load(dir, "donotanswer5");
    let (sh, sl) = load(dir, "sharegpt_prompts");
    let mut sets: Vec<(&str, Vec<f32>, Vec<String>)> = Vec::new();
    let (mut d, mut p) = (Vec::new(), Vec::new());
    add(&mut d, &mut p, &sh, &sl, |_| 1.0, |_| "x".into());
    sets.push(("sharegpt", d, p));
    let (mut d, mut p) = (Vec::new(), Vec::new());
    add(&mut d, &mut p, &bbc, &bl, |_| 1.0, str::to_string);
    sets.push(("bbc5", d, p));
    let (mut d, mut p) = (Vec::new(), Vec::new());
    add(&mut d, &mut p, &dna, &dl, |_| 1.0, str::to_string);
    sets.push(("dna5", d, p));
    let (mut d, mut p) = (Vec::new(), Vec::new());
    add(&mut d, &mut p, &bbc, &bl, |g| 1.0 / (g + 1) as f64, str::to_string);
    add(&mut d, &mut p, &dna, &dl, |g| 2.0 / (g + 6) as f64, str::to_string);
    sets.push(("mix10u", d, p));
    let (mut d, mut p) = (Vec::new(), Vec::new());
    let dom = |g: &str| g.split('/').next().unwrap().to_string();
    add(&mut d, &mut p, &bbc, &bl, |_| 1.0, dom);
    add(&mut d, &mut p, &dna, &dl, |_| 0.5, dom);
    add(&mut d, &mut p, &sh, &sl, |_| 1.0 / 3.0, dom);
    sets.push(("domains3", d, p));
    let seeds: Vec<u64> =
        std::env::args().nth(1).map(|s| s.split(',').map(|x| x.parse().unwrap()).collect()).unwrap_or(vec![42, 43, 44]);
    let variants: Vec<(String, Rule)> = vec![
        ("current".into(), Box::new(current)),
        ("h0.45".into(), Box::new(|c: &[Vec<f32>], s: &[usize]| height_cut(&avg_tree(c, s), s, 0.45))),
        ("h0.5".into(), Box::new(|c: &[Vec<f32>], s: &[usize]| height_cut(&avg_tree(c, s), s, 0.5))),
        ("h0.55".into(), Box::new(|c: &[Vec<f32>], s: &[usize]| height_cut(&avg_tree(c, s), s, 0.55))),
        ("cons80".into(), Box::new(|c: &[Vec<f32>], s: &[usize]| consensus(c, s, 200, 0.8, 0.5))),
        ("cons70".into(), Box::new(|c: &[Vec<f32>], s: &[usize]| consensus(c, s, 200, 0.7, 0.5))),
        ("pddpR".into(), Box::new(current)),
        ("pddp5".into(), Box::new(current)),
        ("pddp8".into(), Box::new(current)),
    ];
    for (name, data, parents) in &sets {
        let names: Vec<&String> = {
            let mut v: Vec<&String> = parents.iter().collect();
            v.sort();
            v.dedup();
            v
        };
        let truth: Vec<i32> = parents.iter().map(|p| names.iter().position(|n| *n == p).unwrap() as i32).collect();
        let runs: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                cluster(&mut data.clone(), DIM, &Params { seed, ..Params::default() }, None, &|| Ok(())).unwrap()
            })
            .collect();
        let cl_ari: Vec<String> =
            (1..runs.len()).map(|i| format!("{:.3}", adjusted_rand_index(&runs[0].labels, &runs[i].labels))).collect();
        println!(
            "{name}: clusters {:?} cluster ARI seed0 vs others {}",
            runs.iter().map(|r| r.n_clusters).collect::<Vec<_>>(),
            cl_ari.join(" ")
        );
        for (vname, f) in &variants {
            let items: Vec<(Vec<i32>, usize, f64)> = runs
                .iter()
                .map(|r| {
                    let sizes: Vec<usize> =
                        (0..r.n_clusters).map(|c| r.labels.iter().filter(|&&l| l == c as i32).count()).collect();
                    let mut unit = data.clone();
                    llm_clusters_engine::vectors::normalise_rows(&mut unit, DIM);
                    let t = if let Some(t) = vname.strip_prefix("pddp") {
                        let t = if t == "R" {
                            current(&r.centroids, &sizes).iter().max().unwrap() + 1
                        } else {
                            t.parse().unwrap()
                        };
                        pddp(&unit, &r.labels, r.n_clusters, t)
                    } else {
                        f(&r.centroids, &sizes)
                    };
                    let it: Vec<i32> =
                        r.labels.iter().map(|&l| if l < 0 { -1 } else { t[l as usize] as i32 }).collect();
                    let nt = t.iter().max().map_or(0, |m| m + 1);
                    let largest = (0..nt as i32).map(|x| it.iter().filter(|&&y| y == x).count()).max().unwrap_or(0)
                        as f64
                        / it.len() as f64;
                    (it, nt, largest)
                })
                .collect();
            let mut aris = Vec::new();
            for i in 0..items.len() {
                for j in i + 1..items.len() {
                    aris.push(adjusted_rand_index(&items[i].0, &items[j].0));
                }
            }
            let nmi: Vec<f64> = items.iter().map(|x| normalized_mutual_info(&truth, &x.0)).collect();
            println!(
                "  {vname:<8} themes {:?} largest {:?} seed-ARI mean {:.3} [{}] NMI mean {:.3}",
                items.iter().map(|x| x.1).collect::<Vec<_>>(),
                items.iter().map(|x| format!("{:.2}", x.2)).collect::<Vec<_>>(),
                aris.iter().sum::<f64>() / aris.len() as f64,
                aris.iter().map(|a| format!("{a:.2}")).collect::<Vec<_>>().join(" "),
                nmi.iter().sum::<f64>() / nmi.len() as f64
            );
        }
    }
}
