//! The one loop that reads an execution's log stream, for every command
//! that shows a log or follows a run (`logs`, `run --follow`,
//! `workflow -op watch`): history from a sequence number, then live events
//! until the execution ends, each shown as its [`EventStyle`] says.

use std::{io::IsTerminal, time::Duration};

use super::{
    context::Ctx,
    error::CliError,
    render::{
        event::{event_line, output_text, print_plain},
        live_tree::LiveTree,
        print::print_stream_value,
        print_line, print_note, PrintFormat,
    },
};
use crate::pb::{self, log_event::Payload};
use crate::proto_json::to_json;

/// How the events of a followed log are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventStyle {
    /// Every event as a JSON line / YAML document on stdout.
    Machine(PrintFormat),
    /// Output lines on stdout, one `[seq] kind ...` line per other event on
    /// stderr.
    Plain,
    /// Output lines on stdout, a live phase/task tree on stderr.
    Live,
    /// One of several executions followed at once: plain lines prefixed
    /// with the last 8 characters of the execution's id, or (in a machine
    /// format) each event with its `executionId`, since they interleave.
    Tagged(PrintFormat),
}

impl EventStyle {
    /// The machine format when one was asked for; otherwise the live tree
    /// when `live` is allowed, stderr is a terminal and NO_COLOR is unset;
    /// otherwise plain lines.
    pub(crate) fn choose(format: PrintFormat, live: bool) -> EventStyle {
        if format != PrintFormat::Table {
            return EventStyle::Machine(format);
        }
        let terminal = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        if live && terminal {
            EventStyle::Live
        } else {
            EventStyle::Plain
        }
    }
}

/// Reads the log of an execution from `from` (history, then live events when
/// `follow_live`), shows each event as `style` says, and returns the
/// `finished` event if the log reached it.
pub(crate) async fn follow(
    ctx: &Ctx,
    execution_id: &str,
    from: u64,
    follow_live: bool,
    style: EventStyle,
) -> Result<Option<pb::Finished>, CliError> {
    let request = pb::StreamLogsRequest {
        execution_id: execution_id.to_string(),
        from_sequence: from,
        follow: follow_live,
    };
    let mut stream = ctx.message(ctx.client.clone().stream_logs(request).await)?;
    let mut live = (style == EventStyle::Live).then(|| LiveTree::new(execution_id));
    // UUIDv7 ids share their leading (time) digits; the tail tells them apart.
    let tag: String = execution_id
        .chars()
        .skip(execution_id.chars().count().saturating_sub(8))
        .collect();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut finished = None;
    let result = loop {
        let message = tokio::select! {
            message = stream.message() => message,
            _ = ticker.tick(), if live.is_some() => {
                if let Some(live) = &live {
                    live.tick();
                }
                continue;
            }
        };
        let event = match message {
            Ok(Some(response)) => match response.event {
                Some(event) => event,
                None => continue,
            },
            Ok(None) => break Ok(()),
            Err(status) => break Err(ctx.status_error(status)),
        };
        if let Some(Payload::Finished(f)) = &event.payload {
            finished = Some(f.clone());
        }
        match style {
            EventStyle::Machine(format) => print_stream_value(format, &to_json(&event)),
            EventStyle::Plain => print_plain(&event),
            EventStyle::Live => {
                if let Some(live) = &mut live {
                    live.event(&event);
                }
            }
            EventStyle::Tagged(PrintFormat::Table) => match output_text(&event) {
                Some(text) => print_line(&format!("{tag} | {text}")),
                None => print_note(&format!("{tag} {}", event_line(&event))),
            },
            EventStyle::Tagged(format) => {
                let mut value = to_json(&event);
                if let Some(object) = value.as_object_mut() {
                    object.insert("executionId".into(), execution_id.into());
                }
                print_stream_value(format, &value);
            }
        }
    };
    if let Some(live) = &mut live {
        live.finish(finished.as_ref());
    }
    result.map(|()| finished)
}
