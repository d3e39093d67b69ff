//! From an HTTP request to what `capture_with_key` takes: the API key and a `{"batch":
//! [...]}` payload. Pure (no I/O), so every body an SDK can send is a unit test.
//!
//! What arrives: posthog-python and posthog-node POST `{"api_key", "batch", "sent_at"}` to
//! `/batch/` or `/i/v0/ai/batch/` (gzip with `Content-Encoding`); capture v1 POSTs
//! `{"created_at", "batch"}` to `/i/v1/analytics/events` with `Authorization: Bearer`;
//! posthog-js POSTs one event or an array to `/e/` or `/i/v0/e/`, gzip announced by
//! `?compression=gzip-js`, or a form `data=<base64>`, its key in each event's
//! `properties.token`. Only events `capture()` stores are forwarded; the others (a
//! `$pageview` the same SDK sends) are acknowledged and ignored, so they cannot make a
//! batch of AI events fail.

use crate::error::{Rejection, Status};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use flate2::read::{GzDecoder, ZlibDecoder};
use llm_clusters_engine::capture::AI_EVENTS;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::io::Read;

/// The two wire protocols: PostHog's legacy one (`/batch/`, `/e/`, ...) and capture v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Legacy,
    V1,
}

/// The protocol of a path PostHog SDKs post events to; `None` for any other path.
pub fn protocol_of(path: &str) -> Option<Protocol> {
    match path.strip_suffix('/').unwrap_or(path) {
        "/batch" | "/i/v0/ai/batch" | "/e" | "/i/v0/e" | "/capture" => Some(Protocol::Legacy),
        "/i/v1/analytics/events" => Some(Protocol::V1),
        _ => None,
    }
}

/// The request headers and query string that decoding reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Parts<'a> {
    pub query: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    pub authorization: Option<&'a str>,
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub api_key: String,
    /// `{"batch": [...]}`: the events capture() stores, credentials removed.
    pub payload: Value,
    /// The uuid of every event received (capture v1 answers per uuid).
    pub uuids: Vec<String>,
    pub received: usize,
    /// Well-formed events that capture() does not store (not `$ai_*`).
    pub ignored: usize,
    /// How the body was compressed: "gzip", "deflate" or "plain".
    pub compression: &'static str,
}

/// Decodes a request body of at most `max_bytes` (also once decompressed): `prepare`,
/// then `parse`. The server runs them apart, checking the key in between.
pub fn decode(protocol: Protocol, parts: Parts<'_>, body: &[u8], max_bytes: usize) -> Result<Decoded, Rejection> {
    let prepared = prepare(parts, body, max_bytes)?;
    parse(protocol, parts, prepared)
}

/// A body decompressed and unwrapped (form, base64): the JSON text, not yet parsed.
#[derive(Debug)]
pub struct Prepared<'a> {
    pub compression: &'static str,
    pub bytes: Cow<'a, [u8]>,
}

/// Decompresses (streaming, never past `max_bytes`) and unwraps posthog-js's form and
/// base64. Allocates at most `max_bytes` beyond the body, whatever the body claims.
pub fn prepare<'a>(parts: Parts<'_>, body: &'a [u8], max_bytes: usize) -> Result<Prepared<'a>, Rejection> {
    let method = compression_of(parts, body)?;
    let bytes = match method {
        "plain" => Cow::Borrowed(body),
        _ => Cow::Owned(inflate(method, body, max_bytes)?),
    };
    let bytes = unwrap_form(parts.content_type, bytes, max_bytes)?;
    Ok(Prepared { compression: method, bytes })
}

/// Parses a prepared body into events and the key.
pub fn parse(protocol: Protocol, parts: Parts<'_>, prepared: Prepared<'_>) -> Result<Decoded, Rejection> {
    let compression = prepared.compression;
    let value: Value = serde_json::from_slice(&prepared.bytes)
        .map_err(|e| Rejection::bad_request("invalid_payload", format!("body is not JSON: {e}")))?;
    drop(prepared);
    // When the SDK sent the batch (its clock): capture() corrects the events' timestamps by it.
    let sent_at = value.get(if protocol == Protocol::V1 { "created_at" } else { "sent_at" }).cloned();
    let (mut events, body_key) = events_of(value)?;
    let event_keys = take_event_keys(&mut events);
    let api_key = match (protocol, bearer(parts.authorization)) {
        (_, Some(key)) => key.to_string(),
        (Protocol::V1, None) => return Err(missing_bearer()),
        (Protocol::Legacy, None) => match body_key {
            Some(key) => key,
            None => one_key(event_keys)?,
        },
    };
    if protocol == Protocol::V1 {
        events.iter_mut().for_each(from_v1);
    }
    let uuids = events.iter().filter_map(|e| e.get("uuid").and_then(Value::as_str).map(str::to_string)).collect();
    let received = events.len();
    let stored: Vec<Value> = events.into_iter().filter(stored_by_capture).collect();
    let ignored = received - stored.len();
    let mut payload = serde_json::json!({ "batch": stored });
    if let Some(sent_at) = sent_at.filter(Value::is_string) {
        payload["sent_at"] = sent_at;
    }
    Ok(Decoded { api_key, payload, uuids, received, ignored, compression })
}

