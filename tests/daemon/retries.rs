//! Retries through the API: each attempt is an execution of its own,
//! linked to the others; the policy's waits, non-retryable exit codes, the
//! last attempt, Cancel calling a waiting retry off, a retry waiting across
//! a restart, and an execution a crash interrupted retried at the next
//! start. Real programs, a real daemon, kill -9.

use std::time::Duration;

use tonic::Code;

use crate::helper::*;

fn policy(max_attempts: i32, initial: Duration) -> pb::RetryPolicy {
    pb::RetryPolicy {
        max_attempts,
        initial_interval: Some(duration(initial)),
        ..Default::default()
    }
}

impl Daemon {
    async fn start_flaky(&self, retry: pb::RetryPolicy) -> pb::Execution {
        let counter = self.file("counter");
        let mut req = request("flaky", &[("counter", text(counter.to_str().unwrap()))]);
        req.retry_policy = Some(retry);
        req.labels = labels(&[("team", "storage")]);
        self.execute_request(req).await
    }

    /// The attempts from `first` on, each waited to its end.
    async fn attempts(&self, first: &str, count: usize) -> Vec<pb::Execution> {
        let mut attempts = vec![self.wait_end(first).await];
        while attempts.len() < count {
            let last = attempts.last().unwrap().id.clone();
            let next = eventually("the next attempt", DEADLINE, || async {
                let e = self.get(&last).await;
                (!e.next_attempt_id.is_empty()).then_some(e.next_attempt_id)
            })
            .await;
            attempts.push(self.wait_end(&next).await);
        }
        attempts
    }
}

#[tokio::test]
async fn a_program_that_fails_twice_succeeds_on_its_third_attempt() {
    let daemon = Daemon::builder()
        .program("flaky", flaky_program(1, 3))
        .start()
        .await;
    let first = daemon
        .start_flaky(policy(5, Duration::from_millis(200)))
        .await;
    assert_eq!(first.attempt, 1);
    let attempts = daemon.attempts(&first.id, 3).await;
    let states: Vec<_> = attempts.iter().map(|e| e.state()).collect();
    assert_eq!(
        states,
        [
            ExecutionState::Failed,
            ExecutionState::Failed,
            ExecutionState::Succeeded
        ]
    );
    for (i, attempt) in attempts.iter().enumerate() {
        assert_eq!(attempt.attempt, i as i32 + 1);
        assert_eq!(attempt.labels["team"], "storage");
        assert_eq!(attempt.argv, first.argv, "the same program and inputs");
        assert_eq!(attempt.retry_policy, first.retry_policy);
        // Each attempt keeps its own log.
        let events = daemon.logs(&attempt.id, 0, false).await;
        let lines = output_texts(&events, pb::OutputStream::Stdout);
        assert_eq!(lines, [format!("attempt {}", i + 1)]);
        if i > 0 {
            assert_eq!(attempt.first_attempt_id, first.id);
            let waited = nanos(attempt.create_time.as_ref().unwrap())
                - nanos(attempts[i - 1].end_time.as_ref().unwrap());
            let wait_ms = 200 * 2i128.pow(i as u32 - 1);
            assert!(
                waited >= wait_ms * 1_000_000,
                "attempt {} started {waited} ns after the previous end",
                i + 1
            );
        }
    }
    assert!(attempts[2].next_attempt_id.is_empty());
    assert!(attempts[2].next_attempt_time.is_none());
}

#[tokio::test]
async fn a_non_retryable_exit_and_the_last_attempt_end_the_attempts() {
    let daemon = Daemon::builder()
        .program("flaky", flaky_program(2, 100))
        .start()
        .await;
    let mut retry = policy(5, Duration::from_millis(50));
    retry.non_retryable_exit_codes = vec![2];
    let first = daemon.start_flaky(retry).await;
    let ended = daemon.wait_end(&first.id).await;
    assert_eq!(ended.exit_code, Some(2));
    assert!(ended.next_attempt_time.is_none(), "{ended:?}");

    let flaky = Daemon::builder()
        .program("flaky", flaky_program(1, 100))
        .start()
        .await;
    let first = flaky
        .start_flaky(policy(2, Duration::from_millis(50)))
        .await;
    let attempts = flaky.attempts(&first.id, 2).await;
    assert_eq!(attempts[1].state(), ExecutionState::Failed);
    assert!(attempts[1].next_attempt_time.is_none(), "the last attempt");
    // Nothing more is started after the last attempt.
    let all = flaky
        .list_executions(pb::ListExecutionsRequest::default())
        .await
        .executions;
    assert_eq!(all.len(), 2, "{all:#?}");
    // The non-retryable one neither.
    let all = daemon
        .list_executions(pb::ListExecutionsRequest::default())
        .await
        .executions;
    assert_eq!(all.len(), 1, "{all:#?}");
}

