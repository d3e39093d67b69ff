//! Decoding the datums of embedding columns (real[], float8[], pgvector's vector and
//! halfvec) straight from their storage; the layout knowledge of pgvector's types is the
//! engine's (`vectors::decode_pgvector`).

use llm_clusters_engine::source::EmbeddingKind;
use llm_clusters_engine::vectors::decode_pgvector;
use pgrx::prelude::*;

/// Reads an embedding datum without copying it through a Rust array type: detoast, read
/// the floats, free the detoasted copy. Returns false for a value it cannot use.
pub unsafe fn decode_embedding(datum: pg_sys::Datum, kind: EmbeddingKind, out: &mut Vec<f32>) -> bool {
    let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
    let detoasted = pg_sys::pg_detoast_datum(raw);
    let ok = match kind {
        EmbeddingKind::Real | EmbeddingKind::Double => {
            let Some(ptr) = std::ptr::NonNull::new(detoasted.cast::<pg_sys::ArrayType>()) else { return false };
            let mut array = pgrx::array::RawArray::from_ptr(ptr);
            // An empty array has no dimensions: it reads as no values (skipped as empty).
            if array.dims().is_empty() {
                true
            } else if array.dims().len() != 1 || array.nulls().is_some() {
                false
            } else if kind == EmbeddingKind::Real {
                out.extend_from_slice(array.data::<f32>().as_ref());
                true
            } else {
                out.extend(array.data::<f64>().as_ref().iter().map(|&x| x as f32));
                true
            }
        }
        EmbeddingKind::Vector | EmbeddingKind::HalfVec => {
            let bytes = std::slice::from_raw_parts(detoasted.cast::<u8>(), pgrx::varlena::varsize_any(detoasted));
            decode_pgvector(bytes, kind == EmbeddingKind::HalfVec, out)
        }
    };
    if detoasted != raw {
        pg_sys::pfree(detoasted.cast());
    }
    ok
}

/// A jsonb value read as its text (select it `::text`): parsed when it can be, else kept as a
/// JSON string of that text. jsonb holds numbers no f64 holds (`1e400`), which serde_json
/// refuses: one such event must not stop the work of every team, so the caller warns and
/// goes on with the text.
pub fn json_of_text(text: Option<String>) -> (Option<serde_json::Value>, Option<String>) {
    match text {
        None => (None, None),
        Some(text) => match serde_json::from_str(&text) {
            Ok(value) => (Some(value), None),
            Err(e) => (Some(serde_json::Value::String(text)), Some(e.to_string())),
        },
    }
}
