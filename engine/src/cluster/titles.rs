//! The one policy for distinct titles within a run (offline labels, titles kept across
//! runs, AI labels): two titles are the same when they differ only in case or spacing;
//! a title that must stay is claimed first, and a later one equal to it either takes its
//! next candidate or, when it has none, a number: "Reset my password (2)".

use std::collections::HashSet;

/// The titles taken so far in a run.
#[derive(Debug, Default)]
pub struct Titles {
    taken: HashSet<String>,
}

impl Titles {
    pub fn new() -> Self {
        Self::default()
    }

    /// The form two titles are compared in.
    fn key(title: &str) -> String {
        title.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
    }

    /// Whether two titles count as the same.
    pub fn same(a: &str, b: &str) -> bool {
        Self::key(a) == Self::key(b)
    }

    pub fn is_taken(&self, title: &str) -> bool {
        self.taken.contains(&Self::key(title))
    }

    /// Takes `title`; false (and nothing taken) when it is already taken.
    pub fn claim(&mut self, title: &str) -> bool {
        self.taken.insert(Self::key(title))
    }

    /// Takes the first of `candidates` that is free (they are made one at a time, as
    /// needed), else `fallback` numbered by [`Titles::claim_numbered`]; returns the title taken.
    pub fn claim_first<S: AsRef<str>>(&mut self, candidates: impl IntoIterator<Item = S>, fallback: &str) -> String {
        for candidate in candidates {
            if self.claim(candidate.as_ref()) {
                return candidate.as_ref().to_string();
            }
        }
        self.claim_numbered(fallback)
    }

    /// Takes `base`, or when it is taken the first free of "base (2)", "base (3)", ...
    pub fn claim_numbered(&mut self, base: &str) -> String {
        if self.claim(base) {
            return base.to_string();
        }
        let mut n = 2;
        loop {
            let numbered = format!("{base} ({n})");
            if self.claim(&numbered) {
                return numbered;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spacing_do_not_make_a_title_distinct() {
        let mut titles = Titles::new();
        assert!(titles.claim("Reset my password"));
        assert!(!titles.claim("reset  MY password"));
        assert!(titles.is_taken(" RESET my password "));
        assert!(!titles.is_taken("Reset my account"));
    }

    #[test]
    fn the_first_free_candidate_then_numbers() {
        let mut titles = Titles::new();
        titles.claim("Sql query");
        assert_eq!(titles.claim_first(["SQL query", "Sql query for orders"], "Sql"), "Sql query for orders");
        assert_eq!(titles.claim_first(["sql query"], "Sql query"), "Sql query (2)");
        assert_eq!(titles.claim_numbered("Sql query"), "Sql query (3)");
        assert_eq!(titles.claim_numbered("Poems"), "Poems");
    }
}
