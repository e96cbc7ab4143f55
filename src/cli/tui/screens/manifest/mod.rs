//! The manifest builder (`m`): hyperctl's four steps, Source › Pipeline ›
//! Output › Review, over a [`Draft`] that starts from hyperctl's defaults
//! (the manifest tables' own). Every change of the draft, on any step, is
//! sent to the daemon's ValidateManifest with a new generation; an answer
//! for an older generation is dropped, and until the current one arrives
//! the client-side validator's problems ([`Draft::render`]) are shown.
//! Review submits the manifest (SubmitManifest, then each VM's execution
//! opens in a tab) or saves it to a file, asking before overwriting one.
//!
//! The parts: this file holds the state and its keys, `draw` paints it,
//! `save` writes it to a file, `tests` exercises the keys without a terminal.

mod draw;
mod save;
#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;

use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::Style,
    text::{Line, Span},
    widgets::{Block, Paragraph, Wrap},
    Frame,
};

use crate::cli::go_flags::GoFlags;
use crate::cli::manifest_builder::{
    draft::{absolute_text, Draft},
    file::{file_format, write_manifest},
    step::Step,
};
use crate::cli::tui::{
    keys::{Action, InputMode},
    messages::{Effect, Request},
    path_completion::complete_path,
    theme::Theme,
    widgets::{safe, short_id, text_field, Paint},
};
use crate::manifest::{
    self,
    pipeline::{FIX_LEVELS, FSTAB_MODES, OUTPUT_FORMATS, SOURCE_TYPES},
};
use crate::pb;

/// A row of a step that the cursor can be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    /// A source type, by its index in [`SOURCE_TYPES`].
    SourceType(usize),
    Text(Field),
    Inspect,
    Fix,
    FstabMode,
    FixLevel,
    Convert,
    Validate,
    BootTest,
    OutputFormat,
    Compress,
}

/// The text fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    SourcePath,
    AmiId,
    Name,
    OutputPath,
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::SourcePath => "Path",
            Field::AmiId => "AMI id",
            Field::Name => "VM name",
            Field::OutputPath => "Output path",
        }
    }

    /// Whether Tab completes it from the local filesystem.
    fn is_path(self) -> bool {
        matches!(self, Field::SourcePath | Field::OutputPath)
    }
}

/// What hyperctl's list says of each source type.
fn source_type_note(source_type: &str) -> &'static str {
    match source_type {
        "vmdk" => "VMware virtual disk",
        "ova" => "OVF appliance archive",
        "ovf" => "OVF descriptor and its disks",
        "vhd" => "Hyper-V / Azure disk",
        "vhdx" => "Hyper-V disk",
        "raw" => "raw disk image",
        "ami" => "Amazon machine image (needs its id)",
        _ => "",
    }
}

/// The text typed into the fields, as typed (the draft has them made
/// absolute).
#[derive(Debug, Default)]
struct Texts {
    source_path: String,
    ami_id: String,
    name: String,
    output_path: String,
}

impl Texts {
    fn get_mut(&mut self, field: Field) -> &mut String {
        match field {
            Field::SourcePath => &mut self.source_path,
            Field::AmiId => &mut self.ami_id,
            Field::Name => &mut self.name,
            Field::OutputPath => &mut self.output_path,
        }
    }

    fn get(&self, field: Field) -> &str {
        match field {
            Field::SourcePath => &self.source_path,
            Field::AmiId => &self.ami_id,
            Field::Name => &self.name,
            Field::OutputPath => &self.output_path,
        }
    }
}

/// The save prompt of Review.
#[derive(Debug, Default)]
struct SavePrompt {
    /// The file, as typed.
    path: String,
    /// The file exists: asking whether to overwrite it.
    asking: bool,
}

/// The manifest builder.
#[derive(Debug, Default)]
pub(crate) struct ManifestBuilder {
    step: Step,
    /// The cursor's row on Source, Pipeline and Output (an index into the
    /// step's [`ManifestBuilder::rows`]).
    cursor: [usize; 3],
    /// Esc stopped typing into the field under the cursor (Space, or
    /// moving away and back, types again).
    paused: bool,
    texts: Texts,
    /// The choices, and the texts as the manifest has them.
    draft: Draft,
    /// The names Tab found when several match, shown under the field.
    matches: Vec<String>,
    /// The draft's generation: raised each time its text changes.
    generation: u64,
    /// The manifest text last sent to be checked.
    sent: String,
    /// The daemon's answer for the current generation, once it came.
    answer: Option<Result<Box<pb::ValidateManifestResponse>, String>>,
    /// A submit is on its way.
    submitting: bool,
    /// The first manifest line Review shows.
    scroll: usize,
    /// The manifest pane's height at the last draw.
    page: usize,
    save: Option<SavePrompt>,
}

