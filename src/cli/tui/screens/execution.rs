//! An execution tab: the header (state, elapsed time, progress, ETA), the
//! live Phase -> Task -> Agent tree folded from the streamed events with
//! the daemon's own [`ExecutionTree`], and a scrollable log pane that
//! follows the end or stays where it was put, with search. Cancel (`c`)
//! and force kill (`K`) ask first.

use std::collections::VecDeque;

use ratatui::{
    layout::{Constraint, Layout, Rect},
    text::{Line, Span},
    widgets::{Block, Paragraph},
    Frame,
};

use crate::api::workflow_event_of;
use crate::cli::render::{
    event::{event_line, output_text},
    print::pairs_text,
    short_state,
};
use crate::cli::tui::{
    keys::{Action, InputMode},
    messages::{Effect, Request, TabId},
    widgets::{
        cells, clip, dialog, elapsed_text, eta_label, job_name, progress_bar, safe, short_id, Paint,
    },
};
use crate::pb::{self, log_event::Payload};
use crate::tree::{ExecutionTree, NodeStatus};

/// Log lines a tab keeps; older ones are dropped (and counted), since
/// `wfctl logs` reads the whole log from the history.
pub(crate) const MAX_LINES: usize = 100_000;

/// What kind of line the log pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Stdout,
    Stderr,
    /// A lifecycle or program event, as `wfctl logs` prints it.
    Event,
}

/// One line of the log pane, made safe for the terminal once.
#[derive(Debug, Clone)]
struct LogLine {
    kind: LineKind,
    text: String,
}

/// The log search.
#[derive(Debug, Clone, Default)]
struct Search {
    /// What is searched for.
    query: String,
    /// The query is being typed.
    editing: bool,
}

/// A question asked before a cancel or kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Cancel,
    Kill,
}

/// One execution tab.
#[derive(Debug)]
pub(crate) struct ExecutionView {
    /// The tab's id (for the link's answers).
    pub(crate) tab: TabId,
    /// The execution.
    pub(crate) execution_id: String,
    /// The execution as last fetched.
    pub(crate) execution: Option<pb::Execution>,
    tree: ExecutionTree,
    lines: VecDeque<LogLine>,
    /// Lines dropped from the front to stay within [`MAX_LINES`].
    dropped: usize,
    /// The last sequence number seen (events are never applied twice).
    last_sequence: u64,
    /// Show the end of the log as it grows.
    follow: bool,
    /// The first line shown while not following.
    top: usize,
    /// The log pane's height at the last draw.
    page: usize,
    search: Search,
    /// The line of the current match.
    matched: Option<usize>,
    confirm: Option<Confirm>,
    /// The whole tree is shown, from its top, instead of the tree's end
    /// and the log (`t`).
    whole_tree: bool,
}

impl ExecutionView {
    /// A tab for `execution_id`, empty until the link's first answers.
    pub(crate) fn new(tab: TabId, execution_id: String) -> ExecutionView {
        ExecutionView {
            tab,
            execution_id,
            execution: None,
            tree: ExecutionTree::default(),
            lines: VecDeque::new(),
            dropped: 0,
            last_sequence: 0,
            follow: true,
            top: 0,
            page: 10,
            search: Search::default(),
            matched: None,
            confirm: None,
            whole_tree: false,
        }
    }

    /// Whether keys are typed into the search.
    pub(crate) fn input_mode(&self) -> InputMode {
        if self.search.editing {
            InputMode::Text
        } else {
            InputMode::Navigate
        }
    }

    /// Whether a confirmation is asked (it takes every key).
    pub(crate) fn asking(&self) -> bool {
        self.confirm.is_some()
    }

    /// The tab's title: the workflow (or the VM) and the short id.
    pub(crate) fn title(&self) -> String {
        match &self.execution {
            Some(e) => format!("{} {}", clip(&job_name(e), 12), short_id(&e.id)),
            None => safe(short_id(&self.execution_id)),
        }
    }

    /// Whether the execution is still going (its clock ticks).
    pub(crate) fn live(&self) -> bool {
        self.execution.as_ref().is_none_or(|e| {
            matches!(
                e.state(),
                pb::ExecutionState::Running | pb::ExecutionState::Queued
            )
        })
    }