#[tokio::test]
async fn cancel_calls_a_waiting_retry_off_for_good() {
    let mut daemon = Daemon::builder()
        .program("flaky", flaky_program(1, 100))
        .start()
        .await;
    let first = daemon.start_flaky(policy(3, Duration::from_secs(30))).await;
    let failed = daemon.wait_end(&first.id).await;
    assert!(
        failed.next_attempt_time.is_some(),
        "a retry waits: {failed:?}"
    );

    let response = daemon
        .client()
        .cancel(cancel_request(&first.id, None, false))
        .await
        .expect("Cancel of a failed attempt whose retry waits")
        .into_inner();
    assert!(response.retry_called_off);
    let cancelled = response.execution.unwrap();
    assert_eq!(cancelled.state(), ExecutionState::Failed);
    assert!(cancelled.next_attempt_time.is_none(), "{cancelled:?}");
    // Called off for good: not taken up again after a restart either.
    daemon.terminate().await;
    daemon.restart().await;
    let after = daemon.get(&first.id).await;
    assert!(after.next_attempt_time.is_none());
    assert!(after.next_attempt_id.is_empty());
    // A second Cancel finds nothing to call off.
    let status = daemon
        .client()
        .cancel(cancel_request(&first.id, None, false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_waiting_retry_survives_a_restart() {
    let mut daemon = Daemon::builder()
        .program("flaky", flaky_program(1, 2))
        .start()
        .await;
    let first = daemon.start_flaky(policy(3, Duration::from_secs(2))).await;
    daemon.wait_end(&first.id).await;
    daemon.kill9().await;
    daemon.restart().await;
    let attempts = daemon.attempts(&first.id, 2).await;
    assert_eq!(attempts[1].state(), ExecutionState::Succeeded);
    assert_eq!(attempts[1].attempt, 2);
}

#[tokio::test]
async fn an_execution_a_crash_interrupted_is_retried_at_the_next_start() {
    let mut daemon = Daemon::builder()
        .program("gate", gate_program("gate"))
        .start()
        .await;
    let gate = daemon.file("gate");
    let mut req = request("gate", &[("gate", text(gate.to_str().unwrap()))]);
    req.retry_policy = Some(policy(2, Duration::from_millis(100)));
    let first = daemon.execute_request(req).await;
    daemon.wait_started(&first.id).await;
    daemon.kill9().await;
    std::fs::write(&gate, "").unwrap();
    daemon.restart().await;
    let attempts = daemon.attempts(&first.id, 2).await;
    assert_eq!(attempts[0].state(), ExecutionState::Interrupted);
    assert_eq!(attempts[1].state(), ExecutionState::Succeeded);
}

#[tokio::test]
async fn the_config_gives_a_workflow_its_default_policy_and_bad_policies_are_named() {
    let daemon = Daemon::builder()
        .program("flaky", flaky_program(1, 2))
        .config_file(
            "workflowd.toml",
            "[retry_policies.flaky]\nmax_attempts = 3\ninitial_interval_secs = 0.1\n",
        )
        .start()
        .await;
    let counter = daemon.file("counter");
    let first = daemon
        .execute("flaky", &[("counter", text(counter.to_str().unwrap()))])
        .await;
    assert_eq!(first.retry_policy.as_ref().unwrap().max_attempts, 3);
    let attempts = daemon.attempts(&first.id, 2).await;
    assert_eq!(attempts[1].state(), ExecutionState::Succeeded);

    let mut req = request("flaky", &[("counter", text("x"))]);
    req.retry_policy = Some(pb::RetryPolicy {
        max_attempts: 0,
        backoff_coefficient: 0.5,
        ..Default::default()
    });
    let status = daemon.client().execute(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "retry_policy.max_attempts",
            "retry_policy.backoff_coefficient"
        ]
    );
}