impl ManifestBuilder {
    /// Letters are typed while a text field has the cursor (unless Esc
    /// paused it) and while the save prompt asks for a file.
    pub(crate) fn input_mode(&self) -> InputMode {
        match &self.save {
            Some(save) if save.asking => InputMode::Navigate,
            Some(_) => InputMode::Text,
            None if self.editing().is_some() => InputMode::Text,
            None => InputMode::Navigate,
        }
    }

    /// Whether the save prompt asks a yes/no question (it takes every
    /// key, as a confirmation does).
    pub(crate) fn asking(&self) -> bool {
        self.save.as_ref().is_some_and(|save| save.asking)
    }

    /// The daemon answers again: a draft it could not check is sent again.
    pub(crate) fn reconnected(&mut self) -> Vec<Effect> {
        if matches!(self.answer, Some(Err(_))) {
            self.check().into_iter().collect()
        } else {
            Vec::new()
        }
    }

    /// Handles a key, then has the draft checked when it changed.
    pub(crate) fn on_action(&mut self, action: &Action) -> Vec<Effect> {
        let mut effects = if self.save.is_some() {
            self.on_save_key(action)
        } else {
            self.on_key(action)
        };
        effects.extend(self.check());
        effects
    }

    /// ValidateManifest's answer for `generation`: kept when it is the
    /// current one, dropped when the draft has changed since.
    pub(crate) fn checked(
        &mut self,
        generation: u64,
        result: Result<Box<pb::ValidateManifestResponse>, String>,
    ) {
        if generation == self.generation {
            self.answer = Some(result);
        }
    }

    /// SubmitManifest's answer: a note and each VM's execution opened, or
    /// the problem.
    pub(crate) fn submitted(
        &mut self,
        result: Result<Box<pb::SubmitManifestResponse>, String>,
    ) -> Vec<Effect> {
        self.submitting = false;
        let response = match result {
            Ok(response) => response,
            Err(message) => return vec![Effect::Problem(format!("not submitted: {message}"))],
        };
        let started: Vec<(&str, &str)> = response
            .vms
            .iter()
            .filter_map(|vm| {
                vm.execution
                    .as_ref()
                    .map(|e| (vm.name.as_str(), e.id.as_str()))
            })
            .collect();
        let again = if response.started {
            ""
        } else {
            " (already submitted)"
        };
        let note = match started.as_slice() {
            [] => "submitted; the daemon started no execution".to_string(),
            [(name, id)] => format!("submitted {name}{again}: execution {}", short_id(id)),
            many => format!("submitted {} VMs{again}", many.len()),
        };
        let mut effects = vec![Effect::Note(note)];
        effects.extend(
            started
                .iter()
                .map(|(_, id)| Effect::OpenExecution(id.to_string())),
        );
        effects
    }

    /// The rows of a step the cursor moves over; choices that do not apply
    /// (the fix modes without FIX, the boot test without VALIDATE, compress
    /// but for qcow2, the AMI id but for ami) are left out.
    fn rows(&self, step: Step) -> Vec<Row> {
        let d = &self.draft;
        match step {
            Step::Source => {
                let mut rows: Vec<Row> = (0..SOURCE_TYPES.len()).map(Row::SourceType).collect();
                rows.push(Row::Text(Field::SourcePath));
                if self.is_ami() {
                    rows.push(Row::Text(Field::AmiId));
                }
                rows.push(Row::Text(Field::Name));
                rows
            }
            Step::Pipeline => {
                let mut rows = vec![Row::Inspect, Row::Fix];
                if d.fix {
                    rows.extend([Row::FstabMode, Row::FixLevel]);
                }
                rows.extend([Row::Convert, Row::Validate]);
                if d.validate {
                    rows.push(Row::BootTest);
                }
                rows
            }
            Step::Output => {
                let mut rows = vec![Row::OutputFormat];
                if compresses(&d.output_format) {
                    rows.push(Row::Compress);
                }
                rows.push(Row::Text(Field::OutputPath));
                rows
            }
            Step::Review => Vec::new(),
        }
    }

