//! Typos out of titles: a typo is a rare spelling one edit away from a word the same
//! texts spell often ("ordeer", "oorder" beside many "order"; "kink" beside many "link").
//! Titles are read from the texts with such words put back in their frequent spelling,
//! so that a title never keeps the traffic's typos and a typo'd request counts with the
//! others. Learnt from the texts themselves, no dictionary: a word is frequent or rare
//! only in the corpus at hand.

use crate::text::STOP_WORDS;
use std::collections::{BTreeMap, HashMap};

/// A spelling must be at least this many times as common as a rare one to replace it.
const RATIO: usize = 10;
/// A spelling used by at most this many texts may be a typo.
const MAX_TYPO_TEXTS: usize = 3;
/// Words shorter than this are left alone: short words have many real neighbours ("cat", "car").
const MIN_CHARS: usize = 4;
/// Longer runs of letters are no words a hand typed (pasted data, a letter repeated): left
/// alone, also because a word's deletions take the square of its length in memory.
const MAX_CHARS: usize = 30;

/// Typo'd words (lower case) and the frequent spelling each stands for.
#[derive(Debug, Default)]
pub struct Spelling {
    fixes: HashMap<String, String>,
}

impl Spelling {
    /// Learns the typos of `texts`: each word is counted once per text; a word used by at
    /// most [`MAX_TYPO_TEXTS`] texts is a typo of the word one slip of the fingers away
    /// used by [`RATIO`] times
    /// as many, the commonest such word. A different ending ("orders", "ordered") is a
    /// word's other form, not a typo; stop words are neither.
    pub fn learn<'a>(texts: impl IntoIterator<Item = &'a str>) -> Spelling {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for text in texts {
            let mut seen: Vec<String> = letter_runs(text).map(|(_, w)| w.to_lowercase()).collect();
            seen.sort();
            seen.dedup();
            for w in seen {
                *counts.entry(w).or_default() += 1;
            }
        }
        let usable = |w: &str| (MIN_CHARS..=MAX_CHARS).contains(&w.chars().count()) && !STOP_WORDS.contains(&w);
        // Frequent words by each of their one-letter deletions (and themselves): two words
        // one edit apart share a key (the candidates are checked, as a shared key is also
        // met two edits apart).
        let mut by_key: HashMap<String, Vec<(&str, usize)>> = HashMap::new();
        for (w, &n) in counts.iter().filter(|(w, &n)| n > MAX_TYPO_TEXTS && usable(w)) {
            for key in deletions(w) {
                by_key.entry(key).or_default().push((w.as_str(), n));
            }
        }
        let mut fixes = HashMap::new();
        for (rare, &n) in counts.iter().filter(|(w, &n)| n <= MAX_TYPO_TEXTS && usable(w)) {
            let best = deletions(rare)
                .iter()
                .filter_map(|k| by_key.get(k))
                .flatten()
                .filter(|(w, m)| *m >= RATIO * n && one_edit(rare, w) && !other_ending(rare, w))
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)));
            if let Some((w, _)) = best {
                fixes.insert(rare.clone(), w.to_string());
            }
        }
        Spelling { fixes }
    }

    /// `text` with each typo'd word in its frequent spelling, capitalised as the typo was
    /// ("Ordeer" → "Order", "ORDEER" → "ORDER").
    pub fn fix(&self, text: &str) -> String {
        if self.fixes.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (at, word) in letter_runs(text) {
            if let Some(fixed) = self.fixes.get(&word.to_lowercase()) {
                out.push_str(&text[last..at]);
                out.push_str(&same_case(word, fixed));
                last = at + word.len();
            }
        }
        out.push_str(&text[last..]);
        out
    }
}

/// The runs of letters of a text with their byte offsets: the words a typo is looked for in.
fn letter_runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start: Option<usize> = None;
    let mut out = Vec::new();
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphabetic(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    out.into_iter()
}

/// A word and each of its one-letter deletions.
fn deletions(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = vec![word.to_string()];
    for i in 0..chars.len() {
        out.push(chars[..i].iter().chain(&chars[i + 1..]).collect());
    }
    out
}

/// Whether `typo` is one slip of the fingers from `word`: a letter dropped, a letter
/// doubled ("ordeer"), two neighbours swapped, or a letter replaced by a key next to it
/// ("kink" for "link"). Other edits make other words more often than typos ("slave" is
/// not "save" with an "l" slipped in, "poet" not "poem").
fn one_edit(typo: &str, word: &str) -> bool {
    let (t, w): (Vec<char>, Vec<char>) = (typo.chars().collect(), word.chars().collect());
    let first = t.iter().zip(w.iter()).position(|(x, y)| x != y).unwrap_or(t.len().min(w.len()));
    if t.len() == w.len() {
        if first == t.len() {
            return false;
        }
        let replaced = t[first + 1..] == w[first + 1..] && keys_touch(t[first], w[first]);
        let swapped = first + 1 < t.len()
            && t[first] == w[first + 1]
            && t[first + 1] == w[first]
            && t[first + 2..] == w[first + 2..];
        return replaced || swapped;
    }
    if t.len() + 1 == w.len() {
        return t[first..] == w[first + 1..];
    }
    // One letter more: the same letter twice, where the word has it once.
    if t.len() == w.len() + 1 {
        let doubled = t.get(first + 1) == Some(&t[first]) || (first > 0 && t[first] == t[first - 1]);
        return doubled && t[first + 1..] == w[first..];
    }
    false
}

