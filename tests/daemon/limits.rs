//! Resource limits on programs (docs/security.md, "Resource limits"): a
//! memory hog, a fork bomb, a flood of output and a busy loop are each
//! stopped at their limit with the limit named, with a control group per
//! run (where the host has cgroup v1 and the tests run as root, as CI
//! does; cgroup v2 in a VM, scripts/test-cgroup-v2.sh) and with the process-group watch (`cgroups = false`); what a run
//! used is recorded; a limit above the config's maximum is refused; the
//! guardian kills a program's group with a daemon killed with SIGKILL.

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
        // The kernel got there before a sample did: its OOM killer, a
        // fork refused at pids.max, SIGXCPU at RLIMIT_CPU.
        assert!(
            ["OOM killer", "pids.max", "RLIMIT_CPU"]
                .iter()
                .any(|kernel| execution.error.contains(kernel)),
            "no stop recorded: {events:?}"
        );
    }
    let left = workflow_manager::process::group_members(started_pid(events));
    assert!(left.is_empty(), "processes left in the group: {left:?}");
}

const MIB: u64 = 1024 * 1024;

/// How a daemon enforces limits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Enforcement {
    /// A control group per run with limits.
    Cgroup,
    /// The runner's sampling of the process group.
    Watch,
}

/// A daemon with `programs`, enforcing limits the `how` way; None (and a
/// note) when this host gives no control groups to create.
async fn daemon_with(how: Enforcement, programs: &[(&str, String)]) -> Option<Daemon> {
    let mut builder = Daemon::builder();
    for (file, script) in programs {
        builder = builder.program(file, script.clone());
    }
    if how == Enforcement::Watch {
        builder = builder.config_file("limits.toml", "cgroups = false\n");
    }
    let daemon = builder.start().await;
    let status = daemon
        .client()
        .get_status(pb::GetStatusRequest::default())
        .await;
    let enforcement = status.unwrap().into_inner().program_limits_enforcement;
    match how {
        Enforcement::Watch => assert!(
            enforcement.starts_with("process group watch"),
            "{enforcement}"
        ),
        Enforcement::Cgroup => match required_cgroup_version() {
            // scripts/test-cgroup-v2.sh runs these in a VM with cgroup v2,
            // where a fallback must fail, not skip.
            Some(version) => assert!(
                enforcement.starts_with(&format!("a cgroup {version} group")),
                "WORKFLOW_TEST_CGROUP={version}, and the daemon says: {enforcement}"
            ),
            None if !enforcement.starts_with("a cgroup ") => {
                eprintln!("skipped: no control groups here ({enforcement})");
                return None;
            }
            None => {}
        },
    }
    Some(daemon)
}

/// The control group version these tests must find the daemon using
/// (`WORKFLOW_TEST_CGROUP`: v1 or v2); unset, they skip where it uses none.
fn required_cgroup_version() -> Option<String> {
    std::env::var("WORKFLOW_TEST_CGROUP").ok()
}

/// Grows by 8 MiB at a time, each page written; gives up (and exits 0,
/// failing the test) at 1 GiB rather than take the machine.
fn memory_hog() -> String {
    program(
        "hog",
        r#"exec python3 -c '
import time
chunks = []
while len(chunks) < 128:
    chunks.append(b"x" * (8 << 20))
    time.sleep(0.005)
print("never stopped")'"#,
    )
}

async fn a_memory_hog_is_stopped_at_its_limit(how: Enforcement) {
    let Some(daemon) = daemon_with(how, &[("hog.sh", memory_hog())]).await else {
        return;
    };
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
    if how == Enforcement::Cgroup {
        assert!(
            execution.error.contains("OOM killer"),
            "{}",
            execution.error
        );
    }
    let peak = execution
        .usage
        .and_then(|u| u.peak_memory_bytes)
        .expect("the peak of a run with a memory limit is measured");
    assert!(
        (56 * MIB..512 * MIB).contains(&peak),
        "peak {peak} bytes: about the limit, stopped soon after"
    );
    assert_eq!(
        execution.limits.and_then(|l| l.memory_bytes),
        Some(64 * MIB)
    );
}

#[tokio::test]
async fn a_memory_hog_is_killed_by_the_kernel_in_its_control_group() {
    a_memory_hog_is_stopped_at_its_limit(Enforcement::Cgroup).await;
}

#[tokio::test]
async fn a_memory_hog_is_killed_by_the_group_watch() {
    a_memory_hog_is_stopped_at_its_limit(Enforcement::Watch).await;
}

/// Each process starts two more, `depth` levels down (up to
/// 2^(depth+1) - 1), and every one of them stays, sleeping.
fn fork_bomb(depth: u32) -> String {
    program(
        "bomb",
        &format!(
            r#"bomb() {{
  if [ "$1" -gt 0 ]; then
    bomb $(($1 - 1)) &
    bomb $(($1 - 1)) &
  fi
  sleep 60
}}
bomb {depth}"#
        ),
    )
}

#[tokio::test]
async fn a_fork_bomb_is_held_at_its_process_limit_by_its_control_group() {
    let Some(daemon) = daemon_with(Enforcement::Cgroup, &[("bomb.sh", fork_bomb(11))]).await else {
        return;
    };
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
    // The kernel refused the 21st: no more ever ran.
    assert!(execution.error.contains("pids.max"), "{}", execution.error);
}

