//! Offline cluster labels, named as a person names a cluster: by what its users ask for.
//!
//! Each item's request (the user's part of its text, never the answer) is read for its
//! form, its request verb and its object ([`requests`]: "write" + "short story"). A
//! cluster's title candidates are activities built from them ("Writing short stories",
//! "Writing short stories and poems" when the cluster really is both, "Explaining quantum
//! computing", "Questions about tax returns"), short requests near the centre turned
//! into activities, and its most distinctive phrases (c-TF-IDF: used by many of its
//! items, few elsewhere) for clusters that are not requests (news, pasted text). With an
//! embedder of the clusters' space (the built-in model) the title is chosen
//! contrastively: the candidate whose embedding is closest to its own centroid and
//! farthest from the others, among those closer to their own than to any other; without
//! one, the most distinctive. Titles are distinct within a run. The description says in
//! one or two sentences what the users ask for and how, then quotes the requests nearest
//! the centre. Keywords (single distinctive words) are kept apart, in their own column.

use crate::clean::{clean, Field};
use crate::cluster::requests::{
    self, first_request, gerund, is_contraction, is_identifier, is_request_verb, plural, request_of, singular,
    user_messages, Form, Request,
};
use crate::cluster::spelling::Spelling;
use crate::cluster::titles::Titles;
use crate::cluster::Clustering;
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
/// Candidates per cluster handed to the embedder, the best by the offline score.
const EMBEDDED_CANDIDATES: usize = 16;
/// A part of a title joined by "and" must be asked for by at least this share of the
/// cluster's requests: "Writing poems and short stories" only when both are common.
const MIN_PART_SHARE: f64 = 0.08;
/// Words after which a gerund drops its own particle ("Replying with one word").
const PREPOSITIONS: &[&str] = &["with", "to", "for", "about", "in", "on", "at", "from", "by", "as"];
/// A group whose items are at least this share requests is named by what is asked; a
/// form of asking (questions, reports of a problem, instructions) this common names topics.
const ASKED_SHARE: f64 = 0.3;
/// Below this share for its commonest request verb, a group's instructions are named by
/// what they are about ("Requests about tracking links").
const MIN_VERB_SHARE: f64 = 0.15;
/// A title should be asked for by at least this share of its group's requests.
const MIN_SHARE: f64 = 0.03;
/// A group none of whose title candidates is nearer its own centroid than another's and
/// none asked for by this share of its requests is a mix, titled "Mixed requests".
const MIXED_SHARE: f64 = 0.2;
/// Words a title has at most.
const MAX_TITLE_WORDS: usize = 8;
/// In a group of at least this many requests, one request alone names no group.
const SMALL_GROUP: usize = 10;

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
    "please",
    "pls",
    "yet",
    "already",
    "anymore",
    "ever",
    "never",
    "soon",
    "instead",
    "though",
    "nothing",
    "back",
    "away",
    "off",
    "down",
    "out",
    "anyone",
    "somebody",
    "anybody",
];

/// Words that may stand inside a phrase between its content words ("tracking of orders",
/// "tower of Hanoi"); any other function word ("and", "my", "the", "is") ends it, so that
/// no phrase glues two clauses ("days and my package") or keeps an article ("share a copy").
const LINKS: &[&str] =
    &["of", "for", "in", "on", "to", "with", "from", "at", "by", "about", "into", "between", "against", "without"];

/// Nouns ending in "-ed", which a title may end with (other such words are participles:
/// "Order shipped", "Tracking says delivered").
const NOUNS_IN_ED: &[&str] = &["hundred", "seabed", "embed", "flatbed", "hotbed", "sacred", "kindred"];

/// Adjectives in "-ed" a title may start with ("Advanced SQL queries").
const ADJECTIVES_IN_ED: &[&str] =
    &["advanced", "automated", "detailed", "embedded", "distributed", "related", "unused", "supervised", "limited"];

/// Nouns a question asks for of a thing, right after "what" or "which": "what size denim
/// jacket" asks about denim jacket sizes.
const ATTRIBUTE_NOUNS: &[&str] = &[
    "size", "colour", "color", "kind", "type", "sort", "brand", "model", "version", "style", "shape", "length",
    "material", "format", "year", "make",
];

/// Words that make the noun after them one of many: "a film", "my order".
const OWN_ONE: &[&str] = &["a", "an", "my", "our", "your", "this", "each", "every"];

/// Nouns too vague to be what a cluster is about ("Days", "Questions about things").
const VAGUE: &[&str] = &[
    "day",
    "week",
    "month",
    "year",
    "hour",
    "minute",
    "time",
    "thing",
    "way",
    "lot",
    "bit",
    "question",
    "answer",
    "help",
    "problem",
    "issue",
    "today",
    "yesterday",
    "tomorrow",
    "stuff",
    "attempt",
    "try",
    "something",
    "anything",
    "everything",
    "kind",
    "sort",
    "part",
    "case",
    "matter",
    "point",
    "piece",
    "reason",
    "idea",
    // Adjectives standing where a noun would ("does it run small or large?").
    "large",
    "small",
    "big",
    "little",
    "good",
    "bad",
    "new",
    "old",
    "possible",
    "available",
    "wrong",
    "right",
    "free",
    "different",
    "same",
    "sure",
];

/// Words before which a lexicon-free word is a verb the user does, not a thing they ask
/// about: "I can't sign in", "unable to log in", "it won't load". No modal that opens a
/// question: in "when will order 12 arrive" the order is a thing.
const BEFORE_A_VERB: &[&str] = &[
    "i", "you", "we", "they", "can't", "cannot", "couldn't", "to", "don't", "didn't", "won't", "not", "never",
    "unable", "please", "still", "doesn't",
];

/// Words skipped before a noun group when finding the word it follows (its slot).
const SLOT_SKIP: &[&str] =
    &["the", "a", "an", "my", "your", "our", "this", "that", "these", "those", "his", "her", "their", "some"];

/// Embeds texts in the clusters' space (unit vectors), for the contrastive choice of titles.
pub type Embed<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<f32>>>;

