//! Speed of the built-in model: texts/s over the lines of a file with THREADS threads, in
//! each precision, in one batch (embed_pending's path) and one call per text (embed_text's
//! path), interleaved so that a busy machine slows all alike; and the process's peak
//! resident memory. The same texts go through onnxruntime in scripts/bench/embed.py
//! (scripts/bench/embed.sh runs both). Prints numbers, asserts nothing.
//!
//! cargo run --release -p llm_clusters_engine --example embed_bench -- MODEL_DIR TEXTS_FILE THREADS [ROUNDS] [f32,int8]

use llm_clusters_engine::embedder::minilm::{MiniLm, Precision};
use std::path::Path;
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: embed_bench MODEL_DIR TEXTS_FILE THREADS [ROUNDS] [f32,int8]";
    let model = MiniLm::load(Path::new(args.get(1).ok_or(usage)?))?;
    let texts = std::fs::read_to_string(args.get(2).ok_or(usage)?)?;
    let threads: usize = args.get(3).ok_or(usage)?.parse()?;
    let rounds: usize = args.get(4).map(|r| r.parse()).transpose()?.unwrap_or(1);
    let texts: Vec<&str> = texts.lines().collect();
    let tokens: usize = texts.iter().map(|t| model.tokens(t).map_or(0, |v| v.len())).sum();
    let wanted = args.get(5).map_or("f32,int8", String::as_str);
    let precisions: Vec<(&str, Precision)> = [("f32", Precision::F32), ("int8", Precision::Int8)]
        .into_iter()
        .filter(|(name, _)| wanted.contains(name))
        .collect();
    // Seconds per precision: [batch, one call per text], summed over the rounds.
    let mut secs = vec![[0.0f64; 2]; precisions.len()];
    for &(_, precision) in &precisions {
        model.embed(&texts[..texts.len().min(16)], threads, precision, &|| Ok(()))?;
        // warm up
    }
    for _ in 0..rounds {
        for (p, &(_, precision)) in precisions.iter().enumerate() {
            let start = Instant::now();
            model.embed(&texts, threads, precision, &|| Ok(()))?;
            secs[p][0] += start.elapsed().as_secs_f64();
            let start = Instant::now();
            for text in &texts {
                model.embed(&[text], threads, precision, &|| Ok(()))?;
            }
            secs[p][1] += start.elapsed().as_secs_f64();
        }
    }
    let n = (texts.len() * rounds) as f64;
    for (p, (name, _)) in precisions.iter().enumerate() {
        println!(
            "ours {name} threads={threads} texts={} tokens/text={:.1} texts/s={:.1} one_call_per_text_texts/s={:.1} \
             per_text_cost_one_call/batch={:.2} peak_rss_mib={:.0}",
            texts.len(),
            tokens as f64 / texts.len() as f64,
            n / secs[p][0],
            n / secs[p][1],
            secs[p][1] / secs[p][0],
            peak_rss_mib()
        );
    }
    if secs.len() == 2 {
        println!(
            "ours int8/f32 speed threads={threads}: batch {:.2}x, one call per text {:.2}x",
            secs[0][0] / secs[1][0],
            secs[0][1] / secs[1][1]
        );
    }
    Ok(())
}
