//! Text written by a model or drawn from items, made safe to store and show: titles,
//! bullets and descriptions keep no control characters and no Unicode bidirectional
//! controls (which can reorder what a reader sees, "Trojan Source"), and are bounded in
//! length, cut on a character boundary.

/// What a text is, which decides its length and whether it keeps line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One line: a cluster's or a summary's title.
    Title,
    /// One line: a bullet, a note, a reason stored for a failure.
    Line,
    /// Several lines: a cluster's description (its bullets, one per line).
    Text,
}

/// Characters of a title.
pub const TITLE_CHARS: usize = 120;
/// Characters of a bullet or a note.
pub const LINE_CHARS: usize = 300;
/// Characters of a description.
pub const TEXT_CHARS: usize = 2_000;

impl Field {
    pub fn max_chars(self) -> usize {
        match self {
            Field::Title => TITLE_CHARS,
            Field::Line => LINE_CHARS,
            Field::Text => TEXT_CHARS,
        }
    }
}

/// The explicit bidi formatting characters: embeddings and overrides (U+202A-U+202E),
/// isolates (U+2066-U+2069) and the marks (LRM, RLM, ALM).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` without control or bidi characters, at most `field.max_chars()` characters
/// (a cut text ends with "…"), trimmed. Line breaks (and tabs) become spaces in one-line
/// fields; a [`Field::Text`] keeps its `\n`s.
pub fn clean(text: &str, field: Field) -> String {
    let mut out = String::with_capacity(text.len().min(4 * field.max_chars()));
    for c in text.chars() {
        if is_bidi_control(c) {
            continue;
        }
        if c == '\n' && field == Field::Text {
            out.push('\n');
        } else if matches!(c, '\n' | '\r' | '\t' | '\u{0085}' | '\u{2028}' | '\u{2029}') {
            // Line and paragraph separators are breaks too: one space stands for each run.
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !c.is_control() {
            out.push(c);
        }
    }
    let trimmed = out.trim();
    let max = field.max_chars();
    match trimmed.char_indices().nth(max) {
        None => trimmed.to_string(),
        Some(_) => {
            // max - 1 characters and the ellipsis: the result has exactly max.
            let cut = trimmed.char_indices().nth(max - 1).map_or(trimmed.len(), |(i, _)| i);
            format!("{}…", trimmed[..cut].trim_end())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_bidi_and_control_characters() {
        let title =
            "Refund\u{202E}gnp.exe\u{202C} \u{2066}requests\u{2069}\u{200E}\u{200F}\u{061C}\u{0007}\u{001B}[31m";
        assert_eq!(clean(title, Field::Title), "Refundgnp.exe requests[31m");
        assert_eq!(clean("a\u{0000}b\u{007F}c\u{009B}d", Field::Line), "abcd");
    }

    #[test]
    fn line_breaks_become_spaces_except_in_texts() {
        assert_eq!(clean("Two\nlines\r\n\tand\u{2028}more ", Field::Title), "Two lines and more");
        assert_eq!(clean("• one\n• two\r\n", Field::Text), "• one\n• two");
    }

    #[test]
    fn bounds_length_on_character_boundaries() {
        for field in [Field::Title, Field::Line, Field::Text] {
            let max = field.max_chars();
            let long = "é😀".repeat(max);
            let cut = clean(&long, field);
            assert_eq!(cut.chars().count(), max, "{field:?}");
            assert!(cut.ends_with('…'));
            let exact: String = "x".repeat(max);
            assert_eq!(clean(&exact, field), exact, "a text of exactly the limit is kept whole");
        }
        assert_eq!(clean("", Field::Title), "");
        assert_eq!(clean("\u{202E}\n", Field::Title), "");
    }
}
