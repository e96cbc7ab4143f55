//! Resource limits on programs (docs/security.md, "Resource limits"): a
//! memory hog, a fork bomb, a flood of output and a busy loop are each
//! killed at their limit with the limit named; what a run used is
//! recorded; a limit above the config's maximum is refused; a program
//! dies with a daemon killed with SIGKILL.

use std::time::Duration;

use tonic::Code;
use workflow_manager::pb::{self, ExecutionState};

use crate::helper::*;

/// A workflow that runs `body` as a shell script, no inputs.
fn program(id: &str, body: &str) -> String {
    workflow_script(
        &format!(
            r#"{{"id":"{id}","name":"{id}","description":"A limits test program.","fields":[]}}"#
        ),
        body,
    )
}

/// Runs `workflow_id` with `limits` to its end; returns the execution and
/// its events.
async fn run_with(
    daemon: &Daemon,
    workflow_id: &str,
    limits: pb::ResourceLimits,
) -> (pb::Execution, Vec<pb::LogEvent>) {
    let mut req = request(workflow_id, &[]);
    req.limits = Some(limits);
    let execution = daemon.execute_request(req).await;
    let events = daemon.run_to_end(&execution.id).await;
    (daemon.get(&execution.id).await, events)
}

/// The pid of the program, from its `started` event.
fn started_pid(events: &[pb::LogEvent]) -> i32 {
    of!(events, Started)[0].pid
}

/// Asserts the run was killed for a limit: FAILED, the error naming
/// `what`, a force stop with reason `limit`, and nothing of its process
/// group left.
fn assert_killed_for(execution: &pb::Execution, events: &[pb::LogEvent], what: &str) {
    assert_eq!(execution.state(), ExecutionState::Failed, "{execution:?}");
    assert!(
        execution.error.starts_with(&format!("killed: {what}")),
        "the error names the limit: {:?}",
        execution.error
    );
    let stops = of!(events, CancelRequested);
    if let Some(stop) = stops.first() {
        assert_eq!(stop.reason, "limit");
        assert!(stop.force);
    } else {
        // Only the kernel's RLIMIT_CPU gets there before the watch.
        assert!(what.starts_with("CPU"), "no stop recorded: {events:?}");
    }
    let left = workflow_manager::process::group_members(started_pid(events));
    assert!(left.is_empty(), "processes left in the group: {left:?}");
}

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn a_memory_hog_is_killed_at_its_limit_with_the_reason_and_its_peak() {
    // Grows by 8 MiB at a time, each page written; gives up (and exits 0,
    // failing the test) at 1 GiB rather than take the machine.
    let daemon = Daemon::builder()
        .program(
            "hog.sh",
            program(
                "hog",
                r#"exec python3 -c '
import time
chunks = []
while len(chunks) < 128:
    chunks.append(b"x" * (8 << 20))
    time.sleep(0.005)
print("never stopped")'"#,
            ),
        )
        .start()
        .await;
    let (execution, events) = run_with(
        &daemon,
        "hog",
        pb::ResourceLimits {
            memory_bytes: Some(64 * MIB),
            ..Default::default()
        },
    )
    .await;
    assert_killed_for(&execution, &events, "memory limit reached");
    let usage = execution.usage.expect("usage recorded");
    assert!(
        usage.peak_memory_bytes > 64 * MIB && usage.peak_memory_bytes < 512 * MIB,
        "peak {} bytes: over the limit, killed soon after",
        usage.peak_memory_bytes
    );
    assert_eq!(
        execution.limits.and_then(|l| l.memory_bytes),
        Some(64 * MIB)
    );
}

#[tokio::test]
async fn a_fork_bomb_is_contained_at_its_process_limit() {
    // Each process starts two more, eleven levels down (up to 4,095),
    // and every one of them stays, sleeping.
    let daemon = Daemon::builder()
        .program(
            "bomb.sh",
            program(
                "bomb",
                r#"bomb() {
  if [ "$1" -gt 0 ]; then
    bomb $(($1 - 1)) &
    bomb $(($1 - 1)) &
  fi
  sleep 60
}
bomb 11"#,
            ),
        )
        .start()
        .await;
    let (execution, events) = run_with(
        &daemon,
        "bomb",
        pb::ResourceLimits {
            max_processes: Some(20),
            ..Default::default()
        },
    )
    .await;
    assert_killed_for(&execution, &events, "process limit reached");
}

#[tokio::test]
async fn output_past_its_limit_is_stopped() {
    let daemon = Daemon::builder()
        .program("flood.sh", program("flood", "exec yes flooding"))
        .start()
        .await;
    let (execution, events) = run_with(
        &daemon,
        "flood",
        pb::ResourceLimits {
            max_output_bytes: Some(MIB),
            ..Default::default()
        },
    )
    .await;
    assert_killed_for(&execution, &events, "output limit reached");
    // Only a little past the limit was read before the stop.
    let stored: usize = output_texts(&events, pb::OutputStream::Stdout)
        .iter()
        .map(|line| line.len() + 1)
        .sum();
    assert!(
        (MIB as usize..4 * MIB as usize).contains(&stored),
        "{stored} bytes of output stored"
    );
}

