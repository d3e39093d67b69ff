//! Speed of the clustering pipeline alone (what `run_job` does between reading and
//! writing) on the synthetic rows of `scripts/bench/run.py`: 20 topics of Zipf-like sizes,
//! standard-normal centres plus noise of standard deviation 0.9. Prints the seconds of
//! each phase and a checksum of the labels, coordinates and distances (equal checksums:
//! the same result), per round, and the peak resident memory; asserts nothing.
//!
//! cargo run --release -p llm_clusters_engine --example run_bench -- [ITEMS] [DIMS] [ROUNDS] [SEED]

use llm_clusters_engine::cluster::{cluster, Params};
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: u64| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (n, dim, rounds, seed) = (arg(1, 100_000) as usize, arg(2, 1536) as usize, arg(3, 1), arg(4, 42));
    let topics = 20;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<f32> = (0..topics * dim).map(|_| gaussian(&mut rng)).collect();
    let weights: Vec<f64> = (1..=topics).map(|t| 1.0 / (t as f64).powf(0.7)).collect();
    let total: f64 = weights.iter().sum();
    let t = Instant::now();
    let mut data = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let mut u = rng.gen::<f64>() * total;
        let topic = weights.iter().position(|w| (u -= w, u < 0.0).1).unwrap_or(topics - 1);
        data.extend(centres[topic * dim..(topic + 1) * dim].iter().map(|c| c + 0.9 * gaussian(&mut rng)));
    }
    println!("{n} x {dim} generated in {:.1} s", t.elapsed().as_secs_f64());
    let params = Params { seed, ..Params::default() };
    let raw = (n * dim * 4) as f64;
    for round in 0..rounds {
        // The last round takes the rows: peak memory is then the rows and the pipeline's own.
        let mut x = if round + 1 == rounds { std::mem::take(&mut data) } else { data.clone() };
        let t = Instant::now();
        let r = cluster(&mut x, dim, &params, None, &|| Ok(()))?;
        let elapsed = t.elapsed().as_secs_f64();
        let phases: Vec<String> = r.timings.iter().map(|(p, s)| format!("{p} {s:.3}")).collect();
        let mut checksum = 0u64;
        let mut mix = |v: u64| checksum = checksum.wrapping_mul(1_000_003).wrapping_add(v);
        r.labels.iter().for_each(|&l| mix(l as u64));
        r.coords.iter().flatten().chain(&r.distance).for_each(|v| mix(u64::from(v.to_bits())));
        r.centroids.iter().flatten().for_each(|v| mix(u64::from(v.to_bits())));
        println!(
            "round {round}: {elapsed:.3} s, {} clusters, {} outliers; phases s: {}; checksum {checksum:016x}",
            r.n_clusters,
            r.labels.iter().filter(|&&l| l < 0).count(),
            phases.join(", ")
        );
    }
    // The process's peak resident memory (Linux), against the rows' raw floats.
    if let Some(kb) = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
    }) {
        println!(
            "peak resident memory {:.0} MiB = {:.2}x the raw rows ({:.0} MiB)",
            kb / 1024.0,
            kb * 1024.0 / raw,
            raw / 2f64.powi(20)
        );
    }
    Ok(())
}