#[tokio::test]
async fn a_fork_bomb_is_killed_by_the_group_watch() {
    // Smaller: the watch lets it grow until a sample sees it.
    let Some(daemon) = daemon_with(Enforcement::Watch, &[("bomb.sh", fork_bomb(8))]).await else {
        return;
    };
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
    // Measured by the limits' sampling: at least what `head | tr` held,
    // far below the daemon's own peak, which a vfork'd child's ru_maxrss
    // would have reported.
    let peak = usage
        .peak_memory_bytes
        .expect("a run with limits is measured");
    assert!((64 * 1024..64 * MIB).contains(&peak), "peak {peak} bytes");
    assert!(usage.cpu_time.is_some());

    // Kept in the history across a restart.
    let mut daemon = daemon;
    daemon.terminate().await;
    daemon.restart().await;
    let again = daemon.get(&execution.id).await;
    assert_eq!(again.usage, Some(usage));
    assert_eq!(again.limits, Some(limits));

    let status = daemon
        .client()
        .get_status(pb::GetStatusRequest::default())
        .await;
    let enforcement = status.unwrap().into_inner().program_limits_enforcement;
    assert!(enforcement.contains("setrlimit"), "{enforcement}");
    // The daemon found workflow-exec next to it: its spawns stay
    // posix_spawn (the engine's own tests cover the pre_exec fallback).
    assert!(
        enforcement.ends_with("set up before exec by workflow-exec"),
        "{enforcement}"
    );
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

    // A run without limits (none by default here) gets its CPU time, and
    // no made-up peak.
    let plain = daemon.execute("hello", &[]).await;
    let plain = daemon.wait_end(&plain.id).await;
    assert_eq!(plain.limits, None);
    let usage = plain.usage.expect("CPU time recorded");
    assert!(usage.cpu_time.is_some());
    assert_eq!(usage.peak_memory_bytes, None);
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
async fn the_guardian_kills_a_program_and_its_group_with_a_daemon_killed_with_sigkill() {
    let mut daemon = Daemon::builder()
        .program("stubborn.sh", stubborn_program())
        .start()
        .await;
    let (_, started, grandchild) = daemon.start_with_grandchild("stubborn").await;
    daemon.kill9().await;
    // The guardian read the end of its pipe and killed the group: the
    // program, and the grandchild in its process group.
    wait_process_gone(started.pid, "the program, with its daemon").await;
    wait_process_gone(grandchild, "its grandchild, with the daemon").await;
}

/// Starts a sleeper in a session (and process group) of its own, prints
/// its pid, and sleeps itself.
fn escaper() -> String {
    program(
        "escaper",
        "setsid sleep 300 </dev/null >/dev/null 2>&1 &\necho $!\nexec sleep 300",
    )
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Starts `escaper` with a process limit (so it gets a control group) and
/// returns the execution and the pid of the sleeper that left its group.
async fn start_escaper(daemon: &Daemon) -> (pb::Execution, i32) {
    let mut req = request("escaper", &[]);
    req.limits = Some(pb::ResourceLimits {
        max_processes: Some(50),
        ..Default::default()
    });
    let execution = daemon.execute_request(req).await;
    let mut logs = daemon.open_stream(&execution.id, 0, true).await;
    let escaped = loop {
        let message = logs
            .message()
            .await
            .expect("StreamLogs")
            .expect("the log goes on");
        let event = message.event.expect("an event");
        if let Some(pb::log_event::Payload::Output(line)) = event.payload {
            break line.text.trim().parse::<i32>().expect("a pid");
        }
    };
    // The shell prints the pid as soon as it has forked: wait until the
    // sleeper has made its own session (and so left the process group).
    eventually(
        "the sleeper to be in a session of its own",
        Duration::from_secs(10),
        || async {
            let stat = workflow_manager::process::stat_from_state(escaped)?;
            // Word N - 3 is field N: 6 is the session.
            let session: i32 = stat.split_whitespace().nth(6 - 3)?.parse().ok()?;
            (session == escaped).then_some(())
        },
    )
    .await;
    assert!(alive(escaped));
    (execution, escaped)
}

#[tokio::test]
async fn cancel_reaches_a_process_that_left_the_process_group() {
    let Some(daemon) = daemon_with(Enforcement::Cgroup, &[("escaper.sh", escaper())]).await else {
        return;
    };
    let (execution, escaped) = start_escaper(&daemon).await;
    daemon.cancel(&execution.id, None, false).await;
    let ended = daemon.wait_end(&execution.id).await;
    assert_eq!(ended.state(), ExecutionState::Cancelled);
    assert!(
        !alive(escaped),
        "the setsid sleeper {escaped} outlived the cancel"
    );
}

#[tokio::test]
async fn a_restart_kills_what_a_dead_daemon_left_in_its_control_groups() {
    let Some(mut daemon) = daemon_with(Enforcement::Cgroup, &[("escaper.sh", escaper())]).await
    else {
        return;
    };
    let (_, escaped) = start_escaper(&daemon).await;
    daemon.kill9().await;
    // The guardian killed the program's process group with the daemon;
    // the sleeper in a session of its own was not in it, and is found in
    // the control group at the next start.
    assert!(alive(escaped));
    daemon.restart().await;
    assert!(!alive(escaped), "the restart left {escaped} running");
}
