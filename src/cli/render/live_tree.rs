//! The live view of a followed execution: a spinner per phase, task and
//! agent, a progress bar for tasks that report a percentage, drawn on stderr
//! with indicatif while program output goes to stdout above it.
//!
//! Used only when stderr is a terminal and NO_COLOR is unset (see
//! [`crate::cli::follow::EventStyle::choose`]); otherwise events are plain
//! lines.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{
    event::{event_line, output_text},
    print::{print_line, short_state},
    terminal_text::terminal_safe,
};
use crate::pb::{self, log_event::Payload, ExecutionState};

/// Which node of the tree a row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Phase(i32),
    Task(String),
    Agent(String, String),
}

/// One line of the live view.
struct Row {
    key: Key,
    depth: usize,
    bar: ProgressBar,
    label: String,
    with_bar: bool,
}

/// The live tree of one execution.
pub(crate) struct LiveTree {
    multi: MultiProgress,
    header: ProgressBar,
    execution_id: String,
    /// Rows in display order; index `i` is bar `i + 1` of `multi` (the header
    /// is bar 0). Rows are never removed, so the indices stay in step.
    rows: Vec<Row>,
    /// The phase each task was started in.
    task_phase: Vec<(String, i32)>,
}

/// Program text for a row of the view ([`terminal_safe`]): every
/// label and message shown comes through here.
fn safe(text: &str) -> String {
    terminal_safe(text).into_owned()
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}{spinner:.cyan} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}{spinner:.cyan} {msg} [{bar:24.cyan/blue}] {pos:>3}%")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
        .progress_chars("=> ")
}

