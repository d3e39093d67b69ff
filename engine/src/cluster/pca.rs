//! PCA by randomised SVD (Halko, Martinsson and Tropp, 2011), fitted on a sample: a random
//! projection of the centred rows finds the subspace of the leading components, two power
//! iterations sharpen it, and the small problem left (`k` = dims + 10 columns) is solved
//! exactly by Jacobi rotations. Every large step is an f32 matrix product (ndarray's
//! GEMM), so fitting on 5,000 x 1,536 takes a fraction of a second; applying it to every
//! row is one more product. Replaces linfa-reduction's LOBPCG, which took 10.5 s of a
//! 22.6 s run at 100k x 1,536 (f64 only, one vector at a time).
//!
//! The random projection is drawn from a fixed stream, not from the run's seed: the
//! components are an approximation of a property of the rows, and with a start that
//! changed with the seed, two runs over the same rows got different subspaces and, on text
//! without strong structure, clusters that agreed at ARI 0.4 (docs/evaluation.md, "Runs
//! that do not depend on their seed"). The seed still chooses which rows are sampled.

use super::groups::sample_rows;
use super::params::Params;
use crate::error::Result;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Extra random directions beyond the components asked for, and power iterations.
const OVERSAMPLE: usize = 10;
const POWER_ITERATIONS: usize = 2;
/// Rows per block when a fitted reduction is applied.
const APPLY_ROWS: usize = 8192;

/// A fitted reduction: `components` has one unit row per component, leading first.
pub struct Pca {
    pub mean: Array1<f32>,
    pub components: Array2<f32>,
    /// Share of the sample's variance the components hold.
    pub explained_variance_ratio: f64,
}

impl Pca {
    /// Rows of `x` in component coordinates, by blocks of rows in parallel, each block's
    /// product written straight into its rows of the result (one extra block of memory per
    /// thread, not a second copy of the result; each row's product as in one block).
    pub fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        crate::threads::init_pool();
        let k = self.components.nrows();
        let mut out = Array2::zeros((x.nrows(), k));
        if k == 0 {
            return out;
        }
        if let Some(flat) = out.as_slice_mut() {
            flat.par_chunks_mut(APPLY_ROWS * k).enumerate().for_each(|(b, rows)| {
                let start = b * APPLY_ROWS;
                let block = &x.slice(s![start..start + rows.len() / k, ..]) - &self.mean;
                let product = block.dot(&self.components.t());
                rows.iter_mut().zip(product.iter()).for_each(|(to, &from)| *to = from);
            });
        }
        out
    }
}

/// Seed of the random projection's stream: any constant; one, so that a reduction is a
/// function of its rows.
const START_SEED: u64 = 0x5eed;

/// The leading `dims` principal components of the rows of `x` (`dims` < both sides); the
/// same rows give the same components.
pub fn fit(x: ArrayView2<f32>, dims: usize) -> Pca {
    let mut start = Xoshiro256PlusPlus::seed_from_u64(START_SEED);
    let (m, d) = x.dim();
    let mean = x.map_axis(Axis(0), |col| (col.iter().map(|&v| f64::from(v)).sum::<f64>() / m.max(1) as f64) as f32);
    let centred = &x - &mean;
    let k = (dims + OVERSAMPLE).min(d).min(m);
    let omega = Array2::from_shape_fn((d, k), |_| gaussian(&mut start));
    let mut q = orthonormal_columns(centred.dot(&omega));
    for _ in 0..POWER_ITERATIONS {
        let z = orthonormal_columns(centred.t().dot(&q));
        q = orthonormal_columns(centred.dot(&z));
    }
    // centred ≈ Q B; the right singular vectors of B are the components.
    let b = q.t().dot(&centred);
    let gram = b.dot(&b.t()).mapv(f64::from);
    let (values, vectors) = symmetric_eigen(gram);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]).then(i.cmp(&j)));
    let kept: Vec<usize> = order.into_iter().take(dims).filter(|&i| values[i] > 1e-12).collect();
    let mut components = Array2::zeros((kept.len(), d));
    for (row, &i) in kept.iter().enumerate() {
        let u = vectors.column(i).mapv(|v| v as f32);
        let mut v = u.dot(&b);
        let norm = v.dot(&v).sqrt().max(1e-20);
        v /= norm;
        components.row_mut(row).assign(&v);
    }
    let total: f64 = centred.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let held: f64 = kept.iter().map(|&i| values[i]).sum();
    Pca { mean, components, explained_variance_ratio: if total > 0.0 { (held / total).min(1.0) } else { 1.0 } }
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut Xoshiro256PlusPlus) -> f32 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// An orthonormal basis of the columns of `a` (modified Gram-Schmidt, twice for
/// stability); columns that are (numerically) dependent become zero.
fn orthonormal_columns(mut a: Array2<f32>) -> Array2<f32> {
    for j in 0..a.ncols() {
        for _ in 0..2 {
            for i in 0..j {
                let (left, mut right) = a.view_mut().split_at(Axis(1), j);
                let qi = left.column(i);
                let mut aj = right.column_mut(0);
                let proj = qi.dot(&aj);
                aj.scaled_add(-proj, &qi);
            }
        }
        let mut aj = a.column_mut(j);
        let norm = aj.dot(&aj).sqrt();
        if norm > 1e-6 {
            aj /= norm;
        } else {
            aj.fill(0.0);
        }
    }
    a
}