/// A request verb, the share of a group's requests that use it, and the head nouns of its
/// objects with their shares, commonest first.
type Activity = (&'static str, f64, Vec<(String, f64)>);

/// One group's texts read as requests.
struct Doc {
    group: Option<usize>,
    /// The part of its group it comes from (a theme's cluster), when groups have parts.
    part: Option<usize>,
    request: Request,
    phrases: HashSet<String>,
    /// Words that end a noun group somewhere in the request (not followed by another
    /// content word): "number" in "my phone number", not "legal" in "legal advice".
    heads: HashSet<String>,
}

/// A title candidate: its text, the share of its group's requests that ask for it, a
/// c-TF-IDF-like distinctiveness (that share, weighted by how rare it is elsewhere), and
/// whether it names an activity (the form people name clusters in).
#[derive(Debug, Clone)]
struct Candidate {
    title: String,
    share: f64,
    distinct: f64,
    activity: bool,
    /// How many of a theme's clusters ask for it (1 for a cluster's own candidates).
    parts: usize,
    /// How many of the group's requests ask for it.
    count: usize,
    /// Whether it is one short request near the centre, as its user wrote it.
    verbatim: bool,
    /// Whether it names one odd request of a group whose requests share a common verb
    /// ("Exchanging ceramic mug" of 1 request in 33 that mostly ask to draft newsletters).
    odd: bool,
    /// How many of the group's requests name its object, whatever they ask of it: "Making
    /// recipes" is one request's activity but the group's typical object.
    typical: usize,
    /// Whether one request alone asks it and no other names its object: an outlier of its
    /// group, ranked after every title that names more of it.
    outlying: bool,
    /// The request verb and object head an activity names ("tell", "joke").
    kind: Option<(&'static str, String)>,
    /// Whether it is one short request whose kind (the same verb and object head) another
    /// candidate names for more of the group: "Telling a joke about men" of "Telling jokes".
    instance: bool,
    /// The topic a "Questions about" / "Requests about" / "Problems with" title names.
    topic: Option<String>,
    /// Whether an activity says what is asked of its topic for as many of the group:
    /// "Requests about React" where "Creating React components" names it.
    restated: bool,
    /// The share of the group a topic's activity stands for: that of the topic it restates.
    stands_for: f64,
}

/// What [`Corpus::measure`] finds: the share of a group's requests that ask, that share
/// weighted by its rarity elsewhere, and how many of the group's parts (a theme's
/// clusters) ask it in a fair number.
#[derive(Debug, Clone, Copy)]
struct Measured {
    share: f64,
    distinct: f64,
    parts: usize,
    count: usize,
}

impl Candidate {
    fn new(title: String, m: Measured, activity: bool) -> Candidate {
        Candidate {
            title,
            share: m.share,
            distinct: m.distinct,
            activity,
            parts: m.parts,
            count: m.count,
            verbatim: false,
            odd: false,
            typical: m.count,
            outlying: false,
            kind: None,
            instance: false,
            topic: None,
            restated: false,
            stands_for: 0.0,
        }
    }

    /// The same, its distinctiveness scaled (a title that names the group less well).
    fn scaled(mut self, by: f64) -> Candidate {
        self.distinct *= by;
        self
    }

    /// The order without an embedder: activities first when about as distinctive, a
    /// single word last, a phrase of 3 words or more before a shorter one.
    fn offline_score(&self) -> f64 {
        let length = match self.title.split_whitespace().count() {
            0 | 1 => 0.5,
            2 => 1.0,
            _ => 1.1,
        };
        self.distinct * length * if self.activity { 1.3 } else { 1.0 }
    }
}

/// Labels groups `0..n` (clusters or themes) from their items' texts. `docs` are
/// `(group, text)` pairs, nearest the centre first within a group (a sample is fine;
/// outliers, group -1, only count as "elsewhere"); `snippets[g]` the texts to quote;
/// `members[g]` extra title candidates with the share of the group's items they cover (a
/// theme's cluster titles; empty for clusters) and the sentence naming them.
/// `embedder`: the groups' unit centroids and an embedder of the same space, when there is one.
pub fn label_groups(
    docs: &[(i32, &str)],
    n: usize,
    snippets: &[Vec<&str>],
    members: &[Vec<(String, f64)>],
    embedder: Option<(&[Vec<f32>], Embed)>,
) -> Vec<ClusterLabel> {
    label_groups_of_parts(docs, &[], n, snippets, members, embedder)
}

/// [`label_groups`] for groups made of parts (themes of clusters): `parts[i]` is the part
/// `docs[i]` comes from. A group of several parts none of which holds half its items is
/// titled by what at least two of its parts ask for, else named as a mix: one part's
/// title names a part, not the group.
fn label_groups_of_parts(
    docs: &[(i32, &str)],
    parts: &[Option<usize>],
    n: usize,
    snippets: &[Vec<&str>],
    members: &[Vec<(String, f64)>],
    embedder: Option<(&[Vec<f32>], Embed)>,
) -> Vec<ClusterLabel> {
    let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    let mut written: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    let messages: Vec<Vec<String>> = docs.iter().map(|(_, text)| user_messages(text)).collect();
    // Typos are learnt from every message, follow-ups too: the more text, the surer.
    let spelling = Spelling::learn(messages.iter().flatten().map(String::as_str));
    let docs: Vec<Doc> = docs
        .iter()
        .zip(&messages)
        .enumerate()
        .filter_map(|(i, ((group, _), messages))| {
            // Greetings and politeness are no part of what is asked ("good morning", "thanks").
            let request = requests::without_fillers(&spelling.fix(&first_request(messages)));
            if request.is_empty() {
                return None;
            }
            count_written_forms(&request, &mut written);
            let read = Request::read(&request);
            // What a request quotes is its material, not what it is about ("Reply to this
            // review: \"Great mug but ...\"" is not about mugs); prose keeps its quotations.
            let tokens = if read.form == Form::Other { tokens(&request) } else { tokens(&unquoted(&request)) };
            Some(Doc {
                group: usize::try_from(*group).ok().filter(|g| *g < n),
                part: parts.get(i).copied().flatten(),
                phrases: phrases(&tokens, &stop),
                heads: heads(&tokens, &stop),
                request: read,
            })
        })
        .collect();
    let corpus = Corpus::new(&docs, n, written);
    let mut titles = Titles::new();
    let several: Vec<bool> = (0..n)
        .map(|g| !parts.is_empty() && members.get(g).is_some_and(|m| m.len() >= 2 && m.iter().all(|(_, s)| *s < 0.5)))
        .collect();
    let candidates: Vec<Vec<Candidate>> = (0..n)
        .map(|g| {
            let mut c = corpus.candidates(g);
            let language = corpus.language(g);
            for (title, share) in members.get(g).into_iter().flatten() {
                let m = Measured { share: *share, distinct: share * 0.5, parts: 1, count: usize::MAX };
                c.push(Candidate::new(title.clone(), m, false));
            }
            // A title in another language than most of the group's items names a part of it
            // ("Dónde está mi pedido" for a theme of English requests).
            c.retain(|c| !in_another_language(&c.title, language));
            // A group of parts none of which is half of it: a title must be asked for by two
            // of its parts, not name one.
            if several[g] {
                c.retain(|c| c.parts >= 2);
            }
            // A title is a phrase: one word ("Status", "Days") names no request.
            c.retain(|c| {
                (2..=MAX_TITLE_WORDS).contains(&c.title.split_whitespace().count()) && reads_as_title(&c.title)
            });
            c.sort_by(|a, b| b.offline_score().total_cmp(&a.offline_score()).then(a.title.cmp(&b.title)));
            let mut seen = Titles::new();
            c.retain(|c| seen.claim(&c.title));
            c
        })
        .collect();
    let (ranked, mixed) = match embedder.and_then(|(centroids, embed)| contrastive_order(&candidates, centroids, embed))
    {
        Some((ranked, mixed)) => (Some(ranked), mixed),
        None => (None, vec![false; n]),
    };
    (0..n)
        .map(|g| {
            let keywords = corpus.keywords(g);
            let ordered = ranked.as_ref().map_or(&candidates[g], |r| &r[g]);
            // No candidate reads as a title (or all are taken): the group's main word.
            // The fallback names a thing: no participle, adverb or vague word ("Requests about shipped").
            let thing = keywords.iter().find(|k| names_a_thing(k));
            let fallback = match thing.or(keywords.first()) {
                Some(k) if corpus.asks(g) => format!("Requests about {}", corpus.form(k)),
                Some(k) => format!("Texts about {}", corpus.form(k)),
                None => format!("Cluster {g}"),
            };
            // A group of parts that share no title is a mix too.
            let mixed = mixed.get(g).copied().unwrap_or(false) || (several[g] && candidates[g].is_empty());
            let title = if mixed {
                titles.claim_numbered(if corpus.asks(g) { "Mixed requests" } else { "Mixed texts" })
            } else {
                titles.claim_first(ordered.iter().map(|c| c.title.as_str()), &fallback)
            };
            let mut lines = vec![corpus.sentences(g)];
            if mixed {
                // What it mixes, by its most distinctive things: the title names none of them.
                let things: Vec<String> =
                    keywords.iter().filter(|k| names_a_thing(k)).take(3).map(|k| corpus.form(k)).collect();
                let mix = if things.is_empty() {
                    "A mix of requests that share no one subject.".to_string()
                } else {
                    format!("A mix of requests that share no one subject, most often about {}.", join_and(&things))
                };
                lines[0] = format!("{mix} {}", lines[0]);
            }
            if let Some(names) = members.get(g).filter(|m| m.len() > 1) {
                let listed: Vec<&str> = names.iter().take(5).map(|(t, _)| t.as_str()).collect();
                lines[0] += &format!(" Its clusters: {}.", listed.join("; "));
            }
            let examples: Vec<String> = snippets
                .get(g)
                .into_iter()
                .flatten()
                .map(|s| snippet(&first_request(&user_messages(s))))
                .filter(|s| !s.is_empty())
                .take(SNIPPETS)
                .collect();
            lines.extend(examples.iter().map(|e| format!("• e.g. \"{e}\"")));
            // Quoted items may hold control and bidi characters: cleaned as AI labels are.
            let description = lines.iter().map(|l| clean(l, Field::Line)).collect::<Vec<_>>().join("\n");
            ClusterLabel { title: clean(&title, Field::Title), description: clean(&description, Field::Text), keywords }
        })
        .collect()
}

/// Counts over all groups' requests.
struct Corpus<'a> {
    docs: &'a [Doc],
    n: usize,
    /// The indices of each group's docs.
    members: Vec<Vec<usize>>,
    /// Docs anywhere using each phrase, and in each group.
    everywhere: HashMap<&'a str, usize>,
    in_group: Vec<HashMap<&'a str, usize>>,
    /// How each word is written: titles take its most common form ("Python", "SQL").
    written: HashMap<String, BTreeMap<String, usize>>,
}

impl<'a> Corpus<'a> {
    fn new(docs: &'a [Doc], n: usize, written: HashMap<String, BTreeMap<String, usize>>) -> Self {
        let mut members = vec![Vec::new(); n];
        let mut everywhere: HashMap<&str, usize> = HashMap::new();
        let mut in_group: Vec<HashMap<&str, usize>> = vec![HashMap::new(); n];
        for (i, d) in docs.iter().enumerate() {
            for p in &d.phrases {
                *everywhere.entry(p.as_str()).or_default() += 1;
            }
            if let Some(g) = d.group {
                members[g].push(i);
                for p in &d.phrases {
                    *in_group[g].entry(p.as_str()).or_default() += 1;
                }
            }
        }
        Corpus { docs, n, members, everywhere, in_group, written }
    }

    /// Share of group g's requests that `ask`, and that share weighted by its rarity
    /// elsewhere (as c-TF-IDF weighs a phrase).
    fn measure(&self, g: usize, ask: impl Fn(&Doc) -> bool) -> Measured {
        let mut by_part: BTreeMap<Option<usize>, (usize, usize)> = BTreeMap::new();
        for &i in &self.members[g] {
            let entry = by_part.entry(self.docs[i].part).or_default();
            entry.1 += 1;
            entry.0 += usize::from(ask(&self.docs[i]));
        }
        let own: usize = by_part.values().map(|(asking, _)| asking).sum();
        let all = self.docs.iter().filter(|d| ask(d)).count();
        let n_g = self.members[g].len().max(1) as f64;
        let avg = self.docs.len() as f64 / self.n.max(1) as f64;
        let share = own as f64 / n_g;
        // A part asks it when 2 of its requests do, or a fifth of them.
        let parts =
            by_part.values().filter(|(asking, total)| *asking >= 2 || (*asking > 0 && asking * 5 >= *total)).count();
        Measured { share, distinct: share * (1.0 + avg / all.max(1) as f64).ln(), parts, count: own }
    }

    /// Group g's phrases by c-TF-IDF, best first, used by at least 2 of its items (when it has 4 or more).
    fn scored_phrases(&self, g: usize) -> Vec<(&'a str, usize, f64)> {
        let n_g = self.members[g].len().max(1) as f64;
        let avg = self.docs.len() as f64 / self.n.max(1) as f64;
        // BTreeMap iteration keeps ties in a fixed (alphabetical) order.
        let ordered: BTreeMap<&str, usize> = self.in_group[g].iter().map(|(p, c)| (*p, *c)).collect();
        let mut scored: Vec<(&str, usize, f64)> = ordered
            .into_iter()
            .filter(|(_, count)| *count >= 2 || n_g < 4.0)
            .map(|(p, count)| (p, count, count as f64 / n_g * (1.0 + avg / self.everywhere[p] as f64).ln()))
            .collect();
        scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(b.0)));
        scored
    }

    /// Group g's distinctive single words, lower case.
    fn keywords(&self, g: usize) -> Vec<String> {
        self.scored_phrases(g)
            .iter()
            .filter(|(p, _, _)| !p.contains([' ', '\'']) && !STOP_WORDS.contains(p))
            .take(KEYWORDS)
            .map(|(p, _, _)| p.to_string())
            .collect()
    }

    /// How a word is written in titles: a name ("React", "YouTube", "HTML") where a third of
    /// its uses inside sentences write it with capitals, as users type names in lower case
    /// as often as not; else its most common form. Ties go to the lower-case one (the later key).
    fn form(&self, w: &str) -> String {
        let Some(forms) = self.written.get(w) else { return w.to_string() };
        let total: usize = forms.values().sum();
        let capital = forms.iter().filter(|(f, _)| f.chars().any(char::is_uppercase)).max_by_key(|(_, n)| **n);
        let named = forms.iter().filter(|(f, _)| f.chars().any(char::is_uppercase)).map(|(_, n)| n).sum::<usize>();
        match capital {
            Some((f, _))
                if named >= 2
                    && named * 3 >= total
                    && names_a_thing(w)
                    && !STOP_WORDS.contains(&w)
                    && !is_request_verb(w) =>
            {
                f.clone()
            }
            _ => forms.iter().max_by_key(|(_, n)| **n).map_or(w.to_string(), |(f, _)| f.clone()),
        }
    }

    /// A phrase with each word as the texts write it.
    fn cased(&self, phrase: &str) -> String {
        phrase.split(' ').map(|w| self.form(w)).collect::<Vec<_>>().join(" ")
    }

    /// Group g's topics: its most distinctive phrases that do not start with a request
    /// verb, each replaced by the longest phrase containing it that nearly as many use.
    fn topics(&self, g: usize, max: usize) -> Vec<(&'a str, usize)> {
        let scored = self.scored_phrases(g);
        let mut out: Vec<(&str, usize)> = Vec::new();
        for &(p, count, _) in scored.iter().take(40) {
            let mut best = (p, count);
            for &(longer, c, _) in scored.iter().take(400) {
                let contains = longer.len() > best.0.len() && format!(" {longer} ").contains(&format!(" {} ", best.0));
                if contains && c * 10 >= best.1 * 7 {
                    best = (longer, c);
                }
            }
            let first = best.0.split(' ').next().unwrap_or("");
            // A topic inside an earlier one ("share" in "share details") adds nothing; a
            // contraction ("aren't") names nothing. A request verb starts an activity, not a
            // topic, unless it is a noun where the requests use it: "order" in "where is my order".
            let using = || self.members[g].iter().map(|&i| &self.docs[i]).filter(|d| d.phrases.contains(best.0));
            let as_verb = using().filter(|d| d.request.verb() == Some(first)).count();
            let as_head = using().filter(|d| d.heads.contains(first)).count();
            let noun = !best.0.contains(' ') && self.asks(g) && as_verb * 4 < best.1 && as_head * 2 >= best.1;
            let verb = is_request_verb(first) && !noun;
            let inside = |o: &str| format!(" {o} ").contains(&format!(" {} ", best.0));
            // A phrase of requests in another language than the group's names a part of it
            // ("wie kann ich", "umtauschen" in a group of German and English requests).
            let foreign = || {
                let language = self.language(g);
                let users = using().count();
                using().filter(|d| d.request.language.is_some() && d.request.language != language).count() * 2 > users
            };
            if !verb && !best.0.contains('\'') && !out.iter().any(|(o, _)| inside(o)) && !foreign() {
                out.push(best);
            }
            if out.len() == max {
                break;
            }
        }
        out
    }

    /// The language most of group g's requests are in, when it is not English.
    fn language(&self, g: usize) -> Option<&'static str> {
        let mut counts: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        for &i in &self.members[g] {
            *counts.entry(self.docs[i].request.language).or_default() += 1;
        }
        let (lang, count) = counts.into_iter().max_by_key(|(_, c)| *c)?;
        (count * 2 > self.members[g].len()).then_some(lang).flatten()
    }

    /// The languages of group g's requests when most are not in English but none is in
    /// most: those of at least a sixth of them, commonest first, three at most.
    fn languages(&self, g: usize) -> Vec<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in &self.members[g] {
            if let Some(language) = self.docs[i].request.language {
                *counts.entry(language).or_default() += 1;
            }
        }
        let n_g = self.members[g].len();
        if counts.values().sum::<usize>() * 2 <= n_g {
            return Vec::new();
        }
        let mut counts: Vec<(&str, usize)> = counts.into_iter().filter(|(_, c)| c * 6 >= n_g).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        counts.into_iter().take(3).map(|(l, _)| l.to_string()).collect()
    }

    /// Group g's request verbs and, for each, its objects: `(verb, share, [(object key, share)])`,
    /// commonest first.
    fn activities(&self, g: usize) -> Vec<Activity> {
        let n_g = self.members[g].len().max(1) as f64;
        let mut verbs: BTreeMap<&'static str, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
        for &i in &self.members[g] {
            let r = &self.docs[i].request;
            if let Some(v) = r.verb() {
                let entry = verbs.entry(v).or_default();
                entry.0 += 1;
                if let Some(o) = r.object_head() {
                    *entry.1.entry(o).or_default() += 1;
                }
            }
        }
        let mut out: Vec<Activity> = verbs
            .into_iter()
            .map(|(v, (count, objects))| {
                let mut objects: Vec<(String, f64)> = objects.into_iter().map(|(o, c)| (o, c as f64 / n_g)).collect();
                objects.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                (v, count as f64 / n_g, objects)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }

    /// How group g's requests write the object with head noun `head` after `verb`: its
    /// commonest full form when most use it ("short story"), else the head alone; plural
    /// ("short stories") when they name it as one of many ("a short story", "5 stories")
    /// and it is counted; each word as the texts write it.
    fn object_display(&self, g: usize, verb: &str, head: &str) -> String {
        let (shown, many) = self.object_form(g, verb, head);
        if many {
            plural(&shown)
        } else {
            shown
        }
    }

    /// The object's words as [`Self::object_display`] shows them, singular, and whether the
    /// requests name it as one of many.
    fn object_form(&self, g: usize, verb: &str, head: &str) -> (String, bool) {
        let mut counted = 0;
        let mut total = 0;
        let mut keys: BTreeMap<String, usize> = BTreeMap::new();
        for &i in &self.members[g] {
            let r = &self.docs[i].request;
            if r.verb() == Some(verb) && r.object_head().as_deref() == Some(head) {
                counted += usize::from(r.counted);
                total += 1;
                *keys.entry(r.object_key().unwrap_or_default()).or_default() += 1;
            }
        }
        let common = keys.iter().max_by_key(|(_, n)| **n).filter(|(_, n)| **n * 2 > total).map(|(k, _)| k.as_str());
        let cased = self.cased(common.unwrap_or(head));
        if verb == "act" {
            let article =
                if cased.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
            return (format!("{article} {cased}"), false);
        }
        (cased, counted > 0)
    }

    /// Group g's title candidates.
    fn candidates(&self, g: usize) -> Vec<Candidate> {
        let mut out = Vec::new();
        // How many of the group's requests name a word, in either number.
        let named = |w: &str| {
            let count = |p: &str| self.in_group[g].get(p).copied().unwrap_or(0);
            // "multiple choice" is also written "multiple-choice".
            count(w).max(count(&plural(w))).max(count(&singular(w))).max(count(&w.replace(' ', "-")))
        };
        let doc_has = |d: &Doc, phrase: &str| d.phrases.contains(phrase);
        if let Some(language) = self.language(g) {
            let m = self.measure(g, |d| d.request.language == Some(language));
            out.push(Candidate::new(format!("Requests in {language}"), m, false));
            let own_words = |t: &str| !t.split(' ').all(requests::is_common_word);
            for (topic, _) in self.topics(g, 8).into_iter().filter(|(t, _)| own_words(t)).take(4) {
                let mut m = self.measure(g, |d| d.request.language == Some(language) && doc_has(d, topic));
                m.distinct += 0.01;
                let words: String = topic.chars().take(30).collect();
                out.push(Candidate::new(format!("Requests in {language}: {}", self.cased(&words)), m, false));
            }
            return out;
        }
        // Most requests in other languages than English, none in most: named by them all
        // ("Requests in French, Spanish and Italian"), not by one's phrase.
        let languages = self.languages(g);
        if !languages.is_empty() {
            let m = self.measure(g, |d| d.request.language.is_some());
            out.push(Candidate::new(format!("Requests in {}", join_and(&languages)), m, false));
            return out;
        }
        let topics = self.topics(g, 6);
        // Activities only for groups of requests: in prose (news, pasted text) a verb at a
        // sentence's start is not something the user asks for.
        let asking = self.asks(g);
        let activities = if asking { self.activities(g) } else { Vec::new() };
        // A topic a title can be about: a phrase, or a common word that is not an adverb
        // or participle ("illegally", "classified").
        // A single word must be a noun group's head in most requests using it, not a
        // modifier ("legal" in "legal advice", "online" in "online gambling").
        let head_count = |w: &str| self.members[g].iter().filter(|&&i| self.docs[i].heads.contains(w)).count();
        // No topic starts with a participle ("checked spam") or is a vague word ("days").
        let nameable = |topic: &str, count: usize| {
            let first = topic.split(' ').next().unwrap_or("");
            !is_participle(first)
                && !VAGUE.contains(&singular(first).as_str())
                && !VAGUE.contains(&singular(topic.rsplit(' ').next().unwrap_or("")).as_str())
                && !(asking && (self.used_as_verb(g, topic) || self.incidental(g, topic)))
                && (topic.contains(' ')
                    || (count as f64 >= 0.1 * self.members[g].len() as f64
                        && !topic.ends_with("ly")
                        && head_count(topic) * 2 >= count))
        };
        // Verb + object: "Writing short stories".
        // Two requests that go together, each common: "Returning items for a refund".
        for (first, second, also, title) in RELATED_REQUESTS {
            let common = |v: &str| activities.iter().any(|a| a.0 == v && a.1 >= MIN_PART_SHARE);
            if common(first) && common(second) {
                let m = self
                    .measure(g, |d| d.request.verb().is_some_and(|v| v == *first || v == *second || also.contains(&v)));
                out.push(Candidate::new(title.to_string(), m, true));
            }
        }
        for (verb, share, objects) in activities.iter().take(5) {
            let Some(ing) = gerund(verb) else { continue };
            // Users who ask the same of many different things ("return the rain jacket",
            // "... the desk lamp", "... my running shoes") are named by what they ask:
            // "Returning items"; one of the things names one user.
            let top = objects.first().map_or(0.0, |(_, s)| *s);
            let scattered = objects.len() >= 3 && top * 2.0 < *share;
            if let Some(general) = general_title(verb).filter(|_| scattered) {
                out.push(Candidate::new(
                    general.to_string(),
                    self.measure(g, |d| d.request.verb() == Some(verb)),
                    true,
                ));
                continue;
            }
            for (object, _) in objects.iter().take(4) {
                let shown = self.object_display(g, verb, object);
                // "Solving problems": a vague object alone says nothing ("Solving math problems" does).
                if !shown.contains(' ') && VAGUE.contains(&singular(object).as_str()) {
                    continue;
                }
                let m = self
                    .measure(g, |d| d.request.verb() == Some(verb) && d.request.object_head().as_ref() == Some(object));
                // Its object, its head, or what modifies the head ("multiple choice" of
                // "multiple choice quiz") named by other requests makes it typical.
                let key = self.object_form(g, verb, object).0.to_lowercase();
                let modified = key.rsplit_once(' ').map_or(0, |(modifier, _)| named(modifier));
                let typical = named(&key).max(named(object)).max(modified).max(m.count);
                // "Translating sentences into French", when most such requests say where to.
                let kind = Some((*verb, object.clone()));
                if let Some((complement, m)) = self.complement(g, verb, object) {
                    let title = format!("{ing} {shown} {complement}");
                    out.push(Candidate { typical, kind: kind.clone(), ..Candidate::new(title, m, true) });
                }
                out.push(Candidate { typical, kind, ..Candidate::new(format!("{ing} {shown}"), m, true) });
            }
            // "Writing short stories and poems", when each is common in the group and
            // none is far rarer than the commonest.
            // Parts sharing a word ("password links" and "passwords") are one thing.
            let mut parts: Vec<(&String, String, bool)> = Vec::new();
            for (o, _) in objects.iter().filter(|(_, s)| *s >= MIN_PART_SHARE && *s * 3.0 >= top) {
                let (shown, many) = self.object_form(g, verb, o);
                let words = |t: &str| t.split(' ').map(|w| singular(&w.to_lowercase())).collect::<HashSet<_>>();
                if parts.len() < 3 && parts.iter().all(|(_, p, _)| words(p).is_disjoint(&words(&shown))) {
                    parts.push((o, shown, many));
                }
            }
            if parts.len() >= 2 && *verb != "act" {
                let heads: Vec<&String> = parts.iter().map(|(o, _, _)| *o).collect();
                let m = self.measure(g, |d| {
                    d.request.verb() == Some(verb) && d.request.object_head().is_some_and(|o| heads.contains(&&o))
                });
                // One number for all parts: "product descriptions and labels", not "and label".
                let many = parts.iter().any(|(_, _, many)| *many);
                let shown: Vec<String> =
                    parts.iter().map(|(_, p, _)| if many { plural(p) } else { p.clone() }).collect();
                out.push(Candidate::new(format!("{ing} {}", join_and(&shown)), m, true));
            }
            // Verb + topic: "Explaining quantum computing".
            for (topic, _) in topics.iter().filter(|(t, c)| nameable(t, *c)).take(4) {
                // A topic holding one of the verb's objects ("poem about the sea") is that
                // activity again, and reads badly after the gerund.
                let holds = |o: &str| format!(" {topic} ").contains(&format!(" {o} ")) || o.contains(topic);
                if objects.iter().any(|(o, _)| holds(o)) || *verb == "act" {
                    continue;
                }
                // Only where the verb has no object of its own: in "Translate \"Anna is on
                // holiday\" into French" the topic "holiday" is not what is translated.
                let m = self.measure(g, |d| {
                    d.request.verb() == Some(verb)
                        && d.request.object_head().is_none()
                        && d.request.says_after_verb(topic)
                });
                if m.share >= MIN_PART_SHARE {
                    let shown = self.counted_form(g, topic);
                    out.push(Candidate::new(format!("{ing} {shown}"), m, true));
                }
            }
        }
        // A topic as the users put it: "Questions about delivery costs", "Problems with
        // discount codes", "Requests about tracking links".
        for (form, lead) in [
            (Form::Question, "Questions about"),
            (Form::Report, "Problems with"),
            (Form::Instruction, "Requests about"),
        ] {
            let asked = self.measure(g, |d| d.request.form == form).share;
            // "Requests about" only where no request verb is common: "Writing stories", not
            // "Requests about stories".
            let verbless = activities.first().is_none_or(|a| a.1 < MIN_VERB_SHARE);
            if form == Form::Instruction && !verbless {
                continue;
            }
            for (topic, _) in topics.iter().filter(|(t, c)| nameable(t, *c)).take(4) {
                let mut m = self.measure(g, |d| d.request.form == form && doc_has(d, topic));
                // The form of the group, or of most requests naming the topic: "Problems
                // with discount codes" where those who name them report a problem.
                let naming = self.measure(g, |d| doc_has(d, topic));
                let typical = naming.count;
                let naming = naming.share;
                if asked < ASKED_SHARE && (m.share * 2.0 <= naming || !asking) {
                    continue;
                }
                let title = format!("{lead} {}", self.counted_form(g, topic));
                // What they ask to do, when a verb says it, names them better: a topic put
                // as a problem or a request counts half its share against an activity.
                if form != Form::Question {
                    m.share *= 0.5;
                }
                let topic = Some(topic.to_string());
                out.push(Candidate { typical, topic, ..Candidate::new(title, m, true).scaled(0.9) });
            }
        }
        // What a question asks of the user's own thing: "Asking whether orders have shipped",
        // where other groups ask about the same orders ("Asking when orders will be delivered").
        let mut frames: BTreeMap<String, usize> = BTreeMap::new();
        for &i in &self.members[g] {
            if let Some(frame) = state_question(&self.docs[i].request) {
                *frames.entry(frame).or_default() += 1;
            }
        }
        for (frame, _) in frames.iter().filter(|(_, c)| **c >= 2) {
            let m = self.measure(g, |d| state_question(&d.request).as_ref() == Some(frame));
            out.push(Candidate::new(frame.clone(), m, true));
        }
        // Short requests near the centre, as activities: "Explaining quantum computing in simple terms".
        let short = self.members[g].iter().map(|&i| &self.docs[i].request).filter(|r| {
            (3..=MAX_TITLE_WORDS).contains(&r.words.len())
                && !activities.is_empty()
                && r.verb().is_some_and(|v| r.words[0].lower == v && v != "act")
                && r.words.iter().skip(1).all(|w| !w.after_break)
        });
        for r in short.take(3) {
            let Some(ing) = r.verb().and_then(gerund) else { continue };
            // Its share: the requests that are this one ("Explain quantum computing in simple terms").
            let same = |d: &Doc| {
                d.request.words.len() == r.words.len()
                    && d.request.words.iter().zip(&r.words).all(|(a, b)| a.lower == b.lower)
            };
            let m = self.measure(g, same);
            // Its object: one request near the centre whose object no other request of a
            // fair-sized group names is an outlier, not its kind ("Provide stolen vehicle
            // tracking UML").
            let head = r.object_head().or_else(|| r.words.last().map(|w| w.lower.clone())).unwrap_or_default();
            // "a code for X", "a joke about men": one user's one; the title counts the object
            // as titles do ("Writing code for X", "Telling jokes about men").
            let one = r
                .object_span()
                .filter(|(from, _)| *from >= 2 && ["a", "an"].contains(&r.words[from - 1].lower.as_str()));
            let rest = r.words.iter().enumerate().skip(1).skip_while(|(_, w)| ["me", "us"].contains(&w.lower.as_str()));
            let rest: Vec<String> = rest
                .filter(|(i, _)| one.is_none_or(|(from, _)| *i + 1 != from))
                .map(|(i, w)| match one {
                    Some((_, to)) if i + 1 == to => plural(&w.written),
                    _ => w.written.clone(),
                })
                .collect();
            // "Replying to" + "with one word": the gerund's particle goes before a preposition.
            // "Tell me about X" asks about X.
            let ing = if ing == "Telling" && rest.first().is_some_and(|w| w.eq_ignore_ascii_case("about")) {
                "Asking"
            } else {
                ing
            };
            let ing = match ing.rsplit_once(' ') {
                Some((bare, _)) if rest.first().is_some_and(|w| PREPOSITIONS.contains(&w.to_lowercase().as_str())) => {
                    bare
                }
                _ => ing,
            };
            let title = format!("{ing} {}", rest.join(" "));
            // On a tie, the general activity it is one instance of goes first.
            let typical = named(&head).max(m.count);
            let kind = r.verb().zip(r.object_head());
            out.push(Candidate { verbatim: true, typical, kind, ..Candidate::new(title, m, true).scaled(0.95) });
        }
        // A short request near the centre stands for its kind only where no other title
        // names that kind for more of the group: "Telling a joke about men" is one user's
        // joke of a group that asks for jokes ("Telling jokes").
        let kinds: Vec<(Option<(&str, String)>, usize)> =
            out.iter().filter(|c| !c.verbatim).map(|c| (c.kind.clone(), c.count)).collect();
        for c in out.iter_mut().filter(|c| c.verbatim && c.kind.is_some()) {
            c.instance = kinds.iter().any(|(kind, count)| *kind == c.kind && *count > c.count);
        }
        // Where a request verb is common, a title one request asks for (not a short request
        // near the centre, which stands for its kind) names an odd one out.
        if activities.first().is_some_and(|a| a.1 >= MIN_VERB_SHARE) {
            for c in out.iter_mut().filter(|c| c.count < 2 && !c.verbatim) {
                c.odd = true;
            }
        }
        // In a fair-sized group, one request's activity whose object no other request names
        // is an outlier: "Calculating nr pfn pages" of a group of word problems.
        if self.members[g].len() >= SMALL_GROUP {
            for c in out.iter_mut().filter(|c| c.count == 0 || (c.count < 2 && c.typical < 2)) {
                c.outlying = true;
            }
        }
        // A topic most of the group names, restated by an activity on it that names as
        // much of the group: "Creating React components" says what "Requests about React"
        // leaves out. The activity stands for the topic's share; the topic goes after it.
        let n_g = self.members[g].len();
        let holds = |title: &str, topic: &str| {
            let words: Vec<String> = title.split(' ').skip(1).map(|w| singular(&w.to_lowercase())).collect();
            let topic: Vec<String> = topic.split(' ').map(singular).collect();
            words.windows(topic.len()).any(|w| w == topic.as_slice())
        };
        for t in 0..out.len() {
            let Some(topic) = out[t].topic.clone() else { continue };
            if out[t].typical * 5 < n_g {
                continue;
            }
            let (typical, share) = (out[t].typical, out[t].share);
            let mut restated = false;
            let activity = |c: &Candidate| c.kind.is_some() && !c.verbatim && !c.outlying && c.typical >= typical;
            for c in out.iter_mut().filter(|c| activity(c)) {
                if holds(&c.title, &topic) {
                    c.stands_for = c.stands_for.max(share);
                    restated = true;
                }
            }
            out[t].restated = restated;
        }
        // "Requests about" is the last resort: a topic a fair part of the group asks
        // questions about is named so ("Questions about Docker", not "Requests about docker").
        let asked: Vec<String> = out
            .iter()
            .filter(|c| c.title.starts_with("Questions about") && c.share >= MIN_SHARE && !c.outlying)
            .filter_map(|c| c.topic.clone())
            .collect();
        for c in out.iter_mut().filter(|c| c.title.starts_with("Requests about")) {
            c.restated |= c.topic.as_ref().is_some_and(|t| asked.contains(t));
        }
        // The group's own phrases, for groups that are not requests (news, pasted text); a
        // single word says what the texts are about ("Texts about Chelsea").
        if !self.asks(g) {
            for (topic, count) in topics {
                let m = self.measure(g, |d| doc_has(d, topic));
                let title = if topic.contains(' ') {
                    capitalised(&self.cased(topic))
                } else if nameable(topic, count) {
                    format!("Texts about {}", self.counted_form(g, topic))
                } else {
                    continue;
                };
                out.push(Candidate::new(title, m, false));
            }
        }
        out
    }

    /// Whether group g's items are mostly requests (instructions, questions, role-play
    /// set-ups, reports of a problem), whose titles must say what is asked.
    fn asks(&self, g: usize) -> bool {
        self.measure(g, |d| d.request.form != Form::Other).share >= ASKED_SHARE
    }

    /// Whether a one-word topic is, in most of group g's requests using it, a verb the
    /// user does rather than a thing: "sign" in "I can't sign in", "log" in "cannot log in".
    fn used_as_verb(&self, g: usize, topic: &str) -> bool {
        if topic.contains(' ') {
            return false;
        }
        let (mut uses, mut verb) = (0, 0);
        for &i in &self.members[g] {
            let ws = &self.docs[i].request.words;
            for (at, w) in ws.iter().enumerate().filter(|(_, w)| w.lower == topic) {
                uses += 1;
                let before = at.checked_sub(1).map(|p| ws[p].lower.as_str());
                verb += usize::from(!w.after_break && before.is_some_and(|b| BEFORE_A_VERB.contains(&b)));
            }
        }
        verb * 2 > uses
    }

    /// Whether a topic is one incidental item of many in the same place of group g's
    /// requests: "the denim jacket" in "a refund for the denim jacket", "... for the wool
    /// coat", "... for the desk lamp". What the requests share is the place (refunds), not
    /// what fills it. A place is the two words a content word follows (articles and
    /// possessives skipped: "refund for", "to return"); a topic that fills at most a third of
    /// its places, beside at least two other things, in most of its uses names one part.
    fn incidental(&self, g: usize, topic: &str) -> bool {
        let first = topic.split(' ').next().unwrap_or("");
        type Place<'w> = (&'w str, &'w str);
        let mut places: HashMap<Place, BTreeMap<&str, usize>> = HashMap::new();
        let mut topic_places: Vec<Option<Place>> = Vec::new();
        let content = |w: &requests::Word| {
            long_enough(&w.lower) && !STOP_WORDS.contains(&w.lower.as_str()) && !is_identifier(&w.lower)
        };
        for &i in &self.members[g] {
            let ws = &self.docs[i].request.words;
            let mut seen: HashSet<(Place, &str)> = HashSet::new();
            for at in 0..ws.len() {
                if !content(&ws[at]) {
                    continue;
                }
                let mut p = at;
                while p > 0 && !ws[p].after_break && SLOT_SKIP.contains(&ws[p - 1].lower.as_str()) {
                    p -= 1;
                }
                let filler = ws[at].lower.as_str();
                // At a clause's start a noun group follows nothing: no place.
                if p == 0 || ws[p].after_break {
                    if filler == first {
                        topic_places.push(None);
                    }
                    continue;
                }
                let before = if p >= 2 && !ws[p - 1].after_break { ws[p - 2].lower.as_str() } else { "" };
                let place = (before, ws[p - 1].lower.as_str());
                if seen.insert((place, filler)) {
                    *places.entry(place).or_default().entry(filler).or_default() += 1;
                    if filler == first {
                        topic_places.push(Some(place));
                    }
                }
            }
        }
        let filled = |place: &Place| {
            let fillers = &places[place];
            let total: usize = fillers.values().sum();
            fillers.len() >= 3 && fillers.get(first).copied().unwrap_or(0) * 3 <= total
        };
        let in_slot = topic_places.iter().flatten().filter(|p| filled(p)).count();
        in_slot * 2 > topic_places.len()
    }

    /// A topic in the plural when group g's texts count it ("films", "returns", "orders":
    /// the plural, or the singular after "a" or "my" or before an identifier, used by at
    /// least 2 items and a third as many as the singular), else as written ("technology",
    /// "piracy"); each word as the texts write it.
    fn counted_form(&self, g: usize, topic: &str) -> String {
        let count = |p: &str| self.in_group[g].get(p).copied().unwrap_or(0);
        // Each user's own one counts too: "where is my order", "has order 12 shipped" from
        // many users ask about orders.
        let words: Vec<&str> = topic.split(' ').collect();
        let own_one = self.members[g]
            .iter()
            .filter(|&&i| {
                let ws = &self.docs[i].request.words;
                let named = |at: usize| ws[at..].iter().zip(&words).all(|(a, b)| a.lower == *b);
                (0..(ws.len() + 1).saturating_sub(words.len())).any(|at| {
                    let owned = at > 0 && OWN_ONE.contains(&ws[at - 1].lower.as_str());
                    // The topic must end its noun group: "my docker container" counts containers.
                    let next = ws.get(at + words.len());
                    let identified = next.is_some_and(|w| is_identifier(&w.lower));
                    let ends = next.is_none_or(|w| w.after_break || STOP_WORDS.contains(&w.lower.as_str()));
                    named(at) && ((owned && ends) || identified)
                })
            })
            .count();
        let many = count(plural(topic).as_str()) + own_one;
        if many >= 2 && many * 3 >= count(topic) {
            plural(&self.cased(topic))
        } else {
            self.cased(topic)
        }
    }

    /// The complement most of group g's requests to `verb` an object headed `head` share
    /// ("into French"), as the texts write it, with its share and distinctiveness.
    fn complement(&self, g: usize, verb: &str, head: &str) -> Option<(String, Measured)> {
        let same = |r: &Request| r.verb() == Some(verb) && r.object_head().as_deref() == Some(head);
        let mut keys: BTreeMap<String, usize> = BTreeMap::new();
        let mut total = 0;
        for &i in &self.members[g] {
            let r = &self.docs[i].request;
            if same(r) {
                total += 1;
                if let Some(k) = r.complement_key() {
                    *keys.entry(k).or_default() += 1;
                }
            }
        }
        let (key, count) = keys.into_iter().max_by_key(|(_, n)| *n)?;
        if count < 2 || count * 2 <= total {
            return None;
        }
        let m = self.measure(g, |d| same(&d.request) && d.request.complement_key().as_deref() == Some(key.as_str()));
        Some((self.cased(&key), m))
    }

    /// One or two sentences: what group g's users ask for, and how they ask it.
    fn sentences(&self, g: usize) -> String {
        let n_g = self.members[g].len();
        if n_g == 0 {
            return "No item text to describe.".into();
        }
        // Three topics, none inside another ("share details", not also "share"). Phrases
        // first: single distinctive words ("delivered, tracking and status") are the
        // keywords column's, not a sentence's; one is named only when no phrase is, and
        // never a participle, an adverb or a vague word.
        let mut topics: Vec<&str> = Vec::new();
        let all = self.topics(g, 12);
        let phrases = all.iter().filter(|(t, _)| t.contains(' '));
        let words = all.iter().filter(|(t, _)| {
            !t.contains(' ') && !is_participle(t) && !t.ends_with("ly") && !VAGUE.contains(&singular(t).as_str())
        });
        for (t, _) in phrases.chain(words.take(1)) {
            let inside = |a: &str, b: &str| format!(" {a} ").contains(&format!(" {b} "));
            if topics.len() < 3 && !topics.iter().any(|o| inside(o, t) || inside(t, o)) {
                topics.push(t);
            }
        }
        let topics: Vec<String> = topics.iter().map(|t| self.cased(t)).collect();
        if let Some(language) = self.language(g) {
            let quoted: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
            let with = if quoted.is_empty() { String::new() } else { format!(", often with {}", join_and(&quoted)) };
            return format!("Requests written in {language}{with}.");
        }
        let languages = self.languages(g);
        if !languages.is_empty() {
            return format!("Requests written in {}.", join_and(&languages));
        }
        let activities = self.activities(g);
        let asked = |(verb, _, objects): &Activity| {
            let mut distinct: Vec<&String> = Vec::new();
            for (o, _) in objects {
                let overlaps = |d: &&String| o.ends_with(d.as_str()) || d.ends_with(o.as_str());
                if distinct.len() < 3 && !distinct.iter().any(overlaps) {
                    distinct.push(o);
                }
            }
            let shown: Vec<String> = distinct.iter().map(|o| self.object_display(g, verb, o)).collect();
            let verb = match *verb {
                "act" => "act as",
                "set" | "setup" => "set up",
                "give" | "provide" => "be given",
                "refund" => "get a refund for",
                v => v,
            };
            let object = if shown.is_empty() { topics.first().cloned().unwrap_or_default() } else { join_or(&shown) };
            format!("{verb} {object}").trim_end().to_string()
        };
        let what = match activities.first() {
            Some(first) if first.1 >= 0.25 => {
                let mut what = format!("{} ask to {}", users(first.1), asked(first));
                if let Some(second) = activities.get(1).filter(|a| a.1 >= 0.15) {
                    what += &format!("; {} ask to {}", users(second.1).to_lowercase(), asked(second));
                }
                what + "."
            }
            _ if !topics.is_empty() => {
                let questions = self.measure(g, |d| d.request.form == Form::Question).share;
                let reports = self.measure(g, |d| d.request.form == Form::Report).share;
                if questions >= 0.3 {
                    format!("Users ask about {}.", join_and(&topics))
                } else if reports >= 0.3 {
                    format!("Users report problems with {}.", join_and(&topics))
                } else {
                    format!("The items are about {}.", join_and(&topics))
                }
            }
            _ => "The items share no request or phrase.".to_string(),
        };
        let mut forms: BTreeMap<Form, BTreeMap<String, usize>> = BTreeMap::new();
        for &i in &self.members[g] {
            let r = &self.docs[i].request;
            *forms.entry(r.form).or_default().entry(r.opening()).or_default() += 1;
        }
        let mut forms: Vec<(Form, usize, BTreeMap<String, usize>)> =
            forms.into_iter().map(|(f, openings)| (f, openings.values().sum(), openings)).collect();
        forms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let how: Vec<String> = forms
            .iter()
            .filter(|(_, count, _)| count * 5 >= n_g)
            .take(2)
            .map(|(form, count, openings)| {
                let mut common: Vec<(&String, &usize)> = openings.iter().filter(|(_, c)| **c >= 2).collect();
                common.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let quoted: Vec<String> =
                    common.iter().take(2).map(|(o, _)| format!("\"{} …\"", capitalised(o))).collect();
                let kind = match form {
                    Form::Instruction => "direct instructions",
                    Form::Question => "questions",
                    Form::RolePlay => "role-play set-ups",
                    Form::Report => "reports of a problem",
                    Form::Other => "statements or pasted text rather than requests",
                };
                // Pasted text opens with anything: its openings tell nothing.
                let example = if quoted.is_empty() || *form == Form::Other {
                    String::new()
                } else {
                    format!(" ({})", quoted.join(", "))
                };
                format!("{} are {kind}{example}", share_of(*count as f64 / n_g as f64))
            })
            .collect();
        if how.is_empty() {
            what
        } else {
            format!("{what} {}.", capitalised(&how.join("; ")))
        }
    }
}

/// "Most users", "About half of the users", ... for a share of a group's requests.
fn users(share: f64) -> String {
    match share_of(share) {
        "most" | "almost all" | "some" => capitalised(&format!("{} users", share_of(share))),
        other => capitalised(&format!("{other} of the users")),
    }
}

/// A share of a group's requests in words.
fn share_of(share: f64) -> &'static str {
    match share {
        s if s >= 0.85 => "almost all",
        s if s > 0.6 => "most",
        s if s >= 0.4 => "about half",
        s if s >= 0.25 => "about a third",
        _ => "some",
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(parts: &[String]) -> String {
    join_with(parts, "and")
}

/// "a", "a or b", "a, b or c".
fn join_or(parts: &[String]) -> String {
    join_with(parts, "or")
}

fn join_with(parts: &[String], word: &str) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

fn capitalised(text: &str) -> String {
    let mut cs = text.chars();
    cs.next().map(|f| f.to_uppercase().collect::<String>() + cs.as_str()).unwrap_or_default()
}

/// Each group's candidates in the contrastive order: by how much closer the title's
/// embedding is to its own centroid than to the nearest other (those closer to their own
/// than to any other first), then by the share of the group's requests it covers; the
/// candidates not embedded (past the first 16) follow in their offline order. `None` when
/// the embedder fails or disagrees on sizes (the offline order stays).
fn contrastive_order(
    candidates: &[Vec<Candidate>],
    centroids: &[Vec<f32>],
    embed: Embed,
) -> Option<(Vec<Vec<Candidate>>, Vec<bool>)> {
    if centroids.len() != candidates.len() {
        return None;
    }
    let heads: Vec<&[Candidate]> = candidates.iter().map(|c| &c[..c.len().min(EMBEDDED_CANDIDATES)]).collect();
    let flat: Vec<String> = heads.iter().flat_map(|h| h.iter().map(|c| c.title.clone())).collect();
    if flat.is_empty() {
        return None;
    }
    let vectors = embed(&flat).ok()?;
    if vectors.len() != flat.len() || vectors.iter().zip(centroids.iter().cycle()).any(|(v, c)| v.len() != c.len()) {
        return None;
    }
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
    let mut next = vectors.iter();
    let out: (Vec<Vec<Candidate>>, Vec<bool>) = heads
        .iter()
        .enumerate()
        .map(|(g, head)| {
            // A title must stand for a fair part of its group, not one odd request, and be a
            // phrase, not a word.
            let fair = |c: &Candidate| {
                c.share.max(c.stands_for) >= MIN_SHARE && !c.odd && !c.outlying && !c.instance && !c.restated
            };
            let tier = |c: &Candidate| match (c.title.contains(' '), fair(c)) {
                (true, true) => 2,
                (true, false) => 1,
                (false, _) => 0,
            };
            let mut ranked: Vec<(bool, u8, bool, f64, usize)> = head
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let v = next.next()?;
                    let own = cosine(v, &centroids[g]);
                    let other = (0..centroids.len())
                        .filter(|&o| o != g)
                        .map(|o| cosine(v, &centroids[o]))
                        .fold(f32::NEG_INFINITY, f32::max)
                        .max(-1.0);
                    let margin = f64::from(own - other);
                    // The margin decides; among titles about as contrastive, the one more of
                    // the group's requests ask for, an activity, a phrase of 3 to 8 words win.
                    let score = margin + 0.5 * c.share.max(c.stands_for).min(1.0) + if c.activity { 0.03 } else { 0.0 };
                    Some((margin > 0.0, tier(c), !(c.outlying || c.instance || c.restated), score, i))
                })
                .collect();
            ranked.sort_by(|a, b| {
                b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)).then(b.3.total_cmp(&a.3)).then(a.4.cmp(&b.4))
            });

            let mut order: Vec<Candidate> = ranked.iter().map(|&(.., i)| head[i].clone()).collect();
            order.extend(candidates[g].iter().skip(head.len()).cloned());
            // No candidate is nearer its own centroid than another's, and none is asked for
            // by a fair part of the group: the group is a mix, and any one title names a part.
            let mixed = !ranked.is_empty() && ranked.iter().all(|r| !r.0) && head.iter().all(|c| c.share < MIXED_SHARE);
            (order, mixed)
        })
        .unzip();
    Some(out)
}

