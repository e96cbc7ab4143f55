//! The manifest builder (`m`): hyperctl's four steps, Source › Pipeline ›
//! Output › Review, over a [`Draft`] that starts from hyperctl's defaults
//! (the manifest tables' own). Every change of the draft, on any step, is
//! sent to the daemon's ValidateManifest with a new generation; an answer
//! for an older generation is dropped, and until the current one arrives
//! the client-side validator's problems ([`Draft::render`]) are shown.
//! Review submits the manifest (SubmitManifest, then each VM's execution
//! opens in a tab) or saves it to a file, asking before overwriting one.

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

/// The four steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Step {
    #[default]
    Source,
    Pipeline,
    Output,
    Review,
}

impl Step {
    const ALL: [Step; 4] = [Step::Source, Step::Pipeline, Step::Output, Step::Review];

    fn title(self) -> &'static str {
        match self {
            Step::Source => "Source",
            Step::Pipeline => "Pipeline",
            Step::Output => "Output",
            Step::Review => "Review",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn next(self) -> Step {
        Step::ALL[(self.index() + 1).min(3)]
    }

    fn previous(self) -> Step {
        Step::ALL[self.index().saturating_sub(1)]
    }
}

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
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
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
            Action::Down => self.scroll + 1,
            Action::PageUp => self.scroll.saturating_sub(page),
            Action::PageDown => self.scroll + page,
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

    /// `o`: asks where to save, on Review. A draft the validator refuses
    /// is not saved (the daemon's own problems, e.g. a source outside its
    /// roots, do not stop a file meant for elsewhere).
    fn open_save(&mut self) -> Vec<Effect> {
        self.go(Step::Review);
        let problems = self.local_problems();
        if let Some(first) = problems.first() {
            return vec![Effect::Problem(format!("not saved: {first}"))];
        }
        let name = self.draft.effective_name().unwrap_or_else(|| "vm".into());
        self.save = Some(SavePrompt {
            path: absolute_text(&format!("{name}-manifest.json")),
            asking: false,
        });
        Vec::new()
    }

    fn on_save_key(&mut self, action: &Action) -> Vec<Effect> {
        let Some(save) = &mut self.save else {
            return Vec::new();
        };
        if save.asking {
            match action {
                Action::Yes | Action::Save | Action::Open => {
                    let path = absolute_text(&save.path);
                    return self.write(&path);
                }
                Action::NextMatch | Action::Back => save.asking = false,
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Action::Type(c) => save.path.push(*c),
            Action::DeleteBack => {
                save.path.pop();
            }
            Action::Complete => {
                let done = complete_path(&save.path);
                save.path = done.text;
                self.matches = done.matches;
                return Vec::new();
            }
            Action::Back => self.save = None,
            Action::Open | Action::Save => {
                let path = absolute_text(save.path.trim());
                if save.path.trim().is_empty() || Path::new(&path).is_dir() {
                    return vec![Effect::Problem(format!(
                        "{} is a directory: add a file name",
                        safe(&path)
                    ))];
                }
                if Path::new(&path).exists() {
                    save.asking = true;
                    return Vec::new();
                }
                return self.write(&path);
            }
            _ => {}
        }
        self.matches.clear();
        Vec::new()
    }

    /// Writes the manifest to `path`, JSON or YAML by its extension.
    fn write(&mut self, path: &str) -> Vec<Effect> {
        let path = Path::new(path);
        let written = file_format(&GoFlags::default(), Some(path)).and_then(|format| {
            let (text, _) = self.draft.render(format);
            write_manifest(path, &text, true)
        });
        match written {
            Ok(()) => {
                self.save = None;
                self.matches.clear();
                vec![Effect::Note(format!(
                    "manifest written to {}",
                    path.display()
                ))]
            }
            Err(e) => {
                if let Some(save) = &mut self.save {
                    save.asking = false;
                }
                vec![Effect::Problem(e.to_string())]
            }
        }
    }

    /// Draws the step indicator, the step, and the hint and validation
    /// lines.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let [steps_area, body_area, hint_area, state_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.indicator(theme)), steps_area);
        let block = Block::bordered().title(Span::styled(
            format!(" {} ", self.step.title()),
            theme.title(),
        ));
        match self.step {
            Step::Review => self.draw_review(frame, body_area, paint),
            _ => {
                let lines = match self.step {
                    Step::Source => self.source_lines(theme),
                    Step::Pipeline => self.pipeline_lines(theme),
                    _ => self.output_lines(theme),
                };
                frame.render_widget(Paragraph::new(lines).block(block), body_area);
            }
        }
        frame.render_widget(Paragraph::new(self.hint(theme)), hint_area);
        frame.render_widget(Paragraph::new(self.state_line(theme)), state_area);
    }