/// Eigenvalues and eigenvectors (columns) of a small symmetric matrix, by cyclic Jacobi
/// rotations until the off-diagonal part is negligible.
fn symmetric_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut v = Array2::<f64>::eye(n);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    for _sweep in 0..60 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]].powi(2))
            .sum();
        if off.sqrt() <= 1e-12 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[[i, i]]).collect(), v)
}

/// A fitted PCA, or the identity when no reduction is needed.
pub(super) struct Projection(Option<Pca>);

impl Projection {
    pub(super) fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        match &self.0 {
            Some(p) => p.apply(x),
            None => x.to_owned(),
        }
    }
}

/// PCA to `params.pca_dims`, fitted on a sample, applied to every row in f32.
pub(super) fn reduce(
    x: ArrayView2<f32>,
    params: &Params,
    rng: &mut Xoshiro256PlusPlus,
) -> Result<(Array2<f32>, Projection, f64)> {
    let dims = params.pca_dims.min(x.ncols()).min(x.nrows() - 1);
    if dims >= x.ncols() {
        return Ok((x.to_owned(), Projection(None), 1.0));
    }
    let idx = sample_rows(x.nrows(), params.pca_sample, rng);
    // Low-rank data may give fewer components than asked for: use what there is.
    let fitted = fit(x.select(Axis(0), &idx).view(), dims);
    let explained = fitted.explained_variance_ratio;
    let projection = Projection(Some(fitted));
    Ok((projection.apply(x), projection, explained))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_planted_subspace_and_its_variance() {
        // 3 strong directions (variances 9, 4, 1) in 40-d plus faint noise.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let dirs: Vec<Array1<f32>> = (0..3)
            .map(|_| {
                let v = Array1::from_shape_fn(40, |_| gaussian(&mut rng));
                &v / v.dot(&v).sqrt()
            })
            .collect();
        let mut x = Array2::<f32>::zeros((2000, 40));
        for mut row in x.rows_mut() {
            let coef = [3.0 * gaussian(&mut rng), 2.0 * gaussian(&mut rng), gaussian(&mut rng)];
            for (c, dir) in coef.iter().zip(&dirs) {
                row.scaled_add(*c, dir);
            }
            row.mapv_inplace(|v| v + 0.01 * gaussian(&mut rng));
        }
        let pca = fit(x.view(), 3);
        assert_eq!(pca.components.nrows(), 3);
        assert!(pca.explained_variance_ratio > 0.99, "{}", pca.explained_variance_ratio);
        // Components are orthonormal and span the planted directions.
        let gram = pca.components.dot(&pca.components.t());
        for i in 0..3 {
            for j in 0..3 {
                assert!((gram[[i, j]] - f32::from(i == j)).abs() < 1e-4);
            }
        }
        for dir in &dirs {
            let inside: f32 = pca.components.dot(dir).iter().map(|c| c * c).sum();
            assert!(inside > 0.99, "{inside}");
        }
        let projected = pca.apply(x.view());
        assert_eq!(projected.dim(), (2000, 3));
        // Leading first: the first coordinate has the largest variance.
        let var = |c: usize| projected.column(c).iter().map(|v| v * v).sum::<f32>();
        assert!(var(0) > var(1) && var(1) > var(2));
    }

    #[test]
    fn applies_by_blocks_as_one_product_per_block() {
        // More rows than two blocks, the last one short: every row as its block's product.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let x = Array2::from_shape_fn((2 * APPLY_ROWS + 37, 12), |_| gaussian(&mut rng));
        let pca = fit(x.view(), 4);
        let projected = pca.apply(x.view());
        assert_eq!(projected.dim(), (x.nrows(), 4));
        for start in (0..x.nrows()).step_by(APPLY_ROWS) {
            let end = (start + APPLY_ROWS).min(x.nrows());
            let block = (&x.slice(s![start..end, ..]) - &pca.mean).dot(&pca.components.t());
            assert_eq!(projected.slice(s![start..end, ..]), block);
        }
        // No components: no columns.
        let none = Pca { mean: pca.mean.clone(), components: Array2::zeros((0, 12)), explained_variance_ratio: 1.0 };
        assert_eq!(none.apply(x.view()).dim(), (x.nrows(), 0));
    }

    #[test]
    fn low_rank_data_gives_fewer_components() {
        let x = Array2::from_shape_fn((100, 10), |(i, j)| if j == 0 { i as f32 } else { 0.0 });
        let pca = fit(x.view(), 5);
        assert_eq!(pca.components.nrows(), 1);
    }

    #[test]
    fn the_same_rows_give_the_same_reduction_whatever_the_seed() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let x = Array2::from_shape_fn((300, 20), |_| gaussian(&mut rng));
        let params = Params { pca_dims: 5, ..Params::default() };
        let (a, _, _) = reduce(x.view(), &params, &mut Xoshiro256PlusPlus::seed_from_u64(1)).unwrap();
        let (b, _, _) = reduce(x.view(), &params, &mut Xoshiro256PlusPlus::seed_from_u64(2)).unwrap();
        assert_eq!(a, b);
        // A larger set than the fitting sample: the seed picks the sample, as before.
        let sampled = Params { pca_sample: 100, ..params };
        let (c, _, _) = reduce(x.view(), &sampled, &mut Xoshiro256PlusPlus::seed_from_u64(1)).unwrap();
        let (d, _, _) = reduce(x.view(), &sampled, &mut Xoshiro256PlusPlus::seed_from_u64(2)).unwrap();
        assert_ne!(c, d);
    }

    #[test]
    fn jacobi_matches_a_known_eigen_decomposition() {
        let a = ndarray::array![[2.0, 1.0], [1.0, 2.0]];
        let (mut values, _) = symmetric_eigen(a);
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12);
    }
}
