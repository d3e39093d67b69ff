//! Offline cluster labels. The title is a short phrase taken from the cluster's own texts:
//! word sequences (1 to 5 words, not starting or ending with a stop word, except that a
//! request may start with its verb: "write a cover letter") scored by c-TF-IDF (used by
//! many items of the cluster, few elsewhere), preferring the longer phrase that contains
//! a short one when nearly as many items use it. When the caller can embed text in the
//! clusters' space (the built-in model), the best candidates are re-ranked KeyBERT-style:
//! the phrase closest to its own centroid and farthest from the others wins. The
//! description is 2 to 4 bullets: the distinctive terms and the items closest to the centre.

use crate::clean::{clean, Field};
use crate::cluster::titles::Titles;
use crate::cluster::{cluster_sizes, Clustering};
use crate::error::Result;
use crate::text::STOP_WORDS;
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
const SNIPPETS: usize = 3;
const SNIPPET_CHARS: usize = 140;
/// Phrases are read from the start of each text, where a request says what it wants.
const PHRASE_WORDS_PER_TEXT: usize = 80;
const MAX_PHRASE_WORDS: usize = 5;
/// Candidates per cluster handed to the re-ranking embedder.
const RERANK_CANDIDATES: usize = 12;
/// Verbs a request starts with: a phrase may begin with one although it is a stop word.
const LEADING_VERBS: &[&str] = &[
    "write",
    "create",
    "explain",
    "translate",
    "summarize",
    "summarise",
    "generate",
    "fix",
    "debug",
    "convert",
    "rewrite",
    "list",
    "make",
    "build",
    "design",
    "compare",
    "describe",
    "give",
    "find",
    "plan",
    "draft",
    "improve",
];

/// Words that are not stop words for keywords but cannot end a phrase a person would write.
const NOT_LAST: &[&str] = &[
    "without",
    "within",
    "before",
    "after",
    "into",
    "onto",
    "upon",
    "via",
    "per",
    "whether",
    "while",
    "although",
    "though",
    "etc",
    "everyone",
    "someone",
    "something",
    "anything",
    "everything",
    "true",
    "false",
    "yes",
    "one",
    "following",
    "based",
    "given",
    "using",
    "regarding",
    "including",
    "able",
    "thanks",
    "thank",
    "thx",
];

/// Embeds texts in the clusters' space (unit vectors), for the KeyBERT-style re-ranking.
pub type Embed<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<f32>>>;

