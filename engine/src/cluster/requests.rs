//! What a user's request asks for, read from its words: the user's part of an item's text
//! (never the answer), its form (an instruction, a question, a role-play set-up, pasted
//! text), and its request verb and object ("write" + "short story"), from a small English
//! lexicon of request verbs and their gerunds. Offline titles and descriptions are built
//! from these ("Writing short stories"); a request in another language gets no verb and
//! is named by its script or language instead.

use crate::text::STOP_WORDS;

/// A request verb as users write it, and its gerund as a cluster name starts with it.
/// Bounded on purpose: the verbs people start requests to an assistant with.
const VERBS: &[(&str, &str)] = &[
    ("act", "Role-playing as"),
    ("add", "Adding"),
    ("analyse", "Analysing"),
    ("analyze", "Analyzing"),
    ("answer", "Answering"),
    ("bake", "Baking"),
    ("boil", "Boiling"),
    ("book", "Booking"),
    ("brainstorm", "Brainstorming"),
    ("build", "Building"),
    ("buy", "Buying"),
    ("calculate", "Calculating"),
    ("cancel", "Cancelling"),
    ("change", "Changing"),
    ("check", "Checking"),
    ("choose", "Choosing"),
    ("classify", "Classifying"),
    ("compare", "Comparing"),
    ("complete", "Completing"),
    ("compose", "Composing"),
    ("configure", "Configuring"),
    ("contact", "Contacting"),
    ("continue", "Continuing"),
    ("convert", "Converting"),
    ("cook", "Cooking"),
    ("correct", "Correcting"),
    ("create", "Creating"),
    ("debug", "Debugging"),
    ("define", "Defining"),
    ("delete", "Deleting"),
    ("deploy", "Deploying"),
    ("describe", "Describing"),
    ("design", "Designing"),
    ("develop", "Developing"),
    ("download", "Downloading"),
    ("draft", "Drafting"),
    ("edit", "Editing"),
    ("evaluate", "Evaluating"),
    ("exchange", "Exchanging"),
    ("expand", "Expanding"),
    ("explain", "Explaining"),
    ("extract", "Extracting"),
    ("find", "Finding"),
    ("fix", "Fixing"),
    ("format", "Formatting"),
    ("fry", "Frying"),
    ("generate", "Generating"),
    ("give", "Asking for"),
    ("grill", "Grilling"),
    ("identify", "Identifying"),
    ("implement", "Implementing"),
    ("improve", "Improving"),
    ("install", "Installing"),
    ("learn", "Learning"),
    ("list", "Listing"),
    ("make", "Making"),
    ("optimize", "Optimizing"),
    ("order", "Ordering"),
    ("outline", "Outlining"),
    ("paraphrase", "Paraphrasing"),
    ("parse", "Parsing"),
    ("plan", "Planning"),
    ("play", "Playing"),
    ("predict", "Predicting"),
    ("prepare", "Preparing"),
    ("proofread", "Proofreading"),
    ("provide", "Asking for"),
    ("recommend", "Recommending"),
    ("refactor", "Refactoring"),
    ("remove", "Removing"),
    ("rephrase", "Rephrasing"),
    ("refund", "Getting refunds for"),
    ("reply", "Replying to"),
    ("reset", "Resetting"),
    ("return", "Returning"),
    ("review", "Reviewing"),
    ("rewrite", "Rewriting"),
    ("roast", "Roasting"),
    ("run", "Running"),
    ("send", "Sending"),
    ("set", "Setting up"),
    ("setup", "Setting up"),
    ("ship", "Shipping"),
    ("show", "Showing"),
    ("simulate", "Simulating"),
    ("solve", "Solving"),
    ("subscribe", "Subscribing to"),
    ("suggest", "Suggesting"),
    ("summarise", "Summarising"),
    ("summarize", "Summarizing"),
    ("teach", "Teaching"),
    ("tell", "Telling"),
    ("test", "Testing"),
    ("track", "Tracking"),
    ("translate", "Translating"),
    ("unsubscribe", "Unsubscribing from"),
    ("update", "Updating"),
    ("upload", "Uploading"),
    ("use", "Using"),
    ("write", "Writing"),
];

/// Words after which a lexicon word is the request's verb: the request's start, a
/// politeness or a frame ("can you write", "I want you to write", "let's play").
const VERB_FRAMES: &[&str] = &[
    "please", "pls", "kindly", "you", "to", "i", "we", "me", "us", "and", "then", "also", "now", "just", "let's",
    "lets", "can", "could", "would",
];

/// Words that are not stop words but never name what is asked for.
const NOT_OBJECT: &[&str] = &[
    "without",
    "within",
    "into",
    "onto",
    "upon",
    "via",
    "per",
    "whether",
    "using",
    "based",
    "following",
    "regarding",
    "including",
    "below",
    "above",
    "etc",
    // Prepositions that are no stop words, and the participles that name what follows:
    // "bounty platforms along with links", "a native component called Overlay".
    "along",
    "around",
    "across",
    "behind",
    "beyond",
    "throughout",
    "towards",
    "toward",
    "among",
    "amongst",
    "despite",
    "except",
    "versus",
    "vs",
    "called",
    "named",
    "titled",
    "entitled",
];

/// Words that show a sentence addresses the assistant or asks it something.
const PERSON_WORDS: &[&str] = &[
    "you", "i", "me", "we", "us", "please", "pls", "how", "let's", "lets", "can", "could", "i'd", "i'm", "i'll",
    "we'd", "id", "im",
];

/// Nouns a lexicon verb modifies when it stands right before them at a request's start:
/// "return policy for the wool coat?", "order status", "track record" name a thing, not a
/// request to return, order or track.
const COMPOUND_HEADS: &[&str] = &[
    "policy",
    "policies",
    "shipping",
    "label",
    "labels",
    "window",
    "form",
    "process",
    "period",
    "fee",
    "fees",
    "cost",
    "costs",
    "status",
    "number",
    "history",
    "record",
    "confirmation",
    "date",
    "details",
];

/// Greetings, fillers and politeness: never what a request is about, never its topic
/// ("Users ask about good morning, quick question and order"). Longer ones first.
const FILLERS: &[&str] = &[
    "thank you in advance",
    "thanks in advance",
    "good morning",
    "good afternoon",
    "good evening",
    "quick question",
    "thank you",
    "hi there",
    "hello there",
    "hey there",
    "hi",
    "hello",
    "hey",
    "hiya",
    "hola",
    "bonjour",
    "hallo",
    "ciao",
    "thanks",
    "thx",
    "ty",
    "cheers",
    "please",
    "pls",
    "plz",
    "kindly",
    "asap",
    "ok",
    "okay",
];

/// Words skipped between a verb and its object: pronouns, articles, quantities.
const OBJECT_LEAD: &[&str] = &[
    "me",
    "us",
    "him",
    "her",
    "them",
    "a",
    "an",
    "the",
    "my",
    "our",
    "your",
    "his",
    "their",
    "this",
    "that",
    "these",
    "those",
    "some",
    "any",
    "few",
    "several",
    "couple",
    "list",
    "lists",
    "set",
    "series",
    "of",
    "more",
    "up",
    "as",
    "out",
    "brief",
    "short-list",
    "back",
    "down",
    "off",
];