    /// `Step 2/4  Source › [Pipeline] › Output › Review`.
    fn indicator(&self, theme: Theme) -> Line<'static> {
        let mut spans = vec![Span::styled(
            format!(" Step {}/4  ", self.step.index() + 1),
            theme.dim(),
        )];
        for (i, step) in Step::ALL.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" › "));
            }
            if *step == self.step {
                spans.push(Span::styled(
                    format!("[{}]", step.title()),
                    theme.selected(),
                ));
            } else {
                spans.push(Span::raw(step.title()));
            }
        }
        Line::from(spans)
    }

    /// A row's first two cells: the cursor.
    fn cursor_span(&self, row: Row, theme: Theme) -> Span<'static> {
        if self.row() == Some(row) {
            Span::styled("▶ ", theme.title())
        } else {
            Span::raw("  ")
        }
    }

    /// `▶ [✓] NAME  what` for a check box row.
    fn check_line(
        &self,
        row: Row,
        on: bool,
        name: &str,
        what: &str,
        theme: Theme,
    ) -> Line<'static> {
        let under = self.row() == Some(row);
        Line::from(vec![
            self.cursor_span(row, theme),
            Span::styled(
                format!("[{}] {name:<10}", if on { "✓" } else { " " }),
                if under {
                    theme.selected()
                } else {
                    Style::new()
                },
            ),
            Span::styled(format!(" {what}"), theme.dim()),
        ])
    }

    /// `▶   label  ‹value›  other  other` for a choice row.
    fn choice_line(
        &self,
        row: Row,
        indent: &str,
        label: &str,
        values: &[&str],
        value: &str,
        theme: Theme,
    ) -> Line<'static> {
        let under = self.row() == Some(row);
        let mut spans = vec![
            self.cursor_span(row, theme),
            Span::raw(format!("{indent}{label:<19}")),
        ];
        for v in values {
            if *v == value {
                spans.push(Span::styled(
                    format!("‹{v}›"),
                    if under {
                        theme.selected()
                    } else {
                        theme.title()
                    },
                ));
            } else {
                spans.push(Span::raw(format!(" {v} ")));
            }
            spans.push(Span::raw(" "));
        }
        Line::from(spans)
    }

    /// A text field with what an empty one means.
    fn field_line(&self, field: Field, empty: String, theme: Theme) -> Line<'static> {
        let value = self.texts.get(field);
        let under = self.row() == Some(Row::Text(field));
        let typing = under && !self.paused;
        let mut line = text_field(field.label(), value, typing, theme);
        if under && !typing {
            line.spans[0] = Span::styled("▶ ", theme.title());
        }
        if value.is_empty() {
            let gap = if typing { " " } else { "" };
            line.spans
                .push(Span::styled(format!("{gap}{empty}"), theme.dim()));
        }
        line
    }

    fn matches_line(&self, theme: Theme) -> Option<Line<'static>> {
        if self.matches.is_empty() {
            return None;
        }
        Some(Line::styled(
            format!("    matches: {}", safe(&self.matches.join("  "))),
            theme.dim(),
        ))
    }

    fn source_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let mut lines = vec![Line::styled(
            "Source type (Space checks one)",
            theme.title(),
        )];
        for (i, source_type) in SOURCE_TYPES.iter().enumerate() {
            let on = self.draft.source_type.as_deref() == Some(*source_type);
            lines.push(self.check_line(
                Row::SourceType(i),
                on,
                source_type,
                source_type_note(source_type),
                theme,
            ));
        }
        let inferred = match (&self.draft.source_type, self.draft.effective_source_type()) {
            (Some(_), _) => "  Space on the checked type unchecks it".to_string(),
            (None, Some(t)) => format!("  none checked: from the path's extension ({t})"),
            (None, None) => "  none checked: from the path's extension".to_string(),
        };
        lines.push(Line::styled(inferred, theme.dim()));
        lines.push(Line::raw(""));
        lines.push(self.field_line(
            Field::SourcePath,
            "(the disk, OVA or OVF to convert, as the daemon will read it)".into(),
            theme,
        ));
        if self.editing() == Some(Field::SourcePath) {
            lines.extend(self.matches_line(theme));
        }
        if self.is_ami() {
            lines.push(self.field_line(Field::AmiId, "(required for ami)".into(), theme));
        }
        let stem = Draft {
            name: None,
            ..self.draft.clone()
        }
        .effective_name();
        let empty = match stem {
            Some(stem) => format!("({}, from the file name)", safe(&stem)),
            None => "(from the file name)".into(),
        };
        lines.push(self.field_line(Field::Name, empty, theme));
        lines
    }

    fn pipeline_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let d = &self.draft;
        let mut lines = vec![
            self.check_line(
                Row::Inspect,
                d.inspect,
                "INSPECT",
                "detect OS and drivers",
                theme,
            ),
            self.check_line(
                Row::Fix,
                d.fix,
                "FIX",
                "fstab, grub, initramfs, network",
                theme,
            ),
        ];
        if d.fix {
            lines.push(self.choice_line(
                Row::FstabMode,
                "      ",
                "fstab mode",
                FSTAB_MODES,
                &d.fstab_mode,
                theme,
            ));
            lines.push(self.choice_line(
                Row::FixLevel,
                "      ",
                "network fix level",
                FIX_LEVELS,
                &d.network_fix_level,
                theme,
            ));
        }
        lines.push(self.check_line(
            Row::Convert,
            d.convert,
            "CONVERT",
            &format!("to the target format ({}, on Output)", d.output_format),
            theme,
        ));
        lines.push(self.check_line(
            Row::Validate,
            d.validate,
            "VALIDATE",
            "check the output image",
            theme,
        ));
        if d.validate {
            let under = self.row() == Some(Row::BootTest);
            lines.push(Line::from(vec![
                self.cursor_span(Row::BootTest, theme),
                Span::raw("      "),
                Span::styled(
                    format!("[{}] boot test ", if d.boot_test { "✓" } else { " " }),
                    if under {
                        theme.selected()
                    } else {
                        Style::new()
                    },
                ),
                Span::styled(" boot the result under qemu", theme.dim()),
            ]));
        }
        lines
    }

    fn output_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let d = &self.draft;
        let mut lines = vec![self.choice_line(
            Row::OutputFormat,
            "",
            "Output format",
            OUTPUT_FORMATS,
            &d.output_format,
            theme,
        )];
        if compresses(&d.output_format) {
            let under = self.row() == Some(Row::Compress);
            lines.push(Line::from(vec![
                self.cursor_span(Row::Compress, theme),
                Span::styled(
                    format!("[{}] compress", if d.compress { "✓" } else { " " }),
                    if under {
                        theme.selected()
                    } else {
                        Style::new()
                    },
                ),
                Span::styled(" (only qcow2 compresses)", theme.dim()),
            ]));
        } else {
            lines.push(Line::styled(
                format!(
                    "  [ ] compress: not for {} (only qcow2 compresses)",
                    d.output_format
                ),
                theme.dim(),
            ));
        }
        lines.push(Line::raw(""));
        lines.push(self.field_line(
            Field::OutputPath,
            "(empty: the daemon's output directory)".into(),
            theme,
        ));
        if self.editing() == Some(Field::OutputPath) {
            lines.extend(self.matches_line(theme));
        }
        lines
    }

    /// Review: the validation state over the manifest text.
    fn draw_review(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let state = self.validation_lines(theme);
        // Problems wrap rather than lose their end; the manifest keeps at
        // least half the screen.
        let inner_width = usize::from(area.width.saturating_sub(2)).max(1);
        let rows: usize = state
            .iter()
            .map(|line| line.width().div_ceil(inner_width).max(1))
            .sum();
        let most = (area.height / 2).max(3);
        let state_height = (rows as u16).saturating_add(2).min(most);
        let [state_area, text_area] =
            Layout::vertical([Constraint::Length(state_height), Constraint::Min(3)]).areas(area);
        frame.render_widget(
            Paragraph::new(state)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(Span::styled(" Validation ", theme.title()))),
            state_area,
        );
        let (text, _) = self.rendered();
        let lines: Vec<&str> = text.lines().collect();
        self.page = text_area.height.saturating_sub(2) as usize;
        self.scroll = self.scroll.min(lines.len().saturating_sub(self.page));
        let shown: Vec<Line<'static>> = lines
            .iter()
            .skip(self.scroll)
            .take(self.page)
            .map(|l| Line::raw(safe(l)))
            .collect();
        let last = (self.scroll + self.page).min(lines.len());
        let title = if lines.len() > self.page {
            format!(
                " Manifest (JSON, lines {}-{last} of {}, PgUp/PgDn) ",
                self.scroll + 1,
                lines.len()
            )
        } else {
            " Manifest (JSON) ".to_string()
        };
        frame.render_widget(
            Paragraph::new(shown)
                .block(Block::bordered().title(Span::styled(title, theme.title()))),
            text_area,
        );
    }

    /// `valid`, `checking…` or each problem; the client-side validator's
    /// until the daemon answers, and why when it cannot.
    fn validation_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let problem = |text: &str| Line::styled(format!("✗ {}", safe(text)), theme.error());
        let local = || {
            let problems = self.local_problems();
            if problems.is_empty() {
                vec![Line::styled(
                    "  the local check finds no problem",
                    theme.dim(),
                )]
            } else {
                problems.iter().map(|p| problem(p)).collect()
            }
        };
        match &self.answer {
            Some(Ok(response)) if response.valid => {
                let vms = response.vms.len();
                vec![Line::styled(
                    format!(
                        "✓ valid: the daemon would run {vms} VM pipeline{}",
                        if vms == 1 { "" } else { "s" }
                    ),
                    theme.ok(),
                )]
            }
            Some(Ok(_)) => self.problems().iter().map(|p| problem(p)).collect(),
            Some(Err(message)) => {
                let mut lines = vec![Line::styled(
                    format!("the daemon cannot check it: {}", safe(message)),
                    theme.busy(),
                )];
                lines.extend(local());
                lines
            }
            None if self.generation > 0 => {
                let mut lines = vec![Line::styled("checking… (the daemon)", theme.busy())];
                lines.extend(local());
                lines
            }
            None => local(),
        }
    }

    /// The keys of the row under the cursor.
    fn hint(&self, theme: Theme) -> Line<'static> {
        let text = if let Some(save) = &self.save {
            if save.asking {
                return Line::styled(
                    format!(
                        " {} exists: overwrite it? y: yes  n, Esc: no",
                        safe(&absolute_text(&save.path))
                    ),
                    theme.error(),
                );
            }
            return text_field("Save to", &save.path, true, theme);
        } else if let Some(field) = self.editing() {
            if field.is_path() {
                "Tab: complete  Up/Down: leave the field  Esc: stop typing  Enter: next step"
            } else {
                "Up/Down: leave the field  Esc: stop typing  Enter: next step"
            }
        } else {
            match self.row() {
                Some(Row::Text(_)) => "Space: type again  Up/Down: move  Enter: next step",
                Some(Row::FstabMode | Row::FixLevel | Row::OutputFormat) => {
                    "Left/Right: change  Up/Down: move  Enter: next step"
                }
                Some(_) => "Space: toggle  Up/Down: move  Enter: next step",
                None => "s: submit  o: save to a file  PgUp/PgDn: scroll  Backspace: back",
            }
        };
        Line::styled(format!(" {text}"), theme.dim())
    }

    /// One line of validation state for every step.
    fn state_line(&self, theme: Theme) -> Line<'static> {
        if self.save.as_ref().is_some_and(|save| !save.asking) {
            return match self.matches_line(theme) {
                Some(matches) => matches,
                None => Line::styled(
                    " Enter: write (JSON, or YAML for .yaml/.yml)  Tab: complete  Esc: cancel",
                    theme.dim(),
                ),
            };
        }
        if self.submitting {
            return Line::styled(" submitting…", theme.busy());
        }
        let problems = self.problems();
        let who = match &self.answer {
            Some(Ok(_)) => "",
            Some(Err(_)) => " (local check: the daemon cannot be reached)",
            None if self.generation > 0 => " (local check; the daemon is checking…)",
            None => " (local check)",
        };
        match problems.first() {
            None => Line::styled(format!(" manifest: valid{who}"), theme.ok()),
            Some(first) => Line::styled(
                format!(
                    " {} problem{}{who}: {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    safe(first)
                ),
                theme.error(),
            ),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The builder after these actions, and the effects of the last one.
    fn press(builder: &mut ManifestBuilder, actions: &[Action]) -> Vec<Effect> {
        let mut effects = Vec::new();
        for action in actions {
            effects = builder.on_action(action);
        }
        effects
    }

    fn type_text(builder: &mut ManifestBuilder, text: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        for c in text.chars() {
            effects.extend(builder.on_action(&Action::Type(c)));
        }
        effects
    }

    /// A builder with a source path typed, back in Navigate mode on Source.
    fn with_source(path: &str) -> ManifestBuilder {
        let mut builder = ManifestBuilder::default();
        press(&mut builder, &[const { Action::Down }; 7]);
        assert_eq!(builder.row(), Some(Row::Text(Field::SourcePath)));
        type_text(&mut builder, path);
        press(&mut builder, &[Action::Back]);
        builder
    }

    fn document(builder: &ManifestBuilder) -> serde_json::Value {
        serde_json::from_str(&builder.rendered().0).unwrap()
    }

    fn generation_of(effects: &[Effect]) -> Option<u64> {
        effects.iter().rev().find_map(|e| match e {
            Effect::Send(Request::CheckManifest { generation, .. }) => Some(*generation),
            _ => None,
        })
    }

    fn response(problems: &[(&str, &str)]) -> Box<pb::ValidateManifestResponse> {
        Box::new(pb::ValidateManifestResponse {
            valid: problems.is_empty(),
            problems: problems
                .iter()
                .map(|(path, message)| pb::ManifestProblem {
                    path: path.to_string(),
                    message: message.to_string(),
                })
                .collect(),
            ..Default::default()
        })
    }

    #[test]
    fn space_checks_one_source_type_at_a_time_and_unchecks_it() {
        let mut builder = with_source("/d/web.raw");
        assert_eq!(document(&builder)["pipeline"]["load"]["source_type"], "raw");
        press(&mut builder, &[Action::Home, Action::Down, Action::Toggle]);
        assert_eq!(builder.draft.source_type.as_deref(), Some("ova"));
        press(&mut builder, &[Action::Down, Action::Toggle]);
        assert_eq!(builder.draft.source_type.as_deref(), Some("ovf"));
        assert_eq!(document(&builder)["pipeline"]["load"]["source_type"], "ovf");
        press(&mut builder, &[Action::Toggle]);
        assert_eq!(builder.draft.source_type, None);
        assert_eq!(document(&builder)["pipeline"]["load"]["source_type"], "raw");
    }

    #[test]
    fn ami_adds_its_id_field_and_the_id_reaches_the_manifest() {
        let mut builder = with_source("/d/web.raw");
        assert!(!builder
            .rows(Step::Source)
            .contains(&Row::Text(Field::AmiId)));
        press(&mut builder, &[Action::Home]);
        press(&mut builder, &[const { Action::Down }; 6]);
        press(&mut builder, &[Action::Toggle]);
        assert_eq!(builder.draft.source_type.as_deref(), Some("ami"));
        press(&mut builder, &[Action::Down, Action::Down]);
        assert_eq!(builder.editing(), Some(Field::AmiId));
        type_text(&mut builder, "ami-0abc");
        assert_eq!(document(&builder)["pipeline"]["load"]["ami_id"], "ami-0abc");
        // Another type drops the id from the manifest.
        press(
            &mut builder,
            &[Action::Up, Action::Up, Action::Up, Action::Toggle],
        );
        assert_eq!(builder.draft.source_type.as_deref(), Some("raw"));
        assert!(document(&builder)["pipeline"]["load"]
            .get("ami_id")
            .is_none());
    }

    #[test]
    fn a_text_field_takes_letters_until_esc_and_space_types_again() {
        let mut builder = ManifestBuilder::default();
        assert_eq!(builder.input_mode(), InputMode::Navigate);
        press(&mut builder, &[const { Action::Down }; 9]);
        assert_eq!(builder.row(), Some(Row::Text(Field::Name)));
        assert_eq!(builder.input_mode(), InputMode::Text);
        type_text(&mut builder, "web-9");
        press(&mut builder, &[Action::DeleteBack]);
        assert_eq!(builder.draft.name.as_deref(), Some("web-"));
        press(&mut builder, &[Action::Back]);
        assert_eq!(builder.input_mode(), InputMode::Navigate);
        press(&mut builder, &[Action::Toggle]);
        assert_eq!(builder.input_mode(), InputMode::Text);
        press(&mut builder, &[Action::Up]);
        assert_eq!(builder.input_mode(), InputMode::Text, "on the path field");
        press(&mut builder, &[Action::Up]);
        assert_eq!(builder.input_mode(), InputMode::Navigate, "on raw");
    }

    #[test]
    fn a_relative_path_becomes_absolute_in_the_manifest_and_the_field() {
        let mut builder = with_source("disks/web.vmdk");
        let absolute = absolute_text("disks/web.vmdk");
        assert!(absolute.starts_with('/'), "{absolute}");
        assert_eq!(
            builder.draft.source_path.as_deref(),
            Some(absolute.as_str())
        );
        press(&mut builder, &[Action::Down]);
        assert_eq!(builder.texts.source_path, absolute);
    }

    #[test]
    fn pipeline_toggles_and_choices_change_the_draft() {
        let mut builder = with_source("/d/web.raw");
        press(&mut builder, &[Action::Open]);
        assert_eq!(builder.step, Step::Pipeline);
        press(&mut builder, &[Action::Toggle]);
        assert!(!builder.draft.inspect);
        press(&mut builder, &[Action::Down, Action::Down, Action::Right]);
        assert_eq!(builder.draft.fstab_mode, "bypath-only");
        press(&mut builder, &[Action::Left, Action::Left]);
        assert_eq!(builder.draft.fstab_mode, "noop", "round from the first");
        press(&mut builder, &[Action::Down, Action::Left]);
        assert_eq!(builder.draft.network_fix_level, "none");
        press(&mut builder, &[Action::Down, Action::Toggle]);
        assert!(!builder.draft.convert);
        assert_eq!(document(&builder)["pipeline"]["convert"]["enabled"], false);
        press(&mut builder, &[Action::Down, Action::Down, Action::Toggle]);
        assert!(builder.draft.boot_test);
        // FIX off hides its choices: the cursor skips them.
        press(&mut builder, &[Action::Home, Action::Down, Action::Toggle]);
        assert!(!builder.draft.fix);
        press(&mut builder, &[Action::Down]);
        assert_eq!(builder.row(), Some(Row::Convert));
    }

    #[test]
    fn only_qcow2_offers_compression() {
        let mut builder = with_source("/d/web.raw");
        press(&mut builder, &[Action::Open, Action::Open]);
        assert_eq!(builder.step, Step::Output);
        assert!(builder.rows(Step::Output).contains(&Row::Compress));
        press(&mut builder, &[Action::Right]);
        assert_eq!(builder.draft.output_format, "raw");
        assert!(!builder.rows(Step::Output).contains(&Row::Compress));
        assert_eq!(document(&builder)["pipeline"]["convert"]["compress"], false);
        press(&mut builder, &[Action::Down]);
        assert_eq!(builder.editing(), Some(Field::OutputPath));
        press(
            &mut builder,
            &[Action::Up, Action::Left, Action::Down, Action::Toggle],
        );
        assert_eq!(builder.draft.output_format, "qcow2");
        assert!(!builder.draft.compress);
    }

    #[test]
    fn enter_and_backspace_walk_the_steps() {
        let mut builder = ManifestBuilder::default();
        press(&mut builder, &[Action::StepBack]);
        assert_eq!(builder.step, Step::Source);
        press(&mut builder, &[Action::Open, Action::Open, Action::Open]);
        assert_eq!(builder.step, Step::Review);
        press(&mut builder, &[Action::Open]);
        assert_eq!(builder.step, Step::Review);
        press(&mut builder, &[Action::StepBack, Action::StepBack]);
        assert_eq!(builder.step, Step::Pipeline);
    }

    #[test]
    fn each_change_is_checked_with_a_new_generation_and_old_answers_are_dropped() {
        let mut builder = ManifestBuilder::default();
        let first = generation_of(&press(&mut builder, &[Action::Down]));
        assert_eq!(first, Some(1), "the first key has the draft checked");
        assert_eq!(generation_of(&press(&mut builder, &[Action::Down])), None);
        press(&mut builder, &[const { Action::Down }; 5]);
        let typed = type_text(&mut builder, "/d/a.raw");
        assert_eq!(generation_of(&typed), Some(9), "one per character");
        builder.checked(8, Ok(response(&[("pipeline", "stale")])));
        assert!(builder.answer.is_none(), "an older generation is dropped");
        assert!(builder
            .state_line(Theme::new(false))
            .to_string()
            .contains("checking"));
        builder.checked(9, Ok(response(&[])));
        assert!(builder.problems().is_empty());
        // A change makes the answer stale until the next one.
        let effects = press(&mut builder, &[Action::Up, Action::Toggle]);
        assert_eq!(generation_of(&effects), Some(10));
        assert!(builder.answer.is_none());
        builder.checked(9, Ok(response(&[])));
        assert!(builder.answer.is_none());
    }

    #[test]
    fn a_failed_check_shows_the_local_problems_and_is_asked_again() {
        let mut builder = ManifestBuilder::default();
        let generation = generation_of(&press(&mut builder, &[Action::Down])).unwrap();
        builder.checked(generation, Err("cannot reach the workflow daemon".into()));
        assert_eq!(builder.problems(), builder.local_problems());
        assert!(!builder.problems().is_empty(), "no source path yet");
        let again = press(&mut builder, &[Action::Down]);
        assert_eq!(generation_of(&again), Some(generation + 1));
    }

    #[test]
    fn submit_is_refused_with_problems_local_or_the_daemons() {
        let mut builder = ManifestBuilder::default();
        let effects = press(&mut builder, &[Action::Submit]);
        assert_eq!(builder.step, Step::Review, "s shows Review first");
        assert!(
            matches!(effects.first(), Some(Effect::Note(_))),
            "{effects:?}"
        );
        let effects = press(&mut builder, &[Action::Submit]);
        match effects.first() {
            Some(Effect::Problem(text)) => {
                assert!(text.contains("pipeline.load.source_path"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        let mut builder = with_source("/d/web.raw");
        press(&mut builder, &[Action::Open, Action::Open, Action::Open]);
        builder.checked(
            builder.generation,
            Ok(response(&[(
                "pipeline.load.source_path",
                "outside every source root",
            )])),
        );
        let effects = press(&mut builder, &[Action::Submit]);
        assert_eq!(
            effects,
            vec![Effect::Problem(
                "not submitted: 1 problem (pipeline.load.source_path: outside every source root)"
                    .into()
            )]
        );
        assert!(!builder.submitting);
    }

    #[test]
    fn submit_sends_the_manifest_and_opens_each_execution() {
        let mut builder = with_source("/d/web.raw");
        press(&mut builder, &[Action::Open, Action::Open, Action::Open]);
        builder.checked(builder.generation, Ok(response(&[])));
        let effects = press(&mut builder, &[Action::Submit]);
        let content = builder.rendered().0;
        assert_eq!(
            effects,
            vec![Effect::Send(Request::SubmitManifest { content })]
        );
        let again = press(&mut builder, &[Action::Submit]);
        assert!(matches!(again.as_slice(), [Effect::Note(_)]), "{again:?}");

        let vm = |name: &str, id: &str| pb::SubmittedVm {
            name: name.into(),
            execution: Some(pb::Execution {
                id: id.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let effects = builder.submitted(Ok(Box::new(pb::SubmitManifestResponse {
            vms: vec![vm("web", "exec-0001"), vm("db", "exec-0002")],
            started: true,
            ..Default::default()
        })));
        assert_eq!(
            effects,
            vec![
                Effect::Note("submitted 2 VMs".into()),
                Effect::OpenExecution("exec-0001".into()),
                Effect::OpenExecution("exec-0002".into()),
            ]
        );
        assert!(!builder.submitting);
        let effects = builder.submitted(Err("refused".into()));
        assert_eq!(
            effects,
            vec![Effect::Problem("not submitted: refused".into())]
        );
    }

    #[test]
    fn save_writes_json_or_yaml_and_asks_before_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = with_source("/d/web.raw");
        press(&mut builder, &[Action::Save]);
        assert_eq!(builder.step, Step::Review);
        let save = builder.save.as_ref().unwrap();
        assert_eq!(save.path, absolute_text("web-manifest.json"));
        assert_eq!(builder.input_mode(), InputMode::Text);

        let json = dir.path().join("web.json");
        builder.save.as_mut().unwrap().path = json.to_str().unwrap().into();
        let effects = press(&mut builder, &[Action::Open]);
        assert_eq!(
            effects,
            vec![Effect::Note(format!(
                "manifest written to {}",
                json.display()
            ))]
        );
        assert!(builder.save.is_none());
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(written["pipeline"]["load"]["source_path"], "/d/web.raw");

        // An existing file: asked, kept on n, overwritten on y.
        press(&mut builder, &[const { Action::StepBack }; 3]);
        press(
            &mut builder,
            &[Action::Home, Action::Down, Action::Down, Action::Toggle],
        );
        assert_eq!(builder.draft.source_type.as_deref(), Some("ovf"));
        press(&mut builder, &[Action::Save]);
        builder.save.as_mut().unwrap().path = json.to_str().unwrap().into();
        press(&mut builder, &[Action::Open]);
        assert!(builder.save.as_ref().unwrap().asking);
        assert_eq!(builder.input_mode(), InputMode::Navigate);
        press(&mut builder, &[Action::NextMatch]);
        assert!(!builder.save.as_ref().unwrap().asking);
        let before = std::fs::read_to_string(&json).unwrap();
        assert!(before.contains("\"raw\""), "{before}");
        press(&mut builder, &[Action::Save, Action::Yes]);
        assert!(builder.save.is_none());
        let after = std::fs::read_to_string(&json).unwrap();
        assert!(after.contains("\"ovf\""), "{after}");

        let yaml = dir.path().join("web.yaml");
        press(&mut builder, &[Action::Save]);
        builder.save.as_mut().unwrap().path = yaml.to_str().unwrap().into();
        press(&mut builder, &[Action::Open]);
        let text = std::fs::read_to_string(&yaml).unwrap();
        assert!(text.starts_with("version:"), "{text}");
    }

    #[test]
    fn save_refuses_a_draft_the_validator_refuses() {
        let mut builder = ManifestBuilder::default();
        let effects = press(&mut builder, &[Action::Save]);
        assert!(builder.save.is_none());
        assert!(matches!(effects.first(), Some(Effect::Problem(p)) if p.contains("source_path")));
    }
}
