//! The run form of a workflow (being written).

use ratatui::{layout::Rect, Frame};

use crate::cli::tui::{
    keys::{Action, InputMode},
    messages::Effect,
    widgets::Paint,
};
use crate::pb;

/// The form.
#[derive(Debug)]
pub(crate) struct Form {
    workflow: pb::Workflow,
}

impl Form {
    /// A form for `workflow`.
    pub(crate) fn new(workflow: pb::Workflow) -> Form {
        Form { workflow }
    }
    /// The workflow.
    pub(crate) fn workflow_id(&self) -> &str {
        &self.workflow.id
    }
    /// Mode.
    pub(crate) fn input_mode(&self) -> InputMode {
        InputMode::Text
    }
    /// Keys.
    pub(crate) fn on_action(&mut self, _action: &Action) -> Vec<Effect> {
        Vec::new()
    }
    /// Violations.
    pub(crate) fn violations(&mut self, _violations: Vec<(String, String)>, _message: String) {}
    /// Draw.
    pub(crate) fn draw(&mut self, _frame: &mut Frame<'_>, _area: Rect, _paint: Paint) {}
}
