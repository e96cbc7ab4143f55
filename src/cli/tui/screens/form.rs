//! The run form of a workflow: a field per input, as the program declared
//! it (text, number with bounds, select, file path with path completion,
//! phase selector as check boxes, state file). Ctrl-S (or Enter on Run)
//! sends the inputs; the daemon's ValidateInputs violations come back and
//! are shown under their fields, and a valid run opens its execution tab.

use std::collections::HashMap;

use ratatui::{
    layout::Rect,
    text::{Line, Span},
    widgets::{Block, Paragraph},
    Frame,
};

use crate::cli::manifest_builder::draft::absolute_text;
use crate::cli::tui::{
    keys::{Action, InputMode},
    messages::{Effect, Request},
    path_completion::complete_path,
    widgets::{safe, Paint},
};
use crate::pb::{self, field_type::Kind};

/// What a field holds while it is edited.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// Text typed: text, number, file path and state file fields.
    Typed(String),
    /// A select: the option chosen, None for "not set" (the default).
    Choice(Option<usize>),
    /// A phase selector: which phases are checked, and the one under the
    /// cursor.
    Phases(Vec<bool>, usize),
}

/// One field of the form.
#[derive(Debug, Clone)]
struct FieldEntry {
    field: pb::Field,
    entry: Entry,
}

impl FieldEntry {
    /// The field with its declared default filled in.
    fn new(field: pb::Field) -> FieldEntry {
        let default = field.default_value.clone().unwrap_or_default();
        let entry = match field.r#type.as_ref().and_then(|t| t.kind.as_ref()) {
            Some(Kind::Select(select)) => {
                Entry::Choice(select.options.iter().position(|o| *o == default))
            }
            Some(Kind::PhaseSelector(phases)) => {
                let total = phases.total_phases.max(0) as usize;
                let mut checked = vec![false; total];
                for index in default
                    .split(',')
                    .filter_map(|p| p.trim().parse::<usize>().ok())
                {
                    if let Some(slot) = checked.get_mut(index) {
                        *slot = true;
                    }
                }
                Entry::Phases(checked, 0)
            }
            _ => Entry::Typed(default),
        };
        FieldEntry { field, entry }
    }

    fn kind(&self) -> Option<&Kind> {
        self.field.r#type.as_ref().and_then(|t| t.kind.as_ref())
    }

    /// Whether the field takes typed text (and so letters are not keys).
    fn typed(&self) -> bool {
        matches!(self.entry, Entry::Typed(_))
    }

    /// Whether Tab completes a path in this field.
    fn completes_paths(&self) -> bool {
        matches!(self.kind(), Some(Kind::FilePath(_) | Kind::StateFile(_)))
    }

    /// The value sent, None when the field is left to its default.
    fn value(&self) -> Option<prost_types::Value> {
        use prost_types::value::Kind as V;
        let kind = match &self.entry {
            Entry::Typed(text) if text.is_empty() => return None,
            // A number is sent as one when it is one; anything else goes as
            // typed, so the daemon names the field and says what is wrong.
            Entry::Typed(text) => match (self.kind(), text.trim().parse::<f64>()) {
                (Some(Kind::Number(_)), Ok(number)) => V::NumberValue(number),
                // Completed from wfctl's directory; the daemon takes only
                // absolute paths.
                (Some(Kind::FilePath(_) | Kind::StateFile(_)), _) => {
                    V::StringValue(absolute_text(text))
                }
                _ => V::StringValue(text.clone()),
            },
            Entry::Choice(None) => return None,
            Entry::Choice(Some(i)) => match self.kind() {
                Some(Kind::Select(select)) => V::StringValue(select.options.get(*i)?.clone()),
                _ => return None,
            },
            Entry::Phases(checked, _) => {
                if !checked.iter().any(|c| *c) {
                    return None;
                }
                let values = checked
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c)
                    .map(|(i, _)| prost_types::Value {
                        kind: Some(V::NumberValue(i as f64)),
                    })
                    .collect();
                V::ListValue(prost_types::ListValue { values })
            }
        };
        Some(prost_types::Value { kind: Some(kind) })
    }

    /// What the field takes, in words: `number 1..10`, `one of a, b`.
    fn constraint(&self) -> String {
        match self.kind() {
            Some(Kind::Text(_)) | None => "text".to_string(),
            Some(Kind::Number(n)) => match (n.min, n.max) {
                (Some(min), Some(max)) => format!("number {min}..{max}"),
                (Some(min), None) => format!("number >= {min}"),
                (None, Some(max)) => format!("number <= {max}"),
                (None, None) => "number".to_string(),
            },
            Some(Kind::FilePath(f)) => match &f.pattern {
                Some(pattern) => format!("file {} (Tab completes)", safe(pattern)),
                None => "file (Tab completes)".to_string(),
            },
            Some(Kind::Select(s)) => {
                format!("one of {} (Left/Right)", safe(&s.options.join(", ")))
            }
            Some(Kind::PhaseSelector(_)) => "phases (Left/Right, Space)".to_string(),
            Some(Kind::StateFile(s)) => {
                format!("state file {} (Tab completes)", safe(&s.pattern))
            }
        }
    }
}