/// Counts how the text's first words are written. A capital that only starts a sentence
/// ("My account is locked") says nothing about the word, so such a form is not counted;
/// "SQL" or "Python" count wherever they stand.
fn count_written_forms(text: &str, written: &mut HashMap<String, BTreeMap<String, usize>>) {
    let mut sentence_start = true;
    let mut counted = 0;
    let mut word = String::new();
    let chars: Vec<char> = text.chars().chain(std::iter::once(' ')).collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_word(&chars, i) {
            word.push(c);
            continue;
        }
        let w = word.trim_matches(['\'', '-']).to_string();
        word.clear();
        if !w.is_empty() {
            let mut chars = w.chars();
            let only_initial =
                chars.next().is_some_and(char::is_uppercase) && chars.as_str() == chars.as_str().to_lowercase();
            if !(sentence_start && only_initial) {
                *written.entry(w.to_lowercase()).or_default().entry(w).or_default() += 1;
            }
            sentence_start = false;
            counted += 1;
            if counted == PHRASE_WORDS_PER_TEXT {
                return;
            }
        }
        if matches!(c, '.' | '?' | '!' | ':' | '\n') {
            sentence_start = true;
        }
    }
}

/// `text` without what it quotes between double quotation marks (an unclosed one quotes
/// nothing); a quotation leaves a clause break.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['"', '“', '«']) {
        let opening = rest[open..].chars().next().unwrap_or('"');
        let closing = match opening {
            '“' => '”',
            '«' => '»',
            _ => '"',
        };
        let inside = &rest[open + opening.len_utf8()..];
        let Some(close) = inside.find(closing) else { break };
        out.push_str(&rest[..open]);
        out.push_str(" . ");
        rest = &inside[close + closing.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// A text's first words, lower-cased, with an empty token where a clause breaks (".", ",",
/// a line end, ...): no phrase reaches across one ("80 words, friendly tone").
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut words = 0;
    let chars: Vec<char> = text.chars().collect();
    let mut word = String::new();
    for i in 0..=chars.len() {
        if i < chars.len() && in_word(&chars, i) {
            word.push(chars[i]);
            continue;
        }
        let w = word.trim_matches(['\'', '-']);
        if !w.is_empty() {
            out.push(w.to_lowercase());
            words += 1;
            if words == PHRASE_WORDS_PER_TEXT {
                break;
            }
        }
        word.clear();
        let breaks = chars
            .get(i)
            .is_some_and(|c| ['.', ',', ';', ':', '!', '?', '\n', '(', ')', '"', '[', ']', '{', '}'].contains(c));
        if breaks && out.last().is_some_and(|w| !w.is_empty()) {
            out.push(String::new());
        }
    }
    out
}

