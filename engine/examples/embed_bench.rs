//! Speed of the built-in model: texts/s over the lines of a file, with 1..N threads, and
//! the process's peak resident memory. The same texts go through onnxruntime in
//! scripts/bench/embed.py (scripts/bench/embed.sh runs both).
//!
//! cargo run --release -p llm_clusters_engine --example embed_bench -- MODEL_DIR TEXTS_FILE THREADS

use llm_clusters_engine::embedder::minilm::MiniLm;
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
    let usage = "usage: embed_bench MODEL_DIR TEXTS_FILE THREADS";
    let model = MiniLm::load(Path::new(args.get(1).ok_or(usage)?))?;
    let texts = std::fs::read_to_string(args.get(2).ok_or(usage)?)?;
    let threads: usize = args.get(3).ok_or(usage)?.parse()?;
    let texts: Vec<&str> = texts.lines().collect();
    let tokens: usize = texts.iter().map(|t| model.tokens(t).map_or(0, |v| v.len())).sum();
    model.embed(&texts[..texts.len().min(16)], threads, &|| Ok(()))?; // warm up
    let start = Instant::now();
    let vectors = model.embed(&texts, threads, &|| Ok(()))?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ours f32 threads={threads} texts={} tokens/text={:.1} texts/s={:.1} peak_rss_mib={:.0} dims={}",
        texts.len(),
        tokens as f64 / texts.len() as f64,
        texts.len() as f64 / secs,
        peak_rss_mib(),
        vectors.first().map_or(0, Vec::len)
    );
    Ok(())
}