/// Labels clusters `0..n_clusters` from their items' texts. `docs` are `(cluster, text)`
/// pairs (a sample is fine; outliers, cluster -1, only count as "elsewhere");
/// `snippets[c]` are the texts of cluster c's items closest to its centre, nearest first.
/// `rerank`: the clusters' unit centroids and an embedder of the same space, when there is one.
pub fn label_clusters(
    docs: &[(i32, &str)],
    n_clusters: usize,
    sizes: &[usize],
    snippets: &[Vec<&str>],
    rerank: Option<(&[Vec<f32>], Embed)>,
) -> Vec<ClusterLabel> {
    let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    // Items of cluster c that use phrase p, and items anywhere that use it.
    let mut in_cluster: Vec<HashMap<String, usize>> = vec![HashMap::new(); n_clusters];
    let mut docs_per_cluster = vec![0usize; n_clusters];
    let mut everywhere: HashMap<String, usize> = HashMap::new();
    // How each word is written: titles take its most common form ("Python", "SQL").
    let mut written: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    for (cluster, text) in docs {
        let words = tokens(text);
        count_written_forms(text, &mut written);
        let unique = phrases(&words, &stop);
        for p in &unique {
            *everywhere.entry(p.clone()).or_default() += 1;
        }
        if let Some(c) = usize::try_from(*cluster).ok().filter(|c| *c < n_clusters) {
            docs_per_cluster[c] += 1;
            for p in unique {
                *in_cluster[c].entry(p).or_default() += 1;
            }
        }
    }
    let avg_docs = docs.len() as f64 / n_clusters.max(1) as f64;
    let scored: Vec<Vec<Scored>> = (0..n_clusters)
        .map(|c| {
            let n_c = docs_per_cluster[c].max(1) as f64;
            // BTreeMap iteration keeps ties in a fixed (alphabetical) order.
            let ordered: BTreeMap<&String, &usize> = in_cluster[c].iter().collect();
            let mut scored: Vec<Scored> = ordered
                .into_iter()
                .filter(|(_, &count)| count >= 2 || n_c < 4.0)
                .map(|(p, &count)| Scored {
                    phrase: p.clone(),
                    count,
                    score: count as f64 / n_c * (1.0 + avg_docs / everywhere[p] as f64).ln(),
                })
                .collect();
            scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.phrase.cmp(&b.phrase)));
            scored
        })
        .collect();
    let candidates: Vec<Vec<String>> = scored.iter().map(|s| title_candidates(s)).collect();
    let reranked = rerank.and_then(|(centroids, embed)| rerank_candidates(&candidates, centroids, embed));
    let mut titles = Titles::new();
    (0..n_clusters)
        .map(|c| {
            let keywords: Vec<String> = scored[c]
                .iter()
                .filter(|s| !s.phrase.contains([' ', '\'']) && !stop.contains(s.phrase.as_str()))
                .take(KEYWORDS)
                .map(|s| s.phrase.clone())
                .collect();
            let ranked = reranked.as_ref().map_or(&candidates[c], |r| &r[c]);
            let title = distinct_title(ranked, &keywords, c, &written, &mut titles);
            let size = sizes.get(c).copied().unwrap_or(0);
            let mut bullets = vec![if keywords.is_empty() {
                format!("{size} item{} with no distinctive terms", if size == 1 { "" } else { "s" })
            } else {
                format!("{size} item{}; distinctive terms: {}", if size == 1 { "" } else { "s" }, keywords.join(", "))
            }];
            let examples: Vec<String> =
                snippets.get(c).into_iter().flatten().take(SNIPPETS).map(|s| snippet(s)).collect();
            bullets.extend(examples.iter().map(|e| format!("e.g. \"{e}\"")));
            if bullets.len() < 2 {
                bullets.push("No item text to quote".into());
            }
            // Quoted items may hold control and bidi characters: cleaned as AI labels are.
            let description =
                bullets.iter().map(|b| format!("• {}", clean(b, Field::Line))).collect::<Vec<_>>().join("\n");
            ClusterLabel { title: clean(&title, Field::Title), description: clean(&description, Field::Text), keywords }
        })
        .collect()
}

struct Scored {
    phrase: String,
    count: usize,
    score: f64,
}

/// Counts how the text's first words are written. A capital that only starts a sentence
/// ("My account is locked") says nothing about the word, so such a form is not counted;
/// "SQL" or "Python" count wherever they stand.
fn count_written_forms(text: &str, written: &mut HashMap<String, BTreeMap<String, usize>>) {
    let mut sentence_start = true;
    let mut counted = 0;
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '\'' || c == '-' {
            word.push(c);
            continue;
        }
        let w = word.trim_matches(['\'', '-']).to_string();
        word.clear();
        if !w.is_empty() {
            let lower = w.to_lowercase();
            if lower == "user" || lower == "assistant" {
                // A role prefix: the sentence starts after it.
            } else {
                let mut chars = w.chars();
                let only_initial =
                    chars.next().is_some_and(char::is_uppercase) && chars.as_str() == chars.as_str().to_lowercase();
                if !(sentence_start && only_initial) {
                    *written.entry(lower).or_default().entry(w).or_default() += 1;
                }
                sentence_start = false;
                counted += 1;
                if counted == PHRASE_WORDS_PER_TEXT {
                    return;
                }
            }
        }
        if matches!(c, '.' | '?' | '!' | ':' | '\n') {
            sentence_start = true;
        }
    }
}