/// Whether `chars[i]` belongs to a word: a letter, digit, apostrophe or hyphen, or the
/// symbols that end a name ("C++", "C#", "F#": after a letter, before no letter or digit),
/// so that "Questions about C++" is a topic where "a+b" is two words.
fn in_word(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    if c.is_alphanumeric() || c == '\'' || c == '-' {
        return true;
    }
    let letter_at = |at: Option<usize>| at.and_then(|at| chars.get(at)).is_some_and(|c| c.is_alphabetic());
    let no_letter_at = |at: usize| chars.get(at).is_none_or(|n| !n.is_alphanumeric());
    match c {
        '#' => letter_at(i.checked_sub(1)) && no_letter_at(i + 1),
        // "c++": a letter, then two "+", then no letter.
        '+' => {
            let first = letter_at(i.checked_sub(1)) && chars.get(i + 1) == Some(&'+') && no_letter_at(i + 2);
            let second = i > 0 && chars[i - 1] == '+' && letter_at(i.checked_sub(2)) && no_letter_at(i + 1);
            first || second
        }
        _ => false,
    }
}

/// Whether a word is long enough to name something: 3 characters, or a name ending in a
/// symbol ("C#").
fn long_enough(w: &str) -> bool {
    w.chars().count() >= 3 || (w.chars().count() >= 2 && w.ends_with(['+', '#']))
}

