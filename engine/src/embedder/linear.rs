//! The built-in model's f32 linear maps, out = x · Wᵀ + b, computed on the weights where
//! they lie: PyTorch's [out, in] layout is already what a dot-product kernel wants (each
//! output is a row of W against a row of x, both contiguous), so nothing is packed,
//! copied or transposed, neither at load nor per call. A general GEMM (matrixmultiply)
//! packs all of W on every call: for one short text that packing cost as much as the
//! products themselves, which made `embed_text` ~2x the per-text cost of a batch.
//!
//! Every output is summed in the same order whatever the rows around it (8 lanes along k,
//! then the lanes in a fixed order), so a text gets the same vector alone as in a batch.

/// `out[i · out_stride + j] = Σ_k x[i · inputs + k] · w[j · inputs + k] + bias[j]` for the
/// rows i of `x` and the `bias.len()` rows j of `w` (row-major, `inputs` values per row).
/// `out_stride` lets the outputs land in columns of a wider matrix (query, key and value
/// side by side): `out` starts at the first output column of row 0.
pub fn linear(x: &[f32], w: &[f32], bias: &[f32], inputs: usize, out: &mut [f32], out_stride: usize) {
    let (rows, outputs) = (x.len().checked_div(inputs).unwrap_or(0), bias.len());
    assert!(inputs > 0 && x.len() == rows * inputs && w.len() == outputs * inputs, "shapes");
    assert!(out_stride >= outputs && (rows == 0 || out.len() >= (rows - 1) * out_stride + outputs), "output size");
    #[cfg(target_arch = "x86_64")]
    if inputs.is_multiple_of(avx2::LANES)
        && outputs.is_multiple_of(avx2::COLUMNS)
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX2 and FMA (checked just above); shapes checked above,
        // `inputs` a multiple of 8 and `outputs` of 4.
        unsafe { avx2::linear(x, w, bias, inputs, out, out_stride) };
        return;
    }
    scalar_linear(x, w, bias, inputs, out, out_stride);
}