/// The run form of one workflow.
#[derive(Debug)]
pub(crate) struct Form {
    workflow: pb::Workflow,
    fields: Vec<FieldEntry>,
    /// The field with the focus; `fields.len()` is the Run button.
    cursor: usize,
    /// The daemon's violations by field name.
    violations: HashMap<String, String>,
    /// The daemon's refusal, when it named no field of the form.
    refusal: Option<String>,
    /// Inputs were sent and no answer came yet.
    sent: bool,
    /// The first line shown (the form scrolls when it is taller than the
    /// screen).
    offset: usize,
    /// Other completions of the last Tab, shown under the field.
    choices: Vec<String>,
}

impl Form {
    /// The form of `workflow`, defaults filled in, the first field focused.
    pub(crate) fn new(workflow: pb::Workflow) -> Form {
        let fields = workflow
            .fields
            .iter()
            .cloned()
            .map(FieldEntry::new)
            .collect();
        Form {
            workflow,
            fields,
            cursor: 0,
            violations: HashMap::new(),
            refusal: None,
            sent: false,
            offset: 0,
            choices: Vec::new(),
        }
    }

    /// The workflow the form runs.
    pub(crate) fn workflow_id(&self) -> &str {
        &self.workflow.id
    }

    /// Inputs were sent and no answer has come yet.
    pub(crate) fn waiting(&self) -> bool {
        self.sent
    }

    /// Text while a text field has the focus.
    pub(crate) fn input_mode(&self) -> InputMode {
        match self.fields.get(self.cursor) {
            Some(field) if field.typed() => InputMode::Text,
            _ => InputMode::Navigate,
        }
    }

    /// The daemon refused the inputs: each violation goes under its field
    /// (the daemon names them `inputs.<name>`); the focus moves to the
    /// first field with one. Without violations (a full queue, the daemon
    /// away) the message shows under Run. Either way the form can be sent
    /// again.
    pub(crate) fn violations(&mut self, violations: Vec<(String, String)>, message: String) {
        self.sent = false;
        self.violations.clear();
        let mut elsewhere = Vec::new();
        for (field, description) in violations {
            let name = field.strip_prefix("inputs.").unwrap_or(&field);
            if self.fields.iter().any(|f| f.field.name == name) {
                self.violations.insert(name.to_string(), description);
            } else {
                elsewhere.push(format!("{field}: {description}"));
            }
        }
        self.refusal = match (elsewhere.is_empty(), self.violations.is_empty()) {
            (false, _) => Some(elsewhere.join("; ")),
            (true, true) => Some(message),
            (true, false) => None,
        };
        if let Some(first) = self
            .fields
            .iter()
            .position(|f| self.violations.contains_key(&f.field.name))
        {
            self.cursor = first;
        }
    }