/// Words a question starts with.
const QUESTION_STARTS: &[&str] = &[
    "how", "what", "why", "when", "where", "who", "whom", "which", "is", "are", "was", "were", "do", "does", "did",
    "can", "could", "should", "would", "will", "am", "may", "whats", "what's", "hows", "how's", "has", "have",
];

/// Words that make a statement the report of a problem ("my order still hasn't arrived",
/// "My card payment was declined").
const PROBLEM_WORDS: &[&str] = &[
    "not", "never", "no", "nothing", "doesn't", "don't", "didn't", "hasn't", "haven't", "isn't", "wasn't", "won't",
    "can't", "cannot", "couldn't", "wrong", "broken", "declined", "error", "fail", "fails", "failed", "missing",
    "damaged", "locked", "expired", "crashes", "invalid",
];
/// Words that show the writer speaks of themselves, as a user reporting a problem does.
const FIRST_PERSON: &[&str] = &["i", "my", "me", "i'm", "i've", "we", "our", "us"];

/// Nouns that take no plural in a title ("Writing Python code", not "codes"; "Baking
/// sourdough bread" even where an identifier counts the requests: "bake bread #12").
const UNCOUNTED: &[&str] = &[
    "advice",
    "bread",
    "cheese",
    "clothing",
    "code",
    "coffee",
    "content",
    "data",
    "electricity",
    "english",
    "equipment",
    "evidence",
    "feedback",
    "food",
    "furniture",
    "grammar",
    "help",
    "homework",
    "information",
    "jewellery",
    "jewelry",
    "knowledge",
    "luggage",
    "milk",
    "money",
    "music",
    "news",
    "research",
    "rice",
    "series",
    "software",
    "species",
    "stuff",
    "tea",
    "text",
    "traffic",
    "water",
    "weather",
    "work",
];

/// The part of an item's text that the user wrote: the `user:` lines of a rendered
/// conversation (the answers, `assistant:` and any other role, left out), each message
/// with its continuation lines; a text with no role prefix is all the user's.
pub fn request_of(text: &str) -> String {
    user_messages(text).join("\n")
}

/// The user's messages of an item's text, as [`request_of`] reads them, one per `user:`
/// line with its continuation lines; a text with no role prefix is one message.
pub fn user_messages(text: &str) -> Vec<String> {
    let has_roles = text.lines().any(|l| role_of(l).is_some());
    if !has_roles {
        let whole = text.trim();
        return if whole.is_empty() { Vec::new() } else { vec![whole.to_string()] };
    }
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut in_user = false;
    for line in text.lines() {
        match role_of(line) {
            Some(("user", rest)) => {
                in_user = true;
                out.push(vec![rest]);
            }
            Some(_) => in_user = false,
            None if in_user => out.last_mut().into_iter().for_each(|m| m.push(line)),
            None => {}
        }
    }
    out.iter().map(|m| m.join("\n").trim().to_string()).filter(|m| !m.is_empty()).collect()
}

/// A first message of fewer words than this ("hi", "hello there") says no request: the
/// next is read with it.
const GREETING_WORDS: usize = 3;

/// What a conversation first asks: its first user message, with the next ones while they
/// are shorter than a request ("hi" then "where is my order"). Later messages follow up
/// on the answers ("Can I talk to a human?", "Make it shorter") and are alike across
/// conversations; what a conversation is about is what its user asked first.
pub fn first_request(messages: &[String]) -> String {
    let mut taken: Vec<&str> = Vec::new();
    for m in messages {
        taken.push(m);
        if taken.iter().map(|t| t.split_whitespace().count()).sum::<usize>() >= GREETING_WORDS {
            break;
        }
    }
    taken.join("\n")
}

/// `(role, rest)` of a line that starts a message ("user: hi").
fn role_of(line: &str) -> Option<(&str, &str)> {
    ["user", "assistant", "tool", "system", "function", "developer"]
        .iter()
        .find_map(|role| line.strip_prefix(role).and_then(|r| r.strip_prefix(": ")).map(|rest| (*role, rest)))
}

/// How a request is put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Form {
    /// "Write a poem", "Can you explain ...".
    Instruction,
    /// "How do I ...", "What is ...".
    Question,
    /// "I want you to act as ...".
    RolePlay,
    /// A user reporting a problem: "my order still hasn't arrived".
    Report,
    /// Pasted text or code, a statement.
    Other,
}

/// A word of a request: lower-cased, as written, whether a clause break precedes it, and
/// whether it opens a quotation ("Translate \"Anna is on holiday\" into French").
#[derive(Debug, Clone)]
pub struct Word {
    pub lower: String,
    pub written: String,
    pub after_break: bool,
    pub opens_quote: bool,
}

/// What a request asks the verb to act on.
#[derive(Debug, Clone, Copy)]
enum Object {
    /// Words of the request (indices into its words): "short story".
    Words(usize, usize),
    /// Quoted text, named by what it is ("sentence", "phrase"): a quotation is the user's
    /// material, not what the request is about.
    Quoted(&'static str),
}

/// A request read for what it asks.
#[derive(Debug, Clone)]
pub struct Request {
    pub words: Vec<Word>,
    pub form: Form,
    /// Index into the lexicon of the request's verb.
    verb: Option<usize>,
    /// Where the verb stands in `words`.
    verb_at: usize,
    /// The object after the verb: up to 3 words, or quoted text.
    object: Option<Object>,
    /// Where the request sends the object or what it is about, right after it: "into
    /// French", "in simple terms" (indices into `words`).
    complement: Option<(usize, usize)>,
    /// Whether the object was written as one of many ("a poem", "5 poems").
    pub counted: bool,
    /// Whether the request is mostly in a script other than Latin, or not in English.
    pub language: Option<&'static str>,
}

/// Words read from a request's start: its verb and object are there.
const WORDS_READ: usize = 60;
/// Words of an object at most.
const OBJECT_WORDS: usize = 3;

impl Request {
    pub fn read(text: &str) -> Request {
        let words = words(text, WORDS_READ);
        let language = language_of(text, &words);
        let (verb, at) = if language.is_some() { (None, 0) } else { find_verb(&words) };
        let (object, counted, end) = match verb {
            Some(v) => object_after(&words, at, VERBS[v].0),
            None => (None, false, 0),
        };
        let complement = object.and_then(|o| complement_at(&words, end, matches!(o, Object::Quoted(_))));
        let form = form_of(&words, verb.map(|v| (v, at)));
        Request { words, form, verb, verb_at: at, object, complement, counted, language }
    }

    /// The request verb's base form ("write").
    pub fn verb(&self) -> Option<&'static str> {
        self.verb.map(|v| VERBS[v].0)
    }

