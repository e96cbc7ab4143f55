//! The output reader: malformed event lines are kept and flagged; very long
//! lines and invalid UTF-8 do not break it.

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
