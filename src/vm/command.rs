//! Running external tools (qemu-img, libguestfs, a fix command) so that a
//! cancel request stops them, and the cancel request itself (SIGTERM or
//! SIGINT).

use std::{
    ffi::OsStr,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
};

use tokio::{io::AsyncReadExt, process::Command, sync::watch};

/// Set once the pipeline was asked to stop. Clones share the flag.
#[derive(Debug, Clone)]
pub struct Cancel {
    rx: watch::Receiver<bool>,
    // Kept so `never()` tokens are not "closed" (a closed channel would
    // look like a cancel that can never come, which is the same thing, but
    // holding the sender keeps `wait_for` simple).
    _tx: Option<std::sync::Arc<watch::Sender<bool>>>,
}

impl Cancel {
    /// Listens for SIGTERM and SIGINT: the daemon cancels an execution by
    /// sending SIGTERM to its whole process group. Must be called from
    /// within a tokio runtime, before any child is started.
    pub fn on_signals() -> std::io::Result<Cancel> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            let _ = tx.send(true);
            // Keep the handlers installed: a second signal must not kill us
            // half-way through the cleanup.
            loop {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
        });
        Ok(Cancel { rx, _tx: None })
    }

    /// A token that is never cancelled (for tests and library callers).
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(false);
        Cancel {
            rx,
            _tx: Some(std::sync::Arc::new(tx)),
        }
    }

    /// Whether a stop was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once a stop is requested (never, if it never is).
    pub async fn cancelled(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Why a tool did not give a result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    /// It could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The error.
        source: std::io::Error,
    },
    /// The pipeline was cancelled while it ran; it was stopped.
    #[error("cancelled")]
    Cancelled,
}

/// What a finished tool left.
#[derive(Debug)]
pub(crate) struct ToolOutput {
    /// Its exit status.
    pub(crate) status: ExitStatus,
    /// Its stdout (lossy UTF-8).
    pub(crate) stdout: String,
    /// Its stderr (lossy UTF-8).
    pub(crate) stderr: String,
}

impl ToolOutput {
    /// The exit code, or -1 when a signal ended it.
    pub(crate) fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// The most useful error text: stderr, else stdout, else the status.
    pub(crate) fn error_text(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            self.stdout.trim()
        } else {
            self.stderr.trim()
        };
        if text.is_empty() {
            describe_status(self.status)
        } else {
            text.to_string()
        }
    }
}

/// "exit code N" or "signal N".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// Whether a status says the process was ended by SIGTERM or SIGINT: the
/// tools share our process group, so the daemon's SIGTERM may reach them
/// before our own handler has noticed it.
pub(crate) fn stopped_by_signal(status: ExitStatus) -> bool {
    matches!(status.signal(), Some(15) | Some(2))
}

/// Runs a tool to the end, collecting its output; stops it (SIGKILL) and
/// returns [`ToolError::Cancelled`] when the pipeline is cancelled first.
pub(crate) async fn run(command: &mut Command, cancel: &Cancel) -> Result<ToolOutput, ToolError> {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ToolError::Spawn {
            program: program.clone(),
            source,
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let read_out = async {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf).await;
        buf
    };
    let read_err = async {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        buf
    };
    let outcome = {
        let finished = async { tokio::join!(child.wait(), read_out, read_err) };
        tokio::select! {
            done = finished => Some(done),
            _ = cancel.cancelled() => None,
        }
    };
    let Some((status, out, err)) = outcome else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Err(ToolError::Cancelled);
    };
    let status = status.map_err(|source| ToolError::Spawn { program, source })?;
    if cancel.is_cancelled() || stopped_by_signal(status) {
        return Err(ToolError::Cancelled);
    }
    Ok(ToolOutput {
        status,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
}

/// Finds a program the way a shell would: a name with a slash is a path
/// (it must exist and be executable), anything else is looked up on PATH.
pub(crate) fn find_program(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let name = Path::new(name.as_ref());
    if name.as_os_str().is_empty() {
        return None;
    }
    if name.components().count() > 1 {
        return is_executable(name).then(|| name.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("/bin/sh").is_some());
        assert!(find_program("surely-not-a-program-xyz").is_none());
        assert!(find_program("").is_none());
    }

    #[tokio::test]
    async fn a_tool_runs_to_the_end_and_its_output_is_kept() {
        let out = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            &Cancel::never(),
        )
        .await
        .unwrap();
        assert_eq!(out.code(), 3);
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.error_text(), "err");
    }
}
