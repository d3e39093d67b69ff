//! The built-in model against the stored sentence-transformers vectors, and its speed.
//!
//! cargo run --release -p llm_clusters_engine --example embed_parity -- MODEL_DIR DATA_DIR [rows] [threads] [f32,int8]
//! DATA_DIR holds NAME.jsonl ({"text"} per line) and NAME.emb.f32 (384 float32 per row).
//! Prints, per set and precision, the min / mean cosine to the stored vectors over the
//! first `rows` rows (default: all), how many rows are below 0.99, and texts/s.
//! MAX_TOKENS=128 reads at most 128 tokens of a text (default 256). WRITE_DIR=DIR writes the
//! vectors as DIR/PRECISION/NAME.emb.f32 beside a copy of NAME.jsonl: a data directory for
//! the evaluate example, to compare clustering quality.

use llm_clusters_engine::embedder::minilm::{MiniLm, Precision, DIMENSIONS, MAX_TOKENS};
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: embed_parity MODEL_DIR DATA_DIR [rows] [threads] [f32,int8]";
    let model_dir = args.get(1).ok_or(usage)?;
    let data_dir = args.get(2).ok_or(usage)?;
    let rows: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(usize::MAX);
    let threads: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let wanted = args.get(5).map_or("f32,int8", String::as_str);
    let max_tokens: usize = std::env::var("MAX_TOKENS").ok().map(|s| s.parse()).transpose()?.unwrap_or(MAX_TOKENS);
    let write_dir = std::env::var("WRITE_DIR").ok();
    let t = Instant::now();
    let model = MiniLm::load(Path::new(model_dir))?.with_max_tokens(max_tokens)?;
    println!(
        "model loaded (checksums verified, int8 weights made) in {:.2} s; at most {max_tokens} tokens per text",
        t.elapsed().as_secs_f64()
    );
    for name in ["donotanswer5", "sharegpt_prompts", "bbc5"] {
        let lines = std::fs::read_to_string(format!("{data_dir}/{name}.jsonl"))?;
        let lines: Vec<&str> = lines.lines().take(rows).collect();
        let texts: Vec<String> = lines
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).map(|v| v["text"].as_str().unwrap_or("").to_string()))
            .collect::<Result<_, _>>()?;
        let raw = std::fs::read(format!("{data_dir}/{name}.emb.f32"))?;
        let reference: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens: usize = refs.iter().map(|t| model.tokens(t).map(|v| v.len()).unwrap_or(0)).sum();
        for (label, precision) in [("f32", Precision::F32), ("int8", Precision::Int8)] {
            if !wanted.contains(label) {
                continue;
            }
            let t = Instant::now();
            let vectors = model.embed(&refs, threads, precision, &|| Ok(()))?;
            let secs = t.elapsed().as_secs_f64();
            let cosines: Vec<f32> = vectors
                .iter()
                .enumerate()
                .map(|(i, v)| v.iter().zip(&reference[i * DIMENSIONS..(i + 1) * DIMENSIONS]).map(|(a, b)| a * b).sum())
                .collect();
            let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
            let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
            println!(
                "{name:<18} {label:<4} {:>5} texts, {:>6.1} tokens/text: cosine to stored min {min:.6} mean {mean:.6}, {} rows below 0.99; {:.1} texts/s ({threads} thread(s))",
                texts.len(),
                tokens as f64 / texts.len() as f64,
                cosines.iter().filter(|&&c| c < 0.99).count(),
                texts.len() as f64 / secs,
            );
            if let Some(dir) = &write_dir {
                let dir = Path::new(dir).join(label);
                std::fs::create_dir_all(&dir)?;
                std::fs::write(dir.join(format!("{name}.jsonl")), lines.join("\n") + "\n")?;
                let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
                std::fs::write(dir.join(format!("{name}.emb.f32")), bytes)?;
            }
        }
    }
    Ok(())
}