/// A text's first words: lower-cased, with the form they were written in.
fn tokens(text: &str) -> Vec<(String, String)> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .map(|w| w.trim_matches(['\'', '-']))
        .map(|w| (w.to_lowercase(), w.to_string()))
        .filter(|(w, _)| !w.is_empty() && w != "user" && w != "assistant")
        .take(PHRASE_WORDS_PER_TEXT)
        .collect()
}

/// A run's offline labels: one per cluster (in cluster order) and one per theme.
pub struct RunLabels {
    pub clusters: Vec<ClusterLabel>,
    pub themes: Vec<ClusterLabel>,
}

/// Labels a run's clusters and themes. `docs` are `(cluster, rank, text)` of items near
/// their cluster's centre (rank 0 the nearest), in any order; `embed`, when given, embeds
/// in the space of the run's centroids, to re-rank titles. A cluster's examples are its 3
/// nearest items with text; a theme's, the nearest item of each of its first clusters.
pub fn offline_labels(docs: &[(i32, u32, &str)], result: &Clustering, embed: Option<Embed>) -> RunLabels {
    let mut by_rank: Vec<(i32, u32, &str)> = docs.to_vec();
    by_rank.sort_by_key(|(c, r, _)| (*c, *r));
    let docs: Vec<(i32, &str)> = by_rank.iter().map(|(c, _, t)| (*c, *t)).collect();
    let mut snippets: Vec<Vec<&str>> = vec![Vec::new(); result.n_clusters];
    for (c, _, t) in &by_rank {
        if let Some(own) = usize::try_from(*c).ok().and_then(|c| snippets.get_mut(c)) {
            if own.len() < SNIPPETS && !t.is_empty() {
                own.push(t);
            }
        }
    }
    let sizes = cluster_sizes(&result.labels, result.n_clusters);
    let clusters =
        label_clusters(&docs, result.n_clusters, &sizes, &snippets, embed.map(|e| (&result.centroids[..], e)));

    let theme_docs: Vec<(i32, &str)> = docs.iter().map(|(c, t)| (result.theme_of(*c), *t)).collect();
    let mut theme_snippets: Vec<Vec<&str>> = vec![Vec::new(); result.n_themes];
    for (c, cluster_snippets) in snippets.iter().enumerate() {
        if let Some(theme) = result.themes.get(c).and_then(|&t| theme_snippets.get_mut(t)) {
            if theme.len() < SNIPPETS {
                theme.extend(cluster_snippets.first().copied());
            }
        }
    }
    let theme_sizes = cluster_sizes(&result.item_themes(), result.n_themes);
    let themes = label_clusters(
        &theme_docs,
        result.n_themes,
        &theme_sizes,
        &theme_snippets,
        embed.map(|e| (&result.theme_centroids[..], e)),
    );
    RunLabels { clusters, themes }
}

/// The distinct phrases of a text's first words that may be titles or keywords.
fn phrases(words: &[(String, String)], stop: &HashSet<&str>) -> HashSet<String> {
    let tokens: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
    let content = |w: &str| w.chars().count() >= 3 && !w.chars().all(|c| c.is_numeric()) && !stop.contains(w);
    let mut out = HashSet::new();
    for i in 0..tokens.len() {
        let first = tokens[i];
        if !(content(first) || LEADING_VERBS.contains(&first)) {
            continue;
        }
        for n in 1..=MAX_PHRASE_WORDS.min(tokens.len() - i) {
            let last = tokens[i + n - 1];
            let words = &tokens[i..i + n];
            if content(last)
                && !NOT_LAST.contains(&last)
                && words.iter().filter(|w| content(w)).count() <= 3
                && words.iter().any(|w| content(w))
            {
                out.insert(words.join(" "));
            }
        }
    }
    out
}