    /// Keys: move between fields, edit the one focused, run, leave.
    pub(crate) fn on_action(&mut self, action: &Action) -> Vec<Effect> {
        let last = self.fields.len();
        if !matches!(action, Action::Complete) {
            self.choices.clear();
        }
        match action {
            Action::Back => return vec![Effect::Leave],
            Action::Submit => return self.submit(),
            Action::Up | Action::PrevTab => self.cursor = self.cursor.saturating_sub(1),
            Action::Down | Action::NextTab => self.cursor = (self.cursor + 1).min(last),
            Action::Home => self.cursor = 0,
            Action::End => self.cursor = last,
            Action::Open if self.cursor == last => return self.submit(),
            Action::Open => self.cursor += 1,
            action => self.edit(action),
        }
        Vec::new()
    }

    /// Edits the field with the focus.
    fn edit(&mut self, action: &Action) {
        let Some(field) = self.fields.get_mut(self.cursor) else {
            return;
        };
        let completes = field.completes_paths();
        let options = match field.kind() {
            Some(Kind::Select(select)) => select.options.len(),
            _ => 0,
        };
        let required = field.field.required;
        let name = field.field.name.clone();
        match (&mut field.entry, action) {
            (Entry::Typed(text), Action::Type(c)) => text.push(*c),
            (Entry::Typed(text), Action::DeleteBack) => {
                text.pop();
            }
            (Entry::Typed(text), Action::Complete) if completes => {
                let completion = complete_path(text);
                *text = completion.text;
                self.choices = completion.matches;
            }
            // Tab in a field without completion moves on, as in any form.
            (Entry::Typed(_), Action::Complete) => {
                self.cursor = (self.cursor + 1).min(self.fields.len());
                return;
            }
            (Entry::Choice(choice), Action::Left | Action::Right) if options > 0 => {
                // The choices in order; "not set" comes first unless the
                // field is required.
                let slots: Vec<Option<usize>> = (!required)
                    .then_some(None)
                    .into_iter()
                    .chain((0..options).map(Some))
                    .collect();
                let at = slots.iter().position(|slot| slot == choice);
                let next = match (at, action) {
                    (Some(at), Action::Right) => (at + 1) % slots.len(),
                    (Some(at), _) => (at + slots.len() - 1) % slots.len(),
                    (None, Action::Right) => 0,
                    (None, _) => slots.len() - 1,
                };
                *choice = slots[next];
            }
            (Entry::Phases(_, at), Action::Left) => *at = at.saturating_sub(1),
            (Entry::Phases(checked, at), Action::Right) => {
                *at = (*at + 1).min(checked.len().saturating_sub(1))
            }
            (Entry::Phases(checked, at), Action::Toggle) => {
                if let Some(slot) = checked.get_mut(*at) {
                    *slot = !*slot;
                }
            }
            _ => return,
        }
        // An edited field's violation is stale.
        self.violations.remove(&name);
    }

    /// Sends the inputs (ValidateInputs, then Execute).
    fn submit(&mut self) -> Vec<Effect> {
        if self.sent {
            return vec![Effect::Note("waiting for the daemon's answer".into())];
        }
        self.sent = true;
        self.refusal = None;
        let inputs = self
            .fields
            .iter()
            .filter_map(|f| Some((f.field.name.clone(), f.value()?)))
            .collect();
        vec![
            Effect::Note(format!("running {}...", self.workflow.id)),
            Effect::Send(Request::Run {
                workflow_id: self.workflow.id.clone(),
                inputs,
            }),
        ]
    }

