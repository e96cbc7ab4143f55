//! StreamLogs: history then live without gap or duplicate, many subscribers,
//! resuming with from_sequence, follow=false, and slow readers.

use std::fs;

use tokio::task::JoinSet;
use workflow_manager::pb::OutputStream;

use crate::helper::*;

/// Prints `before 1..N` (`--before`, default 50), waits for the file given
/// with `--gate`, then prints `after 1..50`: the test decides when the
/// second half happens.
fn gated_lines_program() -> String {
    workflow_script(
        r#"{"id":"gated_lines","name":"Gated lines","description":"Prints, waits for a file, prints.","fields":[{"name":"gate","label":"Gate","description":"File to wait for","cli_arg":"--gate","required":true,"default":null,"field_type":{"type":"text"}},{"name":"before","label":"Before","description":"Lines before the gate","cli_arg":"--before","required":false,"default":50,"field_type":{"type":"number"}}]}"#,
        r#"before=50
while [ $# -gt 0 ]; do
  case "$1" in --gate) gate="$2"; shift 2 ;; --before) before="$2"; shift 2 ;; *) shift ;; esac
done
i=1; while [ $i -le $before ]; do echo "before $i"; i=$((i+1)); done
while [ ! -e "$gate" ]; do sleep 0.02; done
i=1; while [ $i -le 50 ]; do echo "after $i"; i=$((i+1)); done"#,
    )
}

/// A daemon running `gated_lines` with `before` lines before the gate;
/// returns it, the gate file and the execution.
async fn start_gated_lines(before: u32) -> (Daemon, std::path::PathBuf, pb::Execution) {
    let daemon = Daemon::builder()
        .program("gated.sh", gated_lines_program())
        .start()
        .await;
    let gate = daemon.file("gate");
    let exec = daemon
        .execute(
            "gated_lines",
            &[
                ("gate", text(gate.to_str().unwrap())),
                ("before", num(before.into())),
            ],
        )
        .await;
    (daemon, gate, exec)
}

/// Reads events until the stdout line `line`, which is the last one returned.
async fn read_until_line(
    stream: &mut tonic::Streaming<pb::StreamLogsResponse>,
    line: &str,
) -> Vec<LogEvent> {
    let mut events = Vec::new();
    loop {
        let msg = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .expect("stream still open");
        let event = msg.event.expect("event");
        let is_line = matches!(&event.payload, Some(Payload::Output(o)) if o.text == line);
        events.push(event);
        if is_line {
            return events;
        }
    }
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("{prefix} {i}")).collect()
}

#[tokio::test]
async fn concurrent_subscribers_get_the_same_gap_free_log() {
    let daemon = Daemon::start().await;
    let exec = daemon.execute("chatty", &[("lines", num(5000.0))]).await;
    let mut subscribers = JoinSet::new();
    for _ in 0..3 {
        let stream = daemon.open_stream(&exec.id, 0, true).await;
        subscribers.spawn(drain(stream));
    }
    let logs: Vec<Vec<LogEvent>> = subscribers.join_all().await;
    for log in &logs {
        assert_contiguous(log, 1);
        assert_eq!(finished(log).state(), ExecutionState::Succeeded);
    }
    assert!(
        logs[0] == logs[1] && logs[1] == logs[2],
        "every subscriber saw the same events"
    );
    assert_eq!(
        output_texts(&logs[0], OutputStream::Stdout),
        numbered("line", 5000)
    );
    let exec = daemon.get(&exec.id).await;
    let counts = exec.log_counts.expect("log_counts");
    assert_eq!(counts.total, logs[0].len() as u64);
    assert_eq!(counts.stdout_lines, 5000);
}

#[tokio::test]
async fn resuming_from_the_next_sequence_has_no_gap_or_duplicate() {
    let (daemon, gate, exec) = start_gated_lines(50).await;

    // Read part of the log, then drop the stream while the program runs.
    let first_part = {
        let mut stream = daemon.open_stream(&exec.id, 0, true).await;
        read_until_line(&mut stream, "before 20").await
    };
    let last = first_part.last().unwrap().sequence;

    // follow=false while running: the history so far, then the stream ends.
    let snapshot = daemon.logs(&exec.id, 0, false).await;
    assert_contiguous(&snapshot, 1);
    assert!(
        snapshot.len() as u64 >= last,
        "the snapshot has what was already streamed"
    );
    assert_eq!(snapshot[..first_part.len()], first_part[..]);
    assert!(
        !lifecycle(&snapshot).contains(&"finished"),
        "the program is still waiting for its gate"
    );

    // Resume from last + 1: history (before 21..50), then live (after 1..50).
    let stream = daemon.open_stream(&exec.id, last + 1, true).await;
    fs::write(&gate, "go").expect("open the gate");
    let second_part = drain(stream).await;
    assert_contiguous(&second_part, last + 1);

    let mut combined = first_part;
    combined.extend(second_part);
    assert_contiguous(&combined, 1);
    assert_eq!(finished(&combined).state(), ExecutionState::Succeeded);
    let mut expected_lines = numbered("before", 50);
    expected_lines.extend(numbered("after", 50));
    assert_eq!(
        output_texts(&combined, OutputStream::Stdout),
        expected_lines
    );
    assert_eq!(
        daemon.logs(&exec.id, 0, false).await,
        combined,
        "the history matches what was streamed"
    );
}