/// A cluster's title candidates, best first: its top phrases, each replaced by the longest
/// phrase containing it that nearly as many of the cluster's items use (more specific,
/// reads like what a person would write); a single word comes after every longer phrase
/// that at least a fifth as many items use.
fn title_candidates(scored: &[Scored]) -> Vec<String> {
    let top = scored.first().map_or(0, |s| s.count);
    let mut out: Vec<String> = Vec::new();
    for s in scored.iter().take(40) {
        let mut best = s;
        for longer in scored.iter().take(400) {
            let contains = longer.phrase.len() > best.phrase.len()
                && format!(" {} ", longer.phrase).contains(&format!(" {} ", best.phrase));
            if contains && longer.count * 10 >= best.count * 7 {
                best = longer;
            }
        }
        if !out.contains(&best.phrase) {
            out.push(best.phrase.clone());
        }
    }
    let multi = |p: &str, count: usize| p.contains(' ') && count * 5 >= top;
    let counts: HashMap<&str, usize> = scored.iter().map(|s| (s.phrase.as_str(), s.count)).collect();
    let (mut phrases, words): (Vec<String>, Vec<String>) =
        out.into_iter().partition(|p| multi(p, counts.get(p.as_str()).copied().unwrap_or(0)));
    phrases.extend(words);
    phrases
}

/// Re-ranks each cluster's first candidates by cosine to its own centroid minus the
/// highest cosine to another centroid. `None` when the embedder fails or disagrees on sizes.
fn rerank_candidates(candidates: &[Vec<String>], centroids: &[Vec<f32>], embed: Embed) -> Option<Vec<Vec<String>>> {
    if centroids.len() != candidates.len() {
        return None;
    }
    let heads: Vec<&[String]> = candidates.iter().map(|c| &c[..c.len().min(RERANK_CANDIDATES)]).collect();
    let flat: Vec<String> = heads.iter().flat_map(|h| h.iter().cloned()).collect();
    let vectors = embed(&flat).ok()?;
    if vectors.len() != flat.len() || vectors.iter().zip(centroids.iter().cycle()).any(|(v, c)| v.len() != c.len()) {
        return None;
    }
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
    let mut next = vectors.iter();
    let out = heads
        .iter()
        .enumerate()
        .map(|(c, head)| {
            let mut ranked: Vec<(f32, usize)> = head
                .iter()
                .enumerate()
                .filter_map(|(i, _)| {
                    let v = next.next()?;
                    let own = cosine(v, &centroids[c]);
                    let other = (0..centroids.len())
                        .filter(|&o| o != c)
                        .map(|o| cosine(v, &centroids[o]))
                        .fold(f32::NEG_INFINITY, f32::max);
                    Some((own - other.max(-1.0), i))
                })
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut order: Vec<String> = ranked.iter().map(|&(_, i)| head[i].clone()).collect();
            order.extend(candidates[c].iter().skip(head.len()).cloned());
            order
        })
        .collect();
    Some(out)
}

