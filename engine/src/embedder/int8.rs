//! Integer matrix products for the built-in model's int8 path: weights quantised once per
//! output channel, activations per row, both symmetric to [-127, 127]; products summed
//! exactly in i32 and scaled back to f32 with the two scales.
//!
//! The kernel uses AVX2 when the CPU has it (checked at run time), else a portable loop
//! that gives the same i32 sums. AVX2 has no signed×signed byte product:
//! `_mm256_maddubs_epi16` multiplies unsigned by signed bytes and adds pairs into i16 with
//! saturation. With |a| as the unsigned operand and w carrying a's sign
//! (`_mm256_sign_epi8`), each product is a·w exactly and a pair is at most 2·127·127 =
//! 32,258 < 32,767: no saturation, which is why -128 is never produced.

/// Values per SIMD step: rows are stored padded with zeros to a multiple of this.
const LANES: usize = 32;
// The AVX2 kernel steps through a row one register at a time.
#[cfg(target_arch = "x86_64")]
const _: () = assert!(LANES.is_multiple_of(avx2::REGISTER_BYTES));

fn padded(len: usize) -> usize {
    len.div_ceil(LANES) * LANES
}

/// Rows of i8 values (padded to `stride`) with one scale per row: value ≈ q · scale.
#[derive(Default)]
pub struct QuantizedRows {
    values: Vec<i8>,
    scales: Vec<f32>,
    stride: usize,
}

impl QuantizedRows {
    /// Quantises each row of the row-major `rows × cols` matrix `x` to [-127, 127] with
    /// the scale max|row| / 127, reusing this value's buffers.
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        let rows = x.len().checked_div(cols).unwrap_or(0);
        self.stride = padded(cols);
        self.values.clear();
        self.values.resize(rows * self.stride, 0);
        self.scales.clear();
        for (row, out) in x.chunks_exact(cols.max(1)).zip(self.values.chunks_exact_mut(self.stride.max(1))) {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
            let inverse = 1.0 / scale;
            for (q, &v) in out.iter_mut().zip(row) {
                // Rounded to nearest (half away from zero); the clamp only bites on NaN/inf.
                let scaled = v * inverse;
                *q = (scaled + 0.5f32.copysign(scaled)).clamp(-127.0, 127.0) as i8;
            }
            self.scales.push(scale);
        }
    }
}

/// A linear layer quantised at load: W [out, in] per output channel, with its f32 bias.
pub struct QuantizedLinear {
    weights: QuantizedRows,
    bias: Vec<f32>,
    inputs: usize,
    /// 2: the input is quantised twice, the second time what the first left out (its
    /// rounding error), and both multiplied: ~15 bits of input for twice the work.
    passes: usize,
}

/// The buffers a layer's `apply` reuses from call to call.
#[derive(Default)]
pub struct Scratch {
    input: QuantizedRows,
    sums: Vec<i32>,
    residual: Vec<f32>,
}

impl QuantizedLinear {
    /// From PyTorch's layout: `weight` is [out, in] row-major, `bias` has `out` values;
    /// `passes` (1 or 2) as the field says.
    pub fn new(weight: &[f32], bias: &[f32], passes: usize) -> QuantizedLinear {
        let mut weights = QuantizedRows::default();
        let inputs = weight.len() / bias.len().max(1);
        weights.quantize(weight, inputs);
        QuantizedLinear { weights, bias: bias.to_vec(), inputs, passes: passes.clamp(1, 2) }
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// out = input · Wᵀ + b, with `input` row-major [rows, inputs] and `out` [rows, outputs].
    pub fn apply(&self, input: &[f32], scratch: &mut Scratch, out: &mut [f32]) {
        let n = self.outputs();
        let Scratch { input: quantized, sums, residual } = scratch;
        let rows = input.len() / self.inputs.max(1);
        assert_eq!(out.len(), rows * n, "output size");
        for pass in 0..self.passes {
            let this_pass = if pass == 0 { input } else { &residual[..] };
            quantized.quantize(this_pass, self.inputs);
            sums.resize(out.len(), 0);
            dot_products(&quantized.values, &self.weights.values, quantized.stride, sums);
            for ((out, sums), a_scale) in out.chunks_exact_mut(n).zip(sums.chunks_exact(n)).zip(&quantized.scales) {
                for (((o, &s), w_scale), b) in out.iter_mut().zip(sums).zip(&self.weights.scales).zip(&self.bias) {
                    let start = if pass == 0 { *b } else { *o };
                    *o = start + s as f32 * (a_scale * w_scale);
                }
            }
            if pass + 1 < self.passes {
                let error: Vec<f32> = (0..rows)
                    .flat_map(|i| {
                        let (row, q) = (
                            &this_pass[i * self.inputs..(i + 1) * self.inputs],
                            &quantized.values[i * quantized.stride..],
                        );
                        let scale = quantized.scales[i];
                        row.iter().zip(q).map(move |(x, &q)| x - f32::from(q) * scale)
                    })
                    .collect();
                *residual = error;
            }
        }
    }
}

/// out[i·n + j] = Σ_k a[i][k] · w[j][k] for the rows i of `a` and j of `w` (n of them):
/// row-major, `stride` values per row, a multiple of 32, every value in [-127, 127].
pub fn dot_products(a: &[i8], w: &[i8], stride: usize, out: &mut [i32]) {
    assert!(
        stride > 0 && stride.is_multiple_of(LANES) && a.len().is_multiple_of(stride) && w.len().is_multiple_of(stride)
    );
    assert_eq!(out.len(), a.len() / stride * (w.len() / stride));
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); the lengths were checked above.
        unsafe { avx2::dot_products(a, w, stride, out) };
        return;
    }
    scalar_dot_products(a, w, stride, out);
}