    /// Draws the form, scrolled so the focused field shows.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let mut lines: Vec<Line<'_>> = vec![
            Line::styled(safe(&self.workflow.description), theme.dim()),
            Line::raw(""),
        ];
        let mut focus_lines = (0, 0);
        for (i, entry) in self.fields.iter().enumerate() {
            let focused = i == self.cursor;
            let start = lines.len();
            lines.push(self.field_line(entry, focused, paint));
            let mut about = format!("    {}", entry.constraint());
            if !entry.field.description.is_empty() {
                about = format!(
                    "    {} · {about}",
                    safe(&entry.field.description),
                    about = entry.constraint()
                );
            }
            lines.push(Line::styled(about, theme.dim()));
            if focused && !self.choices.is_empty() {
                let shown: Vec<String> = self.choices.iter().take(6).map(|c| safe(c)).collect();
                let more = self.choices.len().saturating_sub(6);
                let tail = if more > 0 {
                    format!(" (+{more})")
                } else {
                    String::new()
                };
                lines.push(Line::styled(
                    format!("    {}{tail}", shown.join("  ")),
                    theme.busy(),
                ));
            }
            if let Some(violation) = self.violations.get(&entry.field.name) {
                lines.push(Line::styled(
                    format!("    ✗ {}", safe(violation)),
                    theme.error(),
                ));
            }
            if focused {
                focus_lines = (start, lines.len());
            }
        }
        let on_run = self.cursor == self.fields.len();
        let run = if self.sent {
            "[ Running... ]"
        } else {
            "[ Run ]"
        };
        let start = lines.len();
        lines.push(Line::from(vec![
            Span::styled(if on_run { "▶ " } else { "  " }, theme.title()),
            Span::styled(
                run,
                if on_run {
                    theme.selected()
                } else {
                    theme.title()
                },
            ),
            Span::styled("  Ctrl-S runs from any field", theme.dim()),
        ]));
        if on_run {
            focus_lines = (start, lines.len());
        }
        if let Some(refusal) = &self.refusal {
            lines.push(Line::styled(
                format!("  ✗ {}", safe(refusal)),
                theme.error(),
            ));
        }
        let height = area.height.saturating_sub(2) as usize;
        if focus_lines.0 < self.offset {
            self.offset = focus_lines.0;
        } else if focus_lines.1 > self.offset + height {
            self.offset = focus_lines.1 - height;
        }
        let title = format!(
            " Run {} ({}) ",
            safe(&self.workflow.name),
            safe(&self.workflow.id)
        );
        let shown: Vec<Line<'_>> = lines.into_iter().skip(self.offset).collect();
        frame.render_widget(
            Paragraph::new(shown).block(Block::bordered().title(title)),
            area,
        );
    }

    /// The first line of a field: cursor, label, required mark, value.
    fn field_line(&self, entry: &FieldEntry, focused: bool, paint: Paint) -> Line<'static> {
        let theme = paint.theme;
        let label = if entry.field.label.is_empty() {
            &entry.field.name
        } else {
            &entry.field.label
        };
        let mut spans = vec![
            Span::styled(if focused { "▶ " } else { "  " }, theme.title()),
            Span::raw(format!(
                "{}{}: ",
                safe(label),
                if entry.field.required { "*" } else { "" }
            )),
        ];
        let value_style = if focused {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        match &entry.entry {
            Entry::Typed(text) => {
                spans.push(Span::styled(safe(text), value_style));
                if focused {
                    spans.push(Span::raw("▏"));
                }
            }
            Entry::Choice(choice) => {
                let text = match (choice, entry.kind()) {
                    (Some(i), Some(Kind::Select(select))) => {
                        safe(select.options.get(*i).map_or("", String::as_str))
                    }
                    _ => "(not set)".to_string(),
                };
                spans.push(Span::styled(format!("◀ {text} ▶"), value_style));
            }
            Entry::Phases(checked, at) => {
                for (i, on) in checked.iter().enumerate() {
                    let mark = if *on { "[✓]" } else { "[ ]" };
                    let style = if focused && i == *at {
                        theme.selected()
                    } else {
                        ratatui::style::Style::new()
                    };
                    spans.push(Span::styled(format!("{mark} {i}"), style));
                    spans.push(Span::raw(" "));
                }
            }
        }
        Line::from(spans)
    }
}
