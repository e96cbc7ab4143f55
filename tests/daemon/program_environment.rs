//! What a program runs with: its own working directory (kept when not
//! empty), only the allowed environment, and no start of a program others
//! can replace since discovery.

use workflow_manager::pb::OutputStream;

use crate::helper::*;

#[tokio::test]
async fn programs_run_in_their_own_directory_which_is_kept_when_not_empty() {
    let daemon = Daemon::builder()
        .program(
            "scratch.sh",
            workflow_script(
                r#"{"id":"scratch","name":"Scratch","description":"Prints its working directory and execution id; writes a file there when asked.","fields":[{"name":"keep","label":"Keep","description":"yes: leave a file","cli_arg":"--keep","required":false,"default":"no","field_type":{"type":"text"}}]}"#,
                r#"pwd
echo "$WORKFLOW_EXECUTION_ID"
if [ "$2" = yes ]; then echo data > kept.txt; fi"#,
            ),
        )
        .start()
        .await;
    let runs = daemon.data_dir().join("runs");
    let spares = || {
        std::fs::read_dir(runs.join(".spare"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // Nothing left behind: the directory becomes a spare...
    let empty = run_scratch(&daemon, "no").await;
    assert!(!empty.exists());
    assert_eq!(spares(), 1);
    // ... which the next execution runs in; its file keeps its directory.
    let kept = run_scratch(&daemon, "yes").await;
    assert_eq!(spares(), 0);
    assert_eq!(
        std::fs::read_to_string(kept.join("kept.txt")).unwrap(),
        "data\n"
    );
    // No spare left: a new directory, recycled in its turn.
    run_scratch(&daemon, "no").await;
    assert_eq!(spares(), 1);
}

/// Runs `scratch` to its end and returns its working directory, checking
/// that it ran in `<data>/runs/<its id>` with its id in
/// `WORKFLOW_EXECUTION_ID`.
async fn run_scratch(daemon: &Daemon, keep: &str) -> std::path::PathBuf {
    let execution = daemon.execute("scratch", &[("keep", text(keep))]).await;
    let events = daemon.run_to_end(&execution.id).await;
    let dir = daemon.data_dir().join("runs").join(&execution.id);
    assert_eq!(
        output_texts(&events, OutputStream::Stdout),
        [dir.to_string_lossy().into_owned(), execution.id.clone()]
    );
    dir
}

/// Prints its environment, one `NAME=value` line each; for
/// `--workflow-metadata` it writes it to `$HOME/metadata-env.txt` first.
fn env_dumper() -> String {
    r#"#!/bin/sh
if [ "$1" = "--workflow-metadata" ]; then
  env > "$HOME/metadata-env.txt"
  echo '{"id":"env_dump","name":"Env","description":"Prints its environment.","fields":[]}'
  exit 0
fi
env
"#
    .to_string()
}

fn names(lines: &[String]) -> Vec<&str> {
    lines.iter().filter_map(|l| l.split('=').next()).collect()
}

#[tokio::test]
async fn programs_see_only_the_allowed_environment() {
    let daemon = Daemon::builder()
        .program("env.sh", env_dumper())
        .env("DAEMON_SECRET_TOKEN", "hunter2")
        .env("WORKFLOWD_LOG", "info")
        .env("HTTP_PROXY", "http://proxy.test:3128")
        .env("LIBGUESTFS_BACKEND", "direct")
        .env("LANG", "C.UTF-8")
        .env("LC_TIME", "C")
        .flag("--program-env", "HTTP_PROXY")
        .flag("--program-env", "LIBGUESTFS_*")
        .start()
        .await;
    let execution = daemon.execute("env_dump", &[]).await;
    let events = daemon.run_to_end(&execution.id).await;
    let run_env = output_texts(&events, OutputStream::Stdout);
    let home = daemon.data_dir().parent().unwrap().join("home");
    let metadata_env: Vec<String> = std::fs::read_to_string(home.join("metadata-env.txt"))
        .expect("discovery ran the program")
        .lines()
        .map(String::from)
        .collect();

    for (what, lines) in [("execution", &run_env), ("discovery", &metadata_env)] {
        let names = names(lines);
        for expected in [
            "PATH",
            "HOME",
            "LANG",
            "LC_TIME",
            "HTTP_PROXY",
            "LIBGUESTFS_BACKEND",
        ] {
            assert!(names.contains(&expected), "{what}: {expected} in {lines:?}");
        }
        assert!(
            !lines.iter().any(|l| l.contains("hunter2")),
            "{what}: the daemon's secret is not passed: {lines:?}"
        );
        // The daemon's own settings are not passed; the policy it sets for
        // every program (WORKFLOWD_POLICY) is the one exception.
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("WORKFLOWD_") && *n != "WORKFLOWD_POLICY"),
            "{what}: the daemon's own settings are not passed: {lines:?}"
        );
        assert!(
            names.contains(&"WORKFLOWD_POLICY"),
            "{what}: the operator's policy is passed: {lines:?}"
        );
    }
    assert!(
        run_env.contains(&format!("WORKFLOW_EXECUTION_ID={}", execution.id)),
        "{run_env:?}"
    );
    assert!(
        run_env.contains(&format!("HOME={}", home.display())),
        "{run_env:?}"
    );
}

#[tokio::test]
async fn a_program_others_can_replace_since_discovery_is_not_started() {
    use std::os::unix::fs::PermissionsExt;
    let daemon = Daemon::builder()
        .program(
            "marker.sh",
            workflow_script(
                r#"{"id":"marker","name":"Marker","description":"Leaves a file when it runs.","fields":[]}"#,
                r#"touch "$HOME/marker-ran""#,
            ),
        )
        .start()
        .await;
    let first = daemon.execute("marker", &[]).await;
    let events = daemon.run_to_end(&first.id).await;
    assert_eq!(finished(&events).state, ExecutionState::Succeeded as i32);
    let marker = daemon.data_dir().parent().unwrap().join("home/marker-ran");
    std::fs::remove_file(&marker).expect("the first run left its marker");

    // The program itself is unchanged (discovery keeps it), but now anyone
    // could swap it for another file in its directory.
    let dir = daemon.workflows_dir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let second = daemon.execute("marker", &[]).await;
    let events = daemon.run_to_end(&second.id).await;
    let end = finished(&events);
    assert_eq!(end.state, ExecutionState::Failed as i32, "{end:?}");
    assert!(
        end.error.contains("not started") && end.error.contains("writable by others"),
        "{end:?}"
    );
    assert!(!marker.exists(), "the program did not run");
}
