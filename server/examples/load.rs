//! Load for the benchmark (scripts/bench/server.sh): C concurrent clients, each sending
//! requests of B `$ai_generation` events for S seconds, either to llm-clusters-server over
//! HTTP/1.1 keep-alive (`--url`, `--key`) or straight to `llm_clusters.capture()` over a
//! database connection each (`--database-url`). Prints one line: events/s and the p50 and
//! p99 latency per request. Every event has a fresh uuid, so each one is really stored.
//!
//! cargo run --release -p llm_clusters_server --example load -- --url http://127.0.0.1:8010 --key K --clients 8 --batch 100 --seconds 10

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Options {
    url: Option<String>,
    key: String,
    database_url: Option<String>,
    clients: usize,
    batch: usize,
    seconds: f64,
}

fn options() -> Result<Options, String> {
    let mut o = Options { url: None, key: String::new(), database_url: None, clients: 1, batch: 1, seconds: 10.0 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        let number = || value.parse::<f64>().map_err(|_| format!("{flag} {value:?} is not a number"));
        match flag.as_str() {
            "--url" => o.url = Some(value.trim_start_matches("http://").trim_end_matches('/').to_string()),
            "--key" => o.key = value.clone(),
            "--database-url" => o.database_url = Some(value.clone()),
            "--clients" => o.clients = number()? as usize,
            "--batch" => o.batch = number()? as usize,
            "--seconds" => o.seconds = number()?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if o.url.is_none() == o.database_url.is_none() {
        return Err("give --url (and --key) or --database-url".into());
    }
    Ok(o)
}

/// Distinct uuids across runs: the run's start time, then a counter.
fn uuid(run: u64, n: u64) -> String {
    format!("{:08x}-{:04x}-4000-8000-{:012x}", run as u32, (run >> 32) as u16, n)
}

fn events(run: u64, counter: &AtomicU64, batch: usize) -> Vec<serde_json::Value> {
    (0..batch)
        .map(|_| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            serde_json::json!({"event": "$ai_generation", "uuid": uuid(run, n), "distinct_id": format!("user-{}", n % 97),
                "properties": {"$ai_trace_id": format!("bench-{}", n / 4), "$ai_model": "gpt-4o-mini",
                    "$ai_input": [{"role": "user", "content": format!("benchmark request number {n}: how do I reset my password?")}],
                    "$ai_output_choices": [{"role": "assistant", "content": "Open the settings page."}],
                    "$ai_input_tokens": 20, "$ai_output_tokens": 9, "$ai_total_cost_usd": 0.0002, "$ai_latency": 0.7}})
        })
        .collect()
}

async fn http_client(
    o: Arc<Options>,
    run: u64,
    counter: Arc<AtomicU64>,
    until: Instant,
) -> Result<Vec<Duration>, String> {
    let address = o.url.clone().unwrap_or_default();
    let stream = TcpStream::connect(&address).await.map_err(|e| format!("connect {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut stream = BufReader::new(stream);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let body = serde_json::json!({"api_key": o.key, "batch": events(run, &counter, o.batch)}).to_string();
        let head = format!(
            "POST /batch/ HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let started = Instant::now();
        stream.get_mut().write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        stream.get_mut().write_all(body.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut status = String::new();
        stream.read_line(&mut status).await.map_err(|e| e.to_string())?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.map_err(|e| e.to_string())?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut answer = vec![0; length];
        stream.read_exact(&mut answer).await.map_err(|e| e.to_string())?;
        if !status.contains(" 200 ") {
            return Err(format!("{}: {}", status.trim(), String::from_utf8_lossy(&answer)));
        }
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

async fn direct_client(
    o: Arc<Options>,
    run: u64,
    counter: Arc<AtomicU64>,
    until: Instant,
) -> Result<Vec<Duration>, String> {
    let url = o.database_url.clone().unwrap_or_default();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let statement = client.prepare("SELECT llm_clusters.capture($1)").await.map_err(|e| e.to_string())?;
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let payload = serde_json::json!({"batch": events(run, &counter, o.batch)});
        let started = Instant::now();
        client.query_one(&statement, &[&payload]).await.map_err(|e| e.to_string())?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let o = Arc::new(options()?);
    let run = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_nanos() as u64;
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(o.seconds);
    let tasks: Vec<_> = (0..o.clients)
        .map(|_| {
            let (o, counter) = (o.clone(), counter.clone());
            tokio::spawn(async move {
                if o.url.is_some() {
                    http_client(o, run, counter, until).await
                } else {
                    direct_client(o, run, counter, until).await
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let mode = if o.url.is_some() { "http" } else { "capture()" };
    println!(
        "{mode:>9}  clients {:>2}  batch {:>3}  requests {:>6}  events/s {:>8.0}  p50 {:>7.2} ms  p99 {:>7.2} ms",
        o.clients,
        o.batch,
        latencies.len(),
        (latencies.len() * o.batch) as f64 / elapsed,
        ms(at(0.5)),
        ms(at(0.99))
    );
    Ok(())
}
