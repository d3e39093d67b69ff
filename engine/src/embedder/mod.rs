//! Embedders that run inside the database: the built-in sentence model (`minilm`, the
//! default) and the hashed bag-of-words (`hash`, no model files).

pub mod hash;
pub mod int8;
/// The f32 kernel of the model's linear maps (public for `examples/linear_bench.rs`).
pub mod linear;
pub mod minilm;

/// The most of a text any embedder reads, in bytes: the built-in model reads its first 256
/// tokens (WordPiece words are at most 100 characters), and no text may make an embedder's
/// work or memory grow without bound.
pub const MAX_INPUT_BYTES: usize = 32 * 1024;

/// The start of `text` an embedder reads: at most `MAX_INPUT_BYTES`, cut on a character
/// boundary.
pub fn bounded_input(text: &str) -> &str {
    if text.len() <= MAX_INPUT_BYTES {
        return text;
    }
    let mut end = MAX_INPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_cut_on_a_character_boundary() {
        assert_eq!(bounded_input("short"), "short");
        let long = "é".repeat(MAX_INPUT_BYTES); // 2 bytes each
        let cut = bounded_input(&long);
        assert_eq!(cut.len(), MAX_INPUT_BYTES);
        let odd = format!("a{long}");
        assert_eq!(bounded_input(&odd).len(), MAX_INPUT_BYTES - 1);
    }
}
