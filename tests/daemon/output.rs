//! The output reader: malformed event lines are kept and flagged; very long
//! lines and invalid UTF-8 do not break it; the SDK's failure and raw-output
//! events arrive typed and shape the tree.

use workflow_manager::pb::{self, NodeStatus, OutputStream};

use crate::helper::*;

fn program(id: &str, body: &str) -> String {
    workflow_script(
        &format!(r#"{{"id":"{id}","name":"{id}","description":"output fixture","fields":[]}}"#),
        body,
    )
}

#[tokio::test]
async fn a_malformed_event_line_is_kept_as_flagged_stderr_output() {
    let daemon = Daemon::builder()
        .program(
            "malformed.sh",
            program(
                "malformed",
                r#"echo '__WF_EVENT__:{not json' >&2
echo 'plain stderr line' >&2
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"only","total_phases":1}' >&2
echo 'stdout line'
echo '__WF_EVENT__:{"type":"phase_completed","phase":0,"name":"only"}' >&2"#,
            ),
        )
        .start()
        .await;
    let exec = daemon.execute("malformed", &[]).await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);

    let stderr: Vec<pb::OutputLine> = of!(events, Output)
        .into_iter()
        .filter(|o| o.stream() == OutputStream::Stderr)
        .cloned()
        .collect();
    assert_eq!(
        stderr,
        [
            pb::OutputLine {
                stream: OutputStream::Stderr as i32,
                text: "__WF_EVENT__:{not json".into(),
                malformed_event: true,
                truncated: false,
            },
            pb::OutputLine {
                stream: OutputStream::Stderr as i32,
                text: "plain stderr line".into(),
                malformed_event: false,
                truncated: false,
            },
        ]
    );
    assert_eq!(output_texts(&events, OutputStream::Stdout), ["stdout line"]);
    // The valid events after the malformed one still count.
    assert_eq!(of!(events, PhaseStarted).len(), 1);
    assert_eq!(of!(events, PhaseCompleted).len(), 1);

    let exec = daemon.get(&exec.id).await;
    let counts = exec.log_counts.expect("log_counts");
    assert_eq!(counts.malformed_events, 1);
    assert_eq!(
        counts.stderr_lines, 2,
        "raw stderr lines, the malformed one included"
    );
    assert_eq!(counts.stdout_lines, 1);
    assert_eq!(counts.events, 2);
    assert_eq!(counts.total, events.len() as u64);
    assert_eq!(exec.phases.len(), 1);
    assert_eq!(exec.phases[0].status(), NodeStatus::Completed);
}

#[tokio::test]
async fn long_lines_and_invalid_utf8_do_not_break_the_reader() {
    let daemon = Daemon::builder()
        .program(
            "noisy.sh",
            program(
                "noisy",
                r#"head -c 5000000 /dev/zero | tr '\000' a
echo
printf 'bin \377\376 end\n'
echo after
head -c 5000000 /dev/zero | tr '\000' b >&2
echo >&2
echo '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"late","total_phases":1}' >&2
echo last"#,
            ),
        )
        .start()
        .await;
    let exec = daemon.execute("noisy", &[]).await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);

    let outputs = of!(events, Output);
    let stdout: Vec<&pb::OutputLine> = outputs
        .iter()
        .copied()
        .filter(|o| o.stream() == OutputStream::Stdout)
        .collect();
    let stderr: Vec<&pb::OutputLine> = outputs
        .iter()
        .copied()
        .filter(|o| o.stream() == OutputStream::Stderr)
        .collect();
    assert_eq!(
        stdout.len(),
        4,
        "{:?}",
        stdout.iter().map(|o| o.text.len()).collect::<Vec<_>>()
    );

    let long = stdout[0];
    assert!(long.truncated, "the 5 MB line is marked truncated");
    assert!(
        !long.text.is_empty() && long.text.len() < 5_000_000,
        "kept {} bytes",
        long.text.len()
    );
    assert!(
        long.text.bytes().all(|b| b == b'a'),
        "the kept part is the start of the line"
    );

    let binary = &stdout[1].text;
    assert!(
        binary.starts_with("bin ") && binary.ends_with(" end"),
        "{binary:?}"
    );
    assert!(
        binary.contains('\u{FFFD}'),
        "invalid UTF-8 becomes U+FFFD: {binary:?}"
    );
    assert!(!stdout[1].truncated);
    assert_eq!(
        (stdout[2].text.as_str(), stdout[2].truncated),
        ("after", false)
    );
    assert_eq!(
        (stdout[3].text.as_str(), stdout[3].truncated),
        ("last", false)
    );

    assert_eq!(stderr.len(), 1);
    assert!(
        stderr[0].truncated,
        "the 5 MB stderr line is marked truncated"
    );
    assert!(stderr[0].text.bytes().all(|b| b == b'b'));
    assert_eq!(
        of!(events, PhaseStarted),
        [&pb::PhaseStarted {
            phase: 0,
            name: "late".into(),
            total_phases: 1
        }],
        "an event after the long stderr line is still parsed"
    );
    let counts = daemon.get(&exec.id).await.log_counts.expect("log_counts");
    assert_eq!(
        (counts.stdout_lines, counts.stderr_lines, counts.events),
        (4, 1, 1)
    );
}

