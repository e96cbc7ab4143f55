//! The workflow daemon dashboard (`w`): the status table, the queue per
//! drop folder, and the active jobs with stage, elapsed time, progress bar
//! and ETA, as hyperctl's dashboard shows them.

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::{Line, Span},
    widgets::{Block, Paragraph},
    Frame,
};

use super::job_list::JobList;
use crate::cli::tui::{
    keys::Action,
    messages::Effect,
    widgets::{cells, safe, whole_secs, Paint},
    Theme,
};
use crate::pb;

/// The dashboard's own state: the active jobs (the status is the app's).
#[derive(Debug, Default)]
pub(crate) struct Dashboard {
    /// Running executions.
    pub(crate) active: JobList,
}

impl Dashboard {
    /// Moves the cursor over the active jobs, or opens one.
    pub(crate) fn on_action(&mut self, action: &Action) -> Vec<Effect> {
        self.active.on_action(action)
    }

    /// Draws the dashboard into `area`.
    pub(crate) fn draw(
        &mut self,
        frame: &mut Frame<'_>,
        area: Rect,
        status: Option<&pb::GetStatusResponse>,
        addr: &str,
        connected: bool,
        paint: Paint,
    ) {
        let theme = paint.theme;
        let folders = cells(status.map_or(0, |s| s.drop_folders.len()));
        let [status_area, queue_area, jobs_area] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Length(if folders == 0 {
                3
            } else {
                folders.saturating_add(3)
            }),
            Constraint::Min(3),
        ])
        .areas(area);

        let cell = |label: &str, value: String| {
            vec![
                Span::styled(format!("{label}: "), theme.dim()),
                Span::styled(format!("{value:<10}"), theme.title()),
            ]
        };
        let status_lines = match status {
            Some(s) => {
                let running = if connected {
                    Span::styled("running", theme.ok())
                } else {
                    Span::styled("stopped", theme.error())
                };
                let mut first = vec![
                    Span::styled("Status: ", theme.dim()),
                    running,
                    Span::raw("   "),
                ];
                first.extend(cell("Workers", format!("{}/{}", s.running, s.max_workers)));
                first.extend(cell("Queue Size", format!("{}/{}", s.queued, s.max_queue)));
                let mut second = cell("Processed today", s.succeeded_today.to_string());
                second.extend(cell("Failed today", s.failed_today.to_string()));
                second.extend(cell("Uptime", whole_secs(s.uptime_seconds as f64)));
                let health = match &s.history_write_failure {
                    Some(failure) => Span::styled(
                        format!("cannot write: {}", safe(&failure.error)),
                        theme.error(),
                    ),
                    None => Span::styled("ok", theme.ok()),
                };
                let mut third = vec![
                    Span::styled("History: ", theme.dim()),
                    health,
                    Span::styled(
                        format!(
                            "  ({} executions, version {})",
                            s.total_executions,
                            safe(&s.version)
                        ),
                        theme.dim(),
                    ),
                ];
                third.extend(daemons_text(&s.daemons, theme));
                vec![Line::from(first), Line::from(second), Line::from(third)]
            }
            None => vec![Line::styled("  waiting for the daemon...", theme.dim())],
        };
        frame.render_widget(
            Paragraph::new(status_lines)
                .block(Block::bordered().title(format!(" Workflow daemon {} ", safe(addr)))),
            status_area,
        );

        let mut queue_lines = vec![Line::styled(
            format!(
                "  {:<30} {:<8} {:>7} {:>10} {:>9} {:>6}",
                "Drop folder", "mode", "waiting", "processing", "processed", "failed"
            ),
            theme.dim(),
        )];
        let no_folders = status.is_none_or(|s| s.drop_folders.is_empty());
        if no_folders {
            queue_lines = vec![Line::styled("  no drop folders configured", theme.dim())];
        }
        for folder in status
            .map(|s| s.drop_folders.as_slice())
            .unwrap_or_default()
        {
            let watching = if folder.watching {
                ""
            } else {
                "  (not watched)"
            };
            queue_lines.push(Line::from(vec![
                Span::raw(format!(
                    "  {:<30} {:<8} {:>7} {:>10} {:>9} {:>6}",
                    tail(&safe(&folder.path), 30),
                    match folder.mode() {
                        pb::DropFolderMode::Disk => "disk",
                        _ => "manifest",
                    },
                    folder.files_waiting,
                    folder.files_processing,
                    folder.processed_today,
                    folder.failed_today,
                )),
                Span::styled(watching, theme.error()),
            ]));
        }
        frame.render_widget(
            Paragraph::new(queue_lines).block(Block::bordered().title(" Queue ")),
            queue_area,
        );

        let title = format!(" Active jobs ({}) ", self.active.executions.len());
        self.active.draw(
            frame,
            jobs_area,
            Block::bordered().title(title),
            "no jobs running",
            paint,
        );
    }
}

/// The daemons on the history, when there is more than this one to see
/// (standbys on PostgreSQL) or it drains: `  daemons: 2 (1 standing by,
/// 1 not heard from)  DRAINING`.
fn daemons_text(daemons: &[pb::DaemonStatus], theme: Theme) -> Vec<Span<'static>> {
    let draining = daemons.first().is_some_and(|me| me.draining);
    let mut spans = Vec::new();
    if daemons.len() > 1 {
        let standing_by = daemons
            .iter()
            .filter(|d| d.role() == pb::DaemonRole::Standby)
            .count();
        let silent = daemons.iter().filter(|d| !d.alive).count();
        let mut about = vec![format!("{standing_by} standing by")];
        if silent > 0 {
            about.push(format!("{silent} not heard from"));
        }
        spans.push(Span::styled(
            format!("  daemons: {} ({})", daemons.len(), about.join(", ")),
            theme.dim(),
        ));
    }
    if draining {
        spans.push(Span::styled("  DRAINING", theme.error()));
    }
    spans
}

/// The last `width` characters of `text`, with `…` when cut.
pub(crate) fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    let kept: String = text.chars().skip(count - width + 1).collect();
    format!("…{kept}")
}
