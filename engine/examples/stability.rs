//! Stability of clusters from one daily run to the next. Each item of a labelled set gets
//! one of 8 days; run A clusters days 0-6, run B days 1-7 (windows overlapping by 6 of 7
//! days). Prints the ARI of the two runs on their common items, and the lineage of B's
//! clusters against A's: how many continued, and whether each continued cluster was
//! matched to itself (the previous cluster it shares the most items with). The same for
//! themes (their items' ARI, their lineage by the same matcher as clusters'), and the
//! themes' ARI between seeds on one window (run A with seeds 1, 2, 3, fresh).
//!
//! cargo run --release -p llm_clusters_engine --example stability -- DIR [seed]
//! `PARAMS='{"refine": 1.5}'` sets job parameters.

use llm_clusters_engine::cluster::assign::Centroids;
use llm_clusters_engine::cluster::lineage::{match_clusters, Event, Link, Overlap};
use llm_clusters_engine::cluster::quality::adjusted_rand_index;
use llm_clusters_engine::cluster::{cluster, Clustering, Params, Previous};
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn run(
    data: &[f32],
    dim: usize,
    rows: &[usize],
    params: &Params,
    previous: Option<(&Clustering, &[usize])>,
) -> Result<Clustering, Box<dyn std::error::Error>> {
    let mut x: Vec<f32> = rows.iter().flat_map(|&r| data[r * dim..(r + 1) * dim].iter().copied()).collect();
    // Each row's cluster in the previous run, as the extension reads it from `assignments`.
    let labels: Vec<i32> = previous.map_or(Vec::new(), |(p, previous_rows)| {
        let at: std::collections::HashMap<usize, i32> =
            previous_rows.iter().zip(&p.labels).map(|(&r, &l)| (r, l)).collect();
        rows.iter().map(|r| at.get(r).copied().unwrap_or(Previous::ABSENT)).collect()
    });
    let themes: Vec<i32> = previous.map_or(Vec::new(), |(p, _)| p.themes.iter().map(|&t| t as i32).collect());
    let previous = previous.map(|(p, _)| Previous { centroids: &p.centroids, labels: &labels, themes: &themes });
    Ok(cluster(&mut x, dim, params, previous, &|| Ok(()))?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: stability DIR [seed]")?;
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(42);
    // `PARAMS='{"refine": 1.5}'` sets job parameters.
    let base = match std::env::var("PARAMS") {
        Ok(json) => Params::from_json(&serde_json::from_str(&json)?)?,
        Err(_) => Params::default(),
    };
    let params = Params { seed, ..base };
    for name in ["bbc5", "donotanswer5", "sharegpt_prompts"] {
        let n = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?.lines().count();
        let raw = std::fs::read(format!("{dir}/{name}.emb.f32"))?;
        let data: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let dim = data.len() / n;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7));
        let day: Vec<usize> = {
            let mut d = vec![0; n];
            order.iter().enumerate().for_each(|(pos, &i)| d[i] = pos % 8);
            d
        };
        let rows_a: Vec<usize> = (0..n).filter(|&i| day[i] < 7).collect();
        let rows_b: Vec<usize> = (0..n).filter(|&i| day[i] >= 1).collect();
        let a = run(&data, dim, &rows_a, &params, None)?;
        let b = run(&data, dim, &rows_b, &params, Some((&a, &rows_a)))?;
        // The new day's items placed into run A's clusters (as assign_pending would).
        let mut new_day: Vec<f32> =
            (0..n).filter(|&i| day[i] == 7).flat_map(|i| data[i * dim..(i + 1) * dim].to_vec()).collect();
        llm_clusters_engine::vectors::normalise_rows(&mut new_day, dim);
        let placed = Centroids::new(a.centroids.clone(), a.radius.clone())?.place(&new_day, &|| Ok(()))?;
        println!(
            "{name:<18} outliers: run A {:.1}%, the new day's items placed by A's clusters {:.1}%",
            100.0 * a.quality.outlier_share,
            100.0 * placed.iter().filter(|(c, _)| *c < 0).count() as f64 / placed.len().max(1) as f64
        );
        // Labels of the common items (days 1-6) in both runs.
        let pos_b: std::collections::HashMap<usize, usize> = rows_b.iter().enumerate().map(|(p, &r)| (r, p)).collect();
        let common: Vec<(usize, usize)> =
            rows_a.iter().enumerate().filter_map(|(pa, r)| pos_b.get(r).map(|&pb| (pa, pb))).collect();
        let la: Vec<i32> = common.iter().map(|&(pa, _)| a.labels[pa]).collect();
        let lb: Vec<i32> = common.iter().map(|&(_, pb)| b.labels[pb]).collect();
        let ari = adjusted_rand_index(&la, &lb);
        let both: Vec<(i32, i32)> =
            la.iter().zip(&lb).filter(|(x, y)| **x >= 0 && **y >= 0).map(|(x, y)| (*x, *y)).collect();
        let (ca, cb): (Vec<i32>, Vec<i32>) = both.into_iter().unzip();
        println!("{name:<18} clustered in both runs {} ARI {:.3}", ca.len(), adjusted_rand_index(&ca, &cb));

        let (links, themselves) = lineage(&la, &lb, &a.centroids, &b.centroids);
        let count = |e: Event| links.iter().filter(|l| l.event == e).count();
        let sims: Vec<String> =
            links.iter().filter(|l| l.event == Event::Continued).map(|l| format!("{:.2}", l.similarity)).collect();
        println!(
            "{name:<18} common items {:>5}  ARI {ari:.3}  clusters A {} B {}  continued {} (matched to themselves {}), new {}, gone {}, split {}, merged {}  jaccard [{}]",
            common.len(),
            a.n_clusters,
            b.n_clusters,
            count(Event::Continued),
            themselves,
            count(Event::New),
            count(Event::Gone),
            count(Event::Split),
            count(Event::Merged),
            sims.join(" ")
        );
        // Themes: of the common items in both runs, and their lineage.
        let ta: Vec<i32> = common.iter().map(|&(pa, _)| a.theme_of(a.labels[pa])).collect();
        let tb: Vec<i32> = common.iter().map(|&(_, pb)| b.theme_of(b.labels[pb])).collect();
        let (theme_links, theme_themselves) = lineage(&ta, &tb, &a.theme_centroids, &b.theme_centroids);
        let count = |e: Event| theme_links.iter().filter(|l| l.event == e).count();
        // Themes across seeds: the same window, fresh runs.
        let mut across_seeds = Vec::new();
        for other in [seed + 1, seed + 2] {
            let c = run(&data, dim, &rows_a, &Params { seed: other, ..params.clone() }, None)?;
            across_seeds.push(format!("{:.3}", adjusted_rand_index(&a.item_themes(), &c.item_themes())));
        }
        println!(
            "{name:<18} themes A {} B {}  theme ARI on common items {:.3}  continued {} (matched to themselves {}), new {}, gone {}, split {}, merged {}  theme ARI between seeds {seed} and the next two (fresh, days 0-6) {}",
            a.n_themes,
            b.n_themes,
            adjusted_rand_index(&ta, &tb),
            count(Event::Continued),
            theme_themselves,
            count(Event::New),
            count(Event::Gone),
            count(Event::Split),
            count(Event::Merged),
            across_seeds.join(" ")
        );
    }
    Ok(())
}

