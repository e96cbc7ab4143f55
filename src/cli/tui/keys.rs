//! Every key of `wfctl tui`, mapped to an [`Action`] in one place. What an
//! action does depends on the screen; which key means which action depends
//! only on whether the user is typing into a text field ([`InputMode`]).
//! docs/tui.md lists the same map; [`HELP`] is the `?` overlay.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Whether letters are commands or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputMode {
    /// Letters are commands (`q` quits, `j` opens the job monitor, ...).
    Navigate,
    /// A text field has the focus: letters are typed; only keys that cannot
    /// be text (arrows, Enter, Esc, Tab, Ctrl-...) act.
    Text,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Leave `wfctl tui` (`q`; not inside a form or a question).
    Quit,
    /// Leave `wfctl tui` whatever is shown (Ctrl-C).
    Interrupt,
    /// Show or hide the key map (`?`).
    Help,
    /// The workflow daemon dashboard (`w`).
    Dashboard,
    /// The job monitor (`j`).
    Jobs,
    /// The discovered workflows (`l`).
    Workflows,
    /// The manifest builder (`m`).
    Manifest,
    /// The execution tab with this number, 1-9.
    ExecutionTab(usize),
    /// Close the execution tab shown (`x`).
    CloseTab,
    /// Fetch everything shown again (`r`).
    Refresh,
    /// The next sub-tab or field (Tab).
    NextTab,
    /// The previous sub-tab or field (Shift-Tab).
    PrevTab,
    /// Cursor up one row (Up).
    Up,
    /// Cursor down one row (Down).
    Down,
    /// Left (Left): the previous choice of a select.
    Left,
    /// Right (Right): the next choice of a select.
    Right,
    /// One page up (PageUp).
    PageUp,
    /// One page down (PageDown).
    PageDown,
    /// The first row (Home, `g`).
    Home,
    /// The last row, and follow (End, `G`).
    End,
    /// Open, choose, or go to the next step (Enter).
    Open,
    /// Back out: close a dialog, leave a form, cancel a prompt (Esc).
    Back,
    /// Back a step in the manifest builder (Backspace, when not typing).
    StepBack,
    /// Toggle a check box (Space).
    Toggle,
    /// Submit: a job from the dashboard (the workflow list), the run form,
    /// the manifest (`s`, Ctrl-S while typing).
    Submit,
    /// Save the manifest to a file (Ctrl-W while typing, `o` otherwise).
    Save,
    /// Cancel the execution shown, after confirmation (`c`).
    Cancel,
    /// Kill the execution shown at once, after confirmation (`K`).
    ForceKill,
    /// Show the whole tree, or the tree's end and the log (`t`).
    Tree,
    /// Follow the log's end, or pause (`f`).
    Follow,
    /// Search the log (`/`).
    Search,
    /// The next match of the search (`n`).
    NextMatch,
    /// The previous match of the search (`N`).
    PrevMatch,
    /// Say yes to a confirmation (`y`; `n` is [`Action::NextMatch`],
    /// which a confirmation reads as no).
    Yes,
    /// A character typed into a text field.
    Type(char),
    /// Delete the character before the cursor (Backspace while typing).
    DeleteBack,
    /// Complete the path typed so far (Tab in a path field).
    Complete,
}

/// The action for one key event, `None` for a key that means nothing (and
/// for key releases, which some terminals report).
pub(crate) fn action_for(key: KeyEvent, mode: InputMode) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Interrupt),
            KeyCode::Char('s') => Some(Action::Submit),
            KeyCode::Char('w') => Some(Action::Save),
            KeyCode::Char('r') => Some(Action::Refresh),
            _ => None,
        };
    }
    let common = match key.code {
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        KeyCode::Left => Some(Action::Left),
        KeyCode::Right => Some(Action::Right),
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::Home => Some(Action::Home),
        KeyCode::End => Some(Action::End),
        KeyCode::Enter => Some(Action::Open),
        KeyCode::Esc => Some(Action::Back),
        KeyCode::BackTab => Some(Action::PrevTab),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match mode {
        InputMode::Text => match key.code {
            KeyCode::Tab => Some(Action::Complete),
            KeyCode::Backspace => Some(Action::DeleteBack),
            KeyCode::Char(c) => Some(Action::Type(c)),
            _ => None,
        },
        InputMode::Navigate => match key.code {
            KeyCode::Tab => Some(Action::NextTab),
            KeyCode::Backspace => Some(Action::StepBack),
            KeyCode::Char(c) => navigate_char(c),
            _ => None,
        },
    }
}

