//! Quality measures: silhouette, adjusted Rand index, normalised mutual information and
//! trustworthiness. Checked against scikit-learn's definitions (NMI: arithmetic mean).

use super::knn::knn;
use ndarray::ArrayView2;
use std::collections::HashMap;

/// Mean silhouette of labelled points (labels < 0 are left out), Euclidean distance.
/// O(n^2): call it on a sample.
pub fn silhouette(x: ArrayView2<f32>, labels: &[i32]) -> f64 {
    silhouette_by(labels, |i, j| {
        let d: f32 = x.row(i).iter().zip(x.row(j)).map(|(a, b)| (a - b) * (a - b)).sum();
        d.sqrt()
    })
}

/// Mean silhouette of labelled points (labels < 0 are left out) under `dist(i, j)`.
pub fn silhouette_by(labels: &[i32], dist: impl Fn(usize, usize) -> f32) -> f64 {
    let idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] >= 0).collect();
    let k = labels.iter().copied().max().unwrap_or(-1) + 1;
    if k < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    for &i in &idx {
        let mut sums = vec![0.0f64; k as usize];
        let mut counts = vec![0usize; k as usize];
        for &j in &idx {
            if i != j {
                sums[labels[j] as usize] += f64::from(dist(i, j));
                counts[labels[j] as usize] += 1;
            }
        }
        let own = labels[i] as usize;
        if counts[own] == 0 {
            continue; // a singleton's silhouette is 0
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k as usize)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / idx.len().max(1) as f64
}

/// Counts of each (a, b) label pair, of each a label and of each b label.
type Contingency = (HashMap<(i32, i32), f64>, HashMap<i32, f64>, HashMap<i32, f64>);

fn contingency(a: &[i32], b: &[i32]) -> Contingency {
    let mut joint = HashMap::new();
    let mut ca = HashMap::new();
    let mut cb = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_insert(0.0) += 1.0;
        *ca.entry(x).or_insert(0.0) += 1.0;
        *cb.entry(y).or_insert(0.0) += 1.0;
    }
    (joint, ca, cb)
}

/// Adjusted Rand index of two labelings of the same items.
pub fn adjusted_rand_index(a: &[i32], b: &[i32]) -> f64 {
    let n = a.len() as f64;
    let (joint, ca, cb) = contingency(a, b);
    let comb = |x: f64| x * (x - 1.0) / 2.0;
    let index: f64 = joint.values().map(|&v| comb(v)).sum();
    let sa: f64 = ca.values().map(|&v| comb(v)).sum();
    let sb: f64 = cb.values().map(|&v| comb(v)).sum();
    let expected = sa * sb / comb(n);
    let max = (sa + sb) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Normalised mutual information (arithmetic-mean normalisation, as scikit-learn's default).
pub fn normalized_mutual_info(a: &[i32], b: &[i32]) -> f64 {
    let n = a.len() as f64;
    let (joint, ca, cb) = contingency(a, b);
    let entropy = |c: &HashMap<i32, f64>| -c.values().map(|&v| (v / n) * (v / n).ln()).sum::<f64>();
    let (ha, hb) = (entropy(&ca), entropy(&cb));
    let mi: f64 = joint.iter().map(|(&(x, y), &v)| (v / n) * ((v * n) / (ca[&x] * cb[&y])).ln()).sum();
    let denom = (ha + hb) / 2.0;
    if denom <= 0.0 {
        return 1.0;
    }
    (mi / denom).clamp(0.0, 1.0)
}

/// Trustworthiness of an embedding `low` of `high` for `k` neighbours (scikit-learn's
/// definition): 1 means every low-dimensional neighbour is a true neighbour.
pub fn trustworthiness(high: ArrayView2<f32>, low: ArrayView2<f32>, k: usize) -> f64 {
    let n = high.nrows();
    if n <= 2 * k + 1 {
        return 1.0;
    }
    let (all_high, _) = knn(high, high, n - 1, true);
    let (low_nn, _) = knn(low, low, k, true);
    let mut penalty = 0.0;
    for i in 0..n {
        let mut rank = vec![0usize; n];
        for (r, &j) in all_high[i].iter().enumerate() {
            rank[j as usize] = r + 1;
        }
        for &j in &low_nn[i] {
            let r = rank[j as usize];
            if r > k {
                penalty += (r - k) as f64;
            }
        }
    }
    let (n, k) = (n as f64, k as f64);
    1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty
}

/// A k tried by k-means: (k, silhouette, largest cluster's share, smallest cluster's share).
pub type Candidate = (usize, f64, f64, f64);

#[derive(Debug, Clone, Default)]
pub struct Quality {
    pub method: String,
    /// Mean silhouette of the chosen clustering on a sample, in the reduced space.
    pub silhouette: f64,
    pub outlier_share: f64,
    pub largest_cluster_share: f64,
    /// k-means: each k tried.
    pub k_candidates: Vec<Candidate>,
    pub pca_dims: usize,
    pub pca_explained_variance: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ari_and_nmi_match_scikit_learn() {
        // sklearn: adjusted_rand_score([0,0,1,1,2,2],[0,0,1,2,2,2]) = 0.4444..., NMI = 0.7396...
        let a = [0, 0, 1, 1, 2, 2];
        let b = [0, 0, 1, 2, 2, 2];
        assert!((adjusted_rand_index(&a, &b) - 0.444_444).abs() < 1e-4);
        assert!((normalized_mutual_info(&a, &b) - 0.739_667).abs() < 1e-4);
        assert_eq!(adjusted_rand_index(&a, &[5, 5, 7, 7, 9, 9]), 1.0);
        assert!((normalized_mutual_info(&a, &a) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn silhouette_of_separated_blobs_is_high() {
        let x = array![[0.0f32, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0]];
        assert!(silhouette(x.view(), &[0, 0, 1, 1]) > 0.98);
        assert!(silhouette(x.view(), &[0, 1, 0, 1]) < 0.0);
    }

    #[test]
    fn identity_embedding_is_fully_trustworthy() {
        let x = ndarray::Array2::from_shape_fn((30, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 + i as f32 * 0.01);
        assert!((trustworthiness(x.view(), x.view(), 5) - 1.0).abs() < 1e-9);
    }
}