    /// The object, lower case, its last word singular: the key requests are grouped by.
    pub fn object_key(&self) -> Option<String> {
        let (from, to) = match self.object? {
            Object::Words(from, to) => (from, to),
            Object::Quoted(noun) => return Some(noun.to_string()),
        };
        let mut ws: Vec<String> = self.object_words(from, to).map(|w| w.lower.clone()).collect();
        if let Some(last) = ws.last_mut() {
            *last = singular(last);
        }
        Some(ws.join(" "))
    }

    /// The object's last word, singular: requests for a "short story" and a "story" are
    /// requests for a story.
    pub fn object_head(&self) -> Option<String> {
        match self.object? {
            Object::Words(_, to) => Some(singular(&self.words[to - 1].lower)),
            Object::Quoted(noun) => Some(noun.to_string()),
        }
    }

    /// Where the object's words are in [`Self::words`] (`from..to`), when it is words.
    pub fn object_span(&self) -> Option<(usize, usize)> {
        match self.object? {
            Object::Words(from, to) => Some((from, to)),
            Object::Quoted(_) => None,
        }
    }

    /// The object as written ("Python scripts").
    pub fn object_written(&self) -> Option<String> {
        match self.object? {
            Object::Words(from, to) => {
                Some(self.object_words(from, to).map(|w| w.written.as_str()).collect::<Vec<_>>().join(" "))
            }
            Object::Quoted(noun) => Some(noun.to_string()),
        }
    }

    /// The object's words without a measure before its head: "1500-word", "10-page" or "5"
    /// say how much one user wants, not what the group asks for ("business plans").
    fn object_words(&self, from: usize, to: usize) -> impl Iterator<Item = &Word> {
        self.words[from..to]
            .iter()
            .enumerate()
            .filter(move |(i, w)| from + i + 1 == to || !is_measure(&w.lower))
            .map(|(_, w)| w)
    }

    /// The complement after the object, lower case ("into french"): the key requests
    /// sharing one are counted by.
    pub fn complement_key(&self) -> Option<String> {
        self.complement.map(|(from, to)| self.joined(from, to, |w| &w.lower))
    }

    /// The complement as written ("into French").
    pub fn complement_written(&self) -> Option<String> {
        self.complement.map(|(from, to)| self.joined(from, to, |w| &w.written))
    }

