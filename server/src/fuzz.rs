//! Seeded fuzzing of every parser of outside input, on stable Rust with no extra crate: a
//! small xorshift generator builds structured-but-hostile inputs (valid SDK bodies, then
//! truncated, nested deep, with huge numbers, wrong types, invalid UTF-8, random bytes
//! in gzip streams). Each target is a `#[test]` named `fuzz_*`; `LLM_CLUSTERS_FUZZ_N`
//! inputs (default 2000, a short pass in the normal run); each prints
//! `fuzz <target>: <N> inputs, <accepted> accepted, <rejected> rejected`. A panic fails
//! the test; so does a broken property (stated per target).

use crate::decode::{bearer, compression_of, decode, decoded_size, key_of, parse, prepare, Parts, Protocol};
use crate::error::Status;
use crate::service::single;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use std::io::Write;

/// Small, so that bombs hit the cap quickly.
const MAX: usize = 64 * 1024;

fn inputs() -> u64 {
    std::env::var("LLM_CLUSTERS_FUZZ_N").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: [&str; 6] = ["k1", "k2", "", "llmc_x", "é🔑", "\\u0000"];
const NUMBERS: [&str; 10] = [
    "0",
    "-0",
    "1e999",
    "-1e999",
    "18446744073709551616",
    "1.5",
    "-3",
    "1e-400",
    "99999999999999999999999999999999999",
    "0.0",
];

/// A JSON value of the shapes the SDKs send, or near them.
fn value(rng: &mut Rng, depth: usize) -> String {
    let choice = if depth > 4 { rng.below(4) } else { rng.below(9) };
    match choice {
        0 => rng.pick(&NUMBERS).to_string(),
        1 => format!("\"{}\"", rng.pick(&["$ai_generation", "$ai_span", "$pageview", "", "x\\ud800", "\\\"", "t1"])),
        2 => rng.pick(&["true", "null", "false"]).to_string(),
        3 => format!("\"{}\"", rng.pick(&KEYS)),
        4 | 5 => event(rng, depth + 1),
        6 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| value(rng, depth + 1)).collect();
            format!("[{}]", items.join(","))
        }
        7 => format!("{}{}", "[".repeat(rng.below(300)), "]".repeat(rng.below(300))),
        _ => {
            let n = rng.below(4);
            let fields: Vec<String> = (0..n)
                .map(|_| {
                    format!(
                        "\"{}\":{}",
                        rng.pick(&["token", "api_key", "batch", "properties", "x"]),
                        value(rng, depth + 1)
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
    }
}

fn event(rng: &mut Rng, depth: usize) -> String {
    let mut fields =
        vec![format!("\"event\":{}", rng.pick(&["\"$ai_generation\"", "\"$ai_span\"", "\"$pageview\"", "7", "null"]))];
    if rng.chance(2) {
        fields.push(format!("\"uuid\":\"{}\"", rng.next()));
    }
    if rng.chance(3) {
        fields.push(format!("\"api_key\":\"{}\"", rng.pick(&KEYS)));
    }
    for field in ["session_id", "window_id", "options", "timestamp", "distinct_id"] {
        if rng.chance(4) {
            fields.push(format!("\"{field}\":{}", if depth > 4 { "1".to_string() } else { value(rng, depth + 1) }));
        }
    }
    let mut props = vec![format!("\"$ai_trace_id\":{}", rng.pick(&["\"t\"", "1", "[]"]))];
    if rng.chance(2) {
        props.push(format!("\"token\":\"{}\"", rng.pick(&KEYS)));
    }
    if rng.chance(3) {
        props.push(format!("\"$ai_input_tokens\":{}", rng.pick(&NUMBERS)));
    }
    fields.push(format!("\"properties\":{{{}}}", props.join(",")));
    let turn = rng.below(fields.len());
    fields.rotate_left(turn);
    format!("{{{}}}", fields.join(","))
}

/// A whole body: a batch, an array, one event, or something else.
fn body(rng: &mut Rng) -> Vec<u8> {
    let events: Vec<String> = (0..rng.below(5)).map(|_| event(rng, 1)).collect();
    let text = match rng.below(5) {
        0 => format!(
            "{{\"api_key\":\"{}\",\"batch\":[{}],\"sent_at\":\"2026-12-01T00:00:00Z\"}}",
            rng.pick(&KEYS),
            events.join(",")
        ),
        1 => format!("[{}]", events.join(",")),
        2 => event(rng, 1),
        3 => format!("{{\"created_at\":{},\"batch\":[{}]}}", value(rng, 3), events.join(",")),
        _ => value(rng, 0),
    };
    // Half stay well-formed, so that the accepting paths are exercised too.
    if rng.chance(2) {
        text.into_bytes()
    } else {
        mutate(rng, text.into_bytes())
    }
}

/// Sometimes left alone; otherwise truncated, bytes flipped or inserted (invalid UTF-8
/// too), a piece duplicated.
fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(5) {
            0 => bytes.truncate(at),
            1 => bytes[at] = rng.next() as u8,
            2 => bytes.insert(at, *rng.pick(&[0xff, 0xc3, 0x80, 0x00, b'"', b'{', b'[', b'\\'])),
            3 => {
                let end = (at + rng.below(32)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            _ => bytes.extend(std::iter::repeat_n(b'[', rng.below(200))),
        }
    }
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::fast());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

fn report(target: &str, n: u64, accepted: u64) {
    println!("fuzz {target}: {n} inputs, {accepted} accepted, {} rejected", n - accepted);
}

/// Every refusal is one an SDK understands: never a 500 for a body.
fn client_status(status: Status) -> bool {
    matches!(status, Status::BadRequest | Status::Unauthorized | Status::PayloadTooLarge | Status::UnsupportedMediaType)
}

#[test]
fn fuzz_decode_json() {
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(1);
    for _ in 0..n {
        let body = body(&mut rng);
        match decode(Protocol::Legacy, Parts::default(), &body, MAX) {
            Ok(d) => {
                accepted += 1;
                // Property: no event stored keeps its credential (api_key, properties.token).
                for event in d.payload["batch"].as_array().into_iter().flatten() {
                    assert!(event.get("api_key").is_none(), "{event}");
                    assert!(event.get("properties").and_then(|p| p.get("token")).is_none(), "{event}");
                }
                assert!(!d.api_key.is_empty());
            }
            Err(e) => assert!(client_status(e.status), "{e}"),
        }
    }
    report("decode_json", n, accepted);
}

#[test]
fn fuzz_decode_v1() {
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(2);
    let auth = ["Bearer k", "bearer  k ", "Bearer", "Basic x", "Bearer \u{7f}", "", "Bearer k k"];
    for _ in 0..n {
        let body = body(&mut rng);
        let parts = Parts { authorization: rng.chance(4).then(|| *rng.pick(&auth)), ..Parts::default() };
        match decode(Protocol::V1, parts, &body, MAX) {
            Ok(d) => {
                accepted += 1;
                // Property: capture v1 takes its key from the header only.
                assert_eq!(Some(d.api_key.as_str()), bearer(parts.authorization));
            }
            Err(e) => assert!(client_status(e.status), "{e}"),
        }
    }
    report("decode_v1", n, accepted);
}

#[test]
fn fuzz_decode_gzip() {
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(3);
    for _ in 0..n {
        let plain = body(&mut rng);
        let (mut compressed, encoding) = match rng.below(4) {
            0 => (zlib(&plain), Some("deflate")),
            1 => (gzip(&vec![*rng.pick(b" [0"); MAX + rng.below(4 * MAX)]), Some("gzip")),
            2 => (gzip(&plain), None),
            _ => (gzip(&plain), Some("gzip")),
        };
        // Random bytes into the stream: header, deflate blocks, trailer.
        if rng.chance(2) && !compressed.is_empty() {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(compressed.len());
                compressed[at] = rng.next() as u8;
            }
        }
        if rng.chance(4) {
            let keep = rng.below(compressed.len() + 1);
            compressed.truncate(keep);
        }
        let parts = Parts { content_encoding: encoding, ..Parts::default() };
        match decode(Protocol::Legacy, parts, &compressed, MAX) {
            Ok(_) => accepted += 1,
            Err(e) => assert!(client_status(e.status), "{e}"),
        }
        // Property: prepare never holds more than the cap, whatever the stream says.
        if let Ok(prepared) = prepare(parts, &compressed, MAX) {
            assert!(prepared.bytes.len() <= MAX);
        }
    }
    report("decode_gzip", n, accepted);
}

#[test]
fn fuzz_decode_form_base64() {
    use base64::Engine;
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(4);
    let engines = [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::URL_SAFE];
    for _ in 0..n {
        let json = body(&mut rng);
        let mut encoded = rng.pick(&engines).encode(&json).into_bytes();
        if rng.chance(3) {
            encoded = mutate(&mut rng, encoded);
        }
        let text = String::from_utf8_lossy(&encoded).into_owned();
        let body = match rng.below(4) {
            0 => format!("data={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()).into_bytes(),
            1 => format!("data={text}&compression=base64").into_bytes(),
            2 => encoded,
            _ => mutate(&mut rng, format!("x=1&data={}", String::from_utf8_lossy(&json)).into_bytes()),
        };
        let content_type = rng.chance(2).then_some("application/x-www-form-urlencoded");
        let parts = Parts { content_type, query: Some("compression=base64&ver=1.0"), ..Parts::default() };
        match decode(Protocol::Legacy, parts, &body, MAX) {
            Ok(_) => accepted += 1,
            Err(e) => assert!(client_status(e.status), "{e}"),
        }
    }
    report("decode_form_base64", n, accepted);
}

#[test]
fn fuzz_key_scan() {
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(5);
    for _ in 0..n {
        let body = body(&mut rng);
        let scanned = key_of(Protocol::Legacy, None, &body);
        if let Ok(key) = &scanned {
            accepted += 1;
            assert!(!key.is_empty());
        }
        // Property: whenever parse accepts a body, the scan found the same key (the key
        // checked before parsing is the one stored under).
        if let Ok(prepared) = prepare(Parts::default(), &body, MAX) {
            if let Ok(decoded) = parse(Protocol::Legacy, Parts::default(), prepared) {
                assert_eq!(
                    scanned.as_deref().ok(),
                    Some(decoded.api_key.as_str()),
                    "{}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }
    report("key_scan", n, accepted);
}

/// The decoded-size pass never panics, and whatever JSON parse reads, it sizes (a body
/// charged to --max-buffered-mb before parsing must not be refused as bad JSON by it).
#[test]
fn fuzz_decoded_size() {
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(6);
    for _ in 0..n {
        let body = body(&mut rng);
        let sized = decoded_size(&body);
        if let Ok(size) = sized {
            accepted += 1;
            assert!(size >= body.len());
        }
        if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
            assert!(sized.is_ok(), "{}", String::from_utf8_lossy(&body));
        }
    }
    report("decoded_size", n, accepted);
}

#[test]
fn fuzz_headers() {
    let (n, mut accepted) = (inputs(), 0);
    let mut rng = Rng::new(6);
    let encodings =
        ["gzip", "GZIP", "x-gzip", "deflate", "identity", "br", "gzip, gzip", " ", "gzip;q=0", "\t", "zstd"];
    let queries = [
        "compression=gzip-js",
        "compression=lz64",
        "compression=%FF",
        "compression",
        "a=b&compression=base64",
        "%%%",
        "compression=gzip&compression=lz64",
    ];
    for _ in 0..n {
        let mut raw: Vec<u8> = rng.pick(&encodings).as_bytes().to_vec();
        if rng.chance(2) {
            raw = mutate(&mut rng, raw);
        }
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_static("content-encoding");
        let mut sent = 0;
        for _ in 0..rng.below(3) {
            if let Ok(value) = HeaderValue::from_bytes(&raw) {
                headers.append(name.clone(), value);
                sent += 1;
            }
        }
        let value = single(&headers, "content-encoding", Status::UnsupportedMediaType);
        // Property: exactly one visible-ASCII value passes; two never do.
        if sent > 1 {
            assert!(value.is_err());
        }
        let query = rng.pick(&queries).as_bytes().to_vec();
        let query = String::from_utf8_lossy(&mutate(&mut rng, query)).into_owned();
        let auth = String::from_utf8_lossy(&mutate(&mut rng, b"Bearer llmc_key".to_vec())).into_owned();
        let _ = bearer(Some(&auth));
        let body: &[u8] = if rng.chance(2) { &[0x1f, 0x8b, 8, 0] } else { b"{}" };
        let encoding = value.ok().flatten();
        let parts = Parts { content_encoding: encoding.as_deref(), query: Some(&query), ..Parts::default() };
        match compression_of(parts, body) {
            Ok(method) => {
                accepted += 1;
                assert!(matches!(method, "gzip" | "deflate" | "plain"));
            }
            Err(e) => assert_eq!(e.status, Status::UnsupportedMediaType),
        }
    }
    report("headers", n, accepted);
}
