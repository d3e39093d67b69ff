//! Offline cluster labels: c-TF-IDF keywords (a word is distinctive for a cluster when
//! many of its items use it and few items elsewhere do) and representative snippets.

use crate::text::{words, STOP_WORDS};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterLabel {
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
}

/// Title of the cluster of items that fit none.
pub const OUTLIERS_TITLE: &str = "Outliers";
const KEYWORDS: usize = 6;
const TITLE_WORDS: usize = 3;
const SNIPPETS: usize = 3;
const SNIPPET_CHARS: usize = 140;

/// Labels clusters `0..n_clusters` from their items' texts. `docs` are `(cluster, text)`
/// pairs (a sample is fine; outliers, cluster -1, only count as "elsewhere");
/// `snippets[c]` are the texts of cluster c's items closest to its centre, nearest first.
pub fn label_clusters(
    docs: &[(i32, &str)],
    n_clusters: usize,
    sizes: &[usize],
    snippets: &[Vec<&str>],
) -> Vec<ClusterLabel> {
    let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    // Items of cluster c that use word w, and items anywhere that use it.
    let mut in_cluster: Vec<HashMap<String, usize>> = vec![HashMap::new(); n_clusters];
    let mut docs_per_cluster = vec![0usize; n_clusters];
    let mut everywhere: HashMap<String, usize> = HashMap::new();
    for (cluster, text) in docs {
        let unique: HashSet<String> = words(text).filter(|w| !stop.contains(w.as_str())).collect();
        for w in &unique {
            *everywhere.entry(w.clone()).or_default() += 1;
        }
        if let Some(c) = usize::try_from(*cluster).ok().filter(|c| *c < n_clusters) {
            docs_per_cluster[c] += 1;
            for w in unique {
                *in_cluster[c].entry(w).or_default() += 1;
            }
        }
    }
    let avg_docs = docs.len() as f64 / n_clusters.max(1) as f64;
    let mut used_titles: HashSet<String> = HashSet::new();
    (0..n_clusters)
        .map(|c| {
            let n_c = docs_per_cluster[c].max(1) as f64;
            // BTreeMap iteration keeps ties in a fixed (alphabetical) order.
            let ordered: BTreeMap<&String, &usize> = in_cluster[c].iter().collect();
            let mut scored: Vec<(f64, &String)> = ordered
                .into_iter()
                .filter(|(_, &count)| count >= 2 || n_c < 4.0)
                .map(|(w, &count)| (count as f64 / n_c * (1.0 + avg_docs / everywhere[w] as f64).ln(), w))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            let keywords: Vec<String> = scored.iter().take(KEYWORDS).map(|(_, w)| (*w).clone()).collect();
            let title = distinct_title(&keywords, c, &mut used_titles);
            let size = sizes.get(c).copied().unwrap_or(0);
            let mut description = format!(
                "{size} item{} that share the terms: {}.",
                if size == 1 { "" } else { "s" },
                if keywords.is_empty() { "(none)".to_string() } else { keywords.join(", ") }
            );
            let examples: Vec<String> =
                snippets.get(c).into_iter().flatten().take(SNIPPETS).map(|s| snippet(s)).collect();
            if !examples.is_empty() {
                description.push_str(" Closest to the centre: ");
                description.push_str(&examples.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join("; "));
            }
            ClusterLabel { title, description, keywords }
        })
        .collect()
}

fn distinct_title(keywords: &[String], cluster: usize, used: &mut HashSet<String>) -> String {
    let capitalised = |w: &str| {
        let mut cs = w.chars();
        cs.next().map(|f| f.to_uppercase().collect::<String>() + cs.as_str()).unwrap_or_default()
    };
    let mut n = TITLE_WORDS.min(keywords.len());
    loop {
        let title = if n == 0 {
            format!("Cluster {cluster}")
        } else {
            let mut parts: Vec<String> = keywords[..n].to_vec();
            parts[0] = capitalised(&parts[0]);
            parts.join(", ")
        };
        if !used.contains(&title) || n >= keywords.len() {
            let title = if used.contains(&title) { format!("{title} ({cluster})") } else { title };
            used.insert(title.clone());
            return title;
        }
        n += 1;
    }
}

/// One line of at most `SNIPPET_CHARS` characters, role prefixes dropped.
fn snippet(text: &str) -> String {
    let flat: String = text
        .lines()
        .map(|l| l.strip_prefix("user: ").or_else(|| l.strip_prefix("assistant: ")).unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ");
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(SNIPPET_CHARS) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_distinctive_and_titles_distinct() {
        let docs = vec![
            (0, "user: How do I reset my password?"),
            (0, "user: password reset link expired"),
            (0, "user: reset the password for my account"),
            (1, "user: translate this into French"),
            (1, "user: translate the menu to French please"),
            (1, "user: French translation of a letter"),
            (-1, "user: the weather on Mars"),
        ];
        let labels = label_clusters(&docs, 2, &[3, 3], &[vec!["user: How do I reset my password?"], vec![]]);
        assert_eq!(labels[0].keywords[..2], ["password".to_string(), "reset".to_string()]);
        assert!(labels[0].title.starts_with("Password, reset"), "{}", labels[0].title);
        assert!(labels[1].title.starts_with("French, translate"), "{}", labels[1].title);
        assert!(labels[0].description.contains("Closest to the centre: \"How do I reset my password?\""));
        assert!(!labels[1].keywords.iter().any(|k| k == "the" || k == "user"));
    }

    #[test]
    fn identical_keywords_still_give_distinct_titles() {
        let docs = vec![(0, "alpha beta"), (0, "alpha beta"), (1, "alpha beta"), (1, "alpha beta")];
        let labels = label_clusters(&docs, 2, &[2, 2], &[vec![], vec![]]);
        assert_ne!(labels[0].title, labels[1].title);
    }
}