    fn joined(&self, from: usize, to: usize, form: impl Fn(&Word) -> &String) -> String {
        self.words[from..to].iter().map(|w| form(w).as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Whether the request's verb may act on `phrase` (lower case words): the phrase stands
    /// after the verb, or the verb's object is a pronoun standing for what came before.
    /// "Ordering tracking" is no title of "Tracking says delivered. Order 12".
    pub fn says_after_verb(&self, phrase: &str) -> bool {
        let after: Vec<&str> = self.words.iter().skip(self.verb_at + 1).map(|w| w.lower.as_str()).collect();
        // "UnicodeDecodeError: ... how do I fix it": a pronoun object names what came before.
        let next = self.words.get(self.verb_at + 1);
        let ends = |at: usize| self.words.get(at).is_none_or(|w| w.after_break);
        let refers_back = next.is_some_and(|w| {
            ["it", "them"].contains(&w.lower.as_str())
                || (["this", "that"].contains(&w.lower.as_str()) && ends(self.verb_at + 2))
        });
        self.verb.is_some() && (refers_back || format!(" {} ", after.join(" ")).contains(&format!(" {phrase} ")))
    }

    /// The first two words, lower case ("write a", "how do").
    pub fn opening(&self) -> String {
        self.words.iter().take(2).map(|w| w.lower.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// A lexicon verb's gerund ("write" → "Writing").
pub fn gerund(verb: &str) -> Option<&'static str> {
    VERBS.iter().find(|(v, _)| *v == verb).map(|(_, g)| *g)
}

/// Whether a word is one of the lexicon's verbs.
pub fn is_request_verb(word: &str) -> bool {
    VERBS.iter().any(|(v, _)| *v == word)
}

/// The words of a text's start, with the clause breaks between them.
pub fn words(text: &str, max: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut pending_break = true;
    let mut pending_quote = false;
    // Whether the previous character leaves a quotation mark opening, not closing, one.
    let mut at_gap = true;
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_alphanumeric() || matches!(c, '\'' | '-' | '+' | '#' | '’') {
            word.push(if c == '’' { '\'' } else { c });
            at_gap = false;
            continue;
        }
        let w = word.trim_matches(['\'', '-']).to_string();
        word.clear();
        if !w.is_empty() {
            let opens_quote = std::mem::take(&mut pending_quote);
            out.push(Word { lower: w.to_lowercase(), written: w, after_break: pending_break, opens_quote });
            pending_break = false;
            if out.len() == max {
                break;
            }
        }
        if matches!(c, '"' | '“' | '«') && at_gap {
            pending_quote = true;
        }
        if matches!(
            c,
            '.' | '?' | '!' | ':' | ';' | ',' | '\n' | '(' | ')' | '"' | '“' | '”' | '«' | '»' | '[' | ']' | '{' | '}'
        ) {
            pending_break = true;
        }
        at_gap = c.is_whitespace() || matches!(c, ':' | '(' | '[');
    }
    out
}

/// Pronouns that are a question's subject ("how do I", "can we").
const SUBJECTS: &[&str] = &["i", "you", "we", "they", "he", "she", "u"];

/// Modal and auxiliary words a question puts before its verb ("how can Anna reset", "how do
/// I fix", "what is the best way to list").
const MODALS: &[&str] = &["can", "could", "do", "does", "did", "should", "would", "will", "may", "might", "must", "to"];

/// The first lexicon verb standing where a request's verb stands, and its index.
fn find_verb(words: &[Word]) -> (Option<usize>, usize) {
    for (i, w) in words.iter().enumerate().take(30) {
        let Some((v, at)) = lexeme_at(words, i) else { continue };
        // After a frame word, only in a sentence that addresses the assistant or asks
        // ("I want you to write", "how to fix"), not in prose ("has sought to give").
        let sentence = words[..i].iter().rposition(|w| w.after_break).unwrap_or(0);
        let question = QUESTION_STARTS.contains(&words[sentence].lower.as_str());
        let addressed = question || words[sentence..i].iter().any(|w| PERSON_WORDS.contains(&w.lower.as_str()));
        // In a question, after a modal and a one-word subject, a pronoun or a name: "How can
        // Anna reset a password?", "how do I fix"; not "When will order 12 arrive?" nor
        // "What does the list show?".
        let subject = |w: &Word| SUBJECTS.contains(&w.lower.as_str()) || w.written.starts_with(char::is_uppercase);
        let after_modal =
            question && i >= sentence + 2 && subject(&words[i - 1]) && MODALS.contains(&words[i - 2].lower.as_str());
        let framed =
            i == 0 || w.after_break || (VERB_FRAMES.contains(&words[i - 1].lower.as_str()) && addressed) || after_modal;
        let next = words.get(i + 1).map(|n| n.lower.as_str());
        let particle_ok = match VERBS[v].0 {
            _ if at > i => true,
            "act" => next == Some("as"),
            "set" => next == Some("up"),
            _ => true,
        };
        // "Return policy for the wool coat?", "order status": a noun's modifier.
        let modifier = at == i && (i == 0 || w.after_break) && next.is_some_and(|n| COMPOUND_HEADS.contains(&n));
        if framed && particle_ok && !modifier {
            return (Some(v), at);
        }
    }
    (None, 0)
}

/// The lexicon verb that the words at `i` say, and where it ends (its object follows):
/// the word itself, or a phrase users write for one ("send back" is "return"; "get a
/// refund", "want my money back" are "refund").
fn lexeme_at(words: &[Word], i: usize) -> Option<(usize, usize)> {
    let lower = |j: usize| words.get(j).map(|w| w.lower.as_str());
    let index = |verb: &str| VERBS.iter().position(|(v, _)| *v == verb);
    let word = lower(i)?;
    match word {
        "send" if lower(i + 1) == Some("back") => index("return").map(|v| (v, i + 1)),
        "get" | "want" | "need" => {
            let mut j = i + 1;
            while lower(j).is_some_and(|w| ["a", "an", "my", "the", "our", "full"].contains(&w)) {
                j += 1;
            }
            match lower(j) {
                Some("refund" | "refunds") => index("refund").map(|v| (v, j)),
                Some("money") if lower(j + 1) == Some("back") => index("refund").map(|v| (v, j + 1)),
                _ => None,
            }
        }
        _ => index(word).map(|v| (v, i)),
    }
}

/// `text` without its greetings, fillers and politeness ("Hi, quick question: where is my
/// order? thanks" → where is my order): what is left is what the user asks. A greeting
/// leaves a clause break, a politeness word inside a sentence ("can you please write")
/// leaves nothing.
pub fn without_fillers(text: &str) -> String {
    let text = without_interface_text(text);
    let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
    let bare = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’').to_lowercase().replace('’', "'")
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < words.len() {
        let filler = FILLERS.iter().find_map(|f| {
            let parts: Vec<&str> = f.split(' ').collect();
            let n = parts.len();
            let matches = words.get(i..i + n).is_some_and(|ws| {
                ws.iter().zip(&parts).enumerate().all(|(k, (w, p))| {
                    // Inside a filler, only its last word may carry punctuation.
                    bare(w) == *p && (k + 1 == n || w.trim_end().chars().last().is_some_and(char::is_alphanumeric))
                })
            });
            matches.then_some(n)
        });
        match filler {
            Some(n) => {
                let last = words[i + n - 1];
                // What followed the filler ("?", "!", ",") stays; a greeting leaves a break.
                let tail: String = last.trim_end().chars().rev().take_while(|c| !c.is_alphanumeric()).collect();
                let tail: String = tail.chars().rev().collect();
                let polite = n == 1 && ["please", "pls", "plz", "kindly"].contains(&bare(last).as_str());
                out.push_str(if polite { "" } else { ". " });
                out.push_str(&tail);
                if last.ends_with(char::is_whitespace) && !(polite && tail.is_empty()) {
                    out.push(' ');
                }
                i += n;
            }
            None => {
                out.push_str(words[i]);
                i += 1;
            }
        }
    }
    out.trim().trim_start_matches(['.', ' ', ',', '!', ':']).trim().to_string()
}

/// Buttons of a chat page's interface: copied with a request ("Save & SubmitCancel",
/// "Copy code", "Regenerate response"), they are no part of it.
const INTERFACE_WORDS: &[&str] =
    &["save", "submit", "cancel", "copy", "code", "edit", "delete", "regenerate", "response", "retry", "send"];

/// Interface text a page puts around a request, as whole words (case ignored).
const INTERFACE_PHRASES: &[&str] = &["copy to clipboard", "regenerate response", "save & submit", "copy code"];

/// `text` without the interface text a copy from a chat page carries: buttons glued into one
/// word ("SubmitCancel"), the buttons before them ("Save & SubmitCancel"), and the page's
/// fixed phrases ("Regenerate response", "Copy to clipboard", "Copy code" written as the
/// button writes it, not "copy code from one repo").
pub fn without_interface_text(text: &str) -> String {
    let button = |w: &str| INTERFACE_WORDS.contains(&w.to_lowercase().as_str());
    // "SubmitCancel": two or more buttons written as one word, each with its capital.
    let glued = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        let mut parts: Vec<String> = Vec::new();
        for c in w.chars() {
            if c.is_uppercase() || parts.is_empty() {
                parts.push(String::new());
            }
            if let Some(p) = parts.last_mut() {
                p.push(c);
            }
        }
        parts.len() >= 2 && parts.iter().all(|p| p.chars().next().is_some_and(char::is_uppercase) && button(p))
    };
    let mut kept: Vec<&str> = Vec::new();
    for w in text.split_inclusive(char::is_whitespace) {
        if glued(w) {
            // The buttons just before it belong to the same bar ("Save & SubmitCancel").
            while kept.last().is_some_and(|k| {
                let k = k.trim();
                k == "&" || (button(k) && k.chars().next().is_some_and(char::is_uppercase))
            }) {
                kept.pop();
            }
            kept.push(" ");
        } else {
            kept.push(w);
        }
    }
    let mut out = kept.concat();
    // Byte offsets of the lower-case copy are the text's only where lowering kept its length.
    let same_offsets = out.to_lowercase().len() == out.len();
    for phrase in INTERFACE_PHRASES.iter().filter(|_| same_offsets) {
        // Whole words only, any case; "copy code" only as the button writes it.
        loop {
            let lower = out.to_lowercase();
            let hit = lower.match_indices(phrase).map(|(at, _)| at).find(|&at| {
                let end = at + phrase.len();
                let before = lower[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                let after = lower[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
                let as_button = *phrase != "copy code" || out[at..end].starts_with("Copy code");
                before && after && as_button && out.is_char_boundary(at) && out.is_char_boundary(end)
            });
            match hit {
                Some(at) => out.replace_range(at..at + phrase.len(), " "),
                None => break,
            }
        }
    }
    // A button a browser extension appends to each request, glued to its last word or not
    // ("... for film newsShare Prompt"), written as the button writes it.
    let mut out = out.trim_end();
    while let Some(before) = INTERFACE_ENDINGS.iter().find_map(|e| out.strip_suffix(e)) {
        out = before.trim_end();
    }
    out.trim().to_string()
}

/// Interface text a browser extension appends to a copied request, as it writes it.
const INTERFACE_ENDINGS: &[&str] = &["Share Prompt"];

/// A number, alone or with its unit ("1500-word", "10-page"): a measure, not a name ("3D").
fn is_measure(word: &str) -> bool {
    let (number, unit) = word.split_once('-').unwrap_or((word, ""));
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        && unit.chars().all(char::is_alphabetic)
}

/// Whether a word is an identifier rather than a name: more digits than letters ("NW-80145",
/// "#48213"), where "3D" or "GPT-4" are names.
pub fn is_identifier(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    digits > word.chars().filter(|c| c.is_alphabetic()).count()
}

/// Whether a word may stand in a noun group a request names; a lexicon verb only where
/// it is a noun (`verb_is_noun`).
fn is_noun_group_word(w: &Word, verb_is_noun: bool) -> bool {
    let stop = |w: &str| STOP_WORDS.contains(&w) || (!verb_is_noun && is_request_verb(w)) || NOT_OBJECT.contains(&w);
    w.lower.chars().count() >= 2
        && w.lower.chars().any(char::is_alphabetic)
        && !stop(&w.lower)
        && !is_contraction(&w.lower)
        && !is_identifier(&w.lower)
}

/// Words after which a lexicon verb is a noun ("a reply", "this review").
const DETERMINERS: &[&str] = &["a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "their"];

/// Quoted material of at least this many words is named "sentences", shorter "phrases".
const SENTENCE_WORDS: usize = 3;

/// The object after the verb at `at`: leading pronouns, articles and numbers skipped,
/// then the noun group of the same clause, its last 3 words at most ("person's
/// confidential medical records" → "confidential medical records"), or quoted text
/// (named "sentence" or "phrase"). Also whether it was counted ("a", a number, a
/// quotation) and where it ends.
fn object_after(words: &[Word], at: usize, verb: &str) -> (Option<Object>, bool, usize) {
    let mut i = at + 1;
    let mut counted = false;
    while let Some(w) = words.get(i) {
        // "a refund for the desk lamp": what the refund is for is its object.
        if verb == "refund" && w.lower == "for" && !w.after_break {
            i += 1;
            continue;
        }
        if w.opens_quote {
            let end = (i + 1..words.len()).find(|&j| words[j].after_break).unwrap_or(words.len());
            let noun = if end - i >= SENTENCE_WORDS { "sentence" } else { "phrase" };
            return (Some(Object::Quoted(noun)), true, end);
        }
        if w.after_break {
            return (None, false, 0);
        }
        let number = w.lower.chars().all(|c| c.is_ascii_digit());
        // One of many: "a poem", "5 poems", "this menu", "my account" (not "the": "the code").
        if number || ["a", "an", "this", "that", "these", "those", "my", "your", "our"].contains(&w.lower.as_str()) {
            counted = true;
        }
        if !(number || OBJECT_LEAD.contains(&w.lower.as_str())) {
            break;
        }
        i += 1;
    }
    let mut from = i;
    while let Some(w) = words.get(i) {
        // A lexicon verb right after the verb, after a determiner or a word of the group is
        // a noun: "track order 12", "a polite reply", "this review", "a test plan".
        let as_noun =
            i > from || i == at + 1 || i.checked_sub(1).is_some_and(|p| DETERMINERS.contains(&words[p].lower.as_str()));
        let content = is_noun_group_word(w, as_noun);
        // A name after common words starts another group: "a dinner recipe Anna will like".
        let name_after = i > from
            && w.written.starts_with(char::is_uppercase)
            && !words[i - 1].written.starts_with(char::is_uppercase);
        if (i > from && w.after_break) || !content || name_after || i - from == 2 * OBJECT_WORDS {
            break;
        }
        i += 1;
    }
    // A possessive is not the group's head ("my ex-wife's" cut short).
    while i > from && words[i - 1].lower.ends_with("'s") {
        i -= 1;
    }
    let end = i;
    // One of many too when an identifier names which: "track order #48213".
    let counted = counted || words.get(end).is_some_and(|w| !w.after_break && is_identifier(&w.lower));
    from = from.max(i.saturating_sub(OBJECT_WORDS));
    // "act as" keeps its article in the title ("Role-playing as a travel guide").
    let counted = counted || verb == "act";
    // A person after the verb is who it is for, not what is asked ("buy my sister a gift",
    // "what should I buy my boss"): no object, unless the user asks to play one.
    let person = i > from && verb != "act" && PEOPLE.contains(&singular(&words[i - 1].lower).as_str());
    if person {
        return (None, false, 0);
    }
    ((i > from).then_some(Object::Words(from, i)), counted, end)
}

/// Nouns naming a person a request is for: never the thing it asks for.
const PEOPLE: &[&str] = &[
    "mum",
    "mom",
    "mother",
    "dad",
    "father",
    "parent",
    "sister",
    "brother",
    "wife",
    "husband",
    "son",
    "daughter",
    "boss",
    "friend",
    "girlfriend",
    "boyfriend",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "partner",
    "kid",
    "child",
    "children",
    "aunt",
    "uncle",
    "cousin",
    "niece",
    "nephew",
    "colleague",
    "coworker",
    "neighbour",
    "neighbor",
    "baby",
];

/// Prepositions that open a complement a title may keep: "into French", "in simple terms".
const COMPLEMENT_PREPOSITIONS: &[&str] = &["into", "in", "to", "for", "about", "with", "from", "on"];

/// The complement starting at `at`, right after the object: a preposition, an article at
/// most, and a noun group of at most 3 words in the same clause (a closing quotation mark
/// before it is no break when the object was quoted).
fn complement_at(words: &[Word], at: usize, after_quote: bool) -> Option<(usize, usize)> {
    let first = words.get(at)?;
    if !COMPLEMENT_PREPOSITIONS.contains(&first.lower.as_str()) || (first.after_break && !after_quote) {
        return None;
    }
    let mut i = at + 1;
    if words.get(i).is_some_and(|w| ["a", "an", "the"].contains(&w.lower.as_str()) && !w.after_break) {
        i += 1;
    }
    let start = i;
    while words.get(i).is_some_and(|w| !w.after_break && is_noun_group_word(w, false)) && i - start < OBJECT_WORDS {
        i += 1;
    }
    // The group must end there: "in the nightly export job" is whole, "for an organic cotton bedding set" is not.
    let whole = words.get(i).is_none_or(|w| w.after_break || !is_noun_group_word(w, false));
    (i > start && whole).then_some((at, i))
}

/// Whether a word is a contraction that names nothing ("doesn't", "it's", "we'll"); a
/// possessive ("Mother's") is not.
pub fn is_contraction(word: &str) -> bool {
    let Some((stem, tail)) = word.rsplit_once('\'') else { return false };
    let stem_is_pronoun =
        ["it", "that", "what", "there", "here", "he", "she", "who", "let", "where", "how"].contains(&stem);
    tail != "s" || stem_is_pronoun
}

fn form_of(words: &[Word], verb: Option<(usize, usize)>) -> Form {
    let lowers: Vec<&str> = words.iter().take(25).map(|w| w.lower.as_str()).collect();
    let role_play = lowers.windows(2).any(|p| p == ["act", "as"] || p == ["pretend", "to"] || p == ["roleplay", "as"])
        || lowers.starts_with(&["you", "are"]);
    if role_play {
        return Form::RolePlay;
    }
    let first = lowers.first().copied().unwrap_or("");
    // "Can you write ..." is an instruction put politely.
    let polite = matches!(first, "can" | "could" | "would" | "will")
        && lowers.get(1) == Some(&"you")
        && verb.is_some_and(|(_, at)| at <= 3);
    if QUESTION_STARTS.contains(&first) && !polite {
        return Form::Question;
    }
    let first_words = || lowers.iter().take(20);
    match verb {
        Some((_, at)) if at <= 6 => Form::Instruction,
        _ if words.iter().take(40).any(|w| w.lower.ends_with('?')) => Form::Question,
        _ if first_words().any(|w| PROBLEM_WORDS.contains(w)) && first_words().any(|w| FIRST_PERSON.contains(w)) => {
            Form::Report
        }
        _ => Form::Other,
    }
}

/// The language of a text not written in English, by its script or, in Latin script,
/// by its commonest words; None for English (and for text too short to tell).
fn language_of(text: &str, words: &[Word]) -> Option<&'static str> {
    let mut scripts: [(usize, &'static str); 9] = [
        (0, "Latin"),
        (0, "Chinese"),
        (0, "Japanese"),
        (0, "Korean"),
        (0, "Cyrillic"),
        (0, "Arabic"),
        (0, "Hebrew"),
        (0, "Devanagari"),
        (0, "Greek"),
    ];
    for c in text.chars().take(400).filter(|c| c.is_alphabetic()) {
        let slot = match c as u32 {
            0x3040..=0x30FF => 2,
            0x4E00..=0x9FFF | 0x3400..=0x4DBF => 1,
            0xAC00..=0xD7AF | 0x1100..=0x11FF => 3,
            0x0400..=0x04FF => 4,
            0x0600..=0x06FF => 5,
            0x0590..=0x05FF => 6,
            0x0900..=0x097F => 7,
            0x0370..=0x03FF => 8,
            _ => 0,
        };
        scripts[slot].0 += 1;
    }
    // Japanese text is mostly Han characters with some kana: any kana makes it Japanese.
    if scripts[2].0 > 0 && scripts[1].0 + scripts[2].0 > scripts[0].0 {
        return Some("Japanese");
    }
    let (count, script) = scripts.iter().skip(1).max_by_key(|(n, _)| *n).copied().unwrap_or((0, "Latin"));
    if count > scripts[0].0 {
        return Some(script);
    }
    // Latin script: English unless another language's common words outnumber English ones.
    let score = |common: &[&str]| words.iter().filter(|w| common.contains(&w.lower.as_str())).count();
    let english = score(COMMON[0].1);
    let (best, name) = COMMON[1..].iter().map(|(name, common)| (score(common), *name)).max()?;
    (best >= 2 && best > english).then_some(name)
}

/// Whether a word is one of the commonest of a language [`Request::read`] tells apart.
pub fn is_common_word(word: &str) -> bool {
    COMMON.iter().any(|(_, common)| common.contains(&word))
}

/// The language other than English a word is one of the commonest words of ("vous",
/// "el", "ich"); None for English words and words of no language told apart.
pub fn foreign_word(word: &str) -> Option<&'static str> {
    if COMMON[0].1.contains(&word) {
        return None;
    }
    COMMON[1..].iter().find(|(_, common)| common.contains(&word)).map(|(name, _)| *name)
}

/// The commonest words of English and of the Latin-script languages told apart from it.
const COMMON: &[(&str, &[&str])] = &[
    ("English", &["the", "and", "to", "of", "is", "in", "for", "you", "a", "with", "how", "what", "this", "my"]),
    (
        "Spanish",
        &[
            "el", "la", "los", "las", "de", "del", "que", "qué", "y", "en", "por", "para", "una", "es", "con", "como",
            "cómo", "se", "lo", "más", "mi", "mis", "está", "dónde", "cuándo", "hola",
        ],
    ),
    (
        "Portuguese",
        &["o", "os", "da", "do", "que", "e", "em", "para", "uma", "um", "com", "não", "como", "é", "se", "mais"],
    ),
    (
        "French",
        &[
            "le", "la", "les", "des", "du", "est", "et", "en", "pour", "une", "un", "avec", "je", "vous", "qui",
            "comment", "ma", "mon", "mes", "quand", "où", "bonjour",
        ],
    ),
    (
        "German",
        &[
            "der", "die", "das", "und", "ist", "ich", "nicht", "mit", "ein", "eine", "zu", "für", "sie", "wie", "mein",
            "meine", "kann", "wo",
        ],
    ),
    ("Italian", &["il", "di", "che", "non", "per", "sono", "mio", "mia", "è", "della", "gli", "ciao"]),
];

/// A noun's singular, for grouping ("stories" → "story", "scripts" → "script").
pub fn singular(word: &str) -> String {
    if UNCOUNTED.contains(&word) || word.chars().count() <= 3 {
        return word.to_string();
    }
    for (plural, one) in [("people", "person"), ("children", "child"), ("women", "woman"), ("men", "man")] {
        if let Some(stem) = word.strip_suffix(plural) {
            return format!("{stem}{one}");
        }
    }
    if let Some(stem) = word.strip_suffix("ies") {
        // "movies", "cookies": the singular ends in "ie".
        if ["mov", "cook", "zomb", "self", "calor", "brown", "rook", "hipp", "good"].contains(&stem) {
            return format!("{stem}ie");
        }
        return format!("{stem}y");
    }
    if let Some(stem) = word.strip_suffix("quizzes") {
        return format!("{stem}quiz");
    }
    for ending in ["sses", "shes", "ches", "xes", "zes"] {
        if word.ends_with(ending) {
            return word[..word.len() - 2].to_string();
        }
    }
    if word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") && !word.ends_with("is") {
        return word[..word.len() - 1].to_string();
    }
    word.to_string()
}

/// Prepositions inside a noun phrase, after its head ("requests in Javascript").
const PHRASE_LINKS: &[&str] =
    &["of", "in", "for", "on", "with", "to", "from", "at", "by", "about", "into", "between", "against", "without"];

/// A noun's plural, for a title ("story" → "stories"); uncounted nouns stay as they are.
pub fn plural(word: &str) -> String {
    // A phrase with a preposition is counted by its head, before it: "HTTP requests in
    // Javascript", never "HTTP request in Javascripts".
    let parts: Vec<&str> = word.split(' ').collect();
    if let Some(at) = parts.iter().skip(1).position(|w| PHRASE_LINKS.contains(&w.to_lowercase().as_str())) {
        return format!("{} {}", plural(&parts[..=at].join(" ")), parts[at + 1..].join(" "));
    }
    let lower = word.to_lowercase();
    let last = lower.rsplit(' ').next().unwrap_or("");
    if UNCOUNTED.contains(&last) || !lower.chars().last().is_some_and(char::is_alphabetic) {
        return word.to_string();
    }
    if word.chars().all(|c| !c.is_lowercase()) {
        return format!("{word}s"); // an acronym: "APIs"
    }
    for (one, many) in [("person", "people"), ("child", "children"), ("woman", "women"), ("man", "men")] {
        if lower.ends_with(one) {
            return format!("{}{many}", &word[..word.len() - one.len()]);
        }
    }
    if lower.ends_with("ie") {
        return format!("{word}s"); // "movie" → "movies"
    }
    let before_y = lower.chars().rev().nth(1);
    if lower.ends_with('y') && before_y.is_some_and(|c| !"aeiou".contains(c)) {
        return format!("{}ies", &word[..word.len() - 1]);
    }
    if lower.ends_with("sis") {
        return format!("{}es", &word[..word.len() - 2]);
    }
    // "quiz" doubles its "z": "quizzes" (users' "quizes" is read as "quiz" and written right).
    if lower.ends_with("quiz") {
        return format!("{word}zes");
    }
    if ["s", "x", "z", "ch", "sh"].iter().any(|e| lower.ends_with(e)) {
        return format!("{word}es");
    }
    format!("{word}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_users_part_only() {
        let text = "user: can you write a short story?\nabout a dragon\nassistant: ok\nOnce upon a time\nuser: shorter";
        assert_eq!(request_of(text), "can you write a short story?\nabout a dragon\nshorter");
        assert_eq!(request_of("assistant: only an answer"), "");
        assert_eq!(request_of("plain text from a custom source"), "plain text from a custom source");
    }

    #[test]
    fn a_conversation_is_what_its_user_asked_first() {
        let text = "user: where is my order?\nassistant: It shipped.\nuser: Can I talk to a human?\nuser: thanks";
        let messages = user_messages(text);
        assert_eq!(messages, ["where is my order?", "Can I talk to a human?", "thanks"]);
        assert_eq!(first_request(&messages), "where is my order?");
        // A greeting is no request: the next message is read with it.
        let greeting = user_messages("user: hi\nassistant: Hello!\nuser: my discount code doesn't work\nuser: ok");
        assert_eq!(first_request(&greeting), "hi\nmy discount code doesn't work");
        assert_eq!(first_request(&user_messages("a text with no roles")), "a text with no roles");
        assert!(first_request(&user_messages("assistant: only an answer")).is_empty());
    }

    #[test]
    fn verbs_objects_and_forms() {
        let r = Request::read("Please write me a short story about a dragon");
        assert_eq!(
            (r.verb(), r.object_key().as_deref(), r.form),
            (Some("write"), Some("short story"), Form::Instruction)
        );
        assert!(r.counted);
        let r = Request::read("how do I fix this Python error?");
        assert_eq!(
            (r.verb(), r.object_written().as_deref(), r.form),
            (Some("fix"), Some("Python error"), Form::Question)
        );
        let r = Request::read("Can you explain quantum computing in simple terms");
        assert_eq!(
            (r.verb(), r.object_key().as_deref(), r.form),
            (Some("explain"), Some("quantum computing"), Form::Instruction)
        );
        let r = Request::read("I want you to act as a travel guide. I will tell you my location");
        assert_eq!((r.verb(), r.object_key().as_deref(), r.form), (Some("act"), Some("travel guide"), Form::RolePlay));
        let r = Request::read("give me a list of 10 names for a bakery");
        assert_eq!((r.verb(), r.object_key().as_deref()), (Some("give"), Some("name")));
        // A lexicon word that is not where a verb stands is not the request's verb.
        let r = Request::read("The list of my tasks is too long");
        assert_eq!(r.verb(), None);
        assert_eq!(r.form, Form::Other);
        let r = Request::read("reply to this without emojis");
        assert_eq!((r.verb(), r.object_key()), (Some("reply"), None));
        let r = Request::read("What is the capital of France?");
        assert_eq!((r.verb(), r.form), (None, Form::Question));
    }

    #[test]
    fn questions_put_the_verb_after_a_modal_and_its_subject() {
        let r = Request::read("How can Anna reset a forgotten password?");
        assert_eq!((r.verb(), r.object_key().as_deref()), (Some("reset"), Some("forgotten password")));
        let r = Request::read("how do I fix this Python error?");
        assert_eq!(r.verb(), Some("fix"));
        // Right after the modal, the word is the subject, not a verb.
        assert_eq!(Request::read("When will order 12 be delivered?").verb(), None);
        assert_eq!(Request::read("What does the list show?").verb(), None);
    }

    #[test]
    fn objects_are_whole_noun_groups_of_names() {
        // A contraction or an identifier is no part of what is asked for.
        let r = Request::read("reset password link doesn't work");
        assert_eq!(r.object_key().as_deref(), Some("password link"));
        let r = Request::read("track the parcel NW-80145 for me");
        assert_eq!(r.object_key().as_deref(), Some("parcel"));
        assert!(r.counted, "one parcel of many, named by its identifier");
        let r = Request::read("Can you track order #48213 for me?");
        assert_eq!((r.verb(), r.object_key().as_deref(), r.counted), (Some("track"), Some("order"), true));
        let r = Request::read("How should we answer this review?");
        assert_eq!((r.verb(), r.object_key().as_deref()), (Some("answer"), Some("review")));
        // The last words of a long group, whose last is its head.
        let r = Request::read("write a long detailed technical product description");
        assert_eq!(r.object_key().as_deref(), Some("technical product description"));
        // A name after common words starts another group; a possessive is not a head.
        let r = Request::read("Suggest a vegetarian dinner recipe Anna will like");
        assert_eq!(r.object_key().as_deref(), Some("vegetarian dinner recipe"));
        let r = Request::read("find my neighbour's");
        assert_eq!(r.object_key(), None);
        let r = Request::read("How do I send back the wool coat?");
        assert_eq!((r.verb(), r.object_key().as_deref()), (Some("return"), Some("wool coat")));
    }

    #[test]
    fn returns_refunds_and_exchanges_are_what_is_asked() {
        let read = |t: &str| {
            let r = Request::read(t);
            (r.verb(), r.object_key())
        };
        let some = |v: &'static str, o: &str| (Some(v), Some(o.to_string()));
        assert_eq!(read("I want to return the rain jacket"), some("return", "rain jacket"));
        assert_eq!(read("how do I return my running shoes?"), some("return", "running shoe"));
        assert_eq!(read("How do I send back the linen shirt? It doesn't fit"), some("return", "linen shirt"));
        assert_eq!(read("Can I get a refund for the desk lamp?"), some("refund", "desk lamp"));
        assert_eq!(read("I'd like to exchange the wool coat for a bigger size"), some("exchange", "wool coat"));
        assert_eq!(read("I want to change my delivery address"), some("change", "delivery address"));
        assert_eq!(read("the desk lamp arrived damaged, I want my money back").0, Some("refund"));
        // A lexicon verb before the noun it modifies is no request: "return policy".
        assert_eq!(read("return policy for the wool coat?").0, None);
        assert_eq!(read("Order status for NW-80145?").0, None);
    }

    #[test]
    fn greetings_and_fillers_are_no_part_of_what_is_asked() {
        assert_eq!(without_fillers("Hi, quick question: where is my order? thanks!"), "where is my order? . !");
        assert_eq!(without_fillers("Good morning, can you please track order 12"), "can you track order 12");
        assert_eq!(
            without_fillers("hey! my discount code doesn't work asap please"),
            "my discount code doesn't work ."
        );
        // Words that only contain a filler stay: "this", "think", "history".
        assert_eq!(without_fillers("I think this history is okay-ish"), "I think this history is okay-ish");
        assert_eq!(without_fillers(""), "");
        let r = Request::read(&without_fillers("Hello there. Please remove my address from your system"));
        assert_eq!((r.verb(), r.form), (Some("remove"), Form::Instruction));
    }

    #[test]
    fn interface_text_copied_with_a_request_is_no_part_of_it() {
        assert_eq!(without_fillers("write an Save & SubmitCancel").trim(), "write an");
        assert_eq!(without_fillers("Save & SubmitCancel"), "");
        assert!(!without_fillers("Fix this bug\nCopy code\nfn main() {}").contains("Copy"));
        assert_eq!(without_fillers("Regenerate response"), "");
        // Words that only look like buttons stay: a request to save, a submit button, "CodeSandbox".
        assert_eq!(without_fillers("save the file and submit the form"), "save the file and submit the form");
        assert_eq!(without_fillers("open CodeSandbox in PyCharm"), "open CodeSandbox in PyCharm");
        assert_eq!(without_fillers("copy code from one repo to another"), "copy code from one repo to another");
        // A button appended to the request, glued to its last word or not.
        assert_eq!(without_fillers("suggest names for film newsShare Prompt"), "suggest names for film news");
        assert_eq!(without_fillers("explain this code Share Prompt"), "explain this code");
        assert_eq!(without_fillers("how do I share prompt templates"), "how do I share prompt templates");
    }

    #[test]
    fn quotations_and_complements() {
        let r = Request::read("Translate \"Anna is on holiday\" into French");
        assert_eq!((r.verb(), r.object_key().as_deref()), (Some("translate"), Some("sentence")));
        assert_eq!(r.complement_written().as_deref(), Some("into French"));
        assert!(r.counted);
        let r = Request::read("Translate the label \"hand-wash only\" to Italian");
        assert_eq!(r.object_key().as_deref(), Some("label"));
        let r = Request::read("Rephrase \"many thanks\"");
        assert_eq!(r.object_key().as_deref(), Some("phrase"));
        let r = Request::read("Explain quantum computing in simple terms");
        assert_eq!(r.complement_key().as_deref(), Some("in simple terms"));
        // A complement is a whole noun group, not its first 3 words.
        let r = Request::read("Write a product description for a merino wool winter beanie");
        assert_eq!(r.complement_key(), None);
    }

    #[test]
    fn reports_of_a_problem_are_a_form_of_asking() {
        assert_eq!(Request::read("my order NW-1 still hasn't arrived").form, Form::Report);
        assert_eq!(Request::read("My card payment was declined").form, Form::Report);
        assert_eq!(Request::read("has order 12 shipped yet").form, Form::Question);
        // Prose with a negation is not a user's report.
        assert_eq!(Request::read("The minister did not comment on the budget").form, Form::Other);
    }

    #[test]
    fn contractions_and_identifiers() {
        for w in ["doesn't", "it's", "i'm", "we'll", "what's", "can't"] {
            assert!(is_contraction(w), "{w}");
        }
        for w in ["mother's", "password", "o"] {
            assert!(!is_contraction(w), "{w}");
        }
        assert!(is_identifier("nw-80145") && is_identifier("#48213") && is_identifier("12"));
        assert!(!is_identifier("3d") && !is_identifier("gpt-4") && !is_identifier("utf-8"));
    }

    #[test]
    fn languages_are_told_by_script_and_common_words() {
        assert_eq!(Request::read("请帮我写一篇关于人工智能的文章").language, Some("Chinese"));
        assert_eq!(Request::read("日本語で自己紹介を書いてください").language, Some("Japanese"));
        assert_eq!(Request::read("Напиши мне стихотворение про осень").language, Some("Cyrillic"));
        assert_eq!(Request::read("¿Cómo puedo hacer una tortilla de patatas para la cena?").language, Some("Spanish"));
        assert_eq!(Request::read("Write a poem about the sea and the sky").language, None);
        assert_eq!(Request::read("¿Dónde está mi pedido #48213?").language, Some("Spanish"));
        assert_eq!(Request::read("quand arrive ma commande #52118 ?").language, Some("French"));
        assert_eq!(Request::read("la mia carta non funziona").language, Some("Italian"));
        assert_eq!(foreign_word("vous"), Some("French"));
        assert_eq!(foreign_word("the"), None);
        assert_eq!(
            Request::read("Write in Spanish: el perro").verb(),
            Some("write"),
            "English with a few foreign words"
        );
    }

    #[test]
    fn plurals_and_singulars() {
        for (one, many) in
            [("story", "stories"), ("Python script", "Python scripts"), ("API", "APIs"), ("essay", "essays")]
        {
            assert_eq!(plural(one), many);
        }
        assert_eq!(plural("analysis"), "analyses");
        assert_eq!(plural("code"), "code");
        assert_eq!(plural("sourdough bread"), "sourdough bread");
        assert_eq!(plural("Python code"), "Python code");
        assert_eq!(plural("match"), "matches");
        assert_eq!(singular("stories"), "story");
        assert_eq!(singular("matches"), "match");
        assert_eq!(singular("class"), "class");
        assert_eq!(singular("status"), "status");
        assert_eq!(singular("movies"), "movie");
        assert_eq!(plural("movie"), "movies");
    }

    #[test]
    fn a_preposition_or_a_naming_participle_ends_an_object() {
        for (text, object) in [
            ("list bounty platforms along with links", "bounty platform"),
            ("write a react native component called OverlayScreen", "react native component"),
            ("create a fund thesis around climate tech", "fund thesis"),
        ] {
            assert_eq!(Request::read(text).object_key().as_deref(), Some(object), "{text}");
        }
    }

    #[test]
    fn a_phrase_is_counted_by_its_head_before_a_preposition() {
        assert_eq!(plural("HTTP request in Javascript"), "HTTP requests in Javascript");
        assert_eq!(plural("tower of Hanoi"), "towers of Hanoi");
        assert_eq!(plural("joke about men"), "jokes about men");
        assert_eq!(plural("short story"), "short stories");
    }

    #[test]
    fn a_measure_is_no_part_of_what_is_asked_for() {
        let r = Request::read("Write a 1500-word business plan for a grocery");
        assert_eq!(r.object_key().as_deref(), Some("business plan"));
        assert_eq!(r.object_written().as_deref(), Some("business plan"));
        let r = Request::read("make a 3D model of a chair");
        assert_eq!(r.object_key().as_deref(), Some("3d model"));
    }

    #[test]
    fn a_quiz_doubles_its_z() {
        assert_eq!(plural("multiple choice quiz"), "multiple choice quizzes");
        assert_eq!(singular("quizzes"), "quiz");
        // The users' misspelling is read as the word, and written right.
        assert_eq!(plural(&singular("quizes")), "quizzes");
        assert_eq!(plural("waltz"), "waltzes");
    }

    #[test]
    fn a_person_is_who_a_request_is_for_not_what_it_asks() {
        assert_eq!(Request::read("What should I buy my sister for her birthday?").object_head(), None);
        assert_eq!(Request::read("buy my boss something nice").object_head(), None);
        assert_eq!(Request::read("Buy a gift card").object_head().as_deref(), Some("card"));
        assert_eq!(Request::read("act as my friend").object_head().as_deref(), Some("friend"));
    }
}
