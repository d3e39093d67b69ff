//! Small vector helpers shared by SQL aggregates and the pipeline.

/// Scales each row of `dim` floats to unit length; a zero row stays zero.
pub fn normalise_rows(data: &mut [f32], dim: usize) {
    for row in data.chunks_mut(dim.max(1)) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

/// Adds `v`, scaled to unit length so that every vector weighs the same, to a running
/// sum kept as `[count, x1, .., xd]`. Returns false (and leaves `state` alone) when `v`
/// cannot join it: empty, non-finite, zero, or of another dimension than the vectors
/// already summed.
pub fn accumulate(state: &mut Vec<f64>, v: &[f32]) -> bool {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if v.is_empty() || !norm.is_finite() || norm == 0.0 {
        return false;
    }
    if state.is_empty() {
        state.push(0.0);
        state.resize(v.len() + 1, 0.0);
    } else if state.len() != v.len() + 1 {
        return false;
    }
    state[0] += 1.0;
    for (s, x) in state[1..].iter_mut().zip(v) {
        *s += f64::from(*x) / norm;
    }
    true
}

/// The L2-normalised mean of an `accumulate` state; `None` when nothing was summed or
/// the mean is the zero vector.
pub fn normalised_mean(state: &[f64]) -> Option<Vec<f32>> {
    let sum = state.get(1..).filter(|s| !s.is_empty() && state[0] > 0.0)?;
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| sum.iter().map(|x| (x / norm) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_two_vectors_is_normalised() {
        let mut s = Vec::new();
        assert!(accumulate(&mut s, &[1.0, 0.0]));
        assert!(accumulate(&mut s, &[0.0, 4.0]));
        let m = normalised_mean(&s).unwrap();
        assert!((m[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6 && (m[0] - m[1]).abs() < 1e-7);
    }

    #[test]
    fn skips_bad_vectors() {
        let mut s = Vec::new();
        assert!(!accumulate(&mut s, &[]));
        assert!(!accumulate(&mut s, &[f32::NAN, 1.0]));
        assert!(!accumulate(&mut s, &[0.0, 0.0]));
        assert!(accumulate(&mut s, &[3.0, 4.0]));
        assert!(!accumulate(&mut s, &[1.0, 2.0, 3.0]));
        assert_eq!(s, vec![1.0, 0.6, 0.8]);
        assert_eq!(normalised_mean(&[]), None);
        assert_eq!(normalised_mean(&[2.0, 0.0, 0.0]), None);
    }
}