/// A run's offline labels: one per cluster (in cluster order) and one per theme.
pub struct RunLabels {
    pub clusters: Vec<ClusterLabel>,
    pub themes: Vec<ClusterLabel>,
}

/// `docs` sorted by cluster and rank, and each cluster's first requests to quote.
fn by_rank<'a>(docs: &[(i32, u32, &'a str)], n: usize) -> (Vec<(i32, &'a str)>, Vec<Vec<&'a str>>) {
    let mut by_rank: Vec<(i32, u32, &str)> = docs.to_vec();
    by_rank.sort_by_key(|(c, r, _)| (*c, *r));
    let mut snippets: Vec<Vec<&str>> = vec![Vec::new(); n];
    for (c, _, t) in &by_rank {
        if let Some(own) = usize::try_from(*c).ok().and_then(|c| snippets.get_mut(c)) {
            if own.len() < SNIPPETS && !request_of(t).is_empty() {
                own.push(t);
            }
        }
    }
    (by_rank.iter().map(|(c, _, t)| (*c, *t)).collect(), snippets)
}

/// Labels clusters `0..n` from `docs`, `(cluster, rank, text)` of items near their
/// cluster's centre (rank 0 the nearest), in any order; items of other groups (cluster -1)
/// count as elsewhere. `centroids` and `embed` as for [`offline_labels`]. A cluster's
/// examples are its 3 nearest items' requests.
pub fn label_clusters(
    docs: &[(i32, u32, &str)],
    n: usize,
    centroids: &[Vec<f32>],
    embed: Option<Embed>,
) -> Vec<ClusterLabel> {
    let (docs, snippets) = by_rank(docs, n);
    label_groups(&docs, n, &snippets, &vec![Vec::new(); n], embed.map(|e| (centroids, e)))
}

/// Labels a run's clusters and themes. `docs` are `(cluster, rank, text)` of items near
/// their cluster's centre (rank 0 the nearest), in any order; `embed`, when given, embeds
/// in the space of the run's centroids, to choose titles contrastively. Clusters are
/// labelled by [`label_clusters`], themes by [`label_themes`].
pub fn offline_labels(docs: &[(i32, u32, &str)], result: &Clustering, embed: Option<Embed>) -> RunLabels {
    let clusters = label_clusters(docs, result.n_clusters, &result.centroids, embed);
    let members = ThemeMembers {
        themes: &result.themes.iter().map(|&t| Some(t)).collect::<Vec<_>>(),
        titles: &clusters.iter().map(|l| l.title.clone()).collect::<Vec<_>>(),
        sizes: &crate::cluster::cluster_sizes(&result.labels, result.n_clusters),
        centroids: &result.theme_centroids,
    };
    let themes = label_themes(docs, &members, embed);
    RunLabels { clusters, themes }
}

/// What labels a run's themes besides their items' texts: per cluster (by cluster id), its
/// theme (None: none, or no such cluster), title and size; per theme, its unit centroid.
pub struct ThemeMembers<'a> {
    pub themes: &'a [Option<usize>],
    pub titles: &'a [String],
    pub sizes: &'a [usize],
    pub centroids: &'a [Vec<f32>],
}

/// Labels themes `0..members.centroids.len()` from `docs`, `(cluster, rank, text)` as for
/// [`offline_labels`]: a theme's examples are the nearest request of each of its first
/// clusters, and its title candidates include its clusters' titles. Also what re-labels
/// the themes a steering merge changed (a theme with no cluster gets a label nobody reads).
pub fn label_themes(docs: &[(i32, u32, &str)], members: &ThemeMembers, embed: Option<Embed>) -> Vec<ClusterLabel> {
    let (n_clusters, n_themes) = (members.themes.len(), members.centroids.len());
    let theme_of = |c: i32| {
        usize::try_from(c).ok().and_then(|c| members.themes.get(c).copied().flatten()).filter(|&t| t < n_themes)
    };
    let (docs, snippets) = by_rank(docs, n_clusters);
    let theme_docs: Vec<(i32, &str)> = docs.iter().map(|(c, t)| (theme_of(*c).map_or(-1, |t| t as i32), *t)).collect();
    let mut theme_snippets: Vec<Vec<&str>> = vec![Vec::new(); n_themes];
    let mut theme_sizes = vec![0usize; n_themes];
    for c in 0..n_clusters {
        if let Some(t) = theme_of(c as i32) {
            theme_sizes[t] += members.sizes.get(c).copied().unwrap_or(0);
        }
    }
    let mut titles: Vec<Vec<(String, f64)>> = vec![Vec::new(); n_themes];
    for (c, cluster_snippets) in snippets.iter().enumerate() {
        if let Some(t) = theme_of(c as i32) {
            if theme_snippets[t].len() < SNIPPETS {
                theme_snippets[t].extend(cluster_snippets.first().copied());
            }
            let share = members.sizes.get(c).copied().unwrap_or(0) as f64 / theme_sizes[t].max(1) as f64;
            titles[t].push((members.titles.get(c).cloned().unwrap_or_default(), share));
        }
    }
    // Each item's cluster: a theme's title must be what its clusters share.
    let parts: Vec<Option<usize>> = docs.iter().map(|(c, _)| usize::try_from(*c).ok()).collect();
    label_groups_of_parts(
        &theme_docs,
        &parts,
        n_themes,
        &theme_snippets,
        &titles,
        embed.map(|e| (members.centroids, e)),
    )
}

/// The distinct phrases of a text's first words that may be topics or keywords: 1 to 5
/// words, at most 3 of them content words, not starting or ending with a stop word.
fn phrases(tokens: &[String], stop: &HashSet<&str>) -> HashSet<String> {
    let content = |w: &str| {
        long_enough(w)
            && !w.chars().all(|c| c.is_numeric())
            && !stop.contains(w)
            && !is_contraction(w)
            && !is_identifier(w)
    };
    let mut out = HashSet::new();
    for i in 0..tokens.len() {
        if !content(&tokens[i]) {
            continue;
        }
        // "what size denim jacket" asks about the size of a denim jacket: the phrase is
        // "denim jacket sizes" (never "size denim jacket"), besides "size" alone.
        let asked_attribute = i > 0
            && ["what", "which"].contains(&tokens[i - 1].as_str())
            && ATTRIBUTE_NOUNS.contains(&tokens[i].as_str());
        if asked_attribute {
            let group: Vec<&str> =
                tokens[i + 1..].iter().take_while(|w| content(w)).take(3).map(String::as_str).collect();
            if !group.is_empty() {
                out.insert(tokens[i].clone());
                out.insert(format!("{} {}", group.join(" "), plural(&tokens[i])));
                continue;
            }
        }
        for n in 1..=MAX_PHRASE_WORDS.min(tokens.len() - i) {
            let words = &tokens[i..i + n];
            let last = words[n - 1].as_str();
            // A short word no English stop word links too: "tortilla de patatas".
            let link = |w: &str| LINKS.contains(&w) || (w.chars().count() < 3 && !w.is_empty() && !stop.contains(w));
            if !content(last) && !link(last) {
                break;
            }
            // A phrase with a link inside names a whole noun group: "in simple" goes on to "terms".
            let linked = words.iter().any(|w| LINKS.contains(&w.as_str()));
            let cut = linked && tokens.get(i + n).is_some_and(|next| content(next));
            if content(last) && !NOT_LAST.contains(&last) && words.iter().filter(|w| content(w)).count() <= 3 && !cut {
                out.insert(words.join(" "));
            }
        }
    }
    out
}

/// The content words of a text that end a noun group: followed by a clause break, a
/// function word or the end, not by another content word.
fn heads(tokens: &[String], stop: &HashSet<&str>) -> HashSet<String> {
    // An identifier ends the group before it: "order" is the head in "has order 12 shipped".
    let content = |w: &str| long_enough(w) && !stop.contains(w) && !is_contraction(w) && !is_identifier(w);
    tokens
        .iter()
        .enumerate()
        .filter(|(i, w)| content(w) && !tokens.get(i + 1).is_some_and(|next| content(next)))
        .map(|(_, w)| w.clone())
        .collect()
}

