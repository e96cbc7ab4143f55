//! The colours of `wfctl tui`, and none at all under NO_COLOR
//! (https://no-color.org): every style the screens use comes from a
//! [`Theme`], so honouring NO_COLOR is one switch, and meaning never rests
//! on colour alone (states are words, the cursor is `▶`, checks are `[✓]`).

use ratatui::style::{Color, Modifier, Style};

use crate::pb::ExecutionState;

/// The styles of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Theme {
    color: bool,
}

impl Theme {
    /// Colours unless NO_COLOR is set to a non-empty value.
    pub(crate) fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// A theme with or without colours (the snapshot tests use both).
    #[cfg(test)]
    pub(crate) fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// Titles and headers.
    pub(crate) fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Secondary text: hints, units, empty states.
    pub(crate) fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// The row under the cursor, the tab shown, the field with the focus.
    pub(crate) fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Something to act on: the disconnected banner, a violation, a
    /// failed state.
    pub(crate) fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Something that went well.
    pub(crate) fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    /// Something in progress.
    pub(crate) fn busy(self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A search match in the log.
    pub(crate) fn matched(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    /// The filled part of a progress bar.
    pub(crate) fn bar(self) -> Style {
        self.fg(Color::Cyan)
    }

    /// The style of an execution state's name.
    pub(crate) fn state(self, state: ExecutionState) -> Style {
        match state {
            ExecutionState::Succeeded => self.ok(),
            ExecutionState::Running => self.busy(),
            ExecutionState::Queued | ExecutionState::Unspecified => Style::new(),
            _ => self.error(),
        }
    }
}