#[tokio::test]
async fn failed_tasks_and_agents_and_raw_output_arrive_typed_and_shape_the_tree() {
    let event = |json: &str| format!("echo '__WF_EVENT__:{json}' >&2\n");
    let body = [
        r#"{"type":"phase_started","phase":0,"name":"build","total_phases":1}"#,
        r#"{"type":"task_started","phase":0,"task_id":"compile","description":"compile it","total_tasks":2}"#,
        r#"{"type":"agent_started","task_id":"compile","agent_name":"cc","description":"the compiler"}"#,
        r#"{"type":"agent_failed","task_id":"compile","agent_name":"cc","error":"out of memory"}"#,
        r#"{"type":"task_failed","task_id":"compile","error":"an agent failed"}"#,
        r#"{"type":"raw_output","stream":"stdout","line":"cc: fatal"}"#,
        r#"{"type":"raw_output","stream":"stderr","line":"ld: skipped"}"#,
        r#"{"type":"task_started","phase":0,"task_id":"report","description":"report it","total_tasks":2}"#,
        r#"{"type":"task_completed","task_id":"report","result":null}"#,
        r#"{"type":"phase_completed","phase":0,"name":"build"}"#,
    ]
    .map(event)
    .concat();
    let daemon = Daemon::builder()
        .program("failing_parts.sh", program("failing_parts", &body))
        .start()
        .await;
    let exec = daemon.execute("failing_parts", &[]).await;
    let events = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&events).state(), ExecutionState::Succeeded);

    assert_eq!(
        of!(events, AgentFailed),
        [&pb::AgentFailed {
            task_id: "compile".into(),
            agent_name: "cc".into(),
            error: "out of memory".into(),
        }]
    );
    assert_eq!(
        of!(events, TaskFailed),
        [&pb::TaskFailed {
            task_id: "compile".into(),
            error: "an agent failed".into(),
        }]
    );
    assert_eq!(
        of!(events, RawOutput),
        [
            &pb::RawOutput {
                stream: "stdout".into(),
                line: "cc: fatal".into(),
            },
            &pb::RawOutput {
                stream: "stderr".into(),
                line: "ld: skipped".into(),
            },
        ]
    );
    assert!(
        of!(events, Output).is_empty(),
        "every line was an event: {events:?}"
    );

    let phase = &daemon.get(&exec.id).await.phases[0];
    assert_eq!(phase.status(), NodeStatus::Completed);
    let [compile, report] = &phase.tasks[..] else {
        panic!("two tasks: {phase:?}");
    };
    assert_eq!(
        (compile.status(), compile.error.as_str()),
        (NodeStatus::Failed, "an agent failed")
    );
    assert_eq!(
        (compile.agents[0].status(), compile.agents[0].error.as_str()),
        (NodeStatus::Failed, "out of memory")
    );
    assert_eq!(report.status(), NodeStatus::Completed);
}
