//! A seeded generator of hostile input: valid shapes mutated (wrong types, deep nesting,
//! huge or odd strings and numbers, unicode edge cases, bidi and control characters).
//! Our own rather than proptest: no shrinking is needed (a failing input is printed as
//! it is), and the engine's own rand_xoshiro keeps the test build free of new crates.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::{json, Map, Value};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub struct Gen {
    pub rng: Xoshiro256PlusPlus,
}

/// Strings that break naive parsers: numbers beyond f64, NaN-like, signs, unicode.
const ODD: &[&str] = &[
    "",
    " ",
    "0",
    "-0",
    "-1",
    "1e400",
    "-1e400",
    "1e308",
    "1e-400",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "+5",
    "0x10",
    "9e15",
    "9e15.5",
    "9007199254740993",
    "18446744073709551616",
    "1.",
    ".5",
    "1_000",
    "١٢",
    "true",
    "null",
    "{",
    "[",
    "\"",
    "\\",
    "%s%n",
    "' OR 1=1 --",
    "$1",
    "\u{0}",
    "\u{7}",
    "\u{1b}[2J",
    "\r\n",
    "\u{202E}evil",
    "\u{2066}x\u{2069}",
    "\u{200E}\u{200F}\u{061C}",
    "\u{FEFF}",
    "\u{FFFD}",
    "\u{10FFFF}",
    "e\u{301}",
    "😀👩‍👩‍👧",
    "Ａ",
    "İı",
    "ß",
    "\u{85}",
    "\u{2028}",
    "2026-11-20T10:00:00Z",
    "2026-02-29",
    "Sun, 06 Nov 1994 08:49:37 GMT",
];

const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    '9',
    ' ',
    '-',
    ':',
    '.',
    'T',
    'Z',
    '+',
    '{',
    '}',
    '[',
    ']',
    '"',
    '\\',
    '\n',
    '\t',
    '\0',
    '\u{7f}',
    '\u{85}',
    '\u{202A}',
    '\u{202E}',
    '\u{2066}',
    '\u{2069}',
    '\u{200F}',
    '\u{061C}',
    'é',
    '\u{301}',
    '😀',
    '\u{10FFFF}',
    'ß',
    'İ',
    '•',
    '…',
    '\u{2028}',
];

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen { rng: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    pub fn chance(&mut self, one_in: u32) -> bool {
        self.rng.gen_range(0..one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    /// A short string of odd characters, an odd string, or (rarely) a huge one.
    pub fn string(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0..=3 => self.pick(ODD).to_string(),
            4..=7 => {
                let n = self.rng.gen_range(0..24);
                (0..n).map(|_| *self.pick(CHARS)).collect()
            }
            8 => {
                let words = ["reset", "my", "password", "order", "refund", "the", "a", "please", "SQL", "query"];
                let n = self.rng.gen_range(1..14);
                (0..n).map(|_| *self.pick(&words)).collect::<Vec<_>>().join(" ")
            }
            _ if self.chance(400) => self.pick(CHARS).to_string().repeat(self.rng.gen_range(10_000..120_000)),
            _ => self.pick(ODD).repeat(self.rng.gen_range(2..200)),
        }
    }

    /// A JSON number at an edge, or a string holding one.
    pub fn number(&mut self) -> Value {
        match self.rng.gen_range(0..12) {
            0 => json!(i64::MAX),
            1 => json!(i64::MIN),
            2 => json!(u64::MAX),
            3 => json!(f64::MAX),
            4 => json!(-0.0),
            5 => json!(1e-300),
            6 => json!(self.rng.gen_range(-1e6..1e6)),
            7 => json!(self.rng.gen_range(0..100_000)),
            8 => json!(9.0e15),
            9 => json!(9.000000000000002e15),
            10 => json!(self.rng.gen::<f64>()),
            _ => json!(self.pick(ODD)),
        }
    }

    /// Any JSON value, at most `depth` levels.
    pub fn value(&mut self, depth: u32) -> Value {
        let kind = if depth == 0 { self.rng.gen_range(0..4) } else { self.rng.gen_range(0..6) };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(self.rng.gen()),
            2 => self.number(),
            3 => Value::String(self.string()),
            4 => {
                let n = self.rng.gen_range(0..4);
                Value::Array((0..n).map(|_| self.value(depth - 1)).collect())
            }
            _ => {
                let n = self.rng.gen_range(0..4);
                let mut map = Map::new();
                for _ in 0..n {
                    let key = if self.chance(2) { self.pick(KEYS).to_string() } else { self.string() };
                    map.insert(key, self.value(depth - 1));
                }
                Value::Object(map)
            }
        }
    }

    /// `v` nested in `n` arrays or objects: parsed from text, so that serde_json's own
    /// depth limit applies as it does to outside input (None when it refuses).
    pub fn deep(&mut self, v: &Value, n: usize) -> Option<Value> {
        let (open, close) = if self.chance(2) { ("[", "]") } else { ("{\"content\":", "}") };
        let text = format!("{}{}{}", open.repeat(n), v, close.repeat(n));
        serde_json::from_str(&text).ok()
    }

    /// `v` with a few of its parts replaced, removed, wrapped or nested deeply.
    pub fn mutate(&mut self, v: &mut Value) {
        let n = self.rng.gen_range(0..4);
        for _ in 0..n {
            self.mutate_once(v, 0);
        }
    }

    fn mutate_once(&mut self, v: &mut Value, depth: u32) {
        let nonempty = matches!(v, Value::Array(a) if !a.is_empty()) || matches!(v, Value::Object(o) if !o.is_empty());
        let descend = nonempty && depth < 8 && !self.chance(3);
        if descend {
            match v {
                Value::Array(items) => {
                    let i = self.rng.gen_range(0..items.len());
                    return self.mutate_once(&mut items[i], depth + 1);
                }
                Value::Object(map) => {
                    let i = self.rng.gen_range(0..map.len());
                    let key = map.keys().nth(i).cloned().unwrap_or_default();
                    if self.chance(6) {
                        map.remove(&key);
                        return;
                    }
                    if let Some(child) = map.get_mut(&key) {
                        return self.mutate_once(child, depth + 1);
                    }
                }
                _ => {}
            }
        }
        *v = match self.rng.gen_range(0..6) {
            0 => self.value(2),
            1 => self.number(),
            2 => Value::String(self.string()),
            3 => json!([v.take()]),
            4 => {
                let n = self.rng.gen_range(1..140);
                let inner = v.take();
                self.deep(&inner, n).unwrap_or(inner)
            }
            _ => Value::Null,
        };
    }
}

