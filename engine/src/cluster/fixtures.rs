//! Planted data for the clustering's tests.

use super::{cluster, Clustering, Params};
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `k` well separated directions in `dim` dimensions, `per` noisy items around each.
pub(super) fn planted(k: usize, per: usize, dim: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..k * per)
        .flat_map(|i| (0..dim).map(move |d| (i, d)).collect::<Vec<_>>())
        .map(|(i, d)| if d % k == i % k { 1.0 } else { 0.0 } + noise * rng.gen_range(-1.0f32..1.0))
        .collect()
}

pub(super) fn run(data: &mut [f32], dim: usize, params: &Params) -> Result<Clustering> {
    cluster(data, dim, params, None, &|| Ok(()))
}