/// The lineage of groups `lb` (the new run's, with `centroids_b`) against `la` (the
/// previous run's) on the same items (-1: none), and how many continued groups were matched
/// to the previous group they share the most items with.
fn lineage(la: &[i32], lb: &[i32], centroids_a: &[Vec<f32>], centroids_b: &[Vec<f32>]) -> (Vec<Link>, usize) {
    let (na, nb) = (centroids_a.len(), centroids_b.len());
    let mut shared = vec![vec![0u64; na]; nb];
    let mut shared_new = vec![0u64; nb];
    let mut shared_previous = vec![0u64; na];
    for (&x, &y) in la.iter().zip(lb) {
        if y >= 0 {
            shared_new[y as usize] += 1;
        }
        if x >= 0 {
            shared_previous[x as usize] += 1;
        }
        if x >= 0 && y >= 0 {
            shared[y as usize][x as usize] += 1;
        }
    }
    let cosine = centroids_b
        .iter()
        .map(|cb| centroids_a.iter().map(|ca| cb.iter().zip(ca).map(|(p, q)| f64::from(p * q)).sum()).collect())
        .collect();
    let overlap = Overlap { shared, shared_new, shared_previous, cosine };
    let links = match_clusters(&overlap, &|| Ok(())).unwrap();
    let themselves = links
        .iter()
        .filter(|l| l.event == Event::Continued)
        .filter(|l| {
            let i = l.new.unwrap_or(0);
            (0..na).max_by_key(|&j| overlap.shared[i][j]) == l.previous
        })
        .count();
    (links, themselves)
}
