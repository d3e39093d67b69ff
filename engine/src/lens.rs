//! Lenses: what a job's items are embedded from (`params.lens`), so that the same traces
//! can be clustered by what was asked (`request`, the default), what the model answered
//! (`answer`), what went wrong (`error`), how the work ran (`flow`), or by their summaries
//! (`summary`, which `params.embed = "summary"` also chooses). The texts of `answer`,
//! `error` and `flow` are built from a trace's steps (`trace::lenses`).

use crate::capture::truncate;
use crate::error::{EngineError, Result};
use crate::source::Level;
use crate::trace::{answer_text, error_text, flow_text, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lens {
    Request,
    Answer,
    Error,
    Flow,
    Summary,
}

/// Every lens, in the order messages list them.
pub const LENSES: [Lens; 5] = [Lens::Request, Lens::Answer, Lens::Error, Lens::Flow, Lens::Summary];

impl Lens {
    /// The lens named `text` (`params.lens`, `embed_pending`'s `lens`), or 22023 with a
    /// hint that lists the lenses.
    pub fn parse(text: &str) -> Result<Lens> {
        LENSES.into_iter().find(|l| l.as_str() == text).ok_or_else(|| {
            EngineError::invalid_parameter(format!("unknown lens \"{}\"", truncate(text, 100))).with_hint(hint())
        })
    }

    /// The name SQL uses (`params.lens`, `embeddings.lens`, `runs.lens`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lens::Request => "request",
            Lens::Answer => "answer",
            Lens::Error => "error",
            Lens::Flow => "flow",
            Lens::Summary => "summary",
        }
    }

    /// Whether items of `level` can be seen through this lens: an evaluation is one text
    /// (its evaluator, verdict and reasoning), so it has the `request` lens only.
    pub fn check_level(self, level: Level) -> Result<()> {
        if level == Level::Evaluation && self != Lens::Request {
            return Err(EngineError::invalid_parameter(format!(
                "lens \"{}\" is not for level evaluation: an evaluation is embedded from its evaluator, verdict and reasoning",
                self.as_str()
            ))
            .with_hint("Leave params.lens out (or set it to \"request\") for jobs at level evaluation."));
        }
        Ok(())
    }

    /// The text the lens embeds for an item whose events are `steps` (a trace's, or the one
    /// step of a generation); empty when the lens sees nothing in it. Only for the lenses
    /// built from steps (`answer`, `error`, `flow`).
    pub fn text_of_steps(self, steps: &[Step], trace_id: &str) -> String {
        match self {
            Lens::Answer => answer_text(steps),
            Lens::Error => error_text(steps, trace_id),
            Lens::Flow => flow_text(steps, trace_id),
            Lens::Request | Lens::Summary => String::new(),
        }
    }
}

/// What every lens error hints: the lenses and what each embeds.
pub fn hint() -> String {
    "params.lens is one of: request (what the user asked, the default), answer (the model's outputs), error (error messages and the failing step; only items with an error), flow (the steps, tools and models in order), summary (the items' summaries, as params.embed = \"summary\")".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn lenses_parse_print_and_hint() {
        for lens in LENSES {
            assert_eq!(Lens::parse(lens.as_str()).unwrap(), lens);
        }
        let e = Lens::parse("vibes").unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::InvalidParameter, "unknown lens \"vibes\""));
        for lens in LENSES {
            assert!(e.hint.as_deref().unwrap().contains(lens.as_str()), "the hint lists {}", lens.as_str());
        }
        // A hostile name is cut in the message.
        let e = Lens::parse(&"x".repeat(10_000)).unwrap_err();
        assert!(e.message.len() < 200);
    }

    #[test]
    fn evaluations_have_the_request_lens_only() {
        assert!(Lens::Request.check_level(Level::Evaluation).is_ok());
        for lens in [Lens::Answer, Lens::Error, Lens::Flow, Lens::Summary] {
            assert_eq!(lens.check_level(Level::Evaluation).unwrap_err().kind, ErrorKind::InvalidParameter);
            assert!(lens.check_level(Level::Trace).is_ok() && lens.check_level(Level::Generation).is_ok());
        }
    }
}
