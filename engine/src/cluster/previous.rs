//! The job's previous run, from which a run starts so that clusters keep their identity
//! from run to run.

use ndarray::Array2;

/// for each row being clustered, its cluster in that run (-1: an outlier, `ABSENT`: not in
/// it; an empty slice when unknown).
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    pub centroids: &'a [Vec<f32>],
    pub labels: &'a [i32],
    /// The theme of each of its clusters (empty when unknown): the run's themes start from them.
    pub themes: &'a [i32],
}

impl Previous<'_> {
    pub const ABSENT: i32 = i32::MIN;
}

/// The previous run as the clustering step uses it: centroids in the reduced space.
pub(super) struct PreviousReduced<'a> {
    pub(super) centroids: Array2<f32>,
    pub(super) labels: &'a [i32],
}