/// How the body is compressed: "gzip", "deflate" or "plain". `Content-Encoding` first
/// (one encoding only: a list such as "gzip, gzip" is refused, not half-decoded), then
/// posthog-js's `?compression=`, then gzip's magic bytes.
pub fn compression_of(parts: Parts<'_>, body: &[u8]) -> Result<&'static str, Rejection> {
    let query = parts.query.unwrap_or("");
    let compression = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "compression").map(|(_, v)| v);
    let declared =
        parts.content_encoding.map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty() && e != "identity");
    match (declared.as_deref(), compression.as_deref()) {
        (Some("gzip" | "x-gzip"), _) => Ok("gzip"),
        (Some("deflate"), _) => Ok("deflate"),
        (Some(other), _) => Err(Rejection::new(
            Status::UnsupportedMediaType,
            "unsupported_encoding",
            format!("Content-Encoding {:?} is not supported: send one of gzip, deflate or none", clip(other)),
        )),
        (None, Some("gzip" | "gzip-js")) => Ok("gzip"),
        (None, Some("lz64" | "lz-string")) => Err(Rejection::new(
            Status::UnsupportedMediaType,
            "unsupported_encoding",
            "lz64 compression is not supported: configure the SDK for gzip or none",
        )),
        // An undeclared gzip body (its magic bytes) is still gzip.
        (None, _) if body.starts_with(&[0x1f, 0x8b]) => Ok("gzip"),
        (None, _) => Ok("plain"),
    }
}

/// At most 64 characters of a client's text in a message (logs stay small).
pub fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

fn inflate(method: &str, body: &[u8], max_bytes: usize) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    let read = match method {
        "gzip" => inflate_into(GzDecoder::new(body), max_bytes, &mut out),
        _ => inflate_into(ZlibDecoder::new(body), max_bytes, &mut out),
    };
    match read {
        Ok(()) => Ok(out),
        Err(InflateError::TooLarge) => Err(too_large(max_bytes, "once decompressed")),
        Err(InflateError::Invalid(e)) => {
            Err(Rejection::bad_request("invalid_payload", format!("body is not valid {method}: {e}")))
        }
    }
}

#[derive(Debug)]
pub enum InflateError {
    TooLarge,
    Invalid(std::io::Error),
}

