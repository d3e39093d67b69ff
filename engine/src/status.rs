//! A run's status, as `llm_clusters.runs.status` stores it (its CHECK constraint lists the
//! same four).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Started, not finished.
    Running,
    /// Clustered; its clusters, themes and assignments are written.
    Succeeded,
    /// An error rolled its work back; `runs.error` says what.
    Failed,
    /// Nothing to cluster (too few items, no embeddings); `runs.error` says why.
    Skipped,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed, RunStatus::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        assert!(RunStatus::ALL.iter().all(|&s| RunStatus::parse(s.as_str()) == Some(s)));
        assert_eq!(RunStatus::parse("Succeeded"), None);
    }
}
