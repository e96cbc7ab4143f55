//! `wfctl logs EXEC_ID [-f] [--from N]`, and the one loop that reads an
//! execution's log stream for every command that follows a run.

use std::{io::IsTerminal, time::Duration};

use clap::Args;

use super::{
    error::short_state,
    executions,
    output::{self, OutputFormat},
    progress::LiveTree,
    CliError, Ctx,
};
use crate::pb::{self, log_event::Payload};

/// Flags of `wfctl logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The execution id.
    pub execution_id: String,
    /// Keep following live events until the execution ends; then exit 1
    /// unless it SUCCEEDED.
    #[arg(short, long)]
    pub follow: bool,
    /// First sequence number to print (1 is the first event).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub from: u64,
}

/// How the events of a followed log are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// Every event as a JSON line / YAML document on stdout.
    Machine(OutputFormat),
    /// Output lines on stdout, one `[seq] kind ...` line per other event on
    /// stderr.
    Plain,
    /// Output lines on stdout, a live phase/task tree on stderr.
    Live,
    /// Nothing (for `--wait`).
    Quiet,
}

impl Render {
    /// The machine format when one was asked for; otherwise the live tree
    /// when `live` is allowed, stderr is a terminal and NO_COLOR is unset;
    /// otherwise plain lines.
    pub fn choose(format: OutputFormat, live: bool) -> Render {
        if format != OutputFormat::Table {
            return Render::Machine(format);
        }
        let terminal = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        if live && terminal {
            Render::Live
        } else {
            Render::Plain
        }
    }
}

/// `wfctl logs`.
pub async fn run(ctx: &Ctx, args: LogsArgs) -> Result<(), CliError> {
    let render = Render::choose(ctx.output, args.follow);
    let finished = follow(ctx, &args.execution_id, args.from, args.follow, render).await?;
    if args.follow {
        executions::outcome(ctx, &args.execution_id, finished).await?;
    }
    Ok(())
}

/// Reads the log of an execution from `from` (history, then live events when
/// `follow_live`), shows each event as `render` says, and returns the
/// `finished` event if the log reached it.
pub async fn follow(
    ctx: &Ctx,
    execution_id: &str,
    from: u64,
    follow_live: bool,
    render: Render,
) -> Result<Option<pb::Finished>, CliError> {
    let mut stream = ctx
        .client
        .clone()
        .stream_logs(pb::StreamLogsRequest {
            execution_id: execution_id.to_string(),
            from_sequence: from,
            follow: follow_live,
        })
        .await
        .map_err(|s| ctx.status_error(s))?
        .into_inner();
    let mut live = (render == Render::Live).then(|| LiveTree::new(execution_id));
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
        match render {
            Render::Machine(format) => output::print_stream_value(format, &output::to_json(&event)),
            Render::Plain => print_plain(&event),
            Render::Live => {
                if let Some(live) = &mut live {
                    live.event(&event);
                }
            }
            Render::Quiet => {}
        }
    };
    if let Some(live) = &mut live {
        live.finish(finished.as_ref());
    }
    result.map(|()| finished)
}

/// Plain rendering: program output to stdout, other events to stderr.
fn print_plain(event: &pb::LogEvent) {
    match output_text(event) {
        Some(text) => output::print_line(text),
        None => output::print_note(&event_line(event)),
    }
}

/// The text of an event that is program output (`output`, `raw_output`).
pub fn output_text(event: &pb::LogEvent) -> Option<&str> {
    match &event.payload {
        Some(Payload::Output(o)) => Some(&o.text),
        Some(Payload::RawOutput(r)) => Some(&r.line),
        _ => None,
    }
}

