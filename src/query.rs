//! The bind parameters of a query being written: `push` returns the placeholder (`$n`) of
//! the value it takes, so a condition is written in one pass and its numbers cannot drift
//! from its arguments. Every user-given value reaches SQL this way, never as text.

use llm_clusters_engine::filters::SqlParam;
use pgrx::datum::DatumWithOid;

#[derive(Default)]
pub struct Binds<'a> {
    args: Vec<DatumWithOid<'a>>,
}

impl<'a> Binds<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `value`; returns its placeholder.
    pub fn push(&mut self, value: impl Into<DatumWithOid<'a>>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// Binds a filter's parameter (see `filters::to_sql`).
    pub fn push_filter(&mut self, param: SqlParam) -> String {
        match param {
            SqlParam::Text(s) => self.push(s),
            SqlParam::TextArray(v) => self.push(v),
            SqlParam::Float(x) => self.push(x),
        }
    }

    pub fn args(&self) -> &[DatumWithOid<'a>] {
        &self.args
    }
}