/// The portable kernel (and the reference the AVX2 one is tested against): 8 partial sums
/// along k, which the compiler can keep in SIMD lanes.
fn scalar_linear(x: &[f32], w: &[f32], bias: &[f32], inputs: usize, out: &mut [f32], out_stride: usize) {
    for (i, x_row) in x.chunks_exact(inputs).enumerate() {
        let out_row = &mut out[i * out_stride..i * out_stride + bias.len()];
        for ((o, w_row), b) in out_row.iter_mut().zip(w.chunks_exact(inputs)).zip(bias) {
            let mut lanes = [0.0f32; 8];
            let (x_chunks, w_chunks) = (x_row.chunks_exact(8), w_row.chunks_exact(8));
            let rest: f32 = x_chunks.remainder().iter().zip(w_chunks.remainder()).map(|(a, b)| a * b).sum();
            for (xc, wc) in x_chunks.zip(w_chunks) {
                for l in 0..8 {
                    lanes[l] += xc[l] * wc[l];
                }
            }
            *o = lanes.iter().sum::<f32>() + rest + b;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Rows of x per block: their values (up to 64 × 1536 floats, 384 KiB) stay in L2
    /// while the weights stream past once per block.
    const BLOCK_ROWS: usize = 64;

    /// f32 values in one __m256: the step along k.
    pub(super) const LANES: usize = 8;
    /// Rows of W per tile (their 4 sums come out as one __m128).
    pub(super) const COLUMNS: usize = 4;
    /// Rows of x per tile: 3 × 4 accumulators, 3 rows of x and a row of W are the 16
    /// registers AVX2 has.
    const TILE_ROWS: usize = 3;

    /// See `super::linear`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; the shapes as `super::linear` checks them, with
    /// `inputs` a multiple of LANES and the outputs a multiple of COLUMNS.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn linear(x: &[f32], w: &[f32], bias: &[f32], inputs: usize, out: &mut [f32], out_stride: usize) {
        let rows = x.len() / inputs;
        for r0 in (0..rows).step_by(BLOCK_ROWS) {
            let r_end = (r0 + BLOCK_ROWS).min(rows);
            for j in (0..bias.len()).step_by(COLUMNS) {
                let columns: [*const f32; COLUMNS] = std::array::from_fn(|c| w[(j + c) * inputs..].as_ptr());
                // SAFETY: j + 3 < outputs, so 4 values of bias are there.
                let b = unsafe { _mm_loadu_ps(bias[j..].as_ptr()) };
                let mut r = r0;
                while r < r_end {
                    let left = r_end - r;
                    // SAFETY: rows r.. r + taken are < rows, each `inputs` long; the
                    // output rows hold columns j..j + 4 (checked by the caller).
                    unsafe {
                        let taken = match left {
                            1 => {
                                store(tile::<1>(row_pointers(x, r, inputs), columns, inputs), b, out, r, j, out_stride)
                            }
                            2 => {
                                store(tile::<2>(row_pointers(x, r, inputs), columns, inputs), b, out, r, j, out_stride)
                            }
                            _ => store(
                                tile::<TILE_ROWS>(row_pointers(x, r, inputs), columns, inputs),
                                b,
                                out,
                                r,
                                j,
                                out_stride,
                            ),
                        };
                        r += taken;
                    }
                }
            }
        }
    }

    fn row_pointers<const R: usize>(x: &[f32], r: usize, inputs: usize) -> [*const f32; R] {
        std::array::from_fn(|i| x[(r + i) * inputs..].as_ptr())
    }

    /// Writes a tile's sums plus the bias to rows r.. of columns j..j + 4; returns the
    /// rows written.
    ///
    /// # Safety
    /// AVX2; rows r..r + R of `out` hold columns j..j + 4.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store<const R: usize>(
        sums: [__m128; R],
        bias: __m128,
        out: &mut [f32],
        r: usize,
        j: usize,
        out_stride: usize,
    ) -> usize {
        for (i, s) in sums.into_iter().enumerate() {
            let at = &mut out[(r + i) * out_stride + j..(r + i) * out_stride + j + COLUMNS];
            // SAFETY: `at` holds 4 floats.
            unsafe { _mm_storeu_ps(at.as_mut_ptr(), _mm_add_ps(s, bias)) };
        }
        R
    }

    /// The R × 4 dot products of `inputs` floats; per row of x, the 4 sums in one __m128.
    /// Each sum is the same arithmetic whatever R is.
    ///
    /// # Safety
    /// AVX2 and FMA; every pointer valid for `inputs` floats, a multiple of 8.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const R: usize>(x: [*const f32; R], w: [*const f32; COLUMNS], inputs: usize) -> [__m128; R] {
        let mut acc = [[_mm256_setzero_ps(); COLUMNS]; R];
        for k in (0..inputs).step_by(LANES) {
            // SAFETY: k + 8 <= inputs, within each row (the caller's contract).
            let xs: [__m256; R] = std::array::from_fn(|i| unsafe { _mm256_loadu_ps(x[i].add(k)) });
            for c in 0..COLUMNS {
                // SAFETY: as above.
                let wc = unsafe { _mm256_loadu_ps(w[c].add(k)) };
                for i in 0..R {
                    acc[i][c] = _mm256_fmadd_ps(xs[i], wc, acc[i][c]);
                }
            }
        }
        // Per row: [Σ lanes 0-3 of each column | Σ lanes 4-7 of each], then the halves added.
        acc.map(|a| {
            let h = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
            _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Past the AVX2 kernel's blocks of rows.
    const BLOCK_ROWS: usize = 64;

    /// Property: for random shapes (edge rows, past a row block, outputs into a wider
    /// matrix) the dispatched kernel (AVX2 here when the CPU has it) gives the exact
    /// product to float rounding, writes every output and nothing beside them.
    #[test]
    fn products_match_the_definition() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(27);
        for case in 0..100 {
            let rows = rng.gen_range(0..=2 * BLOCK_ROWS + 5);
            let inputs = 8 * rng.gen_range(1..=24) + if case % 5 == 0 { 3 } else { 0 };
            let outputs = 4 * rng.gen_range(1..=20) + if case % 7 == 0 { 1 } else { 0 };
            let (stride, offset) = (outputs + rng.gen_range(0..9), rng.gen_range(0..3));
            let x: Vec<f32> = (0..rows * inputs).map(|_| rng.gen_range(-3.0..3.0)).collect();
            let w: Vec<f32> = (0..outputs * inputs).map(|_| rng.gen_range(-0.5..0.5)).collect();
            let b: Vec<f32> = (0..outputs).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let mut out = vec![f32::NAN; offset + rows * stride];
            linear(&x, &w, &b, inputs, &mut out[offset..], stride);
            for i in 0..rows {
                for j in 0..stride {
                    let got = out[offset + i * stride + j];
                    if j >= outputs {
                        assert!(got.is_nan(), "case {case}: wrote past the outputs at {i}, {j}");
                        continue;
                    }
                    let want: f64 =
                        (0..inputs).map(|k| f64::from(x[i * inputs + k]) * f64::from(w[j * inputs + k])).sum::<f64>()
                            + f64::from(b[j]);
                    assert!(
                        (f64::from(got) - want).abs() < 1e-4,
                        "case {case}: {rows}×{inputs}×{outputs} at {i}, {j}: {got} vs {want}"
                    );
                }
            }
            assert!(out[..offset].iter().all(|v| v.is_nan()));
        }
    }

    /// A row's outputs do not depend on the rows around it (tiles of 1, 2 or 3 rows, any
    /// block): bit for bit.
    #[test]
    fn a_row_is_computed_alike_in_any_batch() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let (inputs, outputs, rows) = (384, 8, BLOCK_ROWS + 7);
        let x: Vec<f32> = (0..rows * inputs).map(|_| rng.gen_range(-3.0..3.0)).collect();
        let w: Vec<f32> = (0..outputs * inputs).map(|_| rng.gen_range(-0.5..0.5)).collect();
        let b = vec![0.25; outputs];
        let mut together = vec![0.0; rows * outputs];
        linear(&x, &w, &b, inputs, &mut together, outputs);
        for i in 0..rows {
            let mut alone = vec![0.0; outputs];
            linear(&x[i * inputs..(i + 1) * inputs], &w, &b, inputs, &mut alone, outputs);
            assert_eq!(alone, together[i * outputs..(i + 1) * outputs], "row {i}");
        }
    }
}