/// Keys the parsers look for, so that random objects often hit them.
const KEYS: &[&str] = &[
    "role",
    "content",
    "message",
    "text",
    "type",
    "name",
    "function",
    "tool_calls",
    "refusal",
    "title",
    "bullets",
    "notes",
    "description",
    "choices",
    "data",
    "embedding",
    "index",
    "key",
    "value",
    "operator",
    "event",
    "properties",
    "$ai_trace_id",
    "$ai_input",
    "$ai_output_choices",
];

/// Runs a target over `LLM_CLUSTERS_FUZZ_N` inputs (default 2000) from a seed of its own
/// (`LLM_CLUSTERS_FUZZ_SEED` moves all of them); `check` says whether an input was
/// accepted and asserts the invariants. A panic names the input, then fails the test.
pub fn run<I: Debug>(target: &str, mut make: impl FnMut(&mut Gen) -> I, check: impl Fn(&I) -> bool) {
    let n: u64 = std::env::var("LLM_CLUSTERS_FUZZ_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let base: u64 = std::env::var("LLM_CLUSTERS_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let seed = target.bytes().fold(base, |h, b| h.rotate_left(5) ^ u64::from(b));
    let mut gen = Gen::new(seed);
    let mut accepted = 0u64;
    for i in 0..n {
        let input = make(&mut gen);
        match catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => {
                let shown: String = format!("{input:?}").chars().take(4_000).collect();
                panic!("fuzz {target}: input {i} (seed {seed}) failed: {shown}");
            }
        }
    }
    println!("fuzz {target}: {n} inputs, {accepted} accepted, {} rejected", n - accepted);
}

/// Whether text holds a control character (but `\n` when `newlines`) or a bidi control.
pub fn unclean(text: &str, newlines: bool) -> bool {
    text.chars().any(|c| {
        (c.is_control() && !(newlines && c == '\n'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    })
}