    /// The row under the cursor (none on Review).
    fn row(&self) -> Option<Row> {
        let rows = self.rows(self.step);
        let i = *self.cursor.get(self.step.index())?;
        rows.get(i.min(rows.len().saturating_sub(1))).copied()
    }

    /// The text field being typed into.
    fn editing(&self) -> Option<Field> {
        match self.row() {
            Some(Row::Text(field)) if !self.paused => Some(field),
            _ => None,
        }
    }

    fn is_ami(&self) -> bool {
        self.draft.effective_source_type().as_deref() == Some("ami")
    }

    fn on_key(&mut self, action: &Action) -> Vec<Effect> {
        if let Some(field) = self.editing() {
            match action {
                Action::Type(c) => {
                    self.texts.get_mut(field).push(*c);
                    self.matches.clear();
                    self.sync();
                    return Vec::new();
                }
                Action::DeleteBack => {
                    self.texts.get_mut(field).pop();
                    self.matches.clear();
                    self.sync();
                    return Vec::new();
                }
                Action::Complete if field.is_path() => {
                    let done = complete_path(self.texts.get(field));
                    *self.texts.get_mut(field) = done.text;
                    self.matches = done.matches;
                    self.sync();
                    return Vec::new();
                }
                Action::Back => {
                    self.paused = true;
                    self.matches.clear();
                    return Vec::new();
                }
                _ => {}
            }
        }
        match action {
            Action::Open if self.step == Step::Review => {
                return vec![Effect::Note(
                    "s submits the manifest, o saves it to a file".into(),
                )];
            }
            Action::Open => self.go(self.step.next()),
            Action::StepBack => self.go(self.step.previous()),
            Action::Submit => return self.submit(),
            Action::Save => return self.open_save(),
            _ if self.step == Step::Review => self.scroll_by(action),
            // Tab goes on to the next row as in any form (in a path field
            // it completes, above).
            Action::Up | Action::PrevTab => self.move_cursor(-1),
            Action::Down | Action::NextTab | Action::Complete => self.move_cursor(1),
            Action::Home => self.move_cursor(-100),
            Action::End => self.move_cursor(100),
            Action::Toggle => return self.toggle(),
            Action::Left => self.cycle(-1),
            Action::Right => self.cycle(1),
            _ => {}
        }
        Vec::new()
    }

    /// Shows another step.
    fn go(&mut self, step: Step) {
        self.leave_field();
        self.step = step;
    }

    /// Moves the cursor by `by` rows (clamped).
    fn move_cursor(&mut self, by: isize) {
        let rows = self.rows(self.step).len();
        let Some(cursor) = self.cursor.get_mut(self.step.index()) else {
            return;
        };
        let at = (*cursor).min(rows.saturating_sub(1));
        let to = at.saturating_add_signed(by).min(rows.saturating_sub(1));
        if to != at {
            self.leave_field();
            self.cursor[self.step.index()] = to;
        }
    }

    /// The cursor leaves the row it is on: a path typed relative is shown
    /// as the manifest has it, absolute; typing resumes on the next field.
    fn leave_field(&mut self) {
        if let Some(Row::Text(field)) = self.row() {
            if field.is_path() && !self.texts.get(field).is_empty() {
                let absolute = absolute_text(self.texts.get(field));
                *self.texts.get_mut(field) = absolute;
            }
        }
        self.paused = false;
        self.matches.clear();
    }

    fn toggle(&mut self) -> Vec<Effect> {
        let row = self.row();
        let d = &mut self.draft;
        match row {
            Some(Row::SourceType(i)) => {
                let chosen = SOURCE_TYPES[i].to_string();
                d.source_type = if d.source_type.as_ref() == Some(&chosen) {
                    None
                } else {
                    Some(chosen)
                };
                self.sync();
            }
            Some(Row::Inspect) => d.inspect = !d.inspect,
            Some(Row::Fix) => d.fix = !d.fix,
            Some(Row::Convert) => d.convert = !d.convert,
            Some(Row::Validate) => d.validate = !d.validate,
            Some(Row::BootTest) => d.boot_test = !d.boot_test,
            Some(Row::Compress) => d.compress = !d.compress,
            Some(Row::Text(_)) => self.paused = false,
            Some(Row::FstabMode | Row::FixLevel | Row::OutputFormat) => {
                return vec![Effect::Note("Left/Right change the choice".into())];
            }
            None => {}
        }
        Vec::new()
    }

