//! Placing new items into an existing run's clusters: the nearest centroid by cosine
//! distance, or Outliers (-1) when farther than that cluster's radius.

use crate::error::{EngineError, ErrorKind, Result};
use crate::vectors::normalise_rows;
use ndarray::{s, Array2, ArrayView2};

/// Most bytes of similarities one block of [`Centroids::place`] computes at once.
pub const PLACE_BLOCK_BYTES: usize = 64 << 20;

/// A run's clusters as needed to place items: unit centroids (one row per cluster) and
/// each cluster's radius (cosine distance; infinite when the run flagged no outliers).
pub struct Centroids {
    pub centroids: Array2<f32>,
    pub radius: Vec<f32>,
}

impl Centroids {
    pub fn new(rows: Vec<Vec<f32>>, radius: Vec<f32>) -> Result<Self> {
        let dim = rows.first().map_or(0, Vec::len);
        if rows.is_empty() || dim == 0 || rows.iter().any(|r| r.len() != dim) || radius.len() != rows.len() {
            return Err(EngineError::new(
                ErrorKind::Internal,
                "a run's centroids must be non-empty rows of one dimension",
            ));
        }
        let mut data = rows.concat();
        normalise_rows(&mut data, dim);
        let centroids = Array2::from_shape_vec((rows.len(), dim), data)
            .map_err(|e| EngineError::new(ErrorKind::Internal, e.to_string()))?;
        Ok(Self { centroids, radius })
    }

    pub fn dim(&self) -> usize {
        self.centroids.ncols()
    }

    /// Checks one embedding and scales it to unit length.
    pub fn normalised(&self, embedding: &[f32]) -> Result<Vec<f32>> {
        if embedding.len() != self.dim() {
            return Err(EngineError::new(
                ErrorKind::InvalidParameter,
                format!("embedding has {} dimensions, the job's clusters have {}", embedding.len(), self.dim()),
            ));
        }
        if let Some(i) = embedding.iter().position(|x| !x.is_finite()) {
            return Err(EngineError::new(
                ErrorKind::InvalidParameter,
                format!("embedding element {} is not a finite number", i + 1),
            ));
        }
        let norm = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            return Err(EngineError::new(
                ErrorKind::InvalidParameter,
                "embedding is all zeros: it has no direction to compare",
            ));
        }
        Ok(embedding.iter().map(|x| x / norm).collect())
    }

    /// For each unit-length row of `rows` (row-major, `dim()` floats each): the index of
    /// the nearest cluster, or -1 beyond its radius, and the cosine distance to it. Rows go
    /// in blocks whose similarities take at most [`PLACE_BLOCK_BYTES`], `check` (a cancel)
    /// asked before each: a run's clusters are rows admins may plant, and a fixed block of
    /// 8,192 rows against 1,000,000 planted centroids asked for 33 GB at once (the failed
    /// allocation aborts the backend, and PostgreSQL restarts every backend) in one
    /// product that no cancel reached.
    pub fn place(&self, rows: &[f32], check: &dyn Fn() -> Result<()>) -> Result<Vec<(i32, f32)>> {
        let n = rows.len() / self.dim();
        let x = ArrayView2::from_shape((n, self.dim()), rows)
            .map_err(|e| EngineError::new(ErrorKind::Internal, e.to_string()))?;
        let mut out = Vec::with_capacity(x.nrows());
        let block = (PLACE_BLOCK_BYTES / (self.centroids.nrows().max(1) * std::mem::size_of::<f32>())).clamp(1, 8192);
        for start in (0..x.nrows()).step_by(block) {
            check()?;
            let end = (start + block).min(x.nrows());
            let sims = x.slice(s![start..end, ..]).dot(&self.centroids.t());
            for row in sims.rows() {
                let (best, sim) =
                    row.iter().enumerate().fold((0, f32::NEG_INFINITY), |a, (j, &v)| if v > a.1 { (j, v) } else { a });
                let distance = (1.0 - sim).max(0.0);
                out.push((if distance > self.radius[best] { -1 } else { best as i32 }, distance));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Centroids {
        Centroids::new(vec![vec![2.0, 0.0], vec![0.0, 1.0]], vec![0.1, f32::INFINITY]).unwrap()
    }

    #[test]
    fn places_by_cosine_and_flags_far_items() {
        let c = two();
        let placed = c.place(&[1.0, 0.0, 0.6, 0.8, 0.8, 0.6], &|| Ok(())).unwrap();
        assert_eq!(placed[0], (0, 0.0));
        assert_eq!(placed[1].0, 1); // nearer the second centroid, whose radius is unlimited
        assert_eq!(placed[2].0, -1); // nearest the first, but 0.2 from it, beyond its radius 0.1
        assert!((placed[2].1 - 0.2).abs() < 1e-6);
    }

    /// 100,000 centroids (planted rows): blocks of 167 rows (64 MB of similarities), each
    /// after a check, where one block of 8,192 rows took 3.3 GB; a cancel stops it.
    #[test]
    fn many_centroids_place_in_small_blocks_that_a_cancel_stops() {
        let k = 100_000;
        let c = Centroids::new((0..k).map(|i| vec![1.0, i as f32]).collect(), vec![f32::INFINITY; k]).unwrap();
        let rows: Vec<f32> = (0..1000).flat_map(|_| [1.0f32, 0.0]).collect();
        let checks = std::cell::Cell::new(0);
        let placed = c
            .place(&rows, &|| {
                checks.set(checks.get() + 1);
                Ok(())
            })
            .unwrap();
        assert_eq!((placed.len(), placed[0].0, checks.get()), (1000, 0, 1000usize.div_ceil(167)));
        let cancel = || Err(EngineError::new(ErrorKind::Cancelled, "cancelled"));
        assert!(c.place(&rows, &cancel).is_err());
    }

    #[test]
    fn bad_embeddings_are_errors_naming_the_problem() {
        let c = two();
        assert_eq!(c.normalised(&[3.0, 4.0]).unwrap(), vec![0.6, 0.8]);
        let e = c.normalised(&[1.0, 2.0, 3.0]).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::InvalidParameter, "embedding has 3 dimensions, the job's clusters have 2")
        );
        assert!(c.normalised(&[f32::NAN, 1.0]).unwrap_err().message.contains("element 1"));
        assert!(c.normalised(&[0.0, 0.0]).unwrap_err().message.contains("all zeros"));
    }
}
