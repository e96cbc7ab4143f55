//! Painting the app: the tab bar, the banner while the daemon is away, the
//! screen shown, the status line with the keys of the screen, and the `?`
//! overlay.

use std::time::SystemTime;

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::{Line, Span},
    widgets::{Block, Clear, Paragraph},
    Frame,
};

use super::{App, Connection, View};
use crate::cli::tui::{
    keys::HELP,
    widgets::{cells, centred, safe, Paint},
};

impl App {
    /// Paints the whole screen: the tab bar, the banner when the daemon is
    /// away, the screen shown, the status line, and the key map overlay.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, now: SystemTime) {
        let paint = Paint {
            theme: self.theme,
            now,
        };
        let down = matches!(self.connection, Connection::Down(_));
        let [bar_area, banner_area, body_area, status_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(u16::from(down)),
            Constraint::Min(5),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        self.draw_tab_bar(frame, bar_area);
        if let Connection::Down(reason) = &self.connection {
            let text = format!(
                " ✗ daemon at {} unreachable, reconnecting: {}",
                safe(&self.addr),
                safe(reason)
            );
            frame.render_widget(
                Paragraph::new(Line::styled(
                    text,
                    self.theme
                        .error()
                        .add_modifier(ratatui::style::Modifier::REVERSED),
                )),
                banner_area,
            );
        }
        match self.view {
            View::Dashboard => {
                let connected = self.connection == Connection::Up;
                self.dashboard.draw(
                    frame,
                    body_area,
                    self.status.as_ref(),
                    &self.addr,
                    connected,
                    paint,
                )
            }
            View::Jobs => self.jobs.draw(frame, body_area, paint),
            View::Workflows => self.workflows.draw(frame, body_area, paint),
            View::Form => {
                if let Some(form) = &mut self.form {
                    form.draw(frame, body_area, paint);
                }
            }
            View::Manifest => self.manifest.draw(frame, body_area, paint),
            View::Execution(i) => {
                if let Some(tab) = self.tabs.get_mut(i) {
                    tab.draw(frame, body_area, paint);
                }
            }
        }
        self.draw_status_line(frame, status_area);
        if self.help {
            self.draw_help(frame);
        }
    }

    fn draw_tab_bar(&self, frame: &mut Frame<'_>, area: Rect) {
        let theme = self.theme;
        let mut spans = Vec::new();
        let mut tab = |key: &str, title: String, on: bool| {
            let text = if title.is_empty() {
                format!(" {key} ")
            } else {
                format!(" {key} {title} ")
            };
            spans.push(if on {
                Span::styled(text, theme.selected())
            } else {
                Span::raw(text)
            });
        };
        tab("w", "Dashboard".into(), self.view == View::Dashboard);
        tab("j", "Jobs".into(), self.view == View::Jobs);
        tab(
            "l",
            "Workflows".into(),
            matches!(self.view, View::Workflows | View::Form),
        );
        tab("m", "Manifest".into(), self.view == View::Manifest);
        // Below 120 columns only the execution tab shown has its title, so
        // that all nine fit in 80.
        let narrow = area.width < 120;
        for (i, t) in self.tabs.iter().enumerate() {
            let shown = self.view == View::Execution(i);
            let title = if narrow && !shown {
                String::new()
            } else {
                t.title()
            };
            tab(&(i + 1).to_string(), title, shown);
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn draw_status_line(&self, frame: &mut Frame<'_>, area: Rect) {
        let theme = self.theme;
        let line = match &self.notice {
            Some((text, true)) => Line::styled(format!(" {}", safe(text)), theme.error()),
            Some((text, false)) => Line::from(format!(" {}", safe(text))),
            None => Line::styled(self.hint(), theme.dim()),
        };
        // The namespace what the screens start goes into, at the right.
        let label = self
            .namespace
            .as_ref()
            .map(|n| format!(" namespace {} ", safe(n)))
            .unwrap_or_default();
        let [text_area, label_area] = Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(cells(label.chars().count())),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(line), text_area);
        if !label.is_empty() {
            frame.render_widget(
                Paragraph::new(Span::styled(label, theme.selected())),
                label_area,
            );
        }
    }

    /// The keys of the screen shown, hyperctl's help line.
    fn hint(&self) -> &'static str {
        match self.view {
            View::Dashboard => {
                " r: Refresh | s: Submit Job | m: Create Manifest | j: Jobs | ?: Keys | q: Quit"
            }
            View::Jobs => " Tab: Switch View | Enter: Details | r: Refresh | ?: Keys | q: Quit",
            View::Workflows => " Enter: Run form | r: Refresh | ?: Keys | q: Quit",
            View::Form => " Up/Down: Field | Enter: Next | Ctrl-S: Run | Esc: Back",
            View::Manifest => " Enter: Next | Backspace: Back | s: Submit | o: Save | ?: Keys",
            View::Execution(_) => {
                " f: Follow | /: Search | c: Cancel | K: Kill | x: Close | ?: Keys"
            }
        }
    }

    /// The key map in two columns, so it fits 80x24.
    fn draw_help(&self, frame: &mut Frame<'_>) {
        let theme = self.theme;
        let column = |sections: &[(&str, &[(&str, &str)])]| {
            let mut lines = Vec::new();
            for (section, keys) in sections {
                lines.push(Line::styled(section.to_string(), theme.title()));
                for (key, what) in *keys {
                    lines.push(Line::from(format!(" {key:<14} {what}")));
                }
            }
            lines
        };
        let split = HELP.len() / 2;
        let (left, right) = (column(&HELP[..split]), column(&HELP[split..]));
        let width = frame.area().width.min(80);
        let height = cells(left.len().max(right.len()))
            .saturating_add(3)
            .min(frame.area().height);
        let area = centred(frame.area(), width, height);
        frame.render_widget(Clear, area);
        let block = Block::bordered().title(Span::styled(" Keys (any key closes) ", theme.title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [left_area, right_area] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(inner);
        frame.render_widget(Paragraph::new(left), left_area);
        frame.render_widget(Paragraph::new(right), right_area);
    }
}
