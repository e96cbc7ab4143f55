//! An execution as text: its fields (its attempt among its retries
//! included) with the phase/task/agent tree, and lists of executions as a
//! table.

use super::estimate::{batch_text, eta_text, execution_fields, progress_text};
use super::print::{
    duration_secs, human_secs, pairs_text, print_fields, print_line, print_message, print_table,
    seconds_between, short_state, timestamp_text, PrintFormat,
};
use crate::pb::{self, NodeStatus};

/// Prints an execution just started: its id, or the message.
pub(crate) fn print_started(format: PrintFormat, execution: &pb::Execution) {
    match format {
        PrintFormat::Table => print_line(&execution.id),
        format => print_message(format, execution),
    }
}

/// Prints an execution: its fields and tree as text, or the message.
pub(crate) fn print_execution(format: PrintFormat, execution: &pb::Execution) {
    if format != PrintFormat::Table {
        print_message(format, execution);
        return;
    }
    let mut fields = vec![
        ("Execution", execution.id.clone()),
        (
            "Workflow",
            format!("{} ({})", execution.workflow_id, execution.workflow_name),
        ),
        ("State", short_state(execution.state()).to_string()),
    ];
    fields.extend(execution_fields(execution));
    match (execution.exit_code, execution.signal) {
        (Some(code), _) => fields.push(("Exit code", code.to_string())),
        (None, Some(signal)) => fields.push(("Signal", signal.to_string())),
        _ => {}
    }
    if !execution.error.is_empty() {
        fields.push(("Error", execution.error.clone()));
    }
    fields.push(("Created", timestamp_text(execution.create_time.as_ref())));
    fields.push(("Started", timestamp_text(execution.start_time.as_ref())));
    fields.push(("Ended", timestamp_text(execution.end_time.as_ref())));
    if let Some(secs) = seconds_between(execution.start_time.as_ref(), execution.end_time.as_ref())
    {
        fields.push(("Duration", human_secs(secs)));
    }
    if execution.pid != 0 {
        fields.push(("PID", execution.pid.to_string()));
    }
    if !execution.namespace.is_empty() {
        fields.push(("Namespace", execution.namespace.clone()));
    }
    fields.push(("Inputs", pairs_text(&execution.inputs)));
    fields.push(("Labels", pairs_text(&execution.labels)));
    if !execution.schedule_id.is_empty() {
        fields.push((
            "Schedule",
            format!(
                "{} (fell due {})",
                execution.schedule_id,
                timestamp_text(execution.scheduled_time.as_ref())
            ),
        ));
    }
    fields.extend(attempt_fields(execution));
    if !execution.request_id.is_empty() {
        fields.push(("Request id", execution.request_id.clone()));
    }
    if let Some(timeout) = &execution.timeout {
        fields.push(("Timeout", human_secs(duration_secs(timeout))));
    }
    if let Some(limits) = &execution.limits {
        fields.push(("Limits", limits_text(limits)));
    }
    if let Some(usage) = &execution.usage {
        fields.push((
            "Used",
            format!(
                "{} peak memory, {} CPU",
                usage
                    .peak_memory_bytes
                    .map_or_else(|| "unmeasured".to_string(), mebibytes),
                human_secs(usage.cpu_time.as_ref().map_or(0.0, duration_secs))
            ),
        ));
    }
    if let Some(c) = &execution.log_counts {
        fields.push((
            "Log",
            format!(
                "{} events: {} stdout lines, {} stderr lines, {} structured events",
                c.total, c.stdout_lines, c.stderr_lines, c.events
            ),
        ));
    }
    print_fields(&fields);
    if !execution.phases.is_empty() {
        print_line("");
        print_line("Phases:");
        for line in tree_lines(&execution.phases) {
            print_line(&format!("  {line}"));
        }
    }
    if !execution.artifacts.is_empty() {
        print_line("");
        print_line("Artifacts:");
        for a in &execution.artifacts {
            print_line(&format!(
                "  phase {}  {}  {}",
                a.phase, a.path, a.description
            ));
        }
    }
}

/// For an execution with a retry policy: which attempt it is (`2 of 5
/// (first: ID)`), and the attempt after it, started (`Next attempt`) or
/// waiting to start (`Next attempt at`).
fn attempt_fields(execution: &pb::Execution) -> Vec<(&'static str, String)> {
    let Some(policy) = &execution.retry_policy else {
        return Vec::new();
    };
    let mut attempt = format!("{} of {}", execution.attempt, policy.max_attempts);
    if !execution.first_attempt_id.is_empty() {
        attempt.push_str(&format!(" (first: {})", execution.first_attempt_id));
    }
    let mut fields = vec![("Attempt", attempt)];
    if !execution.next_attempt_id.is_empty() {
        fields.push(("Next attempt", execution.next_attempt_id.clone()));
    } else if let Some(time) = &execution.next_attempt_time {
        fields.push(("Next attempt at", timestamp_text(Some(time))));
    }
    fields
}

/// The mark of a node's status in trees: `✓` completed, `✗` failed, `▸` running.
pub(crate) fn status_mark(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Completed => "✓",
        NodeStatus::Failed => "✗",
        NodeStatus::Running => "▸",
        NodeStatus::Unspecified => "?",
    }
}

