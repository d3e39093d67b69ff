//! Cost of per-community refinement (`params.refine`) in the run's cluster phase at the
//! run's shape at 100k items after PCA (ROWS rows of DIMS): synthetic rows around TOPICS
//! centres of unequal weight, clustered with refinement off and at 1.5, interleaved.
//! Prints seconds per phase and the clusters found, asserts nothing.
//!
//! cargo run --release -p llm_clusters_engine --example refine_bench -- [ROWS] [DIMS] [TOPICS] [ROUNDS]

use llm_clusters_engine::cluster::{cluster, Params};
use ndarray::Array2;
use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (rows, dims, topics, rounds) = (arg(1, 100_000), arg(2, 50), arg(3, 200), arg(4, 1));
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let centres = Array2::from_shape_fn((topics, dims), |_| rng.gen_range(-1.0f32..1.0));
    // Topic t is drawn with weight 1/(t+1): a few large topics and many small ones.
    let weights: Vec<f64> = (0..topics).map(|t| 1.0 / (t as f64 + 1.0)).collect();
    let total: f64 = weights.iter().sum();
    let data: Vec<f32> = (0..rows)
        .flat_map(|_| {
            let mut u = rng.gen_range(0.0..total);
            let topic = weights.iter().position(|w| {
                u -= w;
                u < 0.0
            });
            let topic = topic.unwrap_or(topics - 1);
            (0..dims).map(|j| centres[[topic, j]] + rng.gen_range(-0.6f32..0.6)).collect::<Vec<_>>()
        })
        .collect();
    for round in 0..rounds {
        for refine in [0.0, 1.5] {
            let params = Params { refine, map_epochs: 10, ..Params::default() };
            let t = std::time::Instant::now();
            let r = cluster(&mut data.clone(), dims, &params, None, &|| Ok(()))?;
            let phases: Vec<String> = r.timings.iter().map(|(p, s)| format!("{p} {s:.2} s")).collect();
            println!(
                "round {round} refine {refine}: {rows} x {dims}, {} clusters, {:.1}% outliers; {} (total {:.2} s)",
                r.n_clusters,
                100.0 * r.quality.outlier_share,
                phases.join(", "),
                t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