#[tokio::test]
async fn a_busy_loop_is_stopped_at_its_cpu_time() {
    let daemon = Daemon::builder()
        .program("spin.sh", program("spin", "while :; do :; done"))
        .start()
        .await;
    let (execution, events) = run_with(
        &daemon,
        "spin",
        pb::ResourceLimits {
            cpu_time: Some(duration(Duration::from_millis(500))),
            ..Default::default()
        },
    )
    .await;
    assert_killed_for(&execution, &events, "CPU time limit reached");
    let cpu = execution.usage.and_then(|u| u.cpu_time).expect("CPU time");
    assert!(
        cpu.seconds < 5,
        "stopped soon after its 0.5 s of CPU: {cpu:?}"
    );
}

#[tokio::test]
async fn config_limits_apply_and_usage_is_recorded() {
    let daemon = Daemon::builder()
        .program(
            "files.sh",
            program(
                "files",
                "ulimit -n; head -c 3000000 /dev/zero | tr '\\0' x > /dev/null",
            ),
        )
        .config_file(
            "limits.toml",
            "[program_limits.default]\nmemory_mb = 512\nmax_open_files = 128\n\
             [program_limits.workflows.files]\nmax_open_files = 64\n",
        )
        .start()
        .await;
    let execution = daemon.execute("files", &[]).await;
    let events = daemon.run_to_end(&execution.id).await;
    let execution = daemon.get(&execution.id).await;
    assert_eq!(
        execution.state(),
        ExecutionState::Succeeded,
        "{execution:?}"
    );
    // The workflow's own limit wins over the default; the default fills in
    // the rest.
    assert_eq!(output_texts(&events, pb::OutputStream::Stdout), ["64"]);
    let limits = execution.limits.expect("limits shown");
    assert_eq!(limits.max_open_files, Some(64));
    assert_eq!(limits.memory_bytes, Some(512 * MIB));
    let usage = execution.usage.expect("usage recorded");
    assert!(usage.peak_memory_bytes > 0);
    assert!(usage.cpu_time.is_some());

    // Kept in the history across a restart.
    let mut daemon = daemon;
    daemon.terminate().await;
    daemon.restart().await;
    let again = daemon.get(&execution.id).await;
    assert_eq!(again.usage, Some(usage));
    assert_eq!(again.limits, Some(limits));

    let status = daemon.client().get_status(pb::GetStatusRequest {}).await;
    let enforcement = status.unwrap().into_inner().program_limits_enforcement;
    assert!(enforcement.contains("setrlimit"), "{enforcement}");
}

#[tokio::test]
async fn a_limit_above_the_maximum_is_refused_naming_the_field() {
    let daemon = Daemon::builder()
        .config_file(
            "limits.toml",
            "[program_limits.maximum]\nmemory_mb = 1024\n",
        )
        .start()
        .await;
    let mut req = request("hello", &[]);
    req.limits = Some(pb::ResourceLimits {
        memory_bytes: Some(2048 * MIB),
        max_processes: Some(0),
        ..Default::default()
    });
    let err = daemon.client().execute(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields: Vec<String> = violations(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["limits.memory_bytes", "limits.max_processes"]);
    assert!(err.message().contains("maximum"), "{}", err.message());
    // Nothing was stored.
    let listed = daemon
        .client()
        .list_executions(pb::ListExecutionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.executions.is_empty());
}

#[tokio::test]
async fn a_zero_limit_in_the_config_refuses_to_start_naming_it() {
    let (status, stderr) = Daemon::builder()
        .config_file(
            "limits.toml",
            "[program_limits.workflows.hello]\nmemory_mb = 0\n",
        )
        .start_expecting_failure()
        .await;
    assert!(!status.success());
    assert!(
        stderr.contains("program_limits.workflows.hello.memory_mb"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_program_dies_with_a_daemon_killed_with_sigkill() {
    let mut daemon = Daemon::builder()
        .program("nap.sh", program("nap", "exec sleep 300"))
        .start()
        .await;
    let execution = daemon.execute("nap", &[]).await;
    let running = daemon
        .wait_state(&execution.id, ExecutionState::Running)
        .await;
    let program = workflow_manager::process::pidfd_of(running.pid).expect("pidfd of the program");
    daemon.kill9().await;
    // The pidfd polls readable once the program has exited.
    let gone = tokio::task::spawn_blocking(move || {
        let mut fds = [rustix::event::PollFd::new(
            &program,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 10,
            tv_nsec: 0,
        };
        rustix::event::poll(&mut fds, Some(&timeout)).expect("poll")
    })
    .await
    .unwrap();
    assert_eq!(gone, 1, "the program outlived the daemon by 10 s");
}
