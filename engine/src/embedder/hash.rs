//! The offline embedder: no model files, no service, deterministic. A text becomes the
//! signed feature-hashing sum ("hashing trick") of its word unigrams and bigrams and the
//! character 3- to 5-grams of its words, each weighted by sublinear term frequency, with
//! stop words left out, in a fixed number of dimensions, scaled to unit length.
//!
//! There is no IDF: document frequencies would tie an embedding to the corpus it was
//! computed with, and embeddings made on different days would not be comparable.

use crate::text::{words, STOP_WORDS};
use crate::vectors::normalise_rows;
use std::collections::HashMap;

pub const DIMENSIONS: usize = 512;
/// Stored in `embeddings.model` for vectors made here.
pub const MODEL: &str = "llm_clusters-hash-v1";

const WORD_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.6;
const CHAR_WEIGHT: f32 = 0.5;

/// FNV-1a: stable across platforms and Rust versions, unlike the standard hasher.
fn fnv1a(kind: u8, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind).chain(text.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The unit-length embedding of `text`; all zeros when it has no usable word.
pub fn embed(text: &str) -> Vec<f32> {
    let mut counts: HashMap<(u8, String), f32> = HashMap::new();
    let kept: Vec<String> = words(text).filter(|w| !STOP_WORDS.contains(&w.as_str())).collect();
    for (i, w) in kept.iter().enumerate() {
        *counts.entry((b'w', w.clone())).or_default() += 1.0;
        if let Some(next) = kept.get(i + 1) {
            *counts.entry((b'b', format!("{w} {next}"))).or_default() += 1.0;
        }
        let chars: Vec<char> = format!("<{w}>").chars().collect();
        for n in 3..=5 {
            for gram in chars.windows(n) {
                *counts.entry((b'c', gram.iter().collect())).or_default() += 1.0;
            }
        }
    }
    let mut v = vec![0f32; DIMENSIONS];
    for ((kind, feature), tf) in &counts {
        let weight = match kind {
            b'w' => WORD_WEIGHT,
            b'b' => BIGRAM_WEIGHT,
            _ => CHAR_WEIGHT,
        } * (1.0 + tf.ln());
        let h = fnv1a(*kind, feature);
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[(h % DIMENSIONS as u64) as usize] += sign * weight;
    }
    normalise_rows(&mut v, DIMENSIONS);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_unit_vectors_of_fixed_size() {
        let a = embed("Reset my password for the billing account");
        assert_eq!(a.len(), DIMENSIONS);
        assert_eq!(a, embed("Reset my password for the billing account"));
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        assert!(a.iter().filter(|x| **x != 0.0).count() > 20);
    }

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let a = embed("How do I reset my password?");
        let b = embed("I forgot my password, how can I reset it");
        let c = embed("Translate this menu into French");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.2, "{} vs {}", cosine(&a, &b), cosine(&a, &c));
    }

    #[test]
    fn no_words_no_direction() {
        assert!(embed("").iter().all(|x| *x == 0.0));
        assert!(embed("the and of 12 !!").iter().all(|x| *x == 0.0));
    }
}
