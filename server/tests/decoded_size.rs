//! `decode::decoded_size` is charged to `--max-buffered-mb` before a body is parsed, so it
//! must not be less than what parsing takes: each shape below (those that cost the most
//! memory per byte of text, and ordinary SDK batches) is parsed under a counting
//! allocator, and its peak heap is compared with the estimate.

use llm_clusters_server::decode::decoded_size;
use serde_json::Value;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::SeqCst) + new_size - layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak heap a parse of `text` into a `Value` took (the text itself not counted).
fn parse_peak(text: &[u8]) -> usize {
    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let value: Value = serde_json::from_slice(text).unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - before;
    drop(value);
    peak
}

#[test]
fn the_estimate_covers_what_parsing_takes() {
    let event = r#"{"event": "$ai_generation", "uuid": "0190b9c6-6c4c-7bd5-9e3c-0c4d1a2b3c4d", "distinct_id": "user-1",
                    "properties": {"$ai_trace_id": "t1", "$ai_model": "gpt-4o", "$ai_input_tokens": 12,
                                   "$ai_input": [{"role": "user", "content": "how do I reset my password?"}],
                                   "$ai_output_choices": [{"role": "assistant", "content": "Open settings."}]}}"#;
    let repeat = |unit: &str, n: usize| -> String { vec![unit; n].join(",") };
    let shapes: Vec<(&str, String)> = vec![
        ("zeros", format!(r#"{{"api_key": "k", "batch": [{}]}}"#, repeat("0", 200_000))),
        ("empty objects", format!(r#"{{"batch": [{}]}}"#, repeat("{}", 100_000))),
        ("one-entry objects", format!(r#"{{"batch": [{}]}}"#, repeat(r#"{"a":0}"#, 100_000))),
        (
            "twelve-entry objects",
            format!(
                r#"{{"batch": [{}]}}"#,
                repeat(r#"{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0}"#, 20_000)
            ),
        ),
        ("empty arrays", format!("[{}]", repeat("[]", 100_000))),
        ("nested arrays", format!("[{}]", repeat("[[[[0]]]]", 50_000))),
        ("short strings", format!("[{}]", repeat(r#""ab""#, 100_000))),
        (
            "messages",
            format!(
                r#"{{"batch": [{{"event": "$ai_generation", "properties": {{"$ai_trace_id": "t", "$ai_input": [{}]}}}}]}}"#,
                repeat(r#"{"role":"user","content":"hi"}"#, 50_000)
            ),
        ),
        ("SDK batch", format!(r#"{{"api_key": "k", "batch": [{}]}}"#, repeat(event, 2_000))),
        ("long strings", format!(r#"{{"batch": [{}]}}"#, repeat(&format!(r#""{}""#, "x".repeat(100_000)), 20))),
    ];
    for (name, text) in shapes {
        let estimate = decoded_size(text.as_bytes()).unwrap();
        let peak = parse_peak(text.as_bytes());
        println!("{name}: {} bytes of text, parsing took {peak} bytes, estimated {estimate}", text.len());
        assert!(estimate >= peak, "{name}: estimated {estimate} bytes, parsing took {peak}");
        // Not so far above that ordinary batches are refused: at most 8 times, and the SDK's
        // batches (mostly text) at most 4 times their text.
        assert!(estimate <= 8 * peak.max(text.len()), "{name}: estimated {estimate}, parsing took {peak}");
    }
}