/// The command letters.
fn navigate_char(c: char) -> Option<Action> {
    Some(match c {
        'q' => Action::Quit,
        '?' => Action::Help,
        'w' => Action::Dashboard,
        'j' => Action::Jobs,
        'l' => Action::Workflows,
        'm' => Action::Manifest,
        'x' => Action::CloseTab,
        'r' => Action::Refresh,
        'g' => Action::Home,
        'G' => Action::End,
        ' ' => Action::Toggle,
        's' => Action::Submit,
        'o' => Action::Save,
        'c' => Action::Cancel,
        'K' => Action::ForceKill,
        'f' => Action::Follow,
        't' => Action::Tree,
        '/' => Action::Search,
        'n' => Action::NextMatch,
        'N' => Action::PrevMatch,
        'y' => Action::Yes,
        '1'..='9' => Action::ExecutionTab(c as usize - '0' as usize),
        _ => return None,
    })
}

/// The key map the `?` overlay shows, as (keys, what they do) by section.
pub(crate) const HELP: &[(&str, &[(&str, &str)])] = &[
    (
        "Anywhere",
        &[
            ("w", "workflow dashboard"),
            ("j", "job monitor"),
            ("l", "workflows, run one"),
            ("m", "manifest builder"),
            ("1-9", "execution tab N"),
            ("x", "close the tab"),
            ("r", "refresh"),
            ("?", "this help"),
            ("q, Ctrl-C", "quit (in forms: Ctrl-C)"),
        ],
    ),
    (
        "Lists",
        &[
            ("Up/Down", "move the cursor"),
            ("PgUp/PgDn", "a page up, down"),
            ("g, G", "first, last"),
            ("Tab, S-Tab", "next, previous tab"),
            ("Enter", "open"),
            ("s", "submit job (dashboard)"),
        ],
    ),
    (
        "Forms",
        &[
            ("Up/Down", "previous, next field"),
            ("Left/Right", "change a choice"),
            ("Space", "toggle a check box"),
            ("Tab", "complete a path"),
            ("Ctrl-S", "run"),
            ("Esc", "leave the form"),
        ],
    ),
    (
        "Execution",
        &[
            ("f", "follow the log, pause"),
            ("t", "the whole tree, or not"),
            ("/, n, N", "search, next, previous"),
            ("c", "cancel (asks first)"),
            ("K", "kill (asks first)"),
        ],
    ),
    (
        "Manifest builder",
        &[
            ("Enter", "next step"),
            ("Backspace", "previous step"),
            ("Esc, Space", "stop, resume typing"),
            ("s", "submit (Review)"),
            ("o, Ctrl-W", "save (Review)"),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn letters_are_commands_when_navigating_and_text_when_typing() {
        let q = key(KeyCode::Char('q'));
        assert_eq!(action_for(q, InputMode::Navigate), Some(Action::Quit));
        assert_eq!(action_for(q, InputMode::Text), Some(Action::Type('q')));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(ctrl_c, InputMode::Text), Some(Action::Interrupt));
        assert_eq!(
            action_for(key(KeyCode::Tab), InputMode::Text),
            Some(Action::Complete)
        );
        assert_eq!(
            action_for(key(KeyCode::Char('3')), InputMode::Navigate),
            Some(Action::ExecutionTab(3))
        );
    }
}