/// The phase/task/agent tree as indented lines.
pub(crate) fn tree_lines(phases: &[pb::Phase]) -> Vec<String> {
    let mut lines = Vec::new();
    for phase in phases {
        let mut line = format!(
            "{} phase {} {}",
            status_mark(phase.status()),
            phase.index,
            phase.name
        );
        if phase.total_phases > 0 {
            line.push_str(&format!(" ({}/{})", phase.index + 1, phase.total_phases));
        }
        if !phase.error.is_empty() {
            line.push_str(&format!(": {}", phase.error));
        }
        lines.push(line);
        for task in &phase.tasks {
            let mut line = format!("  {} {}", status_mark(task.status()), task.task_id);
            if !task.description.is_empty() {
                line.push_str(&format!("  {}", task.description));
            }
            if task.status() == NodeStatus::Running && task.percent >= 0 {
                line.push_str(&format!("  {}%", task.percent));
            }
            line.push_str(&result_text(&task.result, &task.error));
            if task.status() == NodeStatus::Running {
                if let Some(last) = task.messages.last() {
                    line.push_str(&format!("  [{last}]"));
                }
            }
            lines.push(line);
            for agent in &task.agents {
                let mut line = format!("    {} {}", status_mark(agent.status()), agent.name);
                if !agent.description.is_empty() {
                    line.push_str(&format!("  {}", agent.description));
                }
                line.push_str(&result_text(&agent.result, &agent.error));
                lines.push(line);
            }
        }
    }
    lines
}

/// ` -> result` or ` -> error: ...` after a task or agent, when it has one.
fn result_text(result: &str, error: &str) -> String {
    if !error.is_empty() {
        format!(" -> error: {error}")
    } else if !result.is_empty() {
        format!(" -> {result}")
    } else {
        String::new()
    }
}

/// Prints a list of executions as a table or as a ListExecutionsResponse,
/// with the batch they were listed by, if any, on a line below the table.
pub(crate) fn print_executions(
    format: PrintFormat,
    executions: &[pb::Execution],
    batch: Option<&pb::BatchSummary>,
) {
    if format != PrintFormat::Table {
        print_message(
            format,
            &pb::ListExecutionsResponse {
                executions: executions.to_vec(),
                next_page_token: String::new(),
                batch: batch.cloned(),
            },
        );
        return;
    }
    let rows: Vec<Vec<String>> = executions
        .iter()
        .map(|e| {
            let duration = seconds_between(e.start_time.as_ref(), e.end_time.as_ref())
                .map(human_secs)
                .unwrap_or_else(|| "-".to_string());
            let exit = match (e.exit_code, e.signal) {
                (Some(code), _) => code.to_string(),
                (None, Some(signal)) => format!("sig {signal}"),
                _ => "-".to_string(),
            };
            let phase = if e.current_phase.is_empty() {
                "-".to_string()
            } else {
                e.current_phase.clone()
            };
            vec![
                e.id.clone(),
                e.workflow_id.clone(),
                short_state(e.state()).to_string(),
                phase,
                progress_text(e.estimate.as_ref()),
                eta_text(e.estimate.as_ref()),
                timestamp_text(e.create_time.as_ref()),
                duration,
                exit,
            ]
        })
        .collect();
    print_table(
        &[
            "ID", "WORKFLOW", "STATE", "PHASE", "PROGRESS", "ETA", "CREATED", "DURATION", "EXIT",
        ],
        &rows,
    );
    if let Some(batch) = batch {
        print_line("");
        print_line(&format!("Batch {}", batch_text(batch)));
    }
}

/// The limits set, as `memory 64.0 MiB, processes 10`.
fn limits_text(limits: &pb::ResourceLimits) -> String {
    let mut parts = Vec::new();
    if let Some(bytes) = limits.memory_bytes {
        parts.push(format!("memory {}", mebibytes(bytes)));
    }
    if let Some(cpu) = &limits.cpu_time {
        parts.push(format!("CPU {}", human_secs(duration_secs(cpu))));
    }
    if let Some(n) = limits.max_processes {
        parts.push(format!("processes {n}"));
    }
    if let Some(bytes) = limits.max_output_bytes {
        parts.push(format!("output {}", mebibytes(bytes)));
    }
    if let Some(n) = limits.max_open_files {
        parts.push(format!("open files {n}"));
    }
    parts.join(", ")
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_lines_show_only_with_a_retry_policy() {
        let mut execution = pb::Execution {
            attempt: 1,
            ..Default::default()
        };
        assert!(attempt_fields(&execution).is_empty());
        execution.retry_policy = Some(pb::RetryPolicy {
            max_attempts: 5,
            ..Default::default()
        });
        execution.attempt = 2;
        execution.first_attempt_id = "e1".into();
        execution.next_attempt_time = Some(prost_types::Timestamp::default());
        let fields = attempt_fields(&execution);
        assert_eq!(fields[0], ("Attempt", "2 of 5 (first: e1)".to_string()));
        assert_eq!(fields[1].0, "Next attempt at");
        execution.next_attempt_id = "e3".into();
        assert_eq!(
            attempt_fields(&execution)[1],
            ("Next attempt", "e3".to_string())
        );
    }
}
