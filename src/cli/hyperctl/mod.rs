//! hyperctl's command forms, kept verbatim for its users:
//!
//! ```text
//! wfctl workflow -op status|list|queue|watch|submit [-id ID] [-file F] [-dir D] [-json]
//! wfctl manifest create|validate -file F|submit -file F|status -id ID|generate DISK OUT_DIR
//! wfctl schedules create NAME CRON -workflow-mode workflow|manifest ...|list|describe NAME|...
//! ```
//!
//! One file per form: [`workflow`], [`manifest`] and [`schedules`]. Flags follow Go's
//! `flag` package ([`super::go_flags`]); each form's flags are declared
//! once, in its [`Form`] table.

mod manifest;
mod schedules;
mod workflow;

use std::path::{Path, PathBuf};

use super::{
    args::GlobalArgs,
    error::CliError,
    go_flags::{Form, GoFlags},
};

/// Runs `wfctl workflow ...`, `wfctl manifest ...` or `wfctl schedules ...`.
pub(crate) async fn run(globals: &GlobalArgs, verb: &str, args: &[String]) -> Result<(), CliError> {
    match verb {
        "workflow" => workflow::run(globals, args).await,
        "manifest" => manifest::run(globals, args).await,
        "schedules" => schedules::run(globals, args).await,
        other => Err(CliError::Usage(format!("unknown hyperctl verb {other:?}"))),
    }
}

/// Whether the user asked for the usage (`-h`, `-help`, `--help`, `help`).
pub(super) fn is_help(args: &[String]) -> bool {
    args.iter()
        .any(|a| matches!(a.as_str(), "-h" | "-help" | "--help" | "help"))
}

/// `-file`, relative to `-dir` when that is given and the file's path is
/// relative.
pub(super) fn file_flag(flags: &GoFlags) -> Option<PathBuf> {
    let file = Path::new(flags.value("file")?);
    Some(match flags.value("dir") {
        Some(dir) if file.is_relative() => Path::new(dir).join(file),
        _ => file.to_path_buf(),
    })
}

/// A usage error: `message`, then the form's usage text.
pub(super) fn usage_error(message: &str, form: &Form) -> CliError {
    CliError::Usage(format!("{message}\n{}", form.usage()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_file_is_looked_up_in_dir() {
        let flags = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            workflow::WORKFLOW.parse(&args).unwrap()
        };
        assert_eq!(
            file_flag(&flags(&["-file", "job.yaml", "-dir", "/jobs"])),
            Some(PathBuf::from("/jobs/job.yaml"))
        );
        assert_eq!(
            file_flag(&flags(&["-file", "/abs/job.yaml", "-dir", "/jobs"])),
            Some(PathBuf::from("/abs/job.yaml"))
        );
        assert_eq!(file_flag(&flags(&["-dir", "/jobs"])), None);
    }

    #[test]
    fn every_form_declares_each_flag_once() {
        for form in [
            &workflow::WORKFLOW,
            &manifest::MANIFEST,
            &schedules::SCHEDULES,
            &crate::cli::manifest_builder::CREATE,
        ] {
            let mut names: Vec<&str> = form.flags.iter().map(|f| f.name).collect();
            names.sort_unstable();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "{}", form.synopsis);
        }
    }
}