/// Whether two letters are neighbouring keys of a QWERTY keyboard.
fn keys_touch(a: char, b: char) -> bool {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let at = |c: char| ROWS.iter().enumerate().find_map(|(r, row)| row.find(c).map(|col| (r, col)));
    let (Some((ra, ca)), Some((rb, cb))) = (at(a), at(b)) else { return false };
    match (ra, rb) {
        _ if ra == rb => ca.abs_diff(cb) == 1,
        // A row's key sits between the keys above it at the same and the next column.
        _ if rb == ra + 1 => cb == ca || cb + 1 == ca,
        _ if ra == rb + 1 => ca == cb || ca + 1 == cb,
        _ => false,
    }
}

/// Whether two words differ only in their last letter or in one added at the end: another
/// form of one word ("order"/"orders", "code"/"coder") or two words ("line"/"link").
fn other_ending(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    common + 1 >= a.len().max(b.len())
}

/// `word` (lower case) written as `like` is: all capitals, a first capital, or as is.
fn same_case(like: &str, word: &str) -> String {
    let letters = || like.chars().filter(|c| c.is_alphabetic());
    if like.chars().count() > 1 && letters().all(char::is_uppercase) {
        return word.to_uppercase();
    }
    let mut cs = word.chars();
    match cs.next() {
        Some(f) if like.starts_with(char::is_uppercase) => f.to_uppercase().chain(cs).collect(),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(extra: &[&'static str]) -> Vec<&'static str> {
        let mut texts: Vec<&'static str> =
            ["where is my order", "track my order please", "can you give me the tracking link"].repeat(12);
        texts.extend_from_slice(extra);
        texts
    }

    #[test]
    fn a_rare_spelling_of_a_frequent_word_is_put_back() {
        let texts = corpus(&["Track my ordeer", "has oorder 12 shipped", "give me the tracking kink", "a lnik"]);
        let s = Spelling::learn(texts.iter().copied());
        assert_eq!(s.fix("Track my ordeer #12"), "Track my order #12");
        assert_eq!(s.fix("Oorder 12"), "Order 12");
        assert_eq!(s.fix("the tracking kink"), "the tracking link");
        assert_eq!(s.fix("ORDEER"), "ORDER");
        assert_eq!(s.fix("lnik"), "link");
    }

    #[test]
    fn other_forms_short_words_and_common_words_stay() {
        // "orders" is another form of "order", "form" another word than "from" (a stop
        // word), "car" too short to tell, "lnikk" two edits from "link".
        let texts = corpus(&["my orders", "a form", "my car", "the lnikk", "from here"]);
        let s = Spelling::learn(texts.iter().copied().chain(["cat"; 20]));
        for kept in ["my orders", "a form", "my car", "the lnikk"] {
            assert_eq!(s.fix(kept), kept);
        }
        // Two spellings about as common: neither is a typo.
        let s = Spelling::learn(["colour", "color", "colour", "color"]);
        assert_eq!(s.fix("color and colour"), "color and colour");
    }

    #[test]
    fn runs_of_letters_longer_than_a_word_are_left_alone() {
        // 4,000 letters without a space: learnt at the cost of a word, not its square.
        let long = "nan".repeat(1_334);
        let word = "abcdefghijklmnopqrstuvwxyzabcde";
        let mut texts = vec![long.as_str(); 12];
        texts.extend([word; 12]);
        let typo = "abcdefghijklmnopqrstuvwxyzabcdd";
        let s = Spelling::learn(texts.into_iter().chain([typo, long.as_str()]));
        assert_eq!(s.fix(typo), typo);
    }

    #[test]
    fn one_edit_apart() {
        for (typo, word) in
            [("ordeer", "order"), ("oorder", "order"), ("oredr", "order"), ("ordr", "order"), ("kink", "link")]
        {
            assert!(one_edit(typo, word), "{typo} {word}");
        }
        for (typo, word) in [
            ("order", "order"),
            ("lnik", "linx"),
            ("ordeers", "order"),
            ("abc", "bxc"),
            ("slave", "save"),
            ("poet", "poem"),
        ] {
            assert!(!one_edit(typo, word), "{typo} {word}");
        }
        // Any two words, one a prefix of the other or empty, compare without a panic.
        let words = ["", "a", "aa", "ab", "ba", "abc", "abcc", "order", "orders", "orderr", "ordeer"];
        for a in words {
            for b in words {
                let _ = one_edit(a, b);
            }
        }
        assert!(one_edit("orderr", "order"), "a doubled last letter");
    }
}
