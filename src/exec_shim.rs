//! `workflow-exec`: what the start of a program with resource limits
//! needs between fork and exec (joining its control group, setrlimit),
//! done by a small program of its own that then execs the workflow's
//! program in the same process.
//!
//! Why: the daemon spawns with posix_spawn (vfork and exec, so the
//! daemon's memory is never copied). Anything run between fork and exec
//! (std's `pre_exec`) makes std fork the whole daemon instead, which
//! bench/limits.rs measured at about four times the daemon's CPU per
//! execution. Exec'ing this first costs the new process one more exec
//! and the daemon far less. Where the binary is missing (a daemon built
//! alone with `cargo run --bin workflowd`), the runner falls back to
//! `pre_exec`.
//!
//! Usage: `workflow-exec [--join FILE]... [--cpu SOFT:HARD] [--nofile N]
//! -- PROGRAM [ARG]...`. The environment, working directory,
//! standard streams and process group pass through the exec unchanged.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use rustix::process::{setrlimit, Resource, Rlimit};

/// The binary's name, looked for next to the daemon's.
pub const BINARY: &str = "workflow-exec";

/// The shim next to the running daemon's binary, when it is there and
/// only its owner or root can change it ([`crate::program_trust`]);
/// None otherwise, with the reason logged (programs then start through
/// std's slower `pre_exec`).
pub fn next_to_daemon() -> Option<PathBuf> {
    let shim = match std::env::current_exe() {
        Ok(daemon) => daemon.with_file_name(BINARY),
        Err(e) => {
            tracing::warn!(error = %e, "cannot find the daemon's own binary; programs start without {BINARY}");
            return None;
        }
    };
    match crate::program_trust::check(&shim) {
        Ok(()) => Some(shim),
        Err(why) => {
            tracing::info!(path = %shim.display(), %why, "programs start without {BINARY} (slower)");
            None
        }
    }
}

/// What to set before the exec.
#[derive(Debug, Default, PartialEq)]
struct Settings {
    /// cgroup.procs files to write "0" to.
    join: Vec<OsString>,
    /// RLIMIT_CPU soft and hard, in seconds.
    cpu: Option<(u64, u64)>,
    /// RLIMIT_NOFILE.
    nofile: Option<u64>,
}

/// Runs the shim on its arguments (without argv[0]); returns only on
/// failure, with the exit code (127, as a shell has for a program it
/// cannot run), having said why on stderr.
pub fn main(args: Vec<OsString>) -> i32 {
    let failure = match parse(args) {
        Err(e) => e,
        Ok((settings, command)) => match apply(&settings) {
            Err(e) => e,
            Ok(()) => {
                let (program, args) = command.split_first().expect("parse demands a program");
                let error = std::process::Command::new(program).args(args).exec();
                format!("cannot run {}: {error}", program.to_string_lossy())
            }
        },
    };
    eprintln!("{BINARY}: {failure}");
    127
}

fn parse(args: Vec<OsString>) -> Result<(Settings, Vec<OsString>), String> {
    let mut settings = Settings::default();
    let mut args = args.into_iter();
    let number = |flag: &str, value: Option<OsString>| -> Result<String, String> {
        value
            .and_then(|v| v.into_string().ok())
            .ok_or_else(|| format!("{flag} needs a value"))
    };
    loop {
        let Some(flag) = args.next() else {
            return Err("no program after --".into());
        };
        match flag.to_str() {
            Some("--") => break,
            Some("--join") => settings
                .join
                .push(args.next().ok_or("--join needs a file")?),
            Some("--cpu") => {
                let value = number("--cpu", args.next())?;
                let (soft, hard) = value
                    .split_once(':')
                    .and_then(|(s, h)| Some((s.parse().ok()?, h.parse().ok()?)))
                    .ok_or_else(|| format!("--cpu {value:?} is not SOFT:HARD"))?;
                settings.cpu = Some((soft, hard));
            }
            Some("--nofile") => {
                let value = number("--nofile", args.next())?;
                settings.nofile = Some(value.parse().map_err(|_| format!("--nofile {value:?}"))?);
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    let command: Vec<OsString> = args.collect();
    if command.is_empty() {
        return Err("no program after --".into());
    }
    Ok((settings, command))
}

fn apply(settings: &Settings) -> Result<(), String> {
    for file in &settings.join {
        std::fs::write(file, "0")
            .map_err(|e| format!("cannot join {}: {e}", file.to_string_lossy()))?;
    }
    let limit = |resource, soft, hard, name: &str| {
        setrlimit(
            resource,
            Rlimit {
                current: Some(soft),
                maximum: Some(hard),
            },
        )
        .map_err(|e| format!("cannot set {name}: {e}"))
    };
    if let Some((soft, hard)) = settings.cpu {
        limit(Resource::Cpu, soft, hard, "RLIMIT_CPU")?;
    }
    if let Some(files) = settings.nofile {
        limit(Resource::Nofile, files, files, "RLIMIT_NOFILE")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn settings_come_before_the_program() {
        let (settings, command) = parse(args(&[
            "--join",
            "/a",
            "--join",
            "/b",
            "--cpu",
            "2:3",
            "--nofile",
            "64",
            "--",
            "/bin/prog",
            "--flag",
        ]))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                join: args(&["/a", "/b"]),
                cpu: Some((2, 3)),
                nofile: Some(64),
            }
        );
        assert_eq!(command, args(&["/bin/prog", "--flag"]));
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(parse(args(&["--cpu", "2", "--", "p"]))
            .unwrap_err()
            .contains("SOFT:HARD"));
        assert!(parse(args(&["--"])).unwrap_err().contains("no program"));
        assert!(parse(args(&["--what", "--", "p"]))
            .unwrap_err()
            .contains("--what"));
    }
}
