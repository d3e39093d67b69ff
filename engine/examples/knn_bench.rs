//! Speed of the exact k-nearest neighbours behind the graph method: the 15 nearest of
//! QUERIES rows among POINTS rows of DIMS (the run's shape at 100k items: 90,000 rows
//! against the 10,000 sampled, after PCA to 50), on synthetic clustered rows. Prints
//! seconds, asserts nothing.
//!
//! cargo run --release -p llm_clusters_engine --example knn_bench -- [QUERIES] [POINTS] [DIMS] [ROUNDS]

use llm_clusters_engine::cluster::knn::knn;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use std::time::Instant;

fn main() {
    let arg = |i: usize, default: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (queries, points, dims, rounds) = (arg(1, 90_000), arg(2, 10_000), arg(3, 50), arg(4, 3));
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let centres = Array2::from_shape_fn((20, dims), |_| rng.gen_range(-1.0f32..1.0));
    let mut rows = |n: usize| {
        let topic: Vec<usize> = (0..n).map(|_| rng.gen_range(0..20)).collect();
        Array2::from_shape_fn((n, dims), |(i, j)| centres[[topic[i], j]] + rng.gen_range(-0.6f32..0.6))
    };
    let (q, p) = (rows(queries), rows(points));
    let mut best = f64::INFINITY;
    let mut checksum = 0u64;
    for _ in 0..rounds {
        let t = Instant::now();
        let (idx, _) = knn(q.view(), p.view(), 15, false);
        best = best.min(t.elapsed().as_secs_f64());
        checksum = idx.iter().flatten().fold(checksum, |h, &j| h.wrapping_mul(31).wrapping_add(u64::from(j)));
    }
    println!(
        "knn {queries} x {points} x {dims}, k=15: best of {rounds} {best:.3} s (neighbours checksum {checksum:x})"
    );
}
