//! The built-in model against the stored sentence-transformers vectors, and its speed.
//!
//! cargo run --release -p llm_clusters_engine --example embed_parity -- MODEL_DIR DATA_DIR [rows] [threads]
//! DATA_DIR holds NAME.jsonl ({"text"} per line) and NAME.emb.f32 (384 float32 per row).
//! Prints min / mean cosine per set over the first `rows` rows (default: all) and texts/s.

use llm_clusters_engine::embedder::minilm::{MiniLm, DIMENSIONS};
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model_dir = args.get(1).ok_or("usage: embed_parity MODEL_DIR DATA_DIR [rows] [threads]")?;
    let data_dir = args.get(2).ok_or("usage: embed_parity MODEL_DIR DATA_DIR [rows] [threads]")?;
    let rows: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(usize::MAX);
    let threads: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let t = Instant::now();
    let model = MiniLm::load(Path::new(model_dir))?;
    println!("model loaded (checksums verified) in {:.2} s", t.elapsed().as_secs_f64());
    for name in ["donotanswer5", "sharegpt_prompts", "bbc5"] {
        let lines = std::fs::read_to_string(format!("{data_dir}/{name}.jsonl"))?;
        let texts: Vec<String> = lines
            .lines()
            .take(rows)
            .map(|l| serde_json::from_str::<serde_json::Value>(l).map(|v| v["text"].as_str().unwrap_or("").to_string()))
            .collect::<Result<_, _>>()?;
        let raw = std::fs::read(format!("{data_dir}/{name}.emb.f32"))?;
        let reference: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens: usize = refs.iter().map(|t| model.tokens(t).map(|v| v.len()).unwrap_or(0)).sum();
        let t = Instant::now();
        let vectors = model.embed(&refs, threads, &|| Ok(()))?;
        let secs = t.elapsed().as_secs_f64();
        let cosines: Vec<f32> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| v.iter().zip(&reference[i * DIMENSIONS..(i + 1) * DIMENSIONS]).map(|(a, b)| a * b).sum())
            .collect();
        let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
        let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
        println!(
            "{name:<18} {:>5} texts, {:>6.1} tokens/text: cosine min {min:.6} mean {mean:.6}; {:.1} texts/s, {:.0} tokens/s ({threads} thread(s))",
            texts.len(),
            tokens as f64 / texts.len() as f64,
            texts.len() as f64 / secs,
            tokens as f64 / secs
        );
    }
    Ok(())
}