/// Whether a title reads as a name a person writes, not a fragment cut from a sentence: it
/// starts and ends with a word that can (not a pronoun, article, auxiliary or adverb:
/// "My package", "Shipped yet", "Quantum computing in simple"), holds no contraction
/// ("link doesn't"), and does not end in an infinitive ("Formula to calculate") or a
/// participle ("Order shipped").
fn reads_as_title(title: &str) -> bool {
    let words: Vec<String> = title
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else { return false };
    let before_last = words.len().checked_sub(2).map(|i| words[i].as_str());
    let infinitive = before_last == Some("to") && is_request_verb(last);
    // "Order shipped", and "Checked spam" (a bare participle naming no one's request).
    // A participle may end a clause after its auxiliary ("Asking whether orders have shipped").
    let clause = before_last.is_some_and(|w| ["have", "has", "be", "been", "are", "were"].contains(&w))
        && words.iter().any(|w| ["whether", "when", "where"].contains(&w.as_str()));
    let participle = (is_participle(last) && !clause) || is_participle(first);
    let stop = |w: &str| STOP_WORDS.contains(&w) || NOT_LAST.contains(&w);
    // "Usually an M": an adverb opening a clause.
    let adverb_first = first.ends_with("ly") && words.get(1).is_some_and(|w| STOP_WORDS.contains(&w.as_str()));
    !(stop(first) || stop(last) || adverb_first || words.iter().any(|w| is_contraction(w)) || infinitive || participle)
}

/// A question about the state of each user's own thing, put as a person names the group:
/// "has order #12 shipped yet?" → "Asking whether orders have shipped", "When will order 7
/// be delivered?" → "Asking when orders will be delivered". Read at the request's first
/// clause; None for any other request.
fn state_question(r: &Request) -> Option<String> {
    let clause: Vec<&str> = r
        .words
        .iter()
        .enumerate()
        .take_while(|(i, w)| *i == 0 || !w.after_break)
        .map(|(_, w)| w.lower.trim_end_matches(['?', '!', '.']))
        .collect();
    let (wh, aux, mut at) = match clause.as_slice() {
        [aux @ ("has" | "have" | "is" | "are" | "was" | "were"), ..] => (None, *aux, 1),
        [wh @ ("when" | "where"), aux @ ("will" | "is" | "are" | "does" | "do" | "has" | "have"), ..] => {
            (Some(*wh), *aux, 2)
        }
        _ => return None,
    };
    while clause.get(at).is_some_and(|w| ["my", "the", "our", "your"].contains(w)) {
        at += 1;
    }
    let noun_word = |w: &str| w.chars().count() >= 3 && !STOP_WORDS.contains(&w) && !is_identifier(w);
    let from = at;
    while at < clause.len() && at - from < 2 && noun_word(clause[at]) && !is_participle(clause[at]) {
        at += 1;
    }
    if at == from {
        return None;
    }
    let noun = plural(&clause[from..at].join(" "));
    while clause.get(at).is_some_and(|w| is_identifier(w)) {
        at += 1;
    }
    let rest: Vec<&str> =
        clause[at..].iter().copied().filter(|w| !["yet", "already", "still", "now"].contains(w)).collect();
    let plural_aux = match aux {
        "has" | "have" => "have",
        "is" | "are" => "are",
        "was" | "were" => "were",
        other => other,
    };
    match (wh, rest.as_slice()) {
        // "has order 12 shipped yet" → "whether orders have shipped".
        (None, [participle, ..]) if is_participle(participle) => {
            Some(format!("Asking whether {noun} {plural_aux} {participle}"))
        }
        // "when will order 7 be delivered", "when will it arrive".
        (Some(wh), ["be", participle, ..]) if aux == "will" && is_participle(participle) => {
            Some(format!("Asking {wh} {noun} will be {participle}"))
        }
        (Some(wh), [verb, ..]) if aux == "will" && noun_word(verb) => Some(format!("Asking {wh} {noun} will {verb}")),
        _ => None,
    }
}

/// Request verbs users ask of many different things, and the title that names what they
/// ask when no one thing is common: "return the rain jacket", "... the desk lamp", "...
/// my running shoes" are "Returning items".
const GENERAL_TITLES: &[(&str, &str)] =
    &[("return", "Returning items"), ("exchange", "Exchanging items"), ("refund", "Asking for refunds")];

/// The title of a request verb asked of many different things ([`GENERAL_TITLES`]).
fn general_title(verb: &str) -> Option<&'static str> {
    GENERAL_TITLES.iter().find(|(v, _)| *v == verb).map(|(_, t)| *t)
}

/// Two request verbs that go together, the others of their kind, and the title of a group
/// where both are common.
const RELATED_REQUESTS: &[(&str, &str, &[&str], &str)] =
    &[("return", "refund", &["exchange"], "Returning items for a refund")];

/// Whether a title is written in another language than `language` (None: English): at
/// least half its words are another language's commonest words ("Dónde está mi pedido",
/// "Vous livrez" for English requests; not "Texts about La Liga"). Titles that name a
/// language ("Requests in Spanish: tortilla de patatas") are the group's own.
fn in_another_language(title: &str, language: Option<&str>) -> bool {
    if title.starts_with("Requests in ") {
        return false;
    }
    let words: Vec<String> =
        title.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).collect();
    let foreign = words.iter().filter(|w| requests::foreign_word(w).is_some_and(|l| Some(l) != language)).count();
    foreign > 0 && foreign * 2 >= words.len()
}

/// Whether a single word may name what a group is about: no participle, adverb or vague word.
fn names_a_thing(word: &str) -> bool {
    !is_participle(word) && !word.ends_with("ly") && !VAGUE.contains(&singular(word).as_str())
}

/// Whether a word is a past participle ("shipped", "checked"), not a noun in "-ed"
/// ("hundred") nor an adjective titles use ("advanced").
fn is_participle(word: &str) -> bool {
    let w = word.to_lowercase();
    w.chars().count() >= 5
        && w.ends_with("ed")
        && !w.ends_with("eed")
        && !NOUNS_IN_ED.contains(&w.as_str())
        && !ADJECTIVES_IN_ED.contains(&w.as_str())
}

