//! Decoding the datums of embedding columns (real[], float8[], pgvector's vector and
//! halfvec) straight from their storage; the layout knowledge of pgvector's types is the
//! engine's (`vectors::decode_pgvector`).

use llm_clusters_engine::source::EmbeddingKind;
use llm_clusters_engine::vectors::decode_pgvector;
use pgrx::prelude::*;

/// What `decode_embedding` made of a datum.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Its floats were appended (none for an empty array).
    Values,
    /// Not a usable embedding (several dimensions, NULL elements, a damaged vector).
    Unusable,
    /// Longer than the caller keeps: its length, nothing appended. A real[] or float8[]
    /// may hold 1 GB, which a copy into Rust memory (that PostgreSQL neither counts nor
    /// bounds) would double before any check.
    TooLong(usize),
}

/// Reads an embedding datum without copying it through a Rust array type: detoast, read
/// the floats (at most `max` of them), free the detoasted copy.
pub unsafe fn decode_embedding(datum: pg_sys::Datum, kind: EmbeddingKind, max: usize, out: &mut Vec<f32>) -> Decoded {
    let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
    let detoasted = pg_sys::pg_detoast_datum(raw);
    let decoded = match kind {
        EmbeddingKind::Real | EmbeddingKind::Double => {
            let Some(ptr) = std::ptr::NonNull::new(detoasted.cast::<pg_sys::ArrayType>()) else {
                return Decoded::Unusable;
            };
            let mut array = pgrx::array::RawArray::from_ptr(ptr);
            let length = array.dims().first().map_or(0, |&d| usize::try_from(d).unwrap_or(0));
            // An empty array has no dimensions: it reads as no values (skipped as empty).
            if array.dims().is_empty() {
                Decoded::Values
            } else if array.dims().len() != 1 || array.nulls().is_some() {
                Decoded::Unusable
            } else if length > max {
                Decoded::TooLong(length)
            } else if kind == EmbeddingKind::Real {
                out.extend_from_slice(array.data::<f32>().as_ref());
                Decoded::Values
            } else {
                out.extend(array.data::<f64>().as_ref().iter().map(|&x| x as f32));
                Decoded::Values
            }
        }
        EmbeddingKind::Vector | EmbeddingKind::HalfVec => {
            let bytes = std::slice::from_raw_parts(detoasted.cast::<u8>(), pgrx::varlena::varsize_any(detoasted));
            // pgvector's types hold at most 16,000 dimensions: no large copy to avoid.
            let before = out.len();
            match decode_pgvector(bytes, kind == EmbeddingKind::HalfVec, out) {
                false => Decoded::Unusable,
                true if out.len() - before > max => {
                    let length = out.len() - before;
                    out.truncate(before);
                    Decoded::TooLong(length)
                }
                true => Decoded::Values,
            }
        }
    };
    if detoasted != raw {
        pg_sys::pfree(detoasted.cast());
    }
    decoded
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
