//! One log event as text: the program output it carries, or one
//! `[seq] kind details` line for every other event.

use super::print::{duration_secs, human_secs, print_line, print_note, short_state};
use crate::pb::{self, log_event::Payload};

/// Plain rendering: program output to stdout, other events to stderr.
pub(crate) fn print_plain(event: &pb::LogEvent) {
    match output_text(event) {
        Some(text) => print_line(text),
        None => print_note(&event_line(event)),
    }
}

/// The text of an event that is program output (`output`, `raw_output`).
pub(crate) fn output_text(event: &pb::LogEvent) -> Option<&str> {
    match &event.payload {
        Some(Payload::Output(o)) => Some(&o.text),
        Some(Payload::RawOutput(r)) => Some(&r.line),
        _ => None,
    }
}

/// One line for an event: `[seq] kind details`, e.g. `[3] phase_started 0 plan`.
pub(crate) fn event_line(event: &pb::LogEvent) -> String {
    let Some(payload) = &event.payload else {
        return format!("[{}] (empty event)", event.sequence);
    };
    let kind = crate::proto_json::payload_name(event).unwrap_or_default();
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
                text.push_str(&format!(", grace {}", human_secs(duration_secs(grace))));
            }
            text
        }
        Payload::Killed(k) => format!("signal {}", k.signal),
        Payload::TimedOut(t) => t
            .timeout
            .as_ref()
            .map(|d| format!("after {}", human_secs(duration_secs(d))))
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
