//! A list of executions with a `▶` cursor, as the dashboard's active jobs
//! and each job monitor tab show them; Enter opens the one under the
//! cursor. The cursor stays on the same execution when the list is
//! refreshed and rows come and go around it.

use ratatui::{
    layout::Rect,
    text::Line,
    widgets::{Block, Paragraph},
    Frame,
};

use crate::cli::tui::{
    keys::Action,
    messages::Effect,
    widgets::{job_line, Paint},
};
use crate::pb;

/// Executions and a cursor.
#[derive(Debug, Default, Clone)]
pub(crate) struct JobList {
    /// Newest first.
    pub(crate) executions: Vec<pb::Execution>,
    /// More executions exist than listed.
    pub(crate) more: bool,
    /// Whether the list has been fetched at all.
    pub(crate) loaded: bool,
    cursor: usize,
    /// The first row shown.
    offset: usize,
    /// The page height of the last draw, for PageUp/PageDown.
    page: usize,
}

impl JobList {
    /// Replaces the executions, keeping the cursor on the execution it was
    /// on when that one is still listed. Returns whether anything changed.
    pub(crate) fn replace(&mut self, executions: Vec<pb::Execution>, more: bool) -> bool {
        if self.loaded && self.more == more && self.executions == executions {
            return false;
        }
        let selected = self.selected().map(|e| e.id.clone());
        self.executions = executions;
        self.more = more;
        self.loaded = true;
        if let Some(id) = selected {
            if let Some(i) = self.executions.iter().position(|e| e.id == id) {
                self.cursor = i;
            }
        }
        self.cursor = self.cursor.min(self.executions.len().saturating_sub(1));
        true
    }

    /// The execution under the cursor.
    pub(crate) fn selected(&self) -> Option<&pb::Execution> {
        self.executions.get(self.cursor)
    }

    /// Moves the cursor or opens the execution under it.
    pub(crate) fn on_action(&mut self, action: &Action) -> Vec<Effect> {
        let last = self.executions.len().saturating_sub(1);
        let page = self.page.max(1);
        match action {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(last),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(page),
            Action::PageDown => self.cursor = (self.cursor + page).min(last),
            Action::Home => self.cursor = 0,
            Action::End => self.cursor = last,
            Action::Open => {
                if let Some(execution) = self.selected() {
                    return vec![Effect::OpenExecution(execution.id.clone())];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Draws the rows that fit in `area` inside `block`, scrolled so the
    /// cursor is visible; `empty` when there are none.
    pub(crate) fn draw(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        block: Block<'_>,
        empty: &str,
        paint: Paint,
    ) {
        let inner = block.inner(area);
        let height = inner.height as usize;
        self.page = height.max(1);
        if !self.loaded || self.executions.is_empty() {
            let text = if self.loaded { empty } else { "loading..." };
            frame.render_widget(
                Paragraph::new(Line::styled(format!("  {text}"), paint.theme.dim())).block(block),
                area,
            );
            return;
        }
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if height > 0 && self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        let mut lines: Vec<Line<'_>> = self
            .executions
            .iter()
            .enumerate()
            .skip(self.offset)
            .take(height)
            .map(|(i, e)| job_line(e, i == self.cursor, inner.width, paint))
            .collect();
        if self.more && lines.len() < height {
            lines.push(Line::styled(
                "  ... more in the history (wfctl list)",
                paint.theme.dim(),
            ));
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}
