//! The job monitor (`j`): tabs Active / Pending / Completed / Failed (Tab
//! switches), a cursor over the rows, Enter opens the execution.

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::{Line, Span},
    widgets::{Block, Paragraph},
    Frame,
};

use super::job_list::JobList;
use crate::cli::tui::{
    keys::Action,
    messages::{Effect, JobTab},
    widgets::Paint,
};

/// The tab shown and each tab's list.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    tab: usize,
    lists: [JobList; 4],
}

impl Jobs {
    /// The tab shown.
    pub(crate) fn tab(&self) -> JobTab {
        JobTab::ALL[self.tab]
    }

    /// The list of a tab.
    pub(crate) fn list_mut(&mut self, tab: JobTab) -> &mut JobList {
        let i = JobTab::ALL.iter().position(|t| *t == tab).unwrap_or(0);
        &mut self.lists[i]
    }

    /// Tab and Shift-Tab switch tabs (asking the link to poll the new one);
    /// other keys move the cursor of the tab shown.
    pub(crate) fn on_action(&mut self, action: &Action) -> Vec<Effect> {
        match action {
            Action::NextTab | Action::Right => self.tab = (self.tab + 1) % 4,
            Action::PrevTab | Action::Left => self.tab = (self.tab + 3) % 4,
            other => return self.lists[self.tab].on_action(other),
        }
        Vec::new()
    }

    /// Draws the tab bar and the tab shown.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let [tabs_area, list_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
        let mut spans = vec![Span::raw(" ")];
        for (i, tab) in JobTab::ALL.iter().enumerate() {
            let list = &self.lists[i];
            // Only the tab shown is polled: another tab's count would be
            // stale.
            let count = if !list.loaded || i != self.tab {
                String::new()
            } else if list.more {
                format!(" ({}+)", list.executions.len())
            } else {
                format!(" ({})", list.executions.len())
            };
            let text = format!(" {}{count} ", tab.title());
            spans.push(if i == self.tab {
                Span::styled(text, theme.selected())
            } else {
                Span::raw(text)
            });
            spans.push(Span::raw(" │"));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), tabs_area);
        let tab = self.tab();
        let empty = format!("no {} jobs", tab.title().to_lowercase());
        self.lists[self.tab].draw(
            frame,
            list_area,
            Block::bordered().title(format!(" {} jobs ", tab.title())),
            &empty,
            paint,
        );
    }
}
