//! Trace level against generation level on multi-turn conversations built from labelled
//! sets: prompts of one label chained into conversations of 2–4 user turns, some with a
//! generic follow-up ("Make it shorter."), sent the way SDKs send them: each generation's
//! input carries the whole history. For several seeds, ARI/NMI against the labels
//! (outliers one more label), clusters, largest cluster's share, outliers and themes:
//! - `generation`: each call, embedded from `content::request_text` (what generations use);
//! - trace level, one vector per conversation, from:
//!   - `history`: every call's input text one after the other (the history repeated);
//!   - `turns`: the distinct user turns in order as one text (what 0.6.0 embedded);
//!   - `mean`: the mean of the distinct turns' vectors;
//!   - `weighted`: the mean of the distinct turns' vectors weighted by their length in
//!     words (up to about the model's window): `trace::trace_requests` and
//!     `vectors::weighted_unit_mean`, what the extension stores.
//!
//! Sets: `donotanswer5` (939 prompts), `bbc5/6` (every sixth article: 371), `mix10` (both).
//! Texts that are a set's own text take its stored vector; the rest are embedded with the
//! built-in model (f32, 2 threads).
//!
//! cargo run --release -p llm_clusters_engine --example eval_traces -- DIR MODEL_DIR [seeds] [set]

use llm_clusters_engine::cluster::quality::{adjusted_rand_index, normalized_mutual_info};
use llm_clusters_engine::cluster::{cluster, Params};
use llm_clusters_engine::content::request_text;
use llm_clusters_engine::embedder::minilm::{MiniLm, Precision};
use llm_clusters_engine::trace::trace_requests;
use llm_clusters_engine::vectors::weighted_unit_mean;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

const DIM: usize = 384;

/// Follow-ups without a topic of their own, as people send them.
const FOLLOW_UPS: [&str; 8] = [
    "Can you make it shorter?",
    "Thanks! Can you explain that in more detail?",
    "Please rewrite that as a bulleted list.",
    "Why?",
    "ok thanks",
    "Give me an example.",
    "Translate that into French please.",
    "What do you mean?",
];

/// Texts, their stored vectors and labels.
struct Source {
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
    labels: Vec<String>,
}

fn load(dir: &str, name: &str, every: usize) -> Result<Source, Box<dyn std::error::Error>> {
    let lines: Vec<Value> = std::fs::read_to_string(format!("{dir}/{name}.jsonl"))?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let raw = std::fs::read(format!("{dir}/{name}.emb.f32"))?;
    let rows: Vec<Vec<f32>> = raw
        .chunks_exact(4 * DIM)
        .map(|r| r.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        .collect();
    let mut source = Source { texts: Vec::new(), vectors: Vec::new(), labels: Vec::new() };
    for (_, (line, row)) in lines.iter().zip(rows).enumerate().filter(|(i, _)| i % every == 0) {
        source.texts.push(line["text"].as_str().unwrap_or("").to_string());
        source.vectors.push(row);
        source.labels.push(format!("{name}/{}", line["label"].as_str().unwrap_or("-")));
    }
    Ok(source)
}

/// A conversation: its label and its user turns.
struct Conversation {
    label: i32,
    turns: Vec<String>,
}

/// Each label's prompts shuffled and cut into runs of 2–4; a third of the conversations
/// get a generic follow-up after one of their turns.
fn conversations(source: &Source, seed: u64) -> Vec<Conversation> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut names: Vec<&String> = source.labels.iter().collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for (label, name) in names.iter().enumerate() {
        let mut members: Vec<usize> = (0..source.texts.len()).filter(|&i| source.labels[i] == **name).collect();
        members.shuffle(&mut rng);
        let mut rest = &members[..];
        while rest.len() >= 2 {
            let take = rng.gen_range(2..=4).min(rest.len());
            let mut turns: Vec<String> = rest[..take].iter().map(|&i| source.texts[i].clone()).collect();
            if rng.gen_bool(1.0 / 3.0) {
                let at = rng.gen_range(1..=turns.len());
                turns.insert(at, FOLLOW_UPS[rng.gen_range(0..FOLLOW_UPS.len())].to_string());
            }
            out.push(Conversation { label: label as i32, turns });
            rest = &rest[take..];
        }
    }
    out.shuffle(&mut rng);
    out
}

/// Each call's input: the history so far (user turns, the assistant's short answers) and
/// the new user turn, as OpenAI-style messages.
fn inputs(conversation: &Conversation) -> Vec<Value> {
    let mut messages = vec![json!({"role": "system", "content": "You are a helpful assistant."})];
    let mut out = Vec::new();
    for (i, turn) in conversation.turns.iter().enumerate() {
        messages.push(json!({"role": "user", "content": turn}));
        out.push(Value::Array(messages.clone()));
        messages.push(json!({"role": "assistant", "content": format!("Here is my answer number {}.", i + 1)}));
    }
    out
}

