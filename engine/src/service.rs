//! The limits of talking to the AI service, apart from the I/O the extension does: how
//! long one call of `label_run` or `summarize_pending` may wait in all, how long to wait
//! after HTTP 429 (`Retry-After`), how many bytes of an answer are read, and what of a
//! failure may be stored where team readers see it.

use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A call of `label_run` or `summarize_pending` (all its requests and retries) may take at
/// most this many times `llm_clusters.ai_timeout_ms`; one request at most one timeout.
pub const CALL_TIMEOUTS: u32 = 2;

/// The longest wait a `Retry-After` may ask for; the deadline of the call bounds it too.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Bytes of a chat completion read at most (its answer is bounded by `max_tokens`).
pub const MAX_CHAT_RESPONSE_BYTES: u64 = 1 << 20;

/// Bytes of an embeddings answer read at most, per input: a vector of 8,192 dimensions
/// written as JSON decimals.
pub const MAX_EMBEDDING_RESPONSE_BYTES: u64 = 256 << 10;

/// When the AI work of one call must be done, and how long each request may take.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
    per_request: Duration,
}

impl Budget {
    /// The budget of a whole call: [`CALL_TIMEOUTS`] times `timeout` from `now`.
    pub fn for_call(timeout: Duration, now: Instant) -> Self {
        Self { deadline: now + timeout.saturating_mul(CALL_TIMEOUTS), per_request: timeout }
    }

    /// The budget of one request on its own (the embedder's batches).
    pub fn for_request(timeout: Duration, now: Instant) -> Self {
        Self { deadline: now + timeout, per_request: timeout }
    }

    /// When a request started at `now` must be done: a timeout from now, but not after the
    /// call's deadline. None: the budget is spent.
    pub fn request_deadline(&self, now: Instant) -> Option<Instant> {
        let deadline = self.deadline.min(now + self.per_request);
        (deadline > now).then_some(deadline)
    }
}

/// The wait an HTTP `Retry-After` value asks for (RFC 9110 10.2.3): delay-seconds (a
/// decimal fraction is accepted, as some services send it) or an IMF-fixdate, at most
/// [`MAX_RETRY_AFTER`]. None when there is no usable wait: not that grammar (`-1`, `1e30`,
/// `NaN`, `inf`), or a wait of more than a day, which no rate limit means.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match delay_seconds(value) {
        Some(seconds) => seconds,
        None => {
            let at = http_date(value)?;
            // A date in the past: retry now.
            at.duration_since(now).unwrap_or(Duration::ZERO).as_secs_f64()
        }
    };
    (wait <= 86_400.0).then(|| Duration::from_secs_f64(wait).min(MAX_RETRY_AFTER))
}

/// `1*DIGIT [ "." 1*DIGIT ]` as seconds; always finite and not negative.
fn delay_seconds(value: &str) -> Option<f64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    value.parse::<f64>().ok().filter(|s| s.is_finite())
}

/// An IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(value: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = value.split(' ').collect();
    let [_weekday, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let number = |s: &str, len: usize| -> Option<u64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (day, year) = (number(day, 2)?, number(year, 4)?);
    let month = MONTHS.iter().position(|m| m == month)? as u64 + 1;
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, s] = hms.as_slice() else { return None };
    let (h, m, s) = (number(h, 2)?, number(m, 2)?, number(s, 2)?);
    if !(1..=31).contains(&day) || year < 1970 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let seconds = days_from_epoch(year, month, day) * 86_400 + h * 3_600 + m * 60 + s;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, year >= 1970
/// (H. Hinnant's days_from_civil).
fn days_from_epoch(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Bytes of the answer to `request` read at most: a chat completion's, or an embeddings
/// answer's for as many inputs as the request has.
pub fn max_response_bytes(request: &Value) -> u64 {
    match request.get("input") {
        Some(Value::Array(inputs)) => (inputs.len() as u64 + 1).saturating_mul(MAX_EMBEDDING_RESPONSE_BYTES),
        Some(_) => 2 * MAX_EMBEDDING_RESPONSE_BYTES,
        None => MAX_CHAT_RESPONSE_BYTES,
    }
}

/// A URL as it may be shown to those who read stored results: no userinfo
/// (`user:password@`), no query string and no fragment (where keys are passed too).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}{host}{path}")
}

