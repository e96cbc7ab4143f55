//! The prompt toolkit of `manifest create`: one question at a time on
//! `output`, one answer line read from `input`, with `back` and `cancel`
//! understood at every prompt.
//!
//! The prompts are plain lines (question on stderr, answer read from stdin)
//! rather than a terminal widget library: those need a terminal, and these
//! work the same over ssh, in a pipe (`-interactive` with answers piped in)
//! and under test.

use std::io::{BufRead, Write};

use crate::cli::error::CliError;

/// An answer to one prompt.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply<T> {
    /// The value chosen.
    Answer(T),
    /// `back`: return to the previous step.
    Back,
    /// `cancel`: leave without writing.
    Cancel,
}

/// Asks questions on `output` and reads one answer line each from `input`.
pub(crate) struct Prompter<R, W> {
    input: R,
    output: W,
    /// The step being asked, for the message when input ends.
    pub(crate) step: &'static str,
}

impl<R: BufRead, W: Write> Prompter<R, W> {
    /// A prompter over `input` and `output`.
    pub(crate) fn new(input: R, output: W) -> Self {
        Prompter {
            input,
            output,
            step: "",
        }
    }

    pub(crate) fn say(&mut self, text: &str) {
        // A failed write to stderr is not worth failing the builder for.
        let _ = writeln!(self.output, "{text}");
    }

    /// One line of input, trimmed; `back` and `cancel` are understood here.
    fn ask(&mut self, question: &str) -> Result<Reply<String>, CliError> {
        let _ = write!(self.output, "{question}: ");
        let _ = self.output.flush();
        let mut line = String::new();
        let read = self
            .input
            .read_line(&mut line)
            .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
        if read == 0 {
            let _ = writeln!(self.output);
            return Err(CliError::Usage(format!(
                "standard input ended during the {} step; nothing was written",
                self.step
            )));
        }
        let answer = line.trim();
        Ok(match answer.to_ascii_lowercase().as_str() {
            "back" | "<" => Reply::Back,
            "cancel" | "quit" => Reply::Cancel,
            _ => Reply::Answer(answer.to_string()),
        })
    }

    /// One of `options`, by number or by name; Enter takes `default`.
    pub(crate) fn select(
        &mut self,
        question: &str,
        options: &[&str],
        default: &str,
    ) -> Result<Reply<String>, CliError> {
        self.say(question);
        for (i, option) in options.iter().enumerate() {
            let mark = if *option == default { " (default)" } else { "" };
            self.say(&format!("  {}) {option}{mark}", i + 1));
        }
        loop {
            let reply = self.ask(&format!("choose 1-{} [{default}]", options.len()))?;
            let Reply::Answer(answer) = reply else {
                return Ok(reply);
            };
            if answer.is_empty() {
                return Ok(Reply::Answer(default.to_string()));
            }
            let by_number = answer
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| options.get(i));
            let by_name = options.iter().find(|o| o.eq_ignore_ascii_case(&answer));
            match by_number.or(by_name) {
                Some(option) => return Ok(Reply::Answer(option.to_string())),
                None => self.say(&format!(
                    "  {answer:?} is not one of the choices: answer 1-{} or a name, \
                     `back` or `cancel`",
                    options.len()
                )),
            }
        }
    }

    /// Free text; Enter takes `default`, and with no default an answer is
    /// required unless `optional`.
    pub(crate) fn text(
        &mut self,
        question: &str,
        default: Option<&str>,
        optional: bool,
    ) -> Result<Reply<Option<String>>, CliError> {
        let shown = match default {
            Some(default) => format!("{question} [{default}]"),
            None if optional => format!("{question} [none]"),
            None => question.to_string(),
        };
        loop {
            let reply = self.ask(&shown)?;
            let answer = match reply {
                Reply::Answer(answer) => answer,
                Reply::Back => return Ok(Reply::Back),
                Reply::Cancel => return Ok(Reply::Cancel),
            };
            if !answer.is_empty() {
                return Ok(Reply::Answer(Some(answer)));
            }
            if let Some(default) = default {
                return Ok(Reply::Answer(Some(default.to_string())));
            }
            if optional {
                return Ok(Reply::Answer(None));
            }
            self.say("  an answer is required (or `back`, `cancel`)");
        }
    }

    /// Yes or no; Enter takes `default`.
    pub(crate) fn confirm(
        &mut self,
        question: &str,
        default: bool,
    ) -> Result<Reply<bool>, CliError> {
        let hint = if default { "Y/n" } else { "y/N" };
        loop {
            let reply = self.ask(&format!("{question} [{hint}]"))?;
            let answer = match reply {
                Reply::Answer(answer) => answer,
                Reply::Back => return Ok(Reply::Back),
                Reply::Cancel => return Ok(Reply::Cancel),
            };
            match answer.to_ascii_lowercase().as_str() {
                "" => return Ok(Reply::Answer(default)),
                "y" | "yes" | "true" => return Ok(Reply::Answer(true)),
                "n" | "no" | "false" => return Ok(Reply::Answer(false)),
                _ => self.say("  answer y or n (or `back`, `cancel`)"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompter(input: &str) -> Prompter<&[u8], Vec<u8>> {
        Prompter::new(input.as_bytes(), Vec::new())
    }

    #[test]
    fn select_takes_a_number_a_name_or_the_default_and_asks_again_otherwise() {
        let options = &["qcow2", "raw", "vdi"];
        let mut p = prompter("2\nVDI\n\nnine\n1\nback\ncancel\n");
        let answer = |text: &str| Reply::Answer(text.to_string());
        for (default, expected) in [
            ("qcow2", answer("raw")),
            ("qcow2", answer("vdi")),
            ("raw", answer("raw")),
            // "nine" is asked again; then 1.
            ("raw", answer("qcow2")),
            ("raw", Reply::Back),
            ("raw", Reply::Cancel),
        ] {
            assert_eq!(p.select("q", options, default).unwrap(), expected);
        }
        let shown = String::from_utf8(p.output).unwrap();
        assert!(
            shown.contains("\"nine\" is not one of the choices"),
            "{shown}"
        );
    }

    #[test]
    fn confirm_and_text_take_defaults_and_insist_on_required_answers() {
        let mut p = prompter("\nmaybe\nn\n\n\nx\n");
        assert_eq!(p.confirm("q", true).unwrap(), Reply::Answer(true));
        assert_eq!(p.confirm("q", true).unwrap(), Reply::Answer(false));
        assert_eq!(p.text("q", None, true).unwrap(), Reply::Answer(None));
        assert_eq!(
            p.text("q", None, false).unwrap(),
            Reply::Answer(Some("x".into()))
        );
        let err = p.text("q", None, false).unwrap_err();
        assert!(err.to_string().contains("standard input ended"), "{err}");
    }
}