/// Vectors of texts: a set's own text takes its stored vector, others are embedded once.
struct Vectors<'a> {
    model: &'a MiniLm,
    known: HashMap<String, Vec<f32>>,
}

impl Vectors<'_> {
    fn of(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
        let mut missing: Vec<&str> =
            texts.iter().filter(|t| !self.known.contains_key(*t)).map(String::as_str).collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let vectors = self.model.embed(&missing, 2, Precision::F32, &|| Ok(()))?;
            for (t, v) in missing.iter().zip(vectors) {
                self.known.insert(t.to_string(), v);
            }
        }
        Ok(texts.iter().map(|t| self.known[t].clone()).collect())
    }
}

/// One line of the table: a run of `rows` against `truth`.
fn measure(
    name: &str,
    level: &str,
    seed: u64,
    rows: Vec<Vec<f32>>,
    truth: &[i32],
) -> Result<(), Box<dyn std::error::Error>> {
    let n = rows.len();
    let mut data: Vec<f32> = rows.into_iter().flatten().collect();
    let r = cluster(&mut data, DIM, &Params { seed, ..Params::default() }, None, &|| Ok(()))?;
    let largest = (0..r.n_clusters as i32).map(|c| r.labels.iter().filter(|&&l| l == c).count()).max().unwrap_or(0);
    let outliers = r.labels.iter().filter(|&&l| l < 0).count();
    println!(
        "{name} | {level} | {seed} | {n} | {:.3} | {:.3} | {} | {:.1}% | {:.1}% | {}",
        adjusted_rand_index(truth, &r.labels),
        normalized_mutual_info(truth, &r.labels),
        r.n_clusters,
        100.0 * largest as f64 / n as f64,
        100.0 * outliers as f64 / n as f64,
        r.n_themes
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: eval_traces DIR MODEL_DIR [seeds]";
    let dir = args.get(1).ok_or(usage)?;
    let model = MiniLm::load(Path::new(args.get(2).ok_or(usage)?))?;
    let seeds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let only = args.get(4).map(String::as_str);
    let dna = load(dir, "donotanswer5", 1)?;
    let bbc = load(dir, "bbc5", 6)?;
    let mut mix = Source { texts: Vec::new(), vectors: Vec::new(), labels: Vec::new() };
    for s in [&dna, &bbc] {
        mix.texts.extend(s.texts.iter().cloned());
        mix.vectors.extend(s.vectors.iter().cloned());
        mix.labels.extend(s.labels.iter().cloned());
    }
    let mut vectors = Vectors { model: &model, known: HashMap::new() };
    for s in [&dna, &bbc] {
        for (t, v) in s.texts.iter().zip(&s.vectors) {
            vectors.known.insert(t.clone(), v.clone());
        }
    }
    println!("set | level | seed | items | ARI | NMI | clusters | largest cluster | outliers | themes");
    for (name, source) in [("donotanswer5", &dna), ("bbc5/6", &bbc), ("mix10", &mix)] {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        for seed in 1..=seeds {
            let convs = conversations(source, seed);
            let calls: Vec<(i32, Value)> =
                convs.iter().flat_map(|c| inputs(c).into_iter().map(move |i| (c.label, i))).collect();
            let texts: Vec<String> = calls.iter().map(|(_, i)| request_text(Some(i))).collect();
            let truth: Vec<i32> = calls.iter().map(|(l, _)| *l).collect();
            measure(name, "generation", seed, vectors.of(&texts)?, &truth)?;
            let truth: Vec<i32> = convs.iter().map(|c| c.label).collect();
            let history: Vec<String> = convs
                .iter()
                .map(|c| inputs(c).iter().map(|i| request_text(Some(i))).collect::<Vec<_>>().join("\n"))
                .collect();
            measure(name, "trace: history", seed, vectors.of(&history)?, &truth)?;
            let requests: Vec<_> = convs.iter().map(|c| trace_requests(&inputs(c))).collect();
            let turns: Vec<String> =
                requests.iter().map(|r| r.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")).collect();
            measure(name, "trace: turns", seed, vectors.of(&turns)?, &truth)?;
            let mut mean = Vec::new();
            let mut weighted = Vec::new();
            for r in &requests {
                let texts: Vec<String> = r.iter().map(|r| r.text.clone()).collect();
                let vs = vectors.of(&texts)?;
                let weights: Vec<f32> = r.iter().map(|r| r.weight).collect();
                mean.push(weighted_unit_mean(&vs, &vec![1.0; vs.len()]));
                weighted.push(weighted_unit_mean(&vs, &weights));
            }
            measure(name, "trace: mean", seed, mean, &truth)?;
            measure(name, "trace: weighted", seed, weighted, &truth)?;
        }
    }
    Ok(())
}
