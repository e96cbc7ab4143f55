//! Drawing pieces several screens share: the progress bar, elapsed time
//! and ETA of an execution row, a text field, a centred dialog, and the
//! [`Paint`] every screen's `draw` takes.

use std::time::SystemTime;

use ratatui::{
    layout::{Constraint, Flex, Layout, Rect},
    text::{Line, Span},
    widgets::{Block, Clear, Paragraph, Wrap},
    Frame,
};

use super::theme::Theme;
use crate::cli::render::{
    estimate::{eta_text, progress_text},
    print::human_secs,
    terminal_text::terminal_safe,
};
use crate::pb;

/// What every screen's `draw` needs besides its own state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    /// The styles.
    pub(crate) theme: Theme,
    /// The time elapsed times are counted to (fixed in the tests).
    pub(crate) now: SystemTime,
}

/// Text a workflow program or a user wrote, made fit for the screen:
/// control characters and escape sequences as visible escapes and bidi
/// controls named (as everywhere in wfctl), and tabs as spaces (ratatui
/// drops control characters, tabs included, so `a\tb` would show `ab`).
pub(crate) fn safe(text: &str) -> String {
    terminal_safe(text).replace('\t', "    ")
}

/// A count of lines or cells as a terminal size, saturating: a program
/// decides how many phases, tasks or folders there are, and `as u16` would
/// wrap (and `+` overflow) on a huge one.
pub(crate) fn cells(count: usize) -> u16 {
    u16::try_from(count).unwrap_or(u16::MAX)
}

/// Seconds from `start` to `now` (or to `end` when set).
pub(crate) fn elapsed_secs(
    start: Option<&prost_types::Timestamp>,
    end: Option<&prost_types::Timestamp>,
    now: SystemTime,
) -> Option<f64> {
    let start = start?;
    let end_secs = match end {
        Some(end) => end.seconds as f64 + f64::from(end.nanos) / 1e9,
        None => now
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_secs_f64(),
    };
    Some((end_secs - (start.seconds as f64 + f64::from(start.nanos) / 1e9)).max(0.0))
}

/// `12s`, `4m05s`: an execution's running time in whole seconds, or `-`.
pub(crate) fn elapsed_text(execution: &pb::Execution, now: SystemTime) -> String {
    match elapsed_secs(
        execution.start_time.as_ref(),
        execution.end_time.as_ref(),
        now,
    ) {
        // A running clock ticks in whole seconds; a finished run shows
        // its duration as it was.
        Some(secs) if execution.end_time.is_none() => whole_secs(secs),
        Some(secs) => human_secs(secs),
        None => "-".to_string(),
    }
}

/// A clock that ticks once a second: `0s`, `12s`, `4m05s`.
pub(crate) fn whole_secs(secs: f64) -> String {
    if secs < 1.0 {
        "0s".to_string()
    } else {
        human_secs(secs.floor())
    }
}

/// `ETA 4m05s`, or empty when unknown.
pub(crate) fn eta_label(execution: &pb::Execution) -> String {
    match eta_text(execution.estimate.as_ref()).as_str() {
        "-" => String::new(),
        eta => format!("ETA {eta}"),
    }
}

/// A bar of `width` cells, `[#####-----] 50%`, or blanks when progress is
/// unknown. Characters, not colours, carry the amount (NO_COLOR).
pub(crate) fn progress_bar(
    estimate: Option<&pb::Estimate>,
    width: usize,
    theme: Theme,
) -> Span<'static> {
    let Some(progress) = estimate.and_then(|e| e.progress) else {
        return Span::raw(" ".repeat(width + 7));
    };
    let progress = progress.clamp(0.0, 1.0);
    let filled = ((progress * width as f64).round() as usize).min(width);
    let text = format!(
        "[{}{}] {:>4}",
        "█".repeat(filled),
        "░".repeat(width - filled),
        progress_text(estimate)
    );
    Span::styled(text, theme.bar())
}

/// The current stage of an execution: its current phase, else its state.
pub(crate) fn stage_text(execution: &pb::Execution) -> String {
    if execution.current_phase.is_empty() {
        crate::cli::render::short_state(execution.state()).to_string()
    } else {
        safe(&execution.current_phase)
    }
}

/// The name a row shows: the execution's `vm` label, else its workflow.
pub(crate) fn job_name(execution: &pb::Execution) -> String {
    let name = execution
        .labels
        .get("vm")
        .filter(|vm| !vm.is_empty())
        .unwrap_or(&execution.workflow_id);
    safe(name)
}

/// `text` cut to `width` characters, ending in `…` when cut.
pub(crate) fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The last 8 characters of an id, as hyperctl shows `[ID8]`.
pub(crate) fn short_id(id: &str) -> &str {
    let start = id.len().saturating_sub(8);
    id.get(start..).unwrap_or(id)
}

/// A one-line text field: `label: value▏`, the cursor shown while focused.
pub(crate) fn text_field<'a>(label: &str, value: &str, focused: bool, theme: Theme) -> Line<'a> {
    let mut spans = vec![
        Span::styled(
            format!("{} ", if focused { "▶" } else { " " }),
            theme.title(),
        ),
        Span::raw(format!("{label}: ")),
        Span::styled(
            safe(value),
            if focused {
                theme.selected()
            } else {
                ratatui::style::Style::new()
            },
        ),
    ];
    if focused {
        spans.push(Span::raw("▏"));
    }
    Line::from(spans)
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub(crate) fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

/// A dialog over the screen: a bordered box with a title and lines.
pub(crate) fn dialog(frame: &mut Frame<'_>, title: &str, lines: Vec<Line<'_>>, theme: Theme) {
    let width = lines
        .iter()
        .map(|l| cells(l.width()).saturating_add(4))
        .max()
        .unwrap_or(20)
        .max(cells(title.len()).saturating_add(6))
        .min(76);
    let height = cells(lines.len()).saturating_add(2);
    let area = centred(frame.area(), width, height);
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), theme.title()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// One job row as hyperctl shows it: `▶ [ID8] NAME - STAGE - 12s`, then a
/// progress bar and the ETA when known.
pub(crate) fn job_line(
    execution: &pb::Execution,
    selected: bool,
    width: u16,
    paint: Paint,
) -> Line<'static> {
    let theme = paint.theme;
    let cursor = if selected { "▶ " } else { "  " };
    let head = format!(
        "{cursor}[{}] {} - {} - {}",
        short_id(&execution.id),
        job_name(execution),
        stage_text(execution),
        elapsed_text(execution, paint.now),
    );
    let mut spans = vec![Span::styled(
        head.clone(),
        if selected {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        },
    )];
    let state = execution.state();
    let ended = !matches!(
        state,
        pb::ExecutionState::Running | pb::ExecutionState::Queued
    );
    // An ended run names its state (the stage column already does when it
    // ended before any phase) and why it failed.
    if ended && !execution.current_phase.is_empty() {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            crate::cli::render::short_state(state),
            theme.state(state),
        ));
    }
    if ended && !execution.error.is_empty() {
        spans.push(Span::styled(
            format!(": {}", safe(&execution.error)),
            theme.dim(),
        ));
    }
    // The bar and ETA where they fit: 20 cells of bar and its percentage.
    let used = cells(Line::from(spans.clone()).width());
    if state == pb::ExecutionState::Running && width > used.saturating_add(30) {
        spans.push(Span::raw("  "));
        spans.push(progress_bar(execution.estimate.as_ref(), 20, theme));
        let eta = eta_label(execution);
        if !eta.is_empty() {
            spans.push(Span::styled(format!(" {eta}"), theme.dim()));
        }
    }
    Line::from(spans)
}
