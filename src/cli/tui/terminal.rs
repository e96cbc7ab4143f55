//! The terminal while `wfctl tui` runs: raw mode and the alternate screen,
//! put back however wfctl ends. On a normal exit and on SIGINT, SIGTERM or
//! SIGHUP the loop ends and [`Screen::leave`] (or the drop) restores it; on
//! a panic anywhere, ratatui's hook restores it before the panic message
//! prints, and wfctl exits.

use std::io::IsTerminal;

use ratatui::{DefaultTerminal, Frame};

use crate::cli::error::CliError;

/// The terminal in full-screen mode.
pub(crate) struct Screen {
    terminal: Option<DefaultTerminal>,
}

impl Screen {
    /// Enters full-screen mode; refuses when stdin or stdout is not a
    /// terminal (there would be nothing to draw on or read keys from).
    pub(crate) fn enter() -> Result<Screen, CliError> {
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "wfctl tui needs a terminal on stdin and stdout; for scripts use wfctl list, get and logs".into(),
            ));
        }
        let terminal = ratatui::try_init().map_err(|e| {
            // Raw mode may be on already when the alternate screen failed.
            ratatui::restore();
            CliError::Usage(format!("cannot set up the terminal: {e}"))
        })?;
        // ratatui's hook restores the terminal and prints the panic; a
        // panic in a task (the link) would then leave the loop drawing on
        // the restored terminal, so any panic ends wfctl.
        let restore_and_print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_and_print(info);
            std::process::exit(101);
        }));
        Ok(Screen {
            terminal: Some(terminal),
        })
    }

    /// Draws one frame.
    pub(crate) fn draw(&mut self, paint: impl FnOnce(&mut Frame<'_>)) -> std::io::Result<()> {
        match &mut self.terminal {
            Some(terminal) => terminal.draw(paint).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Leaves full-screen mode.
    pub(crate) fn leave(&mut self) {
        if self.terminal.take().is_some() {
            ratatui::restore();
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.leave();
    }
}