/// The first candidate no other cluster has taken, each word as the texts most often write
/// it and the first capitalised (a single word joined by the next keyword: "Shares and
/// markets"); failing that, the keywords, then "Cluster N" (numbered by [`Titles`] when
/// even that is taken).
fn distinct_title(
    candidates: &[String],
    keywords: &[String],
    cluster: usize,
    written: &HashMap<String, BTreeMap<String, usize>>,
    titles: &mut Titles,
) -> String {
    // The most common form of a word; ties go to the lower-case one (the later key).
    let form = |w: &str| {
        written.get(w).and_then(|forms| forms.iter().max_by_key(|(_, n)| **n)).map_or(w.to_string(), |(f, _)| f.clone())
    };
    let capitalised = |text: String| {
        let mut cs = text.chars();
        cs.next().map(|f| f.to_uppercase().collect::<String>() + cs.as_str()).unwrap_or_default()
    };
    let cased = |phrase: &str| capitalised(phrase.split(' ').map(form).collect::<Vec<_>>().join(" "));
    let fallback = if keywords.is_empty() {
        format!("Cluster {cluster}")
    } else {
        capitalised(keywords.iter().map(|k| form(k)).collect::<Vec<_>>().join(", "))
    };
    let phrase = |c: &String| match keywords.iter().find(|k| *k != c) {
        Some(next) if !c.contains(' ') => format!("{} and {}", cased(c), form(next)),
        _ => cased(c),
    };
    titles.claim_first(candidates.iter().map(phrase), &fallback)
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
    fn titles_are_phrases_of_the_cluster_and_distinct() {
        let docs = vec![
            (0, "user: How do I reset my password?"),
            (0, "user: password reset link expired"),
            (0, "user: I need to reset my password for my account"),
            (1, "user: translate this product description into French"),
            (1, "user: translate the product description to French please"),
            (1, "user: French translation of a product description"),
            (-1, "user: the weather on Mars"),
        ];
        let labels = label_clusters(&docs, 2, &[3, 3], &[vec!["user: How do I reset my password?"], vec![]], None);
        assert!(labels[0].keywords.contains(&"password".to_string()));
        assert!(labels[0].title.to_lowercase().contains("password"), "{}", labels[0].title);
        assert!(labels[0].title.contains(' '), "a phrase, not a word: {}", labels[0].title);
        assert!(labels[1].title.to_lowercase().contains("product description"), "{}", labels[1].title);
        assert!(!labels[1].title.contains("french"), "written as the texts write it: {}", labels[1].title);
        assert!(labels[0].description.starts_with("• 3 items; distinctive terms: "), "{}", labels[0].description);
        assert!(labels[0].description.contains("\n• e.g. \"How do I reset my password?\""));
        assert!(!labels[1].keywords.iter().any(|k| k == "the" || k == "user"));
        assert!(!labels[0].title.contains(','));
    }

    #[test]
    fn quoted_items_are_cleaned() {
        let docs = [(0, "user: refund \u{202E}my order\u{202C} now\u{0007}"), (0, "user: refund my order today")];
        let labels = label_clusters(&docs, 1, &[2], &[vec![docs[0].1]], None);
        assert!(!labels[0].description.contains(['\u{202E}', '\u{202C}', '\u{0007}']), "{}", labels[0].description);
        assert!(labels[0].description.contains("e.g. \"refund my order now"), "{}", labels[0].description);
    }

    #[test]
    fn identical_texts_still_give_distinct_titles() {
        let docs = vec![(0, "alpha beta"), (0, "alpha beta"), (1, "alpha beta"), (1, "alpha beta")];
        let labels = label_clusters(&docs, 2, &[2, 2], &[vec![], vec![]], None);
        assert_ne!(labels[0].title, labels[1].title);
        assert!(labels.iter().all(|l| l.description.lines().count() >= 2));
    }

    #[test]
    fn titles_keep_the_texts_own_capitals() {
        let docs = vec![
            (0, "a Python script to parse SQL"),
            (0, "Python script for SQL dumps"),
            (0, "my python script and SQL"),
        ];
        let labels = label_clusters(&docs, 1, &[3], &[vec![]], None);
        assert!(labels[0].title.starts_with("Python script"), "{}", labels[0].title);
        assert_eq!(labels[0].keywords.first().map(String::as_str), Some("python"), "keywords stay lower case");
    }

    #[test]
    fn a_capital_that_only_starts_a_sentence_is_not_the_words_form() {
        let docs = vec![
            (0, "user: My password expired. My account is locked, reset my password"),
            (0, "My password reset email never came"),
            (0, "please reset my password"),
        ];
        let labels = label_clusters(&docs, 1, &[3], &[vec![]], None);
        assert!(!labels[0].title.contains(" My"), "{}", labels[0].title);
        let mut written = HashMap::new();
        count_written_forms("SQL is slow. Sql again: SQL", &mut written);
        assert_eq!(written["sql"].get("SQL"), Some(&2), "an acronym counts even at a sentence start");
        assert_eq!(written["sql"].get("Sql"), None);
    }

    #[test]
    fn a_leading_verb_may_start_a_phrase() {
        let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
        let p = phrases(&tokens("Write a cover letter for a nurse"), &stop);
        assert!(p.contains("write a cover letter"));
        assert!(p.contains("cover letter"));
        assert!(!p.contains("a cover letter"));
    }

    #[test]
    fn reranking_prefers_the_phrase_nearest_its_own_centroid() {
        let docs = vec![(0, "alpha beta gamma"), (0, "alpha beta gamma"), (1, "delta epsilon"), (1, "delta epsilon")];
        // A fake embedder: "gamma" phrases point at centroid 0, everything else at 1.
        let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>> {
            Ok(texts.iter().map(|t| if t.ends_with("gamma") { vec![1.0, 0.0] } else { vec![0.0, 1.0] }).collect())
        };
        let centroids = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let labels = label_clusters(&docs, 2, &[2, 2], &[vec![], vec![]], Some((&centroids, &embed)));
        assert!(labels[0].title.ends_with("gamma"), "{}", labels[0].title);
        // An embedder that fails leaves the offline order.
        let failing = |_: &[String]| -> Result<Vec<Vec<f32>>> {
            Err(crate::error::EngineError::new(crate::error::ErrorKind::Internal, "no model"))
        };
        let plain = label_clusters(&docs, 2, &[2, 2], &[vec![], vec![]], Some((&centroids, &failing)));
        let offline = label_clusters(&docs, 2, &[2, 2], &[vec![], vec![]], None);
        let titles = |ls: &[ClusterLabel]| ls.iter().map(|l| l.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&plain), titles(&offline));
    }

    #[test]
    fn a_run_labels_its_clusters_and_themes_with_the_nearest_examples() {
        // Clusters 0 and 1 (theme 0) are about accounts, cluster 2 (theme 1) about cooking.
        let texts = [
            (0, "reset my password now"),
            (0, "reset my password please"),
            (0, "reset my password today"),
            (0, "reset my password again"),
            (1, "change my email address"),
            (1, "change my email please"),
            (2, "bake sourdough bread"),
            (2, "bake rye bread"),
            (-1, "something else entirely"),
        ];
        let labels: Vec<i32> = texts.iter().map(|(c, _)| *c).collect();
        let n = labels.len();
        let result = Clustering {
            labels,
            n_clusters: 3,
            themes: vec![0, 0, 1],
            n_themes: 2,
            theme_centroids: vec![vec![1.0, 0.0], vec![0.0, 1.0]],
            theme_coords: vec![[0.0, 0.0]; 2],
            centroids: vec![vec![1.0, 0.0], vec![0.9, 0.1], vec![0.0, 1.0]],
            radius: vec![0.5; 3],
            distance: vec![0.1; n],
            rank: vec![0; n],
            coords: vec![[0.0, 0.0]; n],
            centroid_coords: vec![[0.0, 0.0]; 3],
            quality: Default::default(),
            steering: vec![None; 3],
            steering_summary: Default::default(),
            timings: Vec::new(),
        };
        // Ranks given out of order: the examples follow the ranks, not the input order.
        let docs: Vec<(i32, u32, &str)> =
            texts.iter().enumerate().map(|(i, (c, t))| (*c, (texts.len() - i) as u32, *t)).collect();
        let run = offline_labels(&docs, &result, None);
        assert_eq!((run.clusters.len(), run.themes.len()), (3, 2));
        assert!(run.clusters[0].title.starts_with("Reset my password"), "{}", run.clusters[0].title);
        assert!(
            run.clusters[0].description.contains("e.g. \"reset my password again\""),
            "{}",
            run.clusters[0].description
        );
        assert!(!run.clusters[0].description.contains("reset my password now"), "only the 3 nearest");
        assert!(run.clusters[2].title.to_lowercase().contains("bread"), "{}", run.clusters[2].title);
        // Theme 0 shows the nearest example of each of its clusters.
        assert!(run.themes[0].description.contains("reset my password again"), "{}", run.themes[0].description);
        assert!(run.themes[0].description.contains("change my email please"), "{}", run.themes[0].description);
        let titles: Vec<&str> = run.clusters.iter().map(|l| l.title.as_str()).collect();
        assert!(!titles.iter().any(|t| t.contains("something")), "outliers name nothing");
    }
}
