//! hyperctl's four steps of building a manifest, in order: one list for
//! the prompts of `manifest create` and the TUI's manifest builder.

/// A step of the manifest builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Step {
    /// The source type and path.
    #[default]
    Source,
    /// The stages: inspect, fix, convert, validate.
    Pipeline,
    /// The output format and path.
    Output,
    /// The manifest, checked, to save or submit.
    Review,
}

impl Step {
    /// The steps in order.
    pub(crate) const ALL: [Step; 4] = [Step::Source, Step::Pipeline, Step::Output, Step::Review];

    /// The step's name as hyperctl shows it.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Step::Source => "Source",
            Step::Pipeline => "Pipeline",
            Step::Output => "Output",
            Step::Review => "Review",
        }
    }

    /// The step's place, from 0.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The step after this one (Review is the last).
    pub(crate) fn next(self) -> Step {
        Step::ALL[(self.index() + 1).min(Step::ALL.len() - 1)]
    }

    /// The step before this one (Source is the first).
    pub(crate) fn previous(self) -> Step {
        Step::ALL[self.index().saturating_sub(1)]
    }
}