fn done_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}{msg}").unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl LiveTree {
    /// Starts the view with a header line for the execution.
    pub(crate) fn new(execution_id: &str) -> LiveTree {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let header = multi.add(ProgressBar::new_spinner());
        header.set_style(spinner_style());
        header.set_message(format!("execution {execution_id}"));
        LiveTree {
            multi,
            header,
            execution_id: execution_id.to_string(),
            rows: Vec::new(),
            task_phase: Vec::new(),
        }
    }

    /// Advances the spinners of every unfinished row.
    pub(crate) fn tick(&self) {
        if !self.header.is_finished() {
            self.header.tick();
        }
        for row in &self.rows {
            if !row.bar.is_finished() {
                row.bar.tick();
            }
        }
    }

    /// Applies one event of the log.
    pub(crate) fn event(&mut self, event: &pb::LogEvent) {
        if let Some(text) = output_text(event) {
            self.multi.suspend(|| print_line(text));
            return;
        }
        let Some(payload) = &event.payload else {
            return;
        };
        match payload {
            Payload::PhaseStarted(p) => {
                let label = if p.total_phases > 0 {
                    format!(
                        "phase {} {} ({}/{})",
                        p.phase,
                        p.name,
                        p.phase + 1,
                        p.total_phases
                    )
                } else {
                    format!("phase {} {}", p.phase, p.name)
                };
                let label = safe(&label);
                let row = self.ensure(Key::Phase(p.phase), None);
                self.rows[row].label = label.clone();
                self.rows[row].bar.set_message(label);
            }
            Payload::PhaseCompleted(p) => self.done(&Key::Phase(p.phase), true, ""),
            Payload::PhaseFailed(p) => self.done(&Key::Phase(p.phase), false, &p.error),
            Payload::TaskStarted(t) => {
                self.task_phase.push((t.task_id.clone(), t.phase));
                self.started(
                    Key::Task(t.task_id.clone()),
                    Key::Phase(t.phase),
                    &t.task_id,
                    &t.description,
                );
            }
            Payload::TaskProgress(t) => {
                let parent = self.task_parent(&t.task_id);
                let row = self.ensure(Key::Task(t.task_id.clone()), parent);
                let r = &mut self.rows[row];
                if let Some(percent) = crate::tree::percent_in(&t.message) {
                    if !r.with_bar {
                        r.with_bar = true;
                        r.bar.set_length(100);
                        r.bar.set_style(bar_style());
                    }
                    r.bar.set_position(percent as u64);
                }
                r.bar
                    .set_message(format!("{}  {}", r.label, safe(&t.message)));
            }
            Payload::TaskCompleted(t) => self.done(
                &Key::Task(t.task_id.clone()),
                true,
                t.result.as_deref().unwrap_or(""),
            ),
            Payload::TaskFailed(t) => self.done(&Key::Task(t.task_id.clone()), false, &t.error),
            Payload::AgentStarted(a) => {
                self.started(
                    Key::Agent(a.task_id.clone(), a.agent_name.clone()),
                    Key::Task(a.task_id.clone()),
                    &a.agent_name,
                    &a.description,
                );
            }
            Payload::AgentMessage(a) => {
                let key = Key::Agent(a.task_id.clone(), a.agent_name.clone());
                let row = self.ensure(key, Some(Key::Task(a.task_id.clone())));
                let r = &self.rows[row];
                r.bar
                    .set_message(format!("{}  {}", r.label, safe(&a.message)));
            }
            Payload::AgentCompleted(a) => self.done(
                &Key::Agent(a.task_id.clone(), a.agent_name.clone()),
                true,
                a.result.as_deref().unwrap_or(""),
            ),
            Payload::AgentFailed(a) => self.done(
                &Key::Agent(a.task_id.clone(), a.agent_name.clone()),
                false,
                &a.error,
            ),
            Payload::Queued(q) => self.header.set_message(format!(
                "execution {} queued (position {})",
                self.execution_id, q.queue_position
            )),
            Payload::Started(s) => self.header.set_message(format!(
                "execution {} running (pid {})",
                self.execution_id, s.pid
            )),
            Payload::StateFileCreated(_)
            | Payload::CancelRequested(_)
            | Payload::Killed(_)
            | Payload::TimedOut(_)
            | Payload::Interrupted(_)
            | Payload::Exited(_) => {
                let _ = self.multi.println(safe(&event_line(event)));
            }
            Payload::Finished(_) | Payload::Output(_) | Payload::RawOutput(_) => {}
        }
    }

    /// Stops every spinner (rows still running stay visible as they were)
    /// and writes the final state into the header.
    pub(crate) fn finish(&mut self, finished: Option<&pb::Finished>) {
        for row in &self.rows {
            if !row.bar.is_finished() {
                row.bar.abandon();
            }
        }
        self.header.set_style(done_style());
        let message = match finished {
            Some(f) if f.state() == ExecutionState::Succeeded => {
                format!("✓ execution {} SUCCEEDED", self.execution_id)
            }
            Some(f) => {
                let mut text = format!(
                    "✗ execution {} {}",
                    self.execution_id,
                    short_state(f.state())
                );
                if !f.error.is_empty() {
                    text.push_str(&format!(": {}", safe(&f.error)));
                }
                text
            }
            None => format!("execution {} (log ended)", self.execution_id),
        };
        self.header.finish_with_message(message);
    }

    /// Labels the row of a task or agent that started: `name: description`.
    fn started(&mut self, key: Key, parent: Key, name: &str, description: &str) {
        let row = self.ensure(key, Some(parent));
        let label = safe(&if description.is_empty() {
            name.to_string()
        } else {
            format!("{name}: {description}")
        });
        self.rows[row].label = label.clone();
        self.rows[row].bar.set_message(label);
    }

    fn task_parent(&self, task_id: &str) -> Option<Key> {
        self.task_phase
            .iter()
            .rev()
            .find(|(id, _)| id == task_id)
            .map(|(_, phase)| Key::Phase(*phase))
    }

    /// The row of `key`, created (after the last descendant of `parent`, or
    /// at the end) when it does not exist yet.
    fn ensure(&mut self, key: Key, parent: Option<Key>) -> usize {
        if let Some(i) = self.rows.iter().rposition(|r| r.key == key) {
            return i;
        }
        let parent_row = match parent {
            Some(Key::Phase(phase)) => Some(self.ensure(Key::Phase(phase), None)),
            Some(parent) => self.rows.iter().rposition(|r| r.key == parent),
            None => None,
        };
        let (position, depth) = match parent_row {
            Some(p) => {
                let depth = self.rows[p].depth;
                let mut end = p + 1;
                while end < self.rows.len() && self.rows[end].depth > depth {
                    end += 1;
                }
                (end, depth + 1)
            }
            None => (self.rows.len(), 0),
        };
        let bar = self.multi.insert(position + 1, ProgressBar::new_spinner());
        bar.set_style(spinner_style());
        bar.set_prefix("  ".repeat(depth + 1));
        let label = match &key {
            Key::Phase(p) => format!("phase {p}"),
            Key::Task(t) => safe(t),
            Key::Agent(_, a) => safe(a),
        };
        bar.set_message(label.clone());
        self.rows.insert(
            position,
            Row {
                key,
                depth,
                bar,
                label,
                with_bar: false,
            },
        );
        position
    }

    /// Marks a row completed (`✓`) or failed (`✗`) with its result or error.
    fn done(&mut self, key: &Key, ok: bool, text: &str) {
        let parent = match key {
            Key::Task(task_id) => self.task_parent(task_id),
            Key::Agent(task_id, _) => Some(Key::Task(task_id.clone())),
            Key::Phase(_) => None,
        };
        let row = self.ensure(key.clone(), parent);
        let r = &self.rows[row];
        let mut message = format!("{} {}", if ok { "✓" } else { "✗" }, r.label);
        if !text.is_empty() {
            message.push_str(&format!(" -> {}", safe(text)));
        }
        r.bar.set_style(done_style());
        r.bar.finish_with_message(message);
    }
}