    /// Applies streamed events: the tree, the log lines.
    pub(crate) fn apply(&mut self, events: Vec<pb::LogEvent>) {
        for event in events {
            if event.sequence <= self.last_sequence {
                continue;
            }
            self.last_sequence = event.sequence;
            let Some(payload) = &event.payload else {
                continue;
            };
            if let Some(workflow_event) = workflow_event_of(payload) {
                self.tree.apply(&workflow_event);
            }
            let line = match (payload, output_text(&event)) {
                (Payload::Output(output), Some(text)) => LogLine {
                    kind: if output.stream() == pb::OutputStream::Stderr {
                        LineKind::Stderr
                    } else {
                        LineKind::Stdout
                    },
                    text: safe(text),
                },
                _ => LogLine {
                    kind: LineKind::Event,
                    text: safe(&event_line(&event)),
                },
            };
            self.lines.push_back(line);
        }
        let excess = self.lines.len().saturating_sub(MAX_LINES);
        if excess > 0 {
            self.lines.drain(..excess);
            self.dropped += excess;
            self.top = self.top.saturating_sub(excess);
            self.matched = self.matched.and_then(|m| m.checked_sub(excess));
        }
    }

    /// Handles a key: scrolling, follow, search, cancel and kill.
    pub(crate) fn on_action(&mut self, action: &Action) -> Vec<Effect> {
        if let Some(confirm) = self.confirm {
            return self.on_confirm(confirm, action);
        }
        if self.search.editing {
            self.on_search_key(action);
            return Vec::new();
        }
        let last_top = self.lines.len().saturating_sub(self.page);
        let page = self.page.max(1);
        match action {
            Action::Up => self.scroll_to(self.shown_top().saturating_sub(1)),
            Action::Down => self.scroll_to(self.shown_top() + 1),
            Action::PageUp => self.scroll_to(self.shown_top().saturating_sub(page)),
            Action::PageDown => self.scroll_to(self.shown_top() + page),
            Action::Home => self.scroll_to(0),
            Action::End => self.follow = true,
            Action::Tree => self.whole_tree = !self.whole_tree,
            Action::Follow => {
                if self.follow {
                    self.follow = false;
                    self.top = last_top;
                } else {
                    self.follow = true;
                }
            }
            Action::Search => {
                self.search = Search {
                    query: String::new(),
                    editing: true,
                };
            }
            Action::Back if !self.search.query.is_empty() => {
                self.search = Search::default();
                self.matched = None;
            }
            Action::NextMatch | Action::PrevMatch if self.search.query.is_empty() => {
                return vec![Effect::Note("/ starts a search".into())];
            }
            // The search moves the view; nothing found is said.
            Action::NextMatch | Action::PrevMatch if !self.find(*action == Action::NextMatch) => {
                return vec![Effect::Note("no more matches".into())];
            }
            Action::Cancel if self.live() => self.confirm = Some(Confirm::Cancel),
            Action::ForceKill if self.live() => self.confirm = Some(Confirm::Kill),
            Action::Cancel | Action::ForceKill => {
                return vec![Effect::Note("the execution has already ended".into())];
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_confirm(&mut self, confirm: Confirm, action: &Action) -> Vec<Effect> {
        match action {
            Action::Yes => {
                self.confirm = None;
                vec![Effect::Send(Request::Cancel {
                    execution_id: self.execution_id.clone(),
                    force: confirm == Confirm::Kill,
                })]
            }
            Action::Back | Action::NextMatch | Action::Quit => {
                self.confirm = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_search_key(&mut self, action: &Action) {
        match action {
            Action::Type(c) => self.search.query.push(*c),
            Action::DeleteBack => {
                self.search.query.pop();
            }
            Action::Open => {
                self.search.editing = false;
                // The newest match at or above the bottom of the view.
                let bottom = self.shown_top() + self.page;
                self.matched = None;
                self.find_from(bottom.min(self.lines.len()), false);
            }
            Action::Back => {
                self.search = Search::default();
                self.matched = None;
            }
            _ => {}
        }
    }

    /// The next (`down`) or previous match from the current one; false
    /// when there is none.
    fn find(&mut self, down: bool) -> bool {
        let from = match self.matched {
            Some(m) if down => m + 1,
            Some(m) => m,
            None => self.shown_top(),
        };
        self.find_from(from, down)
    }

    /// Searches from line `from` (down: at or after it; up: before it) and
    /// scrolls the match into the middle of the pane; false when there is
    /// none (the view stays).
    fn find_from(&mut self, from: usize, down: bool) -> bool {
        let query = self.search.query.to_lowercase();
        let hit = |line: &LogLine| line.text.to_lowercase().contains(&query);
        let found = if down {
            (from..self.lines.len()).find(|&i| hit(&self.lines[i]))
        } else {
            (0..from.min(self.lines.len()))
                .rev()
                .find(|&i| hit(&self.lines[i]))
        };
        if let Some(i) = found {
            self.matched = Some(i);
            self.scroll_to(i.saturating_sub(self.page / 2));
        }
        found.is_some()
    }

    fn shown_top(&self) -> usize {
        if self.follow {
            self.lines.len().saturating_sub(self.page)
        } else {
            self.top
        }
    }

    /// Pauses and shows from line `top`; reaching the end follows again.
    fn scroll_to(&mut self, top: usize) {
        let last_top = self.lines.len().saturating_sub(self.page);
        if top >= last_top {
            self.follow = true;
        } else {
            self.follow = false;
            self.top = top;
        }
    }

    /// Draws the tab into `area`.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let tree_lines = self.tree_lines(paint);
        // At most two fifths of what the header leaves, never under 3 rows
        // (`clamp` panics when its max is under its min: a tiny window);
        // all of it with `t`.
        let most = (area.height.saturating_sub(4) * 2 / 5 + 2).max(3);
        let tree_height = if self.whole_tree {
            area.height.saturating_sub(4)
        } else {
            cells(tree_lines.len()).saturating_add(2).clamp(3, most)
        };
        let [header_area, tree_area, log_area] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Length(tree_height),
            Constraint::Min(0),
        ])
        .areas(area);
        frame.render_widget(self.header(paint), header_area);

        // The tree's running end matters most: when it does not fit, the
        // first lines give way (the whole tree shows from its top).
        let inner = tree_height.saturating_sub(2) as usize;
        let skip = if self.whole_tree {
            0
        } else {
            tree_lines.len().saturating_sub(inner)
        };
        let title = if skip > 0 {
            format!(" Phases ({skip} lines above: t shows all) ")
        } else if self.whole_tree {
            " Phases (t: with the log) ".to_string()
        } else {
            " Phases ".to_string()
        };
        let shown: Vec<Line<'_>> = tree_lines.into_iter().skip(skip).collect();
        frame.render_widget(
            Paragraph::new(shown).block(Block::bordered().title(title)),
            tree_area,
        );
        if log_area.height >= 3 {
            self.draw_log(frame, log_area, paint);
        }
        if let Some(confirm) = self.confirm {
            let (title, question) = match confirm {
                Confirm::Cancel => ("Cancel", "SIGTERM now, SIGKILL after the grace period."),
                Confirm::Kill => ("Force kill", "SIGKILL now, without a grace period."),
            };
            dialog(
                frame,
                title,
                vec![
                    Line::from(format!(
                        "{title} execution {}?",
                        safe(short_id(&self.execution_id))
                    )),
                    Line::from(question),
                    Line::styled("y: yes   n, Esc: no", paint.theme.dim()),
                ],
                paint.theme,
            );
        }
    }

    fn header(&self, paint: Paint) -> Paragraph<'static> {
        let theme = paint.theme;
        let Some(e) = &self.execution else {
            return Paragraph::new(Line::styled(
                format!("  execution {}: loading...", safe(&self.execution_id)),
                theme.dim(),
            ))
            .block(Block::bordered());
        };
        let state = e.state();
        let mut first = vec![
            Span::styled(safe(&e.workflow_id), theme.title()),
            Span::raw("  "),
            Span::styled(short_state(state), theme.state(state)),
            Span::raw(format!("  {}", elapsed_text(e, paint.now))),
        ];
        if state == pb::ExecutionState::Running {
            first.push(Span::raw("  "));
            first.push(progress_bar(e.estimate.as_ref(), 16, theme));
            let eta = eta_label(e);
            if !eta.is_empty() {
                first.push(Span::styled(format!(" {eta}"), theme.dim()));
            }
        }
        let mut second = vec![Span::styled(safe(&e.id), theme.dim())];
        if !e.labels.is_empty() {
            second.push(Span::styled(
                format!("  labels: {}", safe(&pairs_text(&e.labels))),
                theme.dim(),
            ));
        }
        if !e.error.is_empty() {
            second = vec![Span::styled(safe(&e.error), theme.error())];
        }
        Paragraph::new(vec![Line::from(first), Line::from(second)]).block(Block::bordered())
    }

    /// The tree as lines: a mark per node, phases, their tasks (with a
    /// percentage when reported) and the tasks' agents.
    fn tree_lines(&self, paint: Paint) -> Vec<Line<'static>> {
        let theme = paint.theme;
        let mark = |status: NodeStatus| match status {
            NodeStatus::Running => Span::styled("… ", theme.busy()),
            NodeStatus::Completed => Span::styled("✓ ", theme.ok()),
            NodeStatus::Failed => Span::styled("✗ ", theme.error()),
        };
        let mut lines = Vec::new();
        for phase in &self.tree.phases {
            let total = if phase.total_phases > 0 {
                format!("/{}", phase.total_phases)
            } else {
                String::new()
            };
            let mut spans = vec![
                Span::raw(" "),
                mark(phase.status),
                Span::styled(
                    format!("Phase {}{total} {}", phase.index + 1, safe(&phase.name)),
                    theme.title(),
                ),
            ];
            if !phase.error.is_empty() {
                spans.push(Span::styled(
                    format!(": {}", safe(&phase.error)),
                    theme.error(),
                ));
            }
            lines.push(Line::from(spans));
            for task in &phase.tasks {
                let mut spans = vec![
                    Span::raw("   "),
                    mark(task.status),
                    Span::raw(safe(&task.description)),
                ];
                if task.percent >= 0 && task.status == NodeStatus::Running {
                    spans.push(Span::styled(format!(" {}%", task.percent), theme.bar()));
                }
                let last = if !task.error.is_empty() {
                    Some(Span::styled(
                        format!(": {}", safe(&task.error)),
                        theme.error(),
                    ))
                } else if task.status == NodeStatus::Running {
                    task.messages
                        .back()
                        .map(|m| Span::styled(format!(": {}", safe(m)), theme.dim()))
                } else {
                    None
                };
                spans.extend(last);
                lines.push(Line::from(spans));
                for agent in &task.agents {
                    let mut spans = vec![
                        Span::raw("       "),
                        mark(agent.status),
                        Span::raw(safe(&agent.name)),
                    ];
                    if let Some(message) = agent.messages.back() {
                        if agent.status == NodeStatus::Running {
                            spans.push(Span::styled(format!(": {}", safe(message)), theme.dim()));
                        }
                    }
                    lines.push(Line::from(spans));
                }
            }
        }
        if lines.is_empty() {
            lines.push(Line::styled("  no phases reported", theme.dim()));
        }
        lines
    }

    fn draw_log(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let block_height = area.height.saturating_sub(2) as usize;
        let prompt = self.search.editing || !self.search.query.is_empty();
        self.page = block_height.saturating_sub(usize::from(prompt)).max(1);
        let top = self.shown_top();
        let total = self.lines.len() + self.dropped;
        let title = if self.follow {
            format!(" Log ({total} lines, following) ")
        } else {
            format!(
                " Log (line {} of {total}, paused: f follows) ",
                self.dropped + top + 1
            )
        };
        let query = self.search.query.to_lowercase();
        let mut lines: Vec<Line<'_>> = Vec::with_capacity(self.page + 1);
        if self.dropped > 0 && top == 0 {
            lines.push(Line::styled(
                format!(
                    "  ({} earlier lines: wfctl logs {})",
                    self.dropped,
                    safe(&self.execution_id)
                ),
                theme.dim(),
            ));
        }
        for (i, line) in self.lines.iter().enumerate().skip(top).take(self.page) {
            if lines.len() >= self.page {
                break;
            }
            let style = match line.kind {
                LineKind::Stdout => ratatui::style::Style::new(),
                LineKind::Stderr => theme.busy(),
                LineKind::Event => theme.dim(),
            };
            let is_match = !query.is_empty() && line.text.to_lowercase().contains(&query);
            let style = if self.matched == Some(i) {
                theme.selected()
            } else if is_match {
                theme.matched()
            } else {
                style
            };
            lines.push(Line::styled(line.text.clone(), style));
        }
        if prompt {
            while lines.len() < self.page {
                lines.push(Line::raw(""));
            }
            let status = match (self.search.editing, self.matched) {
                (true, _) => "▏ Enter: search  Esc: stop".to_string(),
                (false, Some(m)) => format!(
                    "  line {}  n: next  N: previous  Esc: clear",
                    self.dropped + m + 1
                ),
                (false, None) => "  no match".to_string(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("/{}", safe(&self.search.query)), theme.title()),
                Span::styled(status, theme.dim()),
            ]));
        }
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(title)),
            area,
        );
    }
}