/// The daemon holds only the latest events of a running execution in
/// memory; a subscriber asking for older ones gets them from the history,
/// one asking for recent ones from memory, and both then follow live with
/// the same events as the history.
#[tokio::test]
async fn late_subscribers_of_a_running_execution_get_old_and_recent_events() {
    let (daemon, gate, exec) = start_gated_lines(3000).await;

    // Wait until the first half is out (more events than memory holds).
    let mut first_reader = daemon.open_stream(&exec.id, 0, true).await;
    let first_half = read_until_line(&mut first_reader, "before 3000").await;
    let last_before = first_half.last().unwrap().sequence;

    let from_start = daemon.open_stream(&exec.id, 1, true).await;
    let recent_from = last_before - 5;
    let from_recent = daemon.open_stream(&exec.id, recent_from, true).await;
    fs::write(&gate, "go").expect("open the gate");
    let (from_start, from_recent) = tokio::join!(drain(from_start), drain(from_recent));

    let history = daemon.logs(&exec.id, 0, false).await;
    assert_contiguous(&history, 1);
    assert_eq!(finished(&history).state(), ExecutionState::Succeeded);
    assert_eq!(from_start, history, "from sequence 1: the whole log");
    assert_eq!(
        from_recent[..],
        history[recent_from as usize - 1..],
        "from a recent sequence: the rest of the log"
    );
    let mut expected_lines = numbered("before", 3000);
    expected_lines.extend(numbered("after", 50));
    assert_eq!(output_texts(&history, OutputStream::Stdout), expected_lines);
}

#[tokio::test]
async fn finished_executions_replay_from_any_sequence() {
    let daemon = Daemon::start().await;
    let exec = daemon
        .execute("research_pipeline", &[("topic", text("replay"))])
        .await;
    let all = daemon.run_to_end(&exec.id).await;
    let n = all.len() as u64;
    assert!(n > 10);

    // follow=false and follow=true both return the history and end.
    assert_eq!(daemon.logs(&exec.id, 0, false).await, all);
    assert_eq!(daemon.logs(&exec.id, 1, true).await, all);
    // From the middle.
    assert_eq!(daemon.logs(&exec.id, 7, false).await, all[6..]);
    assert_eq!(daemon.logs(&exec.id, 7, true).await, all[6..]);
    // Only the last event.
    assert_eq!(
        daemon.logs(&exec.id, n, true).await,
        all[(n - 1) as usize..]
    );
    // Past the end, nothing; past any sequence a log can have, a clear
    // error rather than a wrapped number.
    assert!(daemon.logs(&exec.id, n + 1, false).await.is_empty());
    let error = daemon
        .client()
        .stream_logs(pb::StreamLogsRequest {
            execution_id: exec.id.clone(),
            from_sequence: u64::MAX,
            follow: false,
        })
        .await
        .expect_err("a sequence past i64::MAX");
    assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error:?}");
    assert!(error.message().contains("from_sequence"), "{error:?}");
}

#[tokio::test]
async fn a_stalled_reader_does_not_stall_the_workflow_and_catches_up() {
    let daemon = Daemon::start().await;
    let exec = daemon.execute("chatty", &[("lines", num(30000.0))]).await;

    // Read one event, then stop reading while the program prints the rest.
    let mut stalled = daemon.open_stream(&exec.id, 0, true).await;
    let first = stalled
        .message()
        .await
        .expect("stream ok")
        .expect("an event")
        .event
        .expect("event");
    assert_eq!(first.sequence, 1);

    // The execution finishes although one subscriber does not read.
    let all = daemon.run_to_end(&exec.id).await;
    assert_eq!(finished(&all).state(), ExecutionState::Succeeded);

    // The stalled reader gets everything, in order, without gaps.
    let mut rest = vec![first];
    rest.extend(drain(stalled).await);
    assert_contiguous(&rest, 1);
    assert_eq!(rest, all);
}