/// Reads `reader` into `out` by chunks, refusing as soon as more than `max_bytes` would be
/// held: the buffer never grows past `max_bytes` (growth is capped, not doubled past it),
/// so a bomb costs the cap, not what it inflates to.
pub fn inflate_into(mut reader: impl Read, max_bytes: usize, out: &mut Vec<u8>) -> Result<(), InflateError> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InflateError::Invalid(e)),
        };
        if n > max_bytes.saturating_sub(out.len()) {
            return Err(InflateError::TooLarge);
        }
        if out.capacity() - out.len() < n {
            // Double, but never beyond the cap.
            let grow = out.len().max(chunk.len()).min(max_bytes - out.len()).max(n);
            out.reserve_exact(grow);
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

pub fn too_large(max_bytes: usize, what: &str) -> Rejection {
    Rejection::new(
        Status::PayloadTooLarge,
        "payload_too_large",
        format!("body is larger than {max_bytes} bytes {what} (--max-body-mb): send smaller batches"),
    )
}

/// posthog-js may send `data=<base64 or JSON>` as a form (or the base64 text bare).
fn unwrap_form<'a>(
    content_type: Option<&str>,
    bytes: Cow<'a, [u8]>,
    max_bytes: usize,
) -> Result<Cow<'a, [u8]>, Rejection> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let looks_like_json = matches!(first, Some(b'{' | b'['));
    // A JSON body labelled as a form (curl's default) is JSON.
    let is_form = bytes.starts_with(b"data=")
        || (!looks_like_json
            && content_type
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")));
    let data: Cow<'a, [u8]> = if is_form {
        let field = form_urlencoded::parse(&bytes).find(|(k, _)| k == "data").map(|(_, v)| v.into_owned());
        match field {
            Some(text) => Cow::Owned(text.into_bytes()),
            None => return Err(Rejection::bad_request("invalid_payload", "form body without a \"data\" field")),
        }
    } else {
        bytes
    };
    let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{' | b'[') | None) {
        return Ok(data);
    }
    let text: Vec<u8> = data.iter().filter(|b| !b.is_ascii_whitespace()).copied().collect();
    let decoded = BASE64
        .decode(&text)
        .map_err(|e| Rejection::bad_request("invalid_payload", format!("body is neither JSON nor base64: {e}")))?;
    if decoded.len() > max_bytes {
        return Err(too_large(max_bytes, "once decoded"));
    }
    Ok(Cow::Owned(decoded))
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The events of a body and the key it carries at the top level, if any.
fn events_of(value: Value) -> Result<(Vec<Value>, Option<String>), Rejection> {
    match value {
        Value::Array(items) => Ok((items, None)),
        Value::Object(mut obj) => match obj.remove("batch") {
            Some(Value::Array(items)) => Ok((items, top_level_key(&obj))),
            Some(_) => Err(Rejection::bad_request("invalid_payload", "\"batch\" must be an array of events")),
            None => {
                let key = top_level_key(&obj);
                obj.remove("api_key");
                Ok((vec![Value::Object(obj)], key))
            }
        },
        _ => Err(Rejection::bad_request(
            "invalid_payload",
            "body must be an event object, an array of events or {\"batch\": [...]}",
        )),
    }
}

fn top_level_key(obj: &Map<String, Value>) -> Option<String> {
    ["api_key", "token"].iter().find_map(|k| non_empty(obj.get(*k)))
}

fn non_empty(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Removes each event's own credential (`api_key`, `properties.token`) and returns them.
fn take_event_keys(events: &mut [Value]) -> Vec<String> {
    let mut keys = Vec::new();
    for event in events.iter_mut().filter_map(Value::as_object_mut) {
        keys.extend(non_empty(event.remove("api_key").as_ref()));
        if let Some(props) = event.get_mut("properties").and_then(Value::as_object_mut) {
            keys.extend(non_empty(props.remove("token").as_ref()));
        }
    }
    keys
}

fn one_key(mut keys: Vec<String>) -> Result<String, Rejection> {
    keys.sort();
    keys.dedup();
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 => Err(Rejection::new(
            Status::Unauthorized,
            "missing_api_key",
            "no API key: send it as \"api_key\" in the body or as Authorization: Bearer <key>",
        )),
        n => Err(Rejection::bad_request(
            "invalid_payload",
            format!("the events carry {n} different API keys: send one team's events per request"),
        )),
    }
}

/// The key of `Authorization: Bearer <key>`, if that is how it was sent.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// The key a prepared body authenticates with, found without building the body's values
/// (a streaming pass that skips everything but `api_key` and `token` fields): the server
/// checks it before parsing, so a keyless or wrong-keyed client never gets the memory a
/// full parse of 20 MB of JSON costs (an array of numbers is 16 times its text). It
/// follows `parse`'s rules (`Authorization: Bearer`, the body's `api_key` or `token`, the
/// events' one key); a body `parse` would refuse may still name a key here, and
/// `parse` then refuses it.
pub fn key_of(protocol: Protocol, authorization: Option<&str>, bytes: &[u8]) -> Result<String, Rejection> {
    if let Some(key) = bearer(authorization) {
        return Ok(key.to_string());
    }
    if protocol == Protocol::V1 {
        return Err(missing_bearer());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let scan = serde::de::DeserializeSeed::deserialize(scan::Body, &mut de)
        .and_then(|scan| de.end().map(|()| scan))
        .map_err(|e| Rejection::bad_request("invalid_payload", format!("body is not JSON: {e}")))?;
    match scan {
        scan::Scan::Batch { top: Some(key), .. } => Ok(key),
        scan::Scan::Batch { top: None, events: Some(keys) } => one_key(keys),
        scan::Scan::Batch { events: None, .. } => {
            Err(Rejection::bad_request("invalid_payload", "\"batch\" must be an array of events"))
        }
        scan::Scan::Events(keys) => one_key(keys),
        scan::Scan::Single { top, token } => match top.or(token) {
            Some(key) => Ok(key),
            None => one_key(Vec::new()),
        },
        scan::Scan::Other => Err(Rejection::bad_request(
            "invalid_payload",
            "body must be an event object, an array of events or {\"batch\": [...]}",
        )),
    }
}

/// Bytes the `Value` that `parse` builds from `bytes` may take, found by a streaming pass
/// that builds nothing (within serde_json's depth limit): an upper estimate of
/// serde_json's layout (32 bytes a value; an array's vector at least 4 values and up to
/// twice its length; an object's B-tree nodes of 11 entries, one from its first entry;
/// strings and keys by their length, at least 16 bytes each) plus the text sent on to the
/// database. Small values cost far more than their text (`[0,0,...]` is 2 bytes of text a
/// value and up to 64 of memory; `[[0],[0],...]` 4 bytes and 160; `[{"a":0},...]` 8 bytes
/// and about 700), so a body of `--max-body-mb` could decode to 600 MB; the caller charges
/// this to `--max-buffered-mb` before parsing. `server/tests/decoded_size.rs` holds it
/// to what parsing takes.
pub fn decoded_size(bytes: &[u8]) -> Result<usize, Rejection> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let size = serde::de::DeserializeSeed::deserialize(size::Size, &mut de)
        .and_then(|size| de.end().map(|()| size))
        .map_err(|e| Rejection::bad_request("invalid_payload", format!("body is not JSON: {e}")))?;
    Ok(size.saturating_add(size::VALUE).saturating_add(bytes.len()))
}

/// The visitor of `decoded_size`.
mod size {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    /// One `Value`.
    pub const VALUE: usize = 32;
    /// A B-tree node of 11 (String, Value) entries, its links and lengths, and its share of
    /// the internal nodes above it (their 12 child pointers).
    const NODE: usize = 11 * (24 + VALUE) + 16 + 12 * 8;
    /// The smallest heap block a non-empty string takes.
    const MIN_STRING: usize = 16;
    /// The smallest vector capacity of a non-empty array (Rust's for 32-byte elements).
    const MIN_SLOTS: usize = 4;

    fn string(len: usize) -> usize {
        if len == 0 {
            0
        } else {
            len.max(MIN_STRING)
        }
    }

    /// A value's heap bytes (its own `VALUE` is its container's).
    pub struct Size;

    impl<'de> DeserializeSeed<'de> for Size {
        type Value = usize;
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Size {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_unit<E>(self) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_str<E>(self, v: &str) -> Result<usize, E> {
            Ok(string(v.len()))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let (mut total, mut n) = (0usize, 0usize);
            while let Some(element) = seq.next_element_seed(Size)? {
                total = total.saturating_add(element);
                n += 1;
            }
            // A vector grown by doubling: at most twice its length, at least MIN_SLOTS.
            let slots = if n == 0 { 0 } else { n.saturating_mul(2).max(MIN_SLOTS) };
            Ok(total.saturating_add(slots.saturating_mul(VALUE)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let (mut total, mut entries) = (0usize, 0usize);
            while let Some(key) = map.next_key::<KeyLen>()? {
                let value = map.next_value_seed(Size)?;
                total = total.saturating_add(string(key.0)).saturating_add(value);
                entries += 1;
            }
            // Nodes hold 11 entries, at least 5 once split, and one from the first entry.
            let nodes = if entries == 0 { 0 } else { 1 + entries / 5 };
            Ok(total.saturating_add(nodes.saturating_mul(NODE)))
        }
    }

    /// An object's key, by its length only.
    struct KeyLen(usize);

    impl<'de> serde::Deserialize<'de> for KeyLen {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyLen, D::Error> {
            struct Len;
            impl Visitor<'_> for Len {
                type Value = KeyLen;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_str<E>(self, v: &str) -> Result<KeyLen, E> {
                    Ok(KeyLen(v.len()))
                }
            }
            deserializer.deserialize_str(Len)
        }
    }
}

pub fn missing_bearer() -> Rejection {
    Rejection::new(Status::Unauthorized, "missing_api_key", "send the API key as Authorization: Bearer <key>")
}

/// Serde visitors for `key_of`: they keep the few strings that are keys and skip the rest
/// (`IgnoredAny`, within serde_json's depth limit). Duplicate fields: the last wins, as in
/// the `Value` that `parse` builds.
mod scan {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    pub enum Scan {
        /// `{"batch": [...]}`: its top-level key; `events: None` when batch is no array.
        Batch {
            top: Option<String>,
            events: Option<Vec<String>>,
        },
        /// An array of events: their keys.
        Events(Vec<String>),
        /// One event: its top-level `api_key`/`token`, else `properties.token`.
        Single {
            top: Option<String>,
            token: Option<String>,
        },
        Other,
    }

    /// At most this many distinct event keys are kept: two already mean "refused".
    const KEEP: usize = 2;

    fn keep(keys: &mut Vec<String>, key: Option<String>) {
        if let Some(key) = key {
            if keys.len() < KEEP && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }

    pub struct Body;

    impl<'de> DeserializeSeed<'de> for Body {
        type Value = Scan;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scan, D::Error> {
            d.deserialize_any(BodyVisitor)
        }
    }

    struct BodyVisitor;

    impl<'de> Visitor<'de> for BodyVisitor {
        type Value = Scan;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event, an array of events or a batch")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scan, A::Error> {
            Ok(Scan::Events(event_keys(seq)?))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scan, A::Error> {
            let (mut api_key, mut token, mut props_token) = (None, None, None);
            let mut batch: Option<Option<Vec<String>>> = None;
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::ApiKey => api_key = map.next_value_seed(Text)?,
                    Field::Token => token = map.next_value_seed(Text)?,
                    Field::Batch => batch = Some(map.next_value_seed(Batch)?),
                    Field::Properties => props_token = map.next_value_seed(Properties)?,
                    Field::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            let top = api_key.or(token);
            Ok(match batch {
                Some(events) => Scan::Batch { top, events },
                None => Scan::Single { top, token: props_token },
            })
        }
        fn visit_bool<E>(self, _: bool) -> Result<Scan, E> {
            Ok(Scan::Other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Scan, E> {
            Ok(Scan::Other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Scan, E> {
            Ok(Scan::Other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Scan, E> {
            Ok(Scan::Other)
        }
        fn visit_str<E>(self, _: &str) -> Result<Scan, E> {
            Ok(Scan::Other)
        }
        fn visit_unit<E>(self) -> Result<Scan, E> {
            Ok(Scan::Other)
        }
    }

    fn event_keys<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::new();
        while let Some(found) = seq.next_element_seed(Event)? {
            for key in found {
                keep(&mut keys, key);
            }
        }
        Ok(keys)
    }

    /// The names that matter; any other is skipped without keeping it.
    enum Field {
        ApiKey,
        Token,
        Batch,
        Properties,
        Other,
    }

    impl<'de> serde::Deserialize<'de> for Field {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
            d.deserialize_identifier(FieldVisitor)
        }
    }

    struct FieldVisitor;

    impl<'de> Visitor<'de> for FieldVisitor {
        type Value = Field;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a field name")
        }
        fn visit_str<E>(self, name: &str) -> Result<Field, E> {
            Ok(match name {
                "api_key" => Field::ApiKey,
                "token" => Field::Token,
                "batch" => Field::Batch,
                "properties" => Field::Properties,
                _ => Field::Other,
            })
        }
    }

    /// A non-empty string, or `None` for anything else (skipped).
    struct Text;

    impl<'de> DeserializeSeed<'de> for Text {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
            d.deserialize_any(TextVisitor)
        }
    }

    struct TextVisitor;

    impl<'de> Visitor<'de> for TextVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_str<E>(self, v: &str) -> Result<Option<String>, E> {
            Ok(Some(v.to_string()).filter(|s| !s.is_empty()))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }

    /// `"batch"`: the keys of its events, `None` when it is not an array.
    struct Batch;

    impl<'de> DeserializeSeed<'de> for Batch {
        type Value = Option<Vec<String>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(BatchVisitor)
        }
    }

    struct BatchVisitor;

    impl<'de> Visitor<'de> for BatchVisitor {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            event_keys(seq).map(Some)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    /// One event of an array: its `api_key` and its `properties.token`.
    struct Event;

    impl<'de> DeserializeSeed<'de> for Event {
        type Value = [Option<String>; 2];
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(EventVisitor)
        }
    }

    struct EventVisitor;

    impl<'de> Visitor<'de> for EventVisitor {
        type Value = [Option<String>; 2];
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut api_key, mut token) = (None, None);
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::ApiKey => api_key = map.next_value_seed(Text)?,
                    Field::Properties => token = map.next_value_seed(Properties)?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok([api_key, token])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok([None, None])
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok([None, None])
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok([None, None])
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok([None, None])
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok([None, None])
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok([None, None])
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok([None, None])
        }
    }

    /// `"properties"`: its `token`, when it is an object.
    struct Properties;

    impl<'de> DeserializeSeed<'de> for Properties {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
            d.deserialize_any(PropertiesVisitor)
        }
    }

    struct PropertiesVisitor;

    impl<'de> Visitor<'de> for PropertiesVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut token = None;
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::Token => token = map.next_value_seed(Text)?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(token)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Option<String>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<String>, E> {
            Ok(None)
        }
    }
}

/// Capture v1 lifts `$session_id` and `$window_id` out of the properties and adds
/// `options`: back to the legacy shape capture() reads.
fn from_v1(event: &mut Value) {
    let Some(obj) = event.as_object_mut() else { return };
    // posthog-node moves $ignore_sent_at into options.disable_skew_correction: move it back.
    let keep_timestamp = obj.remove("options").and_then(|o| o.get("disable_skew_correction").and_then(Value::as_bool));
    if let Some(keep) = keep_timestamp {
        let props = obj.entry("properties").or_insert_with(|| Value::Object(Map::new()));
        if let Some(props) = props.as_object_mut() {
            props.entry("$ignore_sent_at").or_insert(Value::Bool(keep));
        }
    }
    for (field, property) in [("session_id", "$session_id"), ("window_id", "$window_id")] {
        if let Some(value) = obj.remove(field) {
            let props = obj.entry("properties").or_insert_with(|| Value::Object(Map::new()));
            if let Some(props) = props.as_object_mut() {
                props.entry(property).or_insert(value);
            }
        }
    }
}

/// Whether capture() stores this event. An event that is not even well-formed is
/// forwarded, so that capture() rejects the request and says what is wrong.
fn stored_by_capture(event: &Value) -> bool {
    match event.get("event") {
        Some(Value::String(name)) => AI_EVENTS.contains(&name.as_str()),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use serde_json::json;
    use std::io::Write;

    const MAX: usize = 1 << 20;

    fn generation(uuid: &str) -> Value {
        json!({"event": "$ai_generation", "uuid": uuid, "distinct_id": "u",
               "properties": {"$ai_trace_id": "t1", "$ai_input": "hi"}})
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn legacy(parts: Parts<'_>, body: &[u8]) -> Result<Decoded, Rejection> {
        decode(Protocol::Legacy, parts, body, MAX)
    }

    #[test]
    fn paths_of_the_sdks() {
        for path in ["/batch/", "/batch", "/i/v0/ai/batch/", "/e/", "/i/v0/e/", "/capture/", "/capture"] {
            assert_eq!(protocol_of(path), Some(Protocol::Legacy), "{path}");
        }
        assert_eq!(protocol_of("/i/v1/analytics/events"), Some(Protocol::V1));
        for path in ["/", "/decide/", "/batch//", "/flags", "/i/v0/ai"] {
            assert_eq!(protocol_of(path), None, "{path}");
        }
    }

    #[test]
    fn python_batch_body() {
        let body =
            json!({"api_key": "k1", "batch": [generation("a"), generation("b")], "sent_at": "2026-12-01T00:00:00Z"});
        let d = legacy(Parts::default(), body.to_string().as_bytes()).unwrap();
        assert_eq!(d.api_key, "k1");
        assert_eq!(d.payload, json!({"batch": [generation("a"), generation("b")], "sent_at": "2026-12-01T00:00:00Z"}));
        assert_eq!((d.received, d.ignored, d.compression), (2, 0, "plain"));
    }

    #[test]
    fn gzip_by_header_by_query_and_by_magic() {
        let body = gzip(json!({"api_key": "k1", "batch": [generation("a")]}).to_string().as_bytes());
        let by_header = Parts { content_encoding: Some("gzip"), ..Parts::default() };
        let by_query = Parts { query: Some("compression=gzip-js&ver=1.2"), ..Parts::default() };
        for parts in [by_header, by_query, Parts::default()] {
            let d = legacy(parts, &body).unwrap();
            assert_eq!((d.api_key.as_str(), d.compression), ("k1", "gzip"));
        }
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(json!({"api_key": "k2", "batch": []}).to_string().as_bytes()).unwrap();
        let deflate = Parts { content_encoding: Some("Deflate"), ..Parts::default() };
        assert_eq!(legacy(deflate, &zlib.finish().unwrap()).unwrap().api_key, "k2");
    }

    #[test]
    fn truncated_or_false_gzip_is_a_bad_request() {
        let body = gzip(json!({"api_key": "k1", "batch": [generation("a")]}).to_string().as_bytes());
        let gz = Parts { content_encoding: Some("gzip"), ..Parts::default() };
        let err = legacy(gz, &body[..body.len() / 2]).unwrap_err();
        assert_eq!(err.status, Status::BadRequest);
        assert!(err.detail.contains("not valid gzip"), "{}", err.detail);
        assert_eq!(legacy(gz, b"{\"plain\": true}").unwrap_err().status, Status::BadRequest);
        let br = Parts { content_encoding: Some("br"), ..Parts::default() };
        assert_eq!(legacy(br, b"{}").unwrap_err().status, Status::UnsupportedMediaType);
        let lz = Parts { query: Some("compression=lz64"), ..Parts::default() };
        assert_eq!(legacy(lz, b"xyz").unwrap_err().status, Status::UnsupportedMediaType);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let body = gzip(&vec![b' '; 4 * MAX]);
        let err = legacy(Parts { content_encoding: Some("gzip"), ..Parts::default() }, &body).unwrap_err();
        assert_eq!(err.status, Status::PayloadTooLarge);
        assert!(err.detail.contains("once decompressed"));
    }

    #[test]
    fn posthog_js_form_base64_and_token_in_properties() {
        let mut event = generation("a");
        event["properties"]["token"] = json!("js-key");
        let encoded = BASE64.encode(json!([event]).to_string());
        let form: String = form_urlencoded::Serializer::new(String::new()).append_pair("data", &encoded).finish();
        let parts = Parts {
            content_type: Some("application/x-www-form-urlencoded"),
            query: Some("compression=base64"),
            ..Parts::default()
        };
        let d = legacy(parts, form.as_bytes()).unwrap();
        assert_eq!(d.api_key, "js-key");
        // The credential is not stored with the event.
        assert_eq!(d.payload, json!({"batch": [generation("a")]}));
        // Bare base64, and a form holding JSON.
        assert_eq!(legacy(Parts::default(), encoded.trim_end_matches('=').as_bytes()).unwrap().api_key, "js-key");
        let json_form = format!(
            "data={}",
            form_urlencoded::byte_serialize(json!({"api_key": "k", "batch": []}).to_string().as_bytes())
                .collect::<String>()
        );
        assert_eq!(legacy(Parts::default(), json_form.as_bytes()).unwrap().api_key, "k");
        let form_type = Parts { content_type: Some("application/x-www-form-urlencoded"), ..Parts::default() };
        assert!(legacy(form_type, b"x=1").is_err());
        assert_eq!(
            legacy(form_type, json!({"api_key": "k", "batch": []}).to_string().as_bytes()).unwrap().api_key,
            "k"
        );
    }

    #[test]
    fn single_event_with_its_key() {
        let mut event = generation("a");
        event["api_key"] = json!("single");
        let d = legacy(Parts::default(), event.to_string().as_bytes()).unwrap();
        assert_eq!(d.api_key, "single");
        assert_eq!(d.payload, json!({"batch": [generation("a")]}));
    }

    #[test]
    fn keys_bearer_wins_missing_and_conflicting() {
        let body = json!({"api_key": "in-body", "batch": []}).to_string();
        let bearer = Parts { authorization: Some("Bearer  from-header "), ..Parts::default() };
        assert_eq!(legacy(bearer, body.as_bytes()).unwrap().api_key, "from-header");
        let basic = Parts { authorization: Some("Basic abc"), ..Parts::default() };
        assert_eq!(legacy(basic, body.as_bytes()).unwrap().api_key, "in-body");
        let none = legacy(Parts::default(), json!({"batch": [generation("a")]}).to_string().as_bytes()).unwrap_err();
        assert_eq!(none.status, Status::Unauthorized);
        let empty = legacy(Parts::default(), json!({"api_key": "", "batch": []}).to_string().as_bytes()).unwrap_err();
        assert_eq!(empty.status, Status::Unauthorized);
        let mut a = generation("a");
        a["properties"]["token"] = json!("one");
        let mut b = generation("b");
        b["properties"]["token"] = json!("two");
        let two = legacy(Parts::default(), json!([a, b]).to_string().as_bytes()).unwrap_err();
        assert_eq!(two.status, Status::BadRequest);
        assert!(two.detail.contains("2 different API keys"));
    }

    #[test]
    fn capture_v1_needs_bearer_and_gets_the_legacy_shape() {
        let body = json!({"created_at": "2026-12-01T00:00:00Z", "batch": [
            {"event": "$ai_generation", "uuid": "u1", "distinct_id": "d", "timestamp": "2026-12-01T00:00:00Z",
             "session_id": "s1", "window_id": "w1", "options": {"cookieless_mode": false, "disable_skew_correction": true},
             "properties": {"$ai_trace_id": "t"}},
            {"event": "$pageview", "uuid": "u2", "distinct_id": "d", "options": {}, "properties": {}}]})
        .to_string();
        let err = decode(Protocol::V1, Parts::default(), body.as_bytes(), MAX).unwrap_err();
        assert_eq!(err.status, Status::Unauthorized);
        let parts = Parts { authorization: Some("Bearer k"), ..Parts::default() };
        let d = decode(Protocol::V1, parts, body.as_bytes(), MAX).unwrap();
        assert_eq!(d.uuids, vec!["u1", "u2"]);
        assert_eq!((d.received, d.ignored), (2, 1));
        assert_eq!(
            d.payload,
            json!({"batch": [{"event": "$ai_generation", "uuid": "u1", "distinct_id": "d", "timestamp": "2026-12-01T00:00:00Z",
                              "properties": {"$ai_trace_id": "t", "$session_id": "s1", "$window_id": "w1", "$ignore_sent_at": true}}],
                   "sent_at": "2026-12-01T00:00:00Z"})
        );
    }

    #[test]
    fn other_events_are_ignored_malformed_ones_forwarded() {
        let body = json!({"api_key": "k", "batch": [
            {"event": "$pageview", "properties": {}}, {"event": "$identify"}, generation("a"),
            {"event": "$ai_span", "properties": {"$ai_trace_id": "t"}}, {"properties": {}}, 7]})
        .to_string();
        let d = legacy(Parts::default(), body.as_bytes()).unwrap();
        assert_eq!((d.received, d.ignored), (6, 2));
        assert_eq!(d.payload["batch"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn bodies_that_are_not_events() {
        for body in [&b"not json"[..], b"{\"batch\": {}}", b"42", b"\"text\"", b"{\"api_key\": \"k\", \"batch\": [1, 2"]
        {
            let err = legacy(Parts::default(), body).unwrap_err();
            assert_eq!(err.status, Status::BadRequest, "{:?}", String::from_utf8_lossy(body));
        }
        // Deeply nested JSON is refused by the parser's depth limit, not by a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(legacy(Parts::default(), deep.as_bytes()).unwrap_err().status, Status::BadRequest);
        // An empty body is no JSON.
        assert_eq!(legacy(Parts::default(), b"").unwrap_err().status, Status::BadRequest);
    }

    #[test]
    fn a_bomb_never_grows_the_buffer_past_the_cap() {
        // 64 MB of zeros compress to ~64 KB; the cap is 1 MB.
        let bomb = gzip(&vec![0u8; 64 * MAX]);
        assert!(bomb.len() < 128 * 1024);
        let mut out = Vec::new();
        let err = inflate_into(GzDecoder::new(&bomb[..]), MAX, &mut out).unwrap_err();
        assert!(matches!(err, InflateError::TooLarge), "{err:?}");
        // What was held when it stopped: never more than the cap, allocation included.
        assert!(out.len() <= MAX && out.capacity() <= MAX, "len {} capacity {}", out.len(), out.capacity());
        // Exactly at the cap is accepted, one byte more is not.
        let mut out = Vec::new();
        inflate_into(GzDecoder::new(&gzip(&vec![b' '; MAX])[..]), MAX, &mut out).unwrap();
        assert_eq!((out.len(), out.capacity() <= MAX), (MAX, true));
        let mut out = Vec::new();
        assert!(inflate_into(GzDecoder::new(&gzip(&vec![b' '; MAX + 1])[..]), MAX, &mut out).is_err());
        // zlib and undeclared gzip too, through prepare.
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(&vec![b'['; 8 * MAX]).unwrap();
        let deflate = Parts { content_encoding: Some("deflate"), ..Parts::default() };
        assert_eq!(prepare(deflate, &zlib.finish().unwrap(), MAX).unwrap_err().status, Status::PayloadTooLarge);
        assert_eq!(prepare(Parts::default(), &bomb, MAX).unwrap_err().status, Status::PayloadTooLarge);
    }

    #[test]
    fn odd_content_encodings() {
        let body = gzip(b"{}");
        for (encoding, status) in [
            ("gzip, gzip", Status::UnsupportedMediaType),
            ("gzip,deflate", Status::UnsupportedMediaType),
            ("identity, gzip", Status::UnsupportedMediaType),
            ("br", Status::UnsupportedMediaType),
            ("gzip;q=1", Status::UnsupportedMediaType),
        ] {
            let parts = Parts { content_encoding: Some(encoding), ..Parts::default() };
            assert_eq!(prepare(parts, &body, MAX).unwrap_err().status, status, "{encoding}");
        }
        let long = "x".repeat(10_000);
        let err = prepare(Parts { content_encoding: Some(&long), ..Parts::default() }, &body, MAX).unwrap_err();
        assert!(err.detail.len() < 200, "the message quotes at most 64 characters");
        for ok in [" GZIP ", "x-gzip", "identity", ""] {
            let parts = Parts { content_encoding: Some(ok), ..Parts::default() };
            assert!(prepare(parts, &body, MAX).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn the_key_is_found_without_parsing_and_agrees_with_parse() {
        let key = |body: &Value| key_of(Protocol::Legacy, None, body.to_string().as_bytes());
        let mut tokened = generation("a");
        tokened["properties"]["token"] = json!("js");
        let cases = [
            json!({"api_key": "k1", "batch": [generation("a")]}),
            json!({"token": "k2", "batch": []}),
            json!({"api_key": "", "token": "k3", "batch": []}),
            json!({"api_key": 7, "batch": [tokened.clone()]}),
            json!([tokened.clone(), tokened.clone(), 5, "x"]),
            json!({"event": "$ai_span", "api_key": "single"}),
            json!({"event": "$ai_span", "properties": {"token": "props"}}),
        ];
        for body in cases {
            let parsed = legacy(Parts::default(), body.to_string().as_bytes()).unwrap();
            assert_eq!(key(&body).unwrap(), parsed.api_key, "{body}");
        }
        // Duplicate fields: the last wins, as in serde_json's Value.
        let dup = br#"{"api_key": "first", "api_key": "last", "batch": []}"#;
        assert_eq!(key_of(Protocol::Legacy, None, dup).unwrap(), legacy(Parts::default(), dup).unwrap().api_key);
        // No key, two keys, not events, not JSON: refused as parse refuses them.
        let mut other = generation("b");
        other["properties"]["token"] = json!("other");
        for (body, status) in [
            (json!({"batch": [generation("a")]}).to_string(), Status::Unauthorized),
            (json!([tokened, other]).to_string(), Status::BadRequest),
            (json!({"api_key": "", "batch": {}}).to_string(), Status::BadRequest),
            ("42".to_string(), Status::BadRequest),
            ("{\"api_key\": \"k\"".to_string(), Status::BadRequest),
            // Skipping is iterative in serde_json (no depth limit, no stack): keyless.
            (format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)), Status::Unauthorized),
        ] {
            assert_eq!(key_of(Protocol::Legacy, None, body.as_bytes()).unwrap_err().status, status, "{body:.60}");
        }
        // The header wins; capture v1 has no other way.
        assert_eq!(key_of(Protocol::V1, Some("Bearer h"), b"garbage").unwrap(), "h");
        assert_eq!(key_of(Protocol::V1, None, b"{\"api_key\": \"k\"}").unwrap_err().status, Status::Unauthorized);
    }

    #[test]
    fn a_keyless_array_of_numbers_is_refused_by_the_scan() {
        // 10 MB of "0," would be 5 million Values (160 MB) in a full parse; the scan holds none.
        let mut body = b"{\"batch\": [".to_vec();
        body.extend(std::iter::repeat_n(&b"0,"[..], 5_000_000).flatten());
        body.extend(b"0]}");
        assert_eq!(key_of(Protocol::Legacy, None, &body).unwrap_err().status, Status::Unauthorized);
    }
}
