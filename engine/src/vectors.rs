//! Vector helpers shared by SQL aggregates and the pipeline: unit length, running means,
//! pgvector decoding, array literals. (Embedding models are in `embedder/`.)

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

/// The unit-length mean of `vectors` (each scaled to unit length first) weighted by
/// `weights`; vectors without direction or of another dimension than the first usable one
/// are left out. Empty when nothing is left or the mean is the zero vector.
pub fn weighted_unit_mean(vectors: &[Vec<f32>], weights: &[f32]) -> Vec<f32> {
    let mut sum: Vec<f64> = Vec::new();
    for (v, &w) in vectors.iter().zip(weights) {
        let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        if v.is_empty() || !norm.is_finite() || norm == 0.0 || !w.is_finite() || w <= 0.0 {
            continue;
        }
        if sum.is_empty() {
            sum.resize(v.len(), 0.0);
        } else if sum.len() != v.len() {
            continue;
        }
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += f64::from(w) * f64::from(*x) / norm);
    }
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        sum.iter().map(|x| (x / norm) as f32).collect()
    } else {
        Vec::new()
    }
}

/// The `{a,b,c}` text of a vector, cast to real[] in SQL: a batch of vectors goes to the
/// database as one text[] parameter. Rust prints the shortest text that reads back to the
/// same f32, so nothing is lost.
pub fn real_array_literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", parts.join(","))
}

/// Appends the values of a pgvector `vector` (`half` false: float4) or `halfvec` (`half`
/// true: IEEE binary16) stored as `bytes`: a 4-byte varlena header, an int16 dimension, an
/// unused int16, then the values (native byte order, as PostgreSQL stores them). Returns
/// false, appending nothing, when `bytes` is shorter than its dimension says.
pub fn decode_pgvector(bytes: &[u8], half: bool, out: &mut Vec<f32>) -> bool {
    let Some(dim) = bytes.get(4..6).map(|d| usize::from(u16::from_ne_bytes([d[0], d[1]]))) else { return false };
    let width = if half { 2 } else { 4 };
    let Some(values) = bytes.get(8..8 + dim * width) else { return false };
    if half {
        out.extend(values.chunks_exact(2).map(|h| half_to_f32(u16::from_ne_bytes([h[0], h[1]]))));
    } else {
        out.extend(values.chunks_exact(4).map(|f| f32::from_ne_bytes([f[0], f[1], f[2], f[3]])));
    }
    true
}

/// IEEE 754 binary16 to f32.
pub fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_mean_leans_to_the_heavier_vector_and_skips_empty_ones() {
        let vectors = [vec![2.0, 0.0], vec![0.0, 1.0], vec![0.0, 0.0], vec![1.0, 1.0, 1.0]];
        let mean = weighted_unit_mean(&vectors, &[3.0, 1.0, 5.0, 5.0]);
        let expected = [3.0 / 10f32.sqrt(), 1.0 / 10f32.sqrt()];
        assert!(mean.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{mean:?}");
        assert!(weighted_unit_mean(&[vec![0.0, 0.0]], &[1.0]).is_empty());
        assert!(weighted_unit_mean(&[], &[]).is_empty());
    }

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
    #[test]
    fn array_literals_read_back_exactly() {
        let v = [0.1f32, -1.0e-8, 3.402_823_5e38, 1.0 / 3.0, 0.0];
        let text = real_array_literal(&v);
        assert_eq!(text, "{0.1,-0.00000001,340282350000000000000000000000000000000,0.33333334,0}");
        let back: Vec<f32> = text.trim_matches(['{', '}']).split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(back, v);
        assert_eq!(real_array_literal(&[]), "{}");
    }

    #[test]
    fn half_floats_decode_exactly() {
        assert_eq!(half_to_f32(0x3c00), 1.0);
        assert_eq!(half_to_f32(0xc000), -2.0);
        assert_eq!(half_to_f32(0x3555), 0.333_251_95);
        assert_eq!(half_to_f32(0x0001), 2f32.powi(-24), "the smallest subnormal");
        assert_eq!(half_to_f32(0x7bff), 65504.0, "the largest finite");
        assert_eq!(half_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(half_to_f32(0x7e00).is_nan());
        assert_eq!(half_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn pgvector_values_follow_the_header() {
        let header = |dim: u16| [vec![0u8; 4], dim.to_ne_bytes().to_vec(), vec![0, 0]].concat();
        let vector = [header(2), 1.5f32.to_ne_bytes().to_vec(), (-2.0f32).to_ne_bytes().to_vec()].concat();
        let mut out = Vec::new();
        assert!(decode_pgvector(&vector, false, &mut out));
        assert_eq!(out, vec![1.5, -2.0]);
        let halfvec =
            [header(3), 0x3c00u16.to_ne_bytes().to_vec(), 0xc000u16.to_ne_bytes().to_vec(), vec![0, 0]].concat();
        out.clear();
        assert!(decode_pgvector(&halfvec, true, &mut out));
        assert_eq!(out, vec![1.0, -2.0, 0.0]);
        out.clear();
        assert!(!decode_pgvector(&vector[..11], false, &mut out), "a value cut short");
        assert!(!decode_pgvector(&[0, 0, 0], true, &mut out), "no header");
        assert!(out.is_empty());
        assert!(decode_pgvector(&header(0), false, &mut out), "no dimensions is a valid, empty vector");
    }
}
