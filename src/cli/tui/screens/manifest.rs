//! The manifest builder (being written).

use ratatui::{layout::Rect, Frame};

use crate::cli::tui::{
    keys::{Action, InputMode},
    messages::Effect,
    widgets::Paint,
};
use crate::pb;

/// The builder.
#[derive(Debug, Default)]
pub(crate) struct ManifestBuilder {}

impl ManifestBuilder {
    /// Mode.
    pub(crate) fn input_mode(&self) -> InputMode {
        InputMode::Navigate
    }
    /// Keys.
    pub(crate) fn on_action(&mut self, _action: &Action) -> Vec<Effect> {
        Vec::new()
    }
    /// ValidateManifest's answer.
    pub(crate) fn checked(
        &mut self,
        _generation: u64,
        _result: Result<Box<pb::ValidateManifestResponse>, String>,
    ) {
    }
    /// SubmitManifest's answer.
    pub(crate) fn submitted(
        &mut self,
        _result: Result<Box<pb::SubmitManifestResponse>, String>,
    ) -> Vec<Effect> {
        Vec::new()
    }
    /// Draw.
    pub(crate) fn draw(&mut self, _frame: &mut Frame<'_>, _area: Rect, _paint: Paint) {}
}