/// One line of at most `SNIPPET_CHARS` characters.
fn snippet(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(SNIPPET_CHARS) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(labels: &[ClusterLabel]) -> Vec<&str> {
        labels.iter().map(|l| l.title.as_str()).collect()
    }

    #[test]
    fn titles_name_what_users_ask_for() {
        let docs = vec![
            (0, "user: Write a short story about a dragon"),
            (0, "user: please write a short story for my son"),
            (0, "user: can you write me a short story set in Paris?"),
            (0, "user: Write a short story with a twist"),
            (1, "user: how do I fix this Python error: KeyError"),
            (1, "user: fix the Python error in my script"),
            (1, "user: Can you fix a Python error? TypeError: x"),
            (1, "user: help me fix this Python error please"),
            (-1, "user: the weather on Mars"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(titles(&labels), ["Writing short stories", "Fixing Python errors"]);
        assert!(labels[0].keywords.contains(&"story".to_string()), "{:?}", labels[0].keywords);
    }

    #[test]
    fn and_joins_two_things_only_when_the_cluster_is_both() {
        let both = [
            "write a poem about the sea",
            "write a poem about love",
            "write a poem for my wife",
            "write a short story about a cat",
            "write a short story about a robot",
            "write a short story for kids",
        ];
        let mostly_songs = [
            "write a song about the sea",
            "write a song about love",
            "write a song for my wife",
            "write a song about autumn",
            "write a song about a river",
            "write a song about rain",
            "write a song about snow",
            "write a song about fire",
            "write a song about stars",
            "write a short story about a dog",
        ];
        let docs: Vec<(i32, &str)> = both.iter().map(|t| (0, *t)).chain(mostly_songs.iter().map(|t| (1, *t))).collect();
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        let both_title = labels[0].title.to_lowercase();
        assert!(
            both_title.contains("poems and short stories") || both_title.contains("short stories and poems"),
            "{both_title}"
        );
        assert!(!labels[1].title.contains(" and "), "one story among nine songs: {}", labels[1].title);
        for l in &labels {
            let glue = l.title.split_once(" and ").is_some_and(|(a, b)| !a.contains(' ') && !b.contains(' '));
            assert!(!glue, "keyword glue: {}", l.title);
        }
    }

    #[test]
    fn fragments_of_sentences_are_not_titles() {
        for fragment in [
            "Shipped yet",
            "My package",
            "Password link doesn't",
            "Formula to calculate",
            "Order shipped",
            "Usually an m",
            "Checked spam nothing",
            "Checked spam",
            "Sending back",
        ] {
            assert!(!reads_as_title(fragment), "{fragment}");
        }
        for title in [
            "Writing short stories",
            "Resetting forgotten passwords",
            "Questions about tax returns",
            "Tower of Hanoi",
            "Requests in Spanish: tortilla",
            "Role-playing as a travel guide",
            "Mother's Day newsletters",
            "Kelly Holmes",
        ] {
            assert!(reads_as_title(title), "{title}");
        }
    }

    #[test]
    fn phrases_stay_inside_a_clause_and_name_whole_groups() {
        let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
        let of = |t: &str| phrases(&tokens(t), &stop);
        let glued = of("It's been 5 days and my package is not here. 80 words, friendly tone");
        assert!(glued.iter().all(|p| !p.contains(" and ") && !p.contains(" my ")), "{glued:?}");
        assert!(!glued.contains("words friendly tone") && glued.contains("friendly tone"), "{glued:?}");
        let terms = of("explain quantum computing in simple terms");
        assert!(
            terms.contains("computing in simple terms") && !terms.contains("quantum computing in simple"),
            "{terms:?}"
        );
        assert!(!of("has order NW-80145 shipped").iter().any(|p| p.contains("nw-80145")));
    }

    #[test]
    fn requests_put_as_questions_are_activities() {
        let names = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid"];
        let password: Vec<String> = names.iter().map(|n| format!("How can {n} reset a forgotten password?")).collect();
        let recipe: Vec<String> =
            names.iter().map(|n| format!("Suggest a vegetarian dinner recipe {n} will like")).collect();
        let docs: Vec<(i32, &str)> =
            password.iter().map(|t| (0, t.as_str())).chain(recipe.iter().map(|t| (1, t.as_str()))).collect();
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(titles(&labels), ["Resetting forgotten passwords", "Suggesting vegetarian dinner recipes"]);
    }

    #[test]
    fn a_title_is_a_request_never_one_word() {
        // What these users share is one word ("status", "days"): the title says how they
        // ask about it, in a phrase.
        let docs = vec![
            (0, "What's the status of order NW-80145?"),
            (0, "what is the status of my order #51330?"),
            (0, "status of order NW-77812?"),
            (0, "Any news on the status of order 4411?"),
            (1, "It's been 5 days and my package is not here"),
            (1, "it's been 8 days and my package hasn't arrived"),
            (1, "12 days and my package is still not here"),
            (2, "my discount code WELCOME10 doesn't work"),
            (2, "My discount code FREESHIP doesn't work"),
            (2, "the discount code SPRING20 is not accepted, it says expired"),
        ];
        let labels = label_groups(&docs, 3, &[vec![], vec![], vec![]], &[], None);
        for l in &labels {
            assert!(l.title.split_whitespace().count() >= 2 && reads_as_title(&l.title), "{}", l.title);
        }
        assert!(labels[0].title.starts_with("Questions about status"), "{}", labels[0].title);
        assert!(labels[1].title.starts_with("Problems with"), "{}", labels[1].title);
        assert!(!labels[1].title.to_lowercase().contains("days"), "{}", labels[1].title);
        assert_eq!(labels[2].title, "Problems with discount code");
        assert!(labels[2].description.contains("reports of a problem"), "{}", labels[2].description);
    }

    #[test]
    fn a_typo_is_titled_in_its_frequent_spelling() {
        let mut texts: Vec<String> = (0..12).map(|i| format!("user: can you track my order {i} for me?")).collect();
        texts.push("user: can you track my ordeer 99 for me?".into());
        texts.push("user: can you track my oorder 98 please".into());
        let docs: Vec<(i32, &str)> = texts.iter().map(|t| (0, t.as_str())).collect();
        let labels = label_groups(&docs, 1, &[vec![]], &[], None);
        assert_eq!(labels[0].title, "Tracking orders");
        // Typo'd requests count with the others: no candidate keeps the rare spelling.
        let typos = ["ordeer", "oorder"];
        assert!(typos.iter().all(|t| !labels[0].title.to_lowercase().contains(t)), "{}", labels[0].title);
    }

    #[test]
    fn a_conversation_is_titled_by_what_its_user_asked_first() {
        // Both conversations follow up alike ("Can I talk to a human?", asking for a link):
        // what tells them apart, and names them, is their first request.
        let follow_ups = "\nassistant: ok\nuser: Can I talk to a human?\nuser: send me the tracking link";
        let texts: Vec<String> = ["Anna", "Ben", "Chloe", "David"]
            .iter()
            .flat_map(|n| {
                [
                    format!("user: My discount code {n}10 doesn't work{follow_ups}"),
                    format!("user: Please update the delivery address for {n}{follow_ups}"),
                ]
            })
            .collect();
        let docs: Vec<(i32, &str)> = texts.iter().enumerate().map(|(i, t)| ((i % 2) as i32, t.as_str())).collect();
        let labels = label_groups(&docs, 2, &[vec![texts[0].as_str()], vec![]], &[], None);
        assert_eq!(titles(&labels), ["Problems with discount code", "Updating delivery address"]);
        for l in &labels {
            assert!(!l.title.contains("link") && !l.title.contains("human"), "a follow-up's title: {}", l.title);
        }
        assert!(
            labels[0].description.ends_with("e.g. \"My discount code Anna10 doesn't work\""),
            "{}",
            labels[0].description
        );
        assert!(!labels[0].description.contains("human"), "{}", labels[0].description);
    }

    #[test]
    fn topics_read_as_noun_groups_after_about() {
        // "what size denim jacket" asks about denim jacket sizes.
        let docs = vec![
            (0, "what size denim jacket should I get?"),
            (0, "What size denim jacket fits me at 185 cm?"),
            (0, "what size denim jacket for my partner?"),
            (1, "where is my order 12?"),
            (1, "Where is my order 44"),
            (1, "has order 51 shipped yet?"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert!(!labels[0].title.contains("size denim"), "{}", labels[0].title);
        let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
        let asked = phrases(&tokens("what size denim jacket should I get?"), &stop);
        assert!(asked.contains("denim jacket sizes") && asked.contains("size"), "{asked:?}");
        assert!(!asked.iter().any(|p| p.starts_with("size ")), "{asked:?}");
        // A request verb used as a noun ("my order") is a topic, each user's own one: orders.
        assert_eq!(labels[1].title, "Questions about orders");
    }

    #[test]
    fn a_verb_names_only_what_it_acts_on() {
        // "Tracking says delivered. Order 12": "order" acts on nothing after it; "tracking"
        // came first, so "Ordering tracking" is no title.
        let docs = vec![
            (0, "Tracking says delivered but I have nothing. Order 12"),
            (0, "tracking says delivered but nothing came. order 13"),
            (0, "Tracking says delivered, where is it? Order 14"),
        ];
        let labels = label_groups(&docs, 1, &[vec![]], &[], None);
        assert!(!labels[0].title.starts_with("Ordering"), "{}", labels[0].title);
        // A lexicon verb after a determiner is a noun: "a polite reply" is what is written.
        let docs = vec![
            (0, "write a polite reply to this review: \"Great mug but it arrived chipped\""),
            (0, "Write a polite reply to this review: \"The mug is lovely\""),
            (0, "write a polite reply to this 1-star review: \"Late again, never again\""),
        ];
        let labels = label_groups(&docs, 1, &[vec![]], &[], None);
        assert_eq!(labels[0].title, "Writing polite replies");
        assert!(!labels[0].description.to_lowercase().contains("mug"), "quoted material: {}", labels[0].description);
    }

    #[test]
    fn quoted_text_is_named_by_what_it_is_and_where_it_goes() {
        let names = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid"];
        let texts: Vec<String> = names.iter().map(|n| format!("Translate \"{n} is on holiday\" into French")).collect();
        let docs: Vec<(i32, &str)> = texts.iter().map(|t| (0, t.as_str())).collect();
        let labels = label_groups(&docs, 1, &[vec![]], &[], None);
        assert_eq!(labels[0].title, "Translating sentences into French");
    }

    #[test]
    fn parts_joined_by_and_agree_and_do_not_overlap() {
        let docs = vec![
            (0, "Translate this product description into French"),
            (0, "translate this product description into German"),
            (0, "Translate this product description into Dutch"),
            (0, "Translate the label \"hand-wash only\" to French"),
            (0, "translate the label \"free returns\" to Spanish"),
            (0, "Translate the label \"organic cotton\" to Italian"),
            (1, "reset password link doesn't work"),
            (1, "reset password link doesn't work today"),
            (1, "reset my password"),
            (1, "reset my password please"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(labels[0].title, "Translating product descriptions and labels");
        assert!(!labels[1].title.contains(" and ") && reads_as_title(&labels[1].title), "{}", labels[1].title);
    }

    #[test]
    fn the_title_is_chosen_contrastively() {
        let docs = vec![
            (0, "write a poem about the sea"),
            (0, "write a poem about the sea"),
            (0, "translate a poem into French"),
            (1, "write a song about the sea"),
            (1, "write a song about love"),
        ];
        // A fake embedder: titles about translating point at centroid 0, everything else
        // at centroid 1, so "Writing poems about the sea" (the offline first) is nearer the other cluster.
        let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| if t.starts_with("Translating") { vec![1.0, 0.0] } else { vec![0.0, 1.0] })
                .collect())
        };
        let centroids = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let offline = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(offline[0].title, "Writing poems about the sea");
        let chosen = label_groups(&docs, 2, &[vec![], vec![]], &[], Some((&centroids, &embed)));
        assert!(chosen[0].title.starts_with("Translating"), "{}", chosen[0].title);
        // An embedder that fails leaves the offline order.
        let failing = |_: &[String]| -> Result<Vec<Vec<f32>>> {
            Err(crate::error::EngineError::new(crate::error::ErrorKind::Internal, "no model"))
        };
        let plain = label_groups(&docs, 2, &[vec![], vec![]], &[], Some((&centroids, &failing)));
        assert_eq!(titles(&plain), titles(&offline));
    }

    #[test]
    fn identical_texts_still_give_distinct_titles() {
        let docs = vec![(0, "alpha beta"), (0, "alpha beta"), (1, "alpha beta"), (1, "alpha beta")];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_ne!(labels[0].title.to_lowercase(), labels[1].title.to_lowercase());
    }

    #[test]
    fn descriptions_are_sentences_quoting_requests_never_answers() {
        let texts = [
            "user: can you write a short story?\nassistant: ok\nOnce upon a time a dragon",
            "user: write a short story about a cat\nassistant: Sure! A cat named Tom",
            "user: Write me a short story.\nassistant: ok",
        ];
        let docs: Vec<(i32, &str)> = texts.iter().map(|t| (0, *t)).collect();
        let labels = label_groups(&docs, 1, &[texts.to_vec()], &[], None);
        let d = &labels[0].description;
        let first = d.lines().next().unwrap_or("");
        assert!(first.starts_with("Almost all users ask to write short stories."), "{d}");
        assert!(first.contains("direct instructions"), "{d}");
        assert!(!d.contains("distinctive terms"), "{d}");
        assert!(d.contains("\n• e.g. \"can you write a short story?\""), "{d}");
        for answer in ["ok", "Once upon", "Sure", "Tom", "dragon"] {
            assert!(!d.contains(answer), "the answer {answer:?} is quoted: {d}");
            assert!(!labels[0].title.contains(answer));
        }
    }

    #[test]
    fn quoted_items_are_cleaned() {
        let docs = [(0, "user: refund \u{202E}my order\u{202C} now\u{0007}"), (0, "user: refund my order today")];
        let labels = label_groups(&docs, 1, &[vec![docs[0].1]], &[], None);
        assert!(!labels[0].description.contains(['\u{202E}', '\u{202C}', '\u{0007}']), "{}", labels[0].description);
        assert!(labels[0].description.contains("e.g. \"refund my order now"), "{}", labels[0].description);
    }

    #[test]
    fn other_languages_are_named_by_their_language() {
        let docs = vec![
            (0, "请帮我写一篇关于人工智能的文章"),
            (0, "请帮我翻译这段话"),
            (1, "¿Cómo puedo hacer una tortilla de patatas para la cena?"),
            (1, "¿Qué es la tortilla de patatas y cómo se hace en casa?"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert!(labels[0].title.starts_with("Requests in Chinese"), "{}", labels[0].title);
        assert!(labels[1].title.starts_with("Requests in Spanish"), "{}", labels[1].title);
        assert!(labels[1].title.to_lowercase().contains("tortilla"), "{}", labels[1].title);
        assert!(labels[0].description.starts_with("Requests written in Chinese"), "{}", labels[0].description);
    }

    #[test]
    fn titles_keep_the_texts_own_capitals() {
        let docs = vec![
            (0, "write a Python script to parse SQL"),
            (0, "write a Python script for SQL dumps"),
            (0, "write my python script and SQL"),
        ];
        let labels = label_groups(&docs, 1, &[vec![]], &[], None);
        assert_eq!(labels[0].title, "Writing Python scripts");
        assert_eq!(labels[0].keywords.first().map(String::as_str), Some("python"), "keywords stay lower case");
    }

    #[test]
    fn a_capital_that_only_starts_a_sentence_is_not_the_words_form() {
        let mut written = HashMap::new();
        count_written_forms("SQL is slow. Sql again: SQL. My password", &mut written);
        assert_eq!(written["sql"].get("SQL"), Some(&2), "an acronym counts even at a sentence start");
        assert_eq!(written["sql"].get("Sql"), None);
        assert_eq!(written.get("my"), None);
    }

    #[test]
    fn news_is_named_by_its_phrases() {
        let docs = vec![
            (0, "The Prime Minister said on Tuesday that the general election would be in May"),
            (0, "Labour and the Prime Minister face a general election this spring"),
            (0, "Voters in the general election will decide"),
            (1, "Chelsea beat Arsenal in the Premiership on Saturday"),
            (1, "Arsenal lost to Chelsea in a Premiership game"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert!(labels[0].title.to_lowercase().contains("general election"), "{}", labels[0].title);
        assert!(labels[0].description.starts_with("The items are about "), "{}", labels[0].description);
    }

    #[test]
    fn a_run_labels_its_clusters_and_themes_with_the_nearest_requests() {
        // Clusters 0 and 1 (theme 0) are about accounts, cluster 2 (theme 1) about cooking.
        let texts = [
            (0, "reset my password now"),
            (0, "reset my password please"),
            (0, "reset my password today"),
            (0, "user: reset my password again\nassistant: Done."),
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
        assert!(run.clusters[0].title.to_lowercase().contains("password"), "{}", run.clusters[0].title);
        let d = &run.clusters[0].description;
        assert!(d.contains("e.g. \"reset my password again\""), "{d}");
        assert!(!d.contains("Done"), "no answer: {d}");
        assert!(!d.contains("reset my password now"), "only the 3 nearest");
        assert!(run.clusters[2].title.to_lowercase().contains("bread"), "{}", run.clusters[2].title);
        // Theme 0 shows the nearest request of each of its clusters and names them.
        let t = &run.themes[0].description;
        assert!(t.contains("reset my password again") && t.contains("change my email please"), "{t}");
        assert!(t.contains(&format!("Its clusters: {}; {}.", run.clusters[0].title, run.clusters[1].title)), "{t}");
        assert!(!titles(&run.clusters).iter().any(|t| t.contains("something")), "outliers name nothing");
    }

    #[test]
    fn words_that_name_no_object_are_not_topics() {
        let docs = vec![
            (0, "user: My account is locked after too many attempts"),
            (0, "user: my account got locked after 3 attempts, what now"),
            (0, "user: Locked out after too many attempts"),
            (0, "user: I can't sign in, it says my password is wrong"),
            (0, "user: i cannot sign in since yesterday"),
            (0, "user: I can't sign in on the app"),
            (0, "user: my password doesn't work"),
            (1, "user: Write a short story about a dragon"),
            (1, "user: write a short story for my son"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        let title = labels[0].title.to_lowercase();
        assert!(!title.contains("attempt") && !title.contains(" sign"), "{title}");
    }

    #[test]
    fn an_incidental_item_does_not_name_its_group() {
        // What these requests share is the refund; which product it is for varies.
        let docs = vec![
            (0, "user: Can I get a refund for the desk lamp?"),
            (0, "user: can I get a refund for the desk lamp"),
            (0, "user: Can I get a refund for the desk lamp? it broke"),
            (0, "user: Can I get a refund for the wool coat?"),
            (0, "user: Can I get a refund for the rain jacket?"),
            (0, "user: Can I get a refund for my running shoes?"),
            (0, "user: Can I get a refund for the yoga mat?"),
            (0, "user: Can I get a refund for the linen shirt?"),
            (0, "user: Can I get a refund for the ceramic mugs?"),
            (1, "user: cancel my plan and refund this month"),
            (1, "user: cancel the monthly box, refund please"),
            (1, "user: How do I cancel my plan?"),
        ];
        // Even where the item's title would be the most contrastive (the demo's "Questions
        // about desk lamp"), it is no candidate.
        let centroids = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let embed = |texts: &[String]| {
            Ok(texts.iter().map(|t| if t.contains("lamp") { vec![1.0f32, 0.0] } else { vec![0.8, 0.6] }).collect())
        };
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], Some((&centroids, &embed)));
        assert!(!labels[0].title.contains("lamp"), "{}", labels[0].title);
        assert!(labels[0].title.contains("refund"), "{}", labels[0].title);
    }

    #[test]
    fn a_mixed_group_is_named_as_a_mix() {
        let docs = vec![
            (0, "user: What is the capital of Mongolia?"),
            (0, "user: Write a haiku about a lighthouse"),
            (0, "user: tell me a joke about accountants"),
            (0, "user: How many calories are in a banana?"),
            (0, "user: Recommend a sci-fi novel like Dune"),
            (0, "user: Is Pluto a planet?"),
            (0, "user: Solve 3x + 7 = 22"),
            (0, "user: who would win, a shark or a gorilla"),
            (1, "user: Write a short story about a dragon"),
            (1, "user: write a short story for my son"),
            (1, "user: Write a short story with a twist"),
        ];
        let centroids = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        // Every title is nearer the stories' centroid: none stands for group 0.
        let embed = |texts: &[String]| Ok(texts.iter().map(|_| vec![0.0f32, 1.0]).collect());
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], Some((&centroids, &embed)));
        assert_eq!(labels[0].title, "Mixed requests");
        assert!(labels[0].description.starts_with("A mix of requests"), "{}", labels[0].description);
        assert_eq!(labels[1].title, "Writing short stories");
    }

    #[test]
    fn the_fallback_names_a_thing() {
        assert!(!names_a_thing("shipped") && !names_a_thing("attempts") && !names_a_thing("usually"));
        assert!(names_a_thing("order") && names_a_thing("refunds"));
    }

    #[test]
    fn questions_about_the_state_of_ones_own_thing_name_what_differs() {
        let said = |t: &str| state_question(&Request::read(t));
        assert_eq!(said("has order #50972 shipped yet?").as_deref(), Some("Asking whether orders have shipped"));
        assert_eq!(
            said("When will order NW-81002 be delivered").as_deref(),
            Some("Asking when orders will be delivered")
        );
        assert_eq!(said("What is the capital of Mongolia?"), None);
        assert!(reads_as_title("Asking whether orders have shipped") && !reads_as_title("Order shipped"));
        let docs = vec![
            (0, "user: has order #50972 shipped yet?"),
            (0, "user: Has order NW-77812 shipped yet"),
            (0, "user: has order #48213 shipped?"),
            (1, "user: When will order #51330 be delivered?"),
            (1, "user: when will order NW-80145 be delivered"),
            (1, "user: When will order #49904 be delivered?"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(titles(&labels), ["Asking whether orders have shipped", "Asking when orders will be delivered"]);
    }

    #[test]
    fn a_request_asked_of_many_things_is_named_by_the_request() {
        // What these users share is returning and refunds; which product it is varies.
        let products = ["rain jacket", "desk lamp", "wool coat", "running shoes", "linen shirt", "ceramic mugs"];
        let mut texts: Vec<String> = Vec::new();
        for p in products {
            texts.push(format!("user: I want to return the {p}"));
            texts.push(format!("user: Can I get a refund for the {p}?"));
            texts.push(format!("user: How do I send back the {p}? It doesn't fit"));
        }
        texts.push("user: I'd like to exchange the wool coat for a bigger size".into());
        let only_returns: Vec<String> = products.iter().map(|p| format!("user: I want to return the {p}")).collect();
        let docs: Vec<(i32, &str)> = texts
            .iter()
            .map(|t| (0, t.as_str()))
            .chain(only_returns.iter().map(|t| (1, t.as_str())))
            .chain([(2, "user: write a poem about the sea"), (2, "user: write a poem about love")])
            .collect();
        let labels = label_groups(&docs, 3, &[vec![], vec![], vec![]], &[], None);
        assert_eq!(labels[0].title, "Returning items for a refund");
        assert_eq!(labels[1].title, "Returning items");
        for l in &labels[..2] {
            assert!(products.iter().all(|p| !l.title.to_lowercase().contains(p)), "{}", l.title);
        }
    }

    #[test]
    fn greetings_and_fillers_are_never_topics() {
        let docs = vec![
            (0, "user: Good morning, quick question: is my order NW-1 on its way?"),
            (0, "user: good morning, quick question, is my order NW-2 late? thanks"),
            (0, "user: Hi there, quick question: is my order NW-3 lost? Thank you in advance"),
            (0, "user: Good morning! is my order NW-4 stuck? thanks"),
            (1, "user: write a poem about the sea"),
            (1, "user: write a poem about love"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        let said = format!("{} {}", labels[0].title, labels[0].description.lines().next().unwrap_or("")).to_lowercase();
        for filler in ["morning", "quick question", "hi there", "thank"] {
            assert!(!said.contains(filler), "{filler}: {said}");
        }
        assert!(said.contains("order"), "{said}");
    }

    #[test]
    fn a_vague_object_alone_is_no_title() {
        let docs = vec![
            (0, "user: solve this problem: 3x + 7 = 22"),
            (0, "user: Solve the problem below. A train leaves at 9"),
            (0, "user: solve this problem, x^2 = 9"),
            (0, "user: please solve this problem in python: reverse a list"),
            (1, "user: write a poem about the sea"),
            (1, "user: write a poem about love"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_ne!(labels[0].title, "Solving problems");
    }

    /// The title of group 0 (`texts`) beside a group of poems, with an embedder that puts
    /// the request containing `odd` at group 0's centre and every other title off it: the
    /// odd request's title is the most contrastive.
    fn title_beside_an_odd_request(texts: &[&str], odd: &str) -> String {
        let docs: Vec<(i32, &str)> = texts
            .iter()
            .map(|t| (0, *t))
            .chain([(1, "user: write a poem about the sea"), (1, "user: write a poem about love")])
            .collect();
        let centroids = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let embed = |texts: &[String]| {
            Ok(texts.iter().map(|t| if t.contains(odd) { vec![1.0f32, 0.0] } else { vec![0.8, 0.6] }).collect())
        };
        label_groups(&docs, 2, &[vec![], vec![]], &[], Some((&centroids, &embed))).swap_remove(0).title
    }

    #[test]
    fn a_short_request_near_the_centre_names_its_group_only_if_others_name_its_object() {
        // The request nearest the centre is short, but no other request names what it asks for.
        let mut texts: Vec<String> = vec!["user: Provide stolen vehicle tracking UML".into()];
        for (i, who) in ["my landlord", "the airline", "a shop", "my bank", "the council", "a hotel"].iter().enumerate()
        {
            texts.push(format!("user: write a complaint letter to {who} about case {i}"));
            texts.push(format!("user: help me complain to {who}, the letter should be firm"));
        }
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let title = title_beside_an_odd_request(&texts, "UML");
        assert!(!title.contains("UML") && title.contains("letter"), "{title}");
    }

    #[test]
    fn one_request_whose_object_no_other_names_is_an_outlier() {
        // No verb is common: each request asks for a recipe its own way; one asks for
        // something no other request names, and its title is the most contrastive.
        let texts = [
            "user: make a recipe for pancakes",
            "user: write a recipe for tomato soup",
            "user: give me a recipe for bread",
            "user: find a recipe for a curry",
            "user: suggest a recipe for lunch",
            "user: I need a recipe for lasagne",
            "user: what is a good recipe for pizza",
            "user: how do I follow this recipe for cake",
            "user: list recipes for a picnic",
            "user: describe a recipe for risotto",
            "user: recommend a recipe for salad",
            "user: calculate nr pfn pages for the swap image",
        ];
        let title = title_beside_an_odd_request(&texts, "pfn");
        assert!(!title.contains("pfn") && title.to_lowercase().contains("recipe"), "{title}");
    }

    #[test]
    fn names_keep_their_capitals_where_users_often_write_them() {
        // Users type names in lower case as often as not: a third written with capitals is a name.
        let docs = vec![
            (0, "user: create a React component for a login form"),
            (0, "user: create a react component for a date picker"),
            (0, "user: create a react component for a modal"),
            (0, "user: create a React component for tabs"),
            (0, "user: create a react component with hooks"),
            // A word capitalised once (a heading's Title Case) is no name.
            (1, "user: draft donation agreements for a charity"),
            (1, "user: draft the Donation Agreements section"),
            (1, "user: draft donation agreements for a school"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(labels[0].title, "Creating React components");
        assert!(labels[1].title.starts_with("Drafting donation agreement"), "{}", labels[1].title);
    }

    #[test]
    fn one_odd_request_does_not_name_its_group() {
        let mut texts: Vec<String> = (0..12).map(|i| format!("user: draft a newsletter for sale number {i}")).collect();
        texts.push("user: exchange the ceramic mug".into());
        // The odd request's title is the most contrastive; it still names one user.
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let title = title_beside_an_odd_request(&texts, "mug");
        assert!(!title.contains("mug"), "{title}");
    }

    #[test]
    fn groups_in_several_languages_are_named_by_them() {
        let docs = vec![
            (0, "user: ¿Dónde está mi pedido #48213?"),
            (0, "user: ¿Dónde está mi pedido NW-7?"),
            (0, "user: quand arrive ma commande #52118 ?"),
            (0, "user: quand arrive ma commande NW-80145 ?"),
            (0, "user: la mia carta non funziona"),
            (1, "user: write a poem about the sea"),
            (1, "user: write a poem about love"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(labels[0].title, "Requests in French, Spanish and Italian");
        assert!(
            labels[0].description.starts_with("Requests written in French, Spanish and Italian"),
            "{}",
            labels[0].description
        );
    }

    #[test]
    fn a_theme_is_named_by_what_its_clusters_share() {
        // Theme 0 holds a Spanish cluster, a translation cluster and a reply-writing one:
        // they share nothing, and no one cluster's title (least of all the Spanish one)
        // names the theme. Theme 1's two clusters both ask about passwords.
        let texts = [
            (0, "¿Dónde está mi pedido #48213?"),
            (0, "¿Dónde está mi pedido NW-77812?"),
            (0, "¿Dónde está mi pedido #50972?"),
            (1, "translate this greeting into Klingon"),
            (1, "Translate our slogan into Klingon"),
            (1, "translate the menu into Klingon"),
            (2, "write a polite reply to this review: great mug"),
            (2, "Write a polite reply to this 1-star review"),
            (2, "write a polite reply to this angry review"),
            (3, "reset my password please"),
            (3, "reset my password now"),
            (3, "reset my password today"),
            (4, "my password doesn't work"),
            (4, "My password doesn't work anymore"),
            (4, "the password reset link doesn't work"),
        ];
        let docs: Vec<(i32, u32, &str)> = texts.iter().enumerate().map(|(i, (c, t))| (*c, i as u32, *t)).collect();
        let titles: Vec<String> = [
            "Dónde está mi pedido",
            "Translating texts into Klingon",
            "Writing polite replies",
            "Resetting passwords",
            "Problems with passwords",
        ]
        .map(String::from)
        .to_vec();
        let members = ThemeMembers {
            themes: &[Some(0), Some(0), Some(0), Some(1), Some(1)],
            titles: &titles,
            sizes: &[3, 3, 3, 3, 3],
            centroids: &[vec![1.0, 0.0], vec![0.0, 1.0]],
        };
        let themes = label_themes(&docs, &members, None);
        assert_eq!(themes[0].title, "Mixed requests");
        assert!(themes[1].title.to_lowercase().contains("password"), "{}", themes[1].title);
        assert!(!themes.iter().any(|t| t.title.contains("pedido")));
        // A member title in another language than most of the group's items is no title.
        assert!(in_another_language("Dónde está mi pedido", None) && in_another_language("Vous livrez", None));
        assert!(!in_another_language("Texts about La Liga", None));
        assert!(!in_another_language("Requests in Spanish: tortilla de patatas", None));
        assert!(!in_another_language("Dónde está mi pedido", Some("Spanish")));
    }

    #[test]
    fn a_phrase_of_another_languages_requests_is_no_topic() {
        let docs = vec![
            (0, "user: Wie kann ich meine Laufschuhe umtauschen?"),
            (0, "user: wie kann ich meine Jacke umtauschen"),
            (0, "user: Wie kann ich meinen Mantel umtauschen?"),
            (0, "user: gift ideas for my sister"),
            (0, "user: any gift ideas for a runner?"),
            (0, "user: Recommend a sci-fi novel like Dune"),
            (0, "user: Is Pluto a planet?"),
            (1, "user: write a poem about the sea"),
            (1, "user: write a poem about love"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        let said = format!("{} {}", labels[0].title, labels[0].description.lines().next().unwrap_or("")).to_lowercase();
        for german in ["umtauschen", "wie kann", "laufschuhe"] {
            assert!(!said.contains(german), "{german}: {said}");
        }
    }

    #[test]
    fn a_short_request_is_one_of_its_kind_where_the_kind_is_asked_more() {
        // The first request is short and near the centre, and its title the most
        // contrastive; the group asks for jokes, one user about cats.
        let texts = [
            "user: tell me a joke about cats",
            "user: tell me a joke",
            "user: tell me a joke about dogs",
            "user: tell a joke about my school",
            "user: tell me a funny joke please",
            "user: tell us a joke for a wedding speech",
            "user: explain why the chicken crossed the road",
            "user: what is the funniest word in English?",
        ];
        assert_eq!(title_beside_an_odd_request(&texts, "cats"), "Telling jokes");
    }

    #[test]
    fn a_topic_most_of_a_group_names_is_put_as_what_is_asked_of_it() {
        // No verb is common; all name React, as a thing ("in React") or what makes one
        // ("a React component"). The topic's own title is the most contrastive.
        let texts = [
            "user: create a React component for a modal",
            "user: write unit tests for my React app",
            "user: fix this error in React",
            "user: explain hooks in React",
            "user: build a travel app in React",
            "user: convert this class to React hooks",
            "user: add dark mode to a page in React",
            "user: debug this form in React",
            "user: how do I use typescript with React?",
            "user: is vue better than React?",
        ];
        assert_eq!(title_beside_an_odd_request(&texts, "Requests about React"), "Creating React components");
    }

    #[test]
    fn a_topic_asked_about_is_named_by_the_questions() {
        let texts = [
            "user: how do I expose a port in docker?",
            "user: why does my build fail in docker?",
            "user: what is a volume in docker?",
            "user: can I run cron jobs in docker?",
            "user: create a compose file for postgres in docker",
            "user: write a healthcheck for nginx in docker",
            "user: explain networking in docker",
            "user: fix this permission error in docker",
            "user: list running containers in docker",
        ];
        assert_eq!(title_beside_an_odd_request(&texts, "Requests about docker"), "Questions about docker");
    }

    #[test]
    fn names_written_with_symbols_are_words() {
        let t = tokens("How do lambdas work in C++? And in C#, or a+b, #1, x++y");
        for name in ["c++", "c#"] {
            assert!(t.contains(&name.to_string()), "{name}: {t:?}");
        }
        assert!(!t.iter().any(|w| w.contains('+') && w != "c++"), "{t:?}");
        let docs = vec![
            (0, "user: what is a class in C++?"),
            (0, "user: how do pointers work in C++?"),
            (0, "user: what are lambdas in C++?"),
            (0, "user: how do I read a file in C++?"),
            (0, "user: why is my loop slow in C++?"),
            (1, "user: write a poem about the sea"),
            (1, "user: write a poem about love"),
        ];
        let labels = label_groups(&docs, 2, &[vec![], vec![]], &[], None);
        assert_eq!(labels[0].title, "Questions about C++");
    }

    #[test]
    fn a_short_request_is_titled_as_its_kind_is_counted() {
        // "a code", "a joke": one user's one; the title counts the object as titles do.
        let texts = [
            "user: write a code for a trading dashboard",
            "user: explain this code",
            "user: fix the code of my dashboard",
            "user: how do I deploy a dashboard?",
            "user: make the dashboard faster",
            "user: why is this code slow?",
        ];
        assert_eq!(title_beside_an_odd_request(&texts, "trading"), "Writing code for a trading dashboard");
        let texts = ["user: tell me a joke about penguins", "user: explain penguins", "user: what do penguins eat?"];
        assert_eq!(title_beside_an_odd_request(&texts, "about penguins"), "Telling jokes about penguins");
    }
}
