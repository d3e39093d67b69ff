//! Decoding the datums of embedding columns (real[], float8[], pgvector's vector and
//! halfvec) straight from their storage; the layout knowledge of pgvector's types is the
//! engine's (`embedding::decode_pgvector`).

use llm_clusters_engine::embedding::decode_pgvector;
use llm_clusters_engine::source::EmbeddingKind;
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
            if array.dims().len() != 1 || array.nulls().is_some() {
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