/// `detail` (an error of the HTTP client, for the server log) with the raw URL and its
/// userinfo replaced by their redacted forms.
pub fn redact_detail(detail: &str, url: &str) -> String {
    let redacted = redact_url(url);
    let mut out = detail.replace(url, &redacted);
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = &authority[..authority.find(['/', '?', '#']).unwrap_or(authority.len())];
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if !userinfo.is_empty() {
            out = out.replace(userinfo, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = at(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("0.2", now), Some(Duration::from_millis(200)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO), "past: now");
        assert_eq!(retry_after("Thu, 01 Jan 1970 00:00:00 GMT", at(0)), Some(Duration::ZERO));
        assert_eq!(retry_after("Tue, 29 Feb 2000 00:00:05 GMT", at(951_782_400)), Some(Duration::from_secs(5)));
    }

    #[test]
    fn retry_after_is_capped() {
        assert_eq!(retry_after("3600", at(0)), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("86400", at(0)), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn hostile_retry_after_values_are_no_usable_wait() {
        for value in [
            "-1",
            "1e30",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "+5",
            "",
            " ",
            "1.",
            ".5",
            "0x10",
            "5 s",
            "86401",
            "99999999999999999999999999999999999999999999999999999",
            &"9".repeat(400),
            "Sun, 06 Nov 9999 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "٣",
        ] {
            assert_eq!(retry_after(value, at(784_111_777)), None, "{value:?}");
        }
    }

    #[test]
    fn days_from_epoch_matches_known_dates() {
        assert_eq!(days_from_epoch(1970, 1, 1), 0);
        assert_eq!(days_from_epoch(2000, 3, 1), 11_017);
        assert_eq!(days_from_epoch(2026, 11, 20), 20_777);
    }

    #[test]
    fn a_request_never_outlives_the_call() {
        let now = Instant::now();
        let timeout = Duration::from_secs(10);
        let call = Budget::for_call(timeout, now);
        assert_eq!(call.request_deadline(now), Some(now + timeout));
        let late = now + Duration::from_secs(15);
        assert_eq!(call.request_deadline(late), Some(now + 2 * timeout), "cut to the call's deadline");
        assert_eq!(call.request_deadline(now + 2 * timeout), None, "spent");
        let one = Budget::for_request(timeout, now);
        assert_eq!(one.request_deadline(now + Duration::from_secs(5)), Some(now + timeout));
        assert_eq!(one.request_deadline(now + timeout), None);
    }

    #[test]
    fn answers_are_bounded_by_what_was_asked() {
        assert_eq!(max_response_bytes(&json!({"messages": []})), MAX_CHAT_RESPONSE_BYTES);
        assert_eq!(max_response_bytes(&json!({"input": ["a", "b", "c"]})), 4 * MAX_EMBEDDING_RESPONSE_BYTES);
        assert_eq!(max_response_bytes(&json!({"input": "a"})), 2 * MAX_EMBEDDING_RESPONSE_BYTES);
    }

    #[test]
    fn urls_lose_userinfo_query_and_fragment() {
        for (url, want) in [
            ("http://user:password@host/v1", "http://host/v1"),
            ("https://user:p%40ss@host:8443/v1/chat?api-key=secret#frag", "https://host:8443/v1/chat"),
            ("https://host/v1?key=1", "https://host/v1"),
            ("https://a@b@host/v1", "https://host/v1"),
            ("http://host/v1/x@y", "http://host/v1/x@y"),
            ("http://user:pw@host", "http://host"),
            ("user:pw@host/v1", "host/v1"),
            ("http://host:1/", "http://host:1/"),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn details_lose_the_userinfo_too() {
        let url = "http://user:hunter2@host/v1/chat/completions";
        let detail = "http: Connection refused for http://user:hunter2@host/v1/chat/completions (user:hunter2)";
        let redacted = redact_detail(detail, url);
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("http://host/v1/chat/completions"), "{redacted}");
        assert_eq!(redact_detail("timed out", "http://host/v1"), "timed out");
    }
}