/// The portable kernel (and the reference the AVX2 one is tested against).
fn scalar_dot_products(a: &[i8], w: &[i8], stride: usize, out: &mut [i32]) {
    let mut out = out.iter_mut();
    for a_row in a.chunks_exact(stride) {
        for (w_row, o) in w.chunks_exact(stride).zip(&mut out) {
            *o = a_row.iter().zip(w_row).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// i8 values in one __m256i: the step of the inner loop (rows are padded to a multiple).
    pub(super) const REGISTER_BYTES: usize = 32;

    /// Columns of W per block: their rows (up to 64 × 1536 bytes) stay in L2 while every
    /// row of `a` passes by.
    const BLOCK_COLUMNS: usize = 64;

    /// See `super::dot_products`; tiles of 4 rows of `a` × 2 rows of `w`, 8 accumulators.
    /// Rows past the end are read again from the last row and their sums dropped.
    ///
    /// # Safety
    /// The CPU must have AVX2; `stride` a non-zero multiple of 32 dividing both lengths;
    /// `out` of their rows' product.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_products(a: &[i8], w: &[i8], stride: usize, out: &mut [i32]) {
        let (m, n) = (a.len() / stride, w.len() / stride);
        if m == 0 || n == 0 {
            return;
        }
        for j0 in (0..n).step_by(BLOCK_COLUMNS) {
            let j_end = (j0 + BLOCK_COLUMNS).min(n);
            for i0 in (0..m).step_by(4) {
                let rows = [i0, (i0 + 1).min(m - 1), (i0 + 2).min(m - 1), (i0 + 3).min(m - 1)];
                for j in (j0..j_end).step_by(2) {
                    let columns = [j, (j + 1).min(n - 1)];
                    // SAFETY: every row index is < m and every column index < n, so each
                    // row of `stride` bytes lies inside its slice.
                    let sums = unsafe {
                        tile(
                            rows.map(|r| a.as_ptr().add(r * stride)),
                            columns.map(|c| w.as_ptr().add(c * stride)),
                            stride,
                        )
                    };
                    for (r, &i) in rows.iter().enumerate() {
                        if i < i0 + r {
                            break; // a repeated last row
                        }
                        out[i * n + j] = sums[2 * r];
                        if j + 1 < n {
                            out[i * n + j + 1] = sums[2 * r + 1];
                        }
                    }
                }
            }
        }
    }

    /// The 4 × 2 dot products of `stride` bytes, in the order (row 0: column 0, column 1),
    /// (row 1: …), ….
    ///
    /// # Safety
    /// AVX2; every pointer valid for `stride` bytes; `stride` a multiple of 32.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn tile(a: [*const i8; 4], w: [*const i8; 2], stride: usize) -> [i32; 8] {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); 8];
        for k in (0..stride).step_by(REGISTER_BYTES) {
            // SAFETY: k + 32 <= stride, within each row (the caller's contract).
            let (w0, w1) = unsafe { (_mm256_loadu_si256(w[0].add(k).cast()), _mm256_loadu_si256(w[1].add(k).cast())) };
            for r in 0..4 {
                // SAFETY: as above.
                let x = unsafe { _mm256_loadu_si256(a[r].add(k).cast()) };
                let magnitude = _mm256_sign_epi8(x, x);
                // |x|·(w·sign x) = x·w per byte, pairs summed in i16 (no saturation for
                // values in [-127, 127]), then pairs of those in i32.
                let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w0, x)), ones);
                let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w1, x)), ones);
                acc[2 * r] = _mm256_add_epi32(acc[2 * r], p0);
                acc[2 * r + 1] = _mm256_add_epi32(acc[2 * r + 1], p1);
            }
        }
        // The 8 lanes of each accumulator summed, all 8 at once.
        let h01 = _mm256_hadd_epi32(acc[0], acc[1]);
        let h23 = _mm256_hadd_epi32(acc[2], acc[3]);
        let h45 = _mm256_hadd_epi32(acc[4], acc[5]);
        let h67 = _mm256_hadd_epi32(acc[6], acc[7]);
        let h0123 = _mm256_hadd_epi32(h01, h23);
        let h4567 = _mm256_hadd_epi32(h45, h67);
        let low = _mm256_permute2x128_si256::<0x20>(h0123, h4567);
        let high = _mm256_permute2x128_si256::<0x31>(h0123, h4567);
        let mut sums = [0i32; 8];
        // SAFETY: 32 bytes into an [i32; 8].
        unsafe { _mm256_storeu_si256(sums.as_mut_ptr().cast(), _mm256_add_epi32(low, high)) };
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn all_sums(a: &[i8], w: &[i8], stride: usize, kernel: fn(&[i8], &[i8], usize, &mut [i32])) -> Vec<i32> {
        let mut out = vec![i32::MIN; a.len() / stride * (w.len() / stride)];
        kernel(a, w, stride, &mut out);
        out
    }

    /// Property: for random shapes (edge rows and columns included) and random values in
    /// [-127, 127], extremes over-represented, the dispatched kernel (AVX2 here when the
    /// CPU has it) gives exactly the scalar sums, and writes every one of them.
    #[test]
    fn simd_sums_equal_scalar_sums_exactly() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(27);
        for case in 0..200 {
            let m = rng.gen_range(1..=13);
            let n = rng.gen_range(1..=140);
            let stride = LANES * rng.gen_range(1..=8);
            let mut value = || match rng.gen_range(0..4) {
                0 => *[-127i8, 127, 0, -1, 1].get(rng.gen_range(0..5)).unwrap_or(&0),
                _ => rng.gen_range(-127..=127),
            };
            let a: Vec<i8> = (0..m * stride).map(|_| value()).collect();
            let w: Vec<i8> = (0..n * stride).map(|_| value()).collect();
            let got = all_sums(&a, &w, stride, dot_products);
            assert_eq!(got, all_sums(&a, &w, stride, scalar_dot_products), "case {case}: {m}×{n}, stride {stride}");
            assert!(!got.contains(&i32::MIN));
        }
        // The worst case for saturation: every product 127·127 or -127·127.
        let a = vec![127i8; 4 * 64];
        let w: Vec<i8> = (0..2 * 64).map(|k| if k % 3 == 0 { -127 } else { 127 }).collect();
        assert_eq!(all_sums(&a, &w, 64, dot_products), all_sums(&a, &w, 64, scalar_dot_products));
        // Row 0 of w has 22 of 64 values negative, row 1 has 21.
        assert_eq!(all_sums(&a, &w, 64, dot_products)[..2], [127 * 127 * (42 - 22), 127 * 127 * (43 - 21)]);
    }

    #[test]
    fn quantised_layer_approximates_the_f32_product() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let (m, k, n) = (5, 48, 7); // 48: padded to 64
        let x: Vec<f32> = (0..m * k).map(|_| rng.gen_range(-3.0..3.0)).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rng.gen_range(-0.5..0.5)).collect();
        let b: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        // Error against the exact product, and against the product with the quantised
        // weights (what is left once the input's own rounding is removed).
        let (mut to_exact, mut to_weights) = ([0.0f32; 2], [0.0f32; 2]);
        for passes in [1, 2] {
            let layer = QuantizedLinear::new(&w, &b, passes);
            let mut out = vec![0.0; m * n];
            layer.apply(&x, &mut Scratch::default(), &mut out);
            let stride = layer.weights.stride;
            for i in 0..m {
                for j in 0..n {
                    let exact: f32 = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + b[j];
                    let quantised_weights: f32 = (0..k)
                        .map(|t| {
                            x[i * k + t] * f32::from(layer.weights.values[j * stride + t]) * layer.weights.scales[j]
                        })
                        .sum::<f32>()
                        + b[j];
                    to_exact[passes - 1] = to_exact[passes - 1].max((out[i * n + j] - exact).abs());
                    to_weights[passes - 1] = to_weights[passes - 1].max((out[i * n + j] - quantised_weights).abs());
                }
            }
        }
        assert!(to_exact[0] < 0.05 && to_exact[1] < 0.05, "{to_exact:?}");
        assert!(to_weights[1] < 1e-3 && to_weights[1] < to_weights[0] / 20.0, "{to_weights:?}");
    }

    #[test]
    fn quantisation_is_symmetric_per_row_and_never_minus_128() {
        let mut rows = QuantizedRows::default();
        rows.quantize(&[1.0, -2.0, 0.5, 0.0, 0.0, 0.0, f32::NAN, -1e30, 3.0], 3);
        assert_eq!(rows.scales.len(), 3);
        assert_eq!(&rows.values[..3], &[64, -127, 32]);
        assert!(rows.values[LANES..LANES + 3].iter().all(|&v| v == 0) && rows.scales[1] == 1.0);
        assert!(rows.values.iter().all(|&v| v != -128));
        assert!(rows.values[3..LANES].iter().all(|&v| v == 0), "padding is zero");
    }
}