/// One line for an event: `[seq] kind details`, e.g. `[3] phase_started 0 plan`.
pub fn event_line(event: &pb::LogEvent) -> String {
    let Some(payload) = &event.payload else {
        return format!("[{}] (empty event)", event.sequence);
    };
    let kind = output::proto_json::payload_field(event)
        .map(|field| field.proto_name)
        .unwrap_or_default();
    let details = match payload {
        Payload::Output(o) => o.text.clone(),
        Payload::RawOutput(r) => r.line.clone(),
        Payload::PhaseStarted(p) => format!("{} {} (of {})", p.phase, p.name, p.total_phases),
        Payload::PhaseCompleted(p) => format!("{} {}", p.phase, p.name),
        Payload::PhaseFailed(p) => format!("{} {}: {}", p.phase, p.name, p.error),
        Payload::TaskStarted(t) => format!("{} (phase {}): {}", t.task_id, t.phase, t.description),
        Payload::TaskProgress(t) => format!("{}: {}", t.task_id, t.message),
        Payload::TaskCompleted(t) => with_text(&t.task_id, t.result.as_deref().unwrap_or("")),
        Payload::TaskFailed(t) => format!("{}: {}", t.task_id, t.error),
        Payload::AgentStarted(a) => {
            with_text(&format!("{}/{}", a.task_id, a.agent_name), &a.description)
        }
        Payload::AgentMessage(a) => format!("{}/{}: {}", a.task_id, a.agent_name, a.message),
        Payload::AgentCompleted(a) => with_text(
            &format!("{}/{}", a.task_id, a.agent_name),
            a.result.as_deref().unwrap_or(""),
        ),
        Payload::AgentFailed(a) => format!("{}/{}: {}", a.task_id, a.agent_name, a.error),
        Payload::StateFileCreated(s) => {
            with_text(&format!("{} {}", s.phase, s.file_path), &s.description)
        }
        Payload::Queued(q) => format!("position {}", q.queue_position),
        Payload::Started(s) => format!("pid {}", s.pid),
        Payload::Exited(e) => match (e.exit_code, e.signal) {
            (Some(code), _) => format!("code {code}"),
            (None, Some(signal)) => format!("signal {signal}"),
            _ => String::new(),
        },
        Payload::CancelRequested(c) => {
            let mut text = format!("by {}", c.reason);
            if c.force {
                text.push_str(", force");
            } else if let Some(grace) = &c.grace_period {
                text.push_str(&format!(
                    ", grace {}",
                    output::human_secs(output::duration_secs(grace))
                ));
            }
            text
        }
        Payload::Killed(k) => format!("signal {}", k.signal),
        Payload::TimedOut(t) => t
            .timeout
            .as_ref()
            .map(|d| format!("after {}", output::human_secs(output::duration_secs(d))))
            .unwrap_or_default(),
        Payload::Interrupted(i) => i.reason.clone(),
        Payload::Finished(f) => with_text(short_state(f.state()), &f.error),
    };
    if details.is_empty() {
        format!("[{}] {kind}", event.sequence)
    } else {
        format!("[{}] {kind} {details}", event.sequence)
    }
}

fn with_text(head: &str, text: &str) -> String {
    if text.is_empty() {
        head.to_string()
    } else {
        format!("{head}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sequence: u64, payload: Payload) -> pb::LogEvent {
        pb::LogEvent {
            sequence,
            time: None,
            payload: Some(payload),
        }
    }

    #[test]
    fn plain_lines_name_the_event_and_its_details() {
        let started = event(
            3,
            Payload::PhaseStarted(pb::PhaseStarted {
                phase: 0,
                name: "plan".into(),
                total_phases: 3,
            }),
        );
        assert_eq!(event_line(&started), "[3] phase_started 0 plan (of 3)");
        let finished = event(
            9,
            Payload::Finished(pb::Finished {
                state: pb::ExecutionState::Failed as i32,
                error: "exit code 3".into(),
            }),
        );
        assert_eq!(event_line(&finished), "[9] finished FAILED: exit code 3");
        let exited = event(
            8,
            Payload::Exited(pb::Exited {
                exit_code: Some(0),
                signal: None,
            }),
        );
        assert_eq!(event_line(&exited), "[8] exited code 0");
    }
}
