//! The discovered workflows (`l`), with the programs that failed discovery
//! or are still being probed; Enter opens the run form of the one under the
//! cursor.

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::{Line, Span},
    widgets::{Block, Paragraph, Wrap},
    Frame,
};

use crate::cli::tui::{
    keys::Action,
    widgets::{cells, safe, Paint},
};
use crate::pb;

/// The list and its cursor.
#[derive(Debug, Default)]
pub(crate) struct Workflows {
    /// ListWorkflows' answer, once it came.
    pub(crate) list: Option<pb::ListWorkflowsResponse>,
    cursor: usize,
    offset: usize,
}

impl Workflows {
    /// Takes a new list, keeping the cursor on the same workflow.
    pub(crate) fn replace(&mut self, list: pb::ListWorkflowsResponse) {
        let selected = self.selected().map(|w| w.id.clone());
        if let Some(i) = selected.and_then(|id| list.workflows.iter().position(|w| w.id == id)) {
            self.cursor = i;
        }
        self.cursor = self.cursor.min(list.workflows.len().saturating_sub(1));
        self.list = Some(list);
    }

    /// The workflow under the cursor.
    pub(crate) fn selected(&self) -> Option<&pb::Workflow> {
        self.list.as_ref()?.workflows.get(self.cursor)
    }

    /// Moves the cursor; the app opens the form on Enter.
    pub(crate) fn on_action(&mut self, action: &Action) {
        let count = self.list.as_ref().map_or(0, |l| l.workflows.len());
        let last = count.saturating_sub(1);
        match action {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(last),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(10),
            Action::PageDown => self.cursor = (self.cursor + 10).min(last),
            Action::Home => self.cursor = 0,
            Action::End => self.cursor = last,
            _ => {}
        }
    }

    /// Draws the list, the description of the one under the cursor, and
    /// the discovery problems.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let Some(list) = &self.list else {
            frame.render_widget(
                Paragraph::new(Line::styled("  loading...", theme.dim()))
                    .block(Block::bordered().title(" Workflows ")),
                area,
            );
            return;
        };
        let problems = list.discovery_errors.len() + list.programs_probing.len();
        let problem_height = if problems == 0 {
            0
        } else {
            cells(problems).saturating_add(2).min(8)
        };
        let [list_area, about_area, problem_area] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(5),
            Constraint::Length(problem_height),
        ])
        .areas(area);

        let height = list_area.height.saturating_sub(2) as usize;
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if height > 0 && self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        let rows: Vec<Line<'_>> = if list.workflows.is_empty() {
            vec![Line::styled("  no workflows discovered", theme.dim())]
        } else {
            list.workflows
                .iter()
                .enumerate()
                .skip(self.offset)
                .take(height)
                .map(|(i, w)| {
                    let text = format!(
                        "{} {:<24} {}  ({} field{})",
                        if i == self.cursor { "▶" } else { " " },
                        safe(&w.id),
                        safe(&w.name),
                        w.fields.len(),
                        if w.fields.len() == 1 { "" } else { "s" }
                    );
                    if i == self.cursor {
                        Line::styled(text, theme.selected())
                    } else {
                        Line::raw(text)
                    }
                })
                .collect()
        };
        let title = format!(" Workflows ({})  Enter: run form ", list.workflows.len());
        frame.render_widget(
            Paragraph::new(rows).block(Block::bordered().title(title)),
            list_area,
        );

        let about = match list.workflows.get(self.cursor) {
            Some(w) => vec![
                Line::from(safe(&w.description)),
                Line::styled(safe(&w.program_path), theme.dim()),
            ],
            None => Vec::new(),
        };
        frame.render_widget(
            Paragraph::new(about)
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(" About ")),
            about_area,
        );

        if problems > 0 {
            let mut lines: Vec<Line<'_>> = list
                .discovery_errors
                .iter()
                .map(|e| {
                    Line::from(vec![
                        Span::styled("✗ ", theme.error()),
                        Span::raw(format!("{}: {}", safe(&e.program_path), safe(&e.message))),
                    ])
                })
                .collect();
            lines.extend(list.programs_probing.iter().map(|p| {
                Line::from(vec![
                    Span::styled("… ", theme.busy()),
                    Span::raw(format!("{}: probing", safe(p))),
                ])
            }));
            frame.render_widget(
                Paragraph::new(lines).block(Block::bordered().title(" Discovery problems ")),
                problem_area,
            );
        }
    }
}
