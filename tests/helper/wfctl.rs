//! Runs the real `wfctl` binary against a test's daemon and keeps what it
//! printed and how it ended.

use std::{path::Path, process::Stdio};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::DEADLINE;

/// What one `wfctl` run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The value of a `Key:  value` line on stdout (`get`, `webhook add`,
    /// `schedule describe`, ...), if there is one.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}:")))
            .map(str::trim)
    }

    /// Asserts that stdout contains `text`.
    pub fn stdout_has(self, text: &str) -> Run {
        assert!(self.stdout.contains(text), "{self:?}");
        self
    }

    /// Asserts that stderr contains `text`.
    pub fn stderr_has(self, text: &str) -> Run {
        assert!(self.stderr.contains(text), "{self:?}");
        self
    }

    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code of wfctl: {self:?}");
        self
    }
}

/// Runs `wfctl` with the daemon address in WORKFLOWD_ADDR (host:port, no
/// scheme) and plain (non-terminal, NO_COLOR) output.
pub async fn wfctl(addr: &str, args: &[&str]) -> Run {
    wfctl_in(addr, args, None, "").await
}

/// Runs `wfctl` as [`wfctl`] does, in directory `cwd` (when given) and with
/// `stdin` as its standard input.
pub async fn wfctl_in(addr: &str, args: &[&str], cwd: Option<&Path>, stdin: &str) -> Run {
    wfctl_env(&[("WORKFLOWD_ADDR", addr)], args, cwd, stdin).await
}

/// Runs `wfctl` with exactly the address variables in `env` set.
pub async fn wfctl_env(
    env: &[(&str, &str)],
    args: &[&str],
    cwd: Option<&Path>,
    stdin: &str,
) -> Run {
    let mut command = command(env, args);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().expect("spawn wfctl");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write wfctl's stdin");
    // Closing stdin is the end of the answers.
    drop(input);
    let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("wfctl {args:?} did not finish within {DEADLINE:?}"))
        .expect("wait for wfctl");
    Run {
        code: output.status.code().expect("wfctl exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Starts `wfctl` as [`wfctl`] runs it, for a test that reads its output
/// while it runs (stdin, stdout and stderr piped; killed when dropped).
pub fn wfctl_spawn(addr: &str, args: &[&str]) -> tokio::process::Child {
    command(&[("WORKFLOWD_ADDR", addr)], args)
        .spawn()
        .expect("spawn wfctl")
}

/// The `wfctl` command with exactly the address variables in `env`, plain
/// output and its standard streams piped.
fn command(env: &[(&str, &str)], args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfctl"));
    command
        .args(args)
        .env_remove("WORKFLOWD_ADDR")
        .env_remove("WFCTL_ADDR")
        .env_remove("WORKFLOW_TOKEN")
        .env_remove("WORKFLOW_TLS_CA")
        .env_remove("WORKFLOW_TLS_CERT")
        .env_remove("WORKFLOW_TLS_KEY")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}
