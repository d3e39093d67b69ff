//! Embedders that run inside the database: the built-in sentence model (`minilm`, the
//! default) and the hashed bag-of-words (`hash`, no model files).

pub mod hash;
pub mod minilm;
