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
    /// the scale max|row| / 127, reusing this value's buffers (AVX2 when the CPU has it).
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.quantize_avx2(x, cols) };
            return;
        }
        self.quantize_portable(x, cols);
    }

    /// `quantize` compiled for AVX2 (the same source, wider registers).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn quantize_avx2(&mut self, x: &[f32], cols: usize) {
        self.quantize_portable(x, cols);
    }

    #[inline(always)]
    fn quantize_portable(&mut self, x: &[f32], cols: usize) {
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
}

/// The buffers a layer's `apply` reuses from call to call.
#[derive(Default)]
pub struct Scratch {
    input: QuantizedRows,
    sums: Vec<i32>,
}

impl QuantizedLinear {
    /// From PyTorch's layout: `weight` is [out, in] row-major, `bias` has `out` values.
    pub fn new(weight: &[f32], bias: &[f32]) -> QuantizedLinear {
        let mut weights = QuantizedRows::default();
        let inputs = weight.len() / bias.len().max(1);
        weights.quantize(weight, inputs);
        QuantizedLinear { weights, bias: bias.to_vec(), inputs }
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// out = input · Wᵀ + b, with `input` row-major [rows, inputs] and `out` [rows, outputs].
    pub fn apply(&self, input: &[f32], scratch: &mut Scratch, out: &mut [f32]) {
        let n = self.outputs();
        let Scratch { input: quantized, sums } = scratch;
        assert_eq!(out.len(), input.len() / self.inputs.max(1) * n, "output size");
        quantized.quantize(input, self.inputs);
        sums.resize(out.len(), 0);
        dot_products(&quantized.values, &self.weights.values, quantized.stride, sums);
        for ((out, sums), a_scale) in out.chunks_exact_mut(n).zip(sums.chunks_exact(n)).zip(&quantized.scales) {
            for (((o, &s), w_scale), b) in out.iter_mut().zip(sums).zip(&self.weights.scales).zip(&self.bias) {
                *o = b + s as f32 * (a_scale * w_scale);
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
        // weights and inputs computed in f64 (what the i32 sums must give exactly).
        let layer = QuantizedLinear::new(&w, &b);
        let mut out = vec![0.0; m * n];
        layer.apply(&x, &mut Scratch::default(), &mut out);
        let mut inputs = QuantizedRows::default();
        inputs.quantize(&x, k);
        let stride = layer.weights.stride;
        let (mut to_exact, mut to_quantised) = (0.0f32, 0.0f64);
        for i in 0..m {
            for j in 0..n {
                let exact: f32 = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + b[j];
                let quantised: f64 = (0..k)
                    .map(|t| {
                        f64::from(inputs.values[i * stride + t])
                            * f64::from(inputs.scales[i])
                            * f64::from(layer.weights.values[j * stride + t])
                            * f64::from(layer.weights.scales[j])
                    })
                    .sum::<f64>()
                    + f64::from(b[j]);
                to_exact = to_exact.max((out[i * n + j] - exact).abs());
                to_quantised = to_quantised.max((f64::from(out[i * n + j]) - quantised).abs());
            }
        }
        assert!(to_exact < 0.05, "{to_exact}");
        assert!(to_quantised < 1e-5, "{to_quantised}");
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