    /// Left/Right on a choice: the previous or next value, round.
    fn cycle(&mut self, by: isize) {
        let row = self.row();
        let d = &mut self.draft;
        let (value, values) = match row {
            Some(Row::FstabMode) => (&mut d.fstab_mode, FSTAB_MODES),
            Some(Row::FixLevel) => (&mut d.network_fix_level, FIX_LEVELS),
            Some(Row::OutputFormat) => (&mut d.output_format, OUTPUT_FORMATS),
            _ => return,
        };
        let at = values.iter().position(|v| v == value).unwrap_or(0);
        let to = (at as isize + by).rem_euclid(values.len() as isize) as usize;
        *value = values[to].to_string();
    }

    /// Review's scrolling of the manifest text.
    fn scroll_by(&mut self, action: &Action) {
        let page = self.page.max(1);
        self.scroll = match action {
            Action::Up => self.scroll.saturating_sub(1),
            Action::Down => self.scroll.saturating_add(1),
            Action::PageUp => self.scroll.saturating_sub(page),
            Action::PageDown => self.scroll.saturating_add(page),
            Action::Home => 0,
            Action::End => usize::MAX,
            _ => self.scroll,
        };
    }

    /// The texts into the draft: empty is unset, paths absolute, the AMI
    /// id only for ami.
    fn sync(&mut self) {
        let given = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
        self.draft.source_path = given(&self.texts.source_path).map(|p| absolute_text(&p));
        self.draft.output_path = given(&self.texts.output_path).map(|p| absolute_text(&p));
        self.draft.name = given(&self.texts.name);
        self.draft.ami_id = None;
        if self.is_ami() {
            self.draft.ami_id = given(&self.texts.ami_id);
        }
    }

    /// The manifest as JSON, and the client-side validator's problems.
    fn rendered(&self) -> (String, Vec<manifest::Problem>) {
        self.draft.render(manifest::Format::Json)
    }

    /// A CheckManifest when the draft's text changed since the last one
    /// (or the last one failed: the daemon may be back).
    fn check(&mut self) -> Option<Effect> {
        let (text, _) = self.rendered();
        if text == self.sent && !matches!(self.answer, Some(Err(_))) {
            return None;
        }
        self.generation += 1;
        self.sent = text.clone();
        self.answer = None;
        Some(Effect::Send(Request::CheckManifest {
            generation: self.generation,
            content: text,
        }))
    }

    /// The problems as they stand: the daemon's for this draft when it
    /// answered, else the client-side validator's.
    fn problems(&self) -> Vec<String> {
        match &self.answer {
            Some(Ok(response)) if !response.valid && response.problems.is_empty() => {
                vec!["the daemon finds the manifest invalid".into()]
            }
            Some(Ok(response)) => response
                .problems
                .iter()
                .map(|p| problem_text(&p.path, &p.message))
                .collect(),
            _ => self.local_problems(),
        }
    }

    fn local_problems(&self) -> Vec<String> {
        self.rendered()
            .1
            .iter()
            .map(|p| problem_text(&p.path, &p.message))
            .collect()
    }

    fn submit(&mut self) -> Vec<Effect> {
        if self.step != Step::Review {
            self.go(Step::Review);
            return vec![Effect::Note(
                "here is the manifest: s submits it, o saves it".into(),
            )];
        }
        if self.submitting {
            return vec![Effect::Note(
                "already submitted; waiting for the daemon".into(),
            )];
        }
        let problems = self.problems();
        if let Some(first) = problems.first() {
            return vec![Effect::Problem(format!(
                "not submitted: {} problem{} ({first})",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ))];
        }
        self.submitting = true;
        vec![Effect::Send(Request::SubmitManifest {
            content: self.rendered().0,
        })]
    }
}

/// Whether the output format can be compressed (qcow2 only).
fn compresses(format: &str) -> bool {
    format == "qcow2"
}

/// `path: message`, or the message for the whole document.
fn problem_text(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}
