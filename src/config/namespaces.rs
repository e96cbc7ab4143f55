//! The config file's `[namespaces.NAME]` tables ([`crate::namespaces`]):
//! each namespace's workflow directories and drop folders, its quotas and
//! the most its calls may ask for.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::limits::LimitSetting;
use super::ConfigError;
use crate::namespaces::{check_name, NamespaceSettings, Namespaces};
use crate::program_limits::ProgramLimits;
use crate::watcher::DropFolderConfig;

/// One `[namespaces.NAME]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NamespaceSetting {
    #[serde(default)]
    workflow_dirs: Vec<PathBuf>,
    #[serde(default)]
    drop_folders: Vec<PathBuf>,
    max_running: Option<usize>,
    max_queued: Option<usize>,
    start_rate_per_second: Option<f64>,
    start_rate_burst: Option<u32>,
    #[serde(default)]
    limits_maximum: LimitSetting,
}

/// The file's namespaces, checked: names, quotas at least 1, drop folders
/// among the configured ones, maximums within the daemon's. Relative
/// directories are made absolute with `absolute`.
pub(super) fn namespaces(
    settings: BTreeMap<String, NamespaceSetting>,
    absolute: &dyn Fn(PathBuf) -> PathBuf,
    drop_folders: &[DropFolderConfig],
    daemon_maximum: &ProgramLimits,
) -> Result<Namespaces, ConfigError> {
    let mut checked = BTreeMap::new();
    for (name, setting) in settings {
        check_name(&name).map_err(|why| invalid(format!("namespaces.{name}: {why}")))?;
        let key = |field: &str| format!("namespaces.{name}.{field}");
        let at_least_one = |field: &str, value: Option<usize>| match value {
            Some(0) => Err(invalid(format!(
                "{}: must be at least 1 (leave it out for no limit)",
                key(field)
            ))),
            _ => Ok(value),
        };
        let folders: Vec<PathBuf> = setting.drop_folders.into_iter().map(absolute).collect();
        if let Some(unknown) = folders
            .iter()
            .find(|f| !drop_folders.iter().any(|d| &d.path == *f))
        {
            return Err(invalid(format!(
                "{}: {} is not a configured drop folder (workflow_dir, manifest_workflow_dir)",
                key("drop_folders"),
                unknown.display()
            )));
        }
        let start_rate =
            super::start_rate::start_rate(setting.start_rate_per_second, setting.start_rate_burst)
                .map_err(|e| renamed(e, &name))?;
        let limits_maximum = super::limits::limits(&key("limits_maximum"), &setting.limits_maximum)
            .map_err(|e| renamed(e, &name))?;
        if let Some(problem) = limits_maximum
            .problems_within(daemon_maximum, "program_limits.maximum")
            .first()
        {
            return Err(invalid(format!(
                "{}.{}: {}",
                key("limits_maximum"),
                problem.field.trim_start_matches("limits."),
                problem.message
            )));
        }
        checked.insert(
            name.clone(),
            NamespaceSettings {
                workflow_dirs: setting.workflow_dirs.into_iter().map(absolute).collect(),
                drop_folders: folders,
                max_running: at_least_one("max_running", setting.max_running)?,
                max_queued: at_least_one("max_queued", setting.max_queued)?,
                start_rate,
                limits_maximum,
            },
        );
    }
    Ok(Namespaces::new(checked))
}

/// Every namespace's workflow directories after `workflow_dirs`, each
/// directory once: a namespace's directory is discovered like any other.
pub(super) fn add_workflow_dirs(workflow_dirs: &mut Vec<PathBuf>, namespaces: &Namespaces) {
    for dir in namespaces.workflow_dirs() {
        if !workflow_dirs.iter().any(|d| d == dir) {
            workflow_dirs.push(dir.clone());
        }
    }
}

/// An error of a shared check, put under the namespace's key.
fn renamed(error: ConfigError, name: &str) -> ConfigError {
    match error {
        // The limits' messages name their key already.
        ConfigError::Invalid { message, .. } if message.starts_with("namespaces.") => {
            invalid(message)
        }
        ConfigError::Invalid { setting, message } => {
            invalid(format!("namespaces.{name}.{setting}: {message}"))
        }
        other => other,
    }
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid {
        setting: "namespaces",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(path: &str) -> DropFolderConfig {
        DropFolderConfig {
            path: PathBuf::from(path),
            mode: crate::watcher::DropMode::Manifest,
        }
    }

    fn parse(text: &str) -> Result<Namespaces, ConfigError> {
        let settings: BTreeMap<String, NamespaceSetting> = toml::from_str(text).unwrap();
        let cwd = std::path::Path::new("/cwd");
        let maximum = ProgramLimits {
            max_processes: Some(100),
            ..ProgramLimits::default()
        };
        namespaces(
            settings,
            &|p: PathBuf| cwd.join(p),
            &[folder("/drop")],
            &maximum,
        )
    }

    fn message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_namespace_gets_its_directories_quotas_and_maximum() {
        let namespaces = parse(
            "[team-a]\nworkflow_dirs = ['wf']\ndrop_folders = ['/drop']\nmax_running = 2\n\
             max_queued = 5\nstart_rate_per_second = 1.5\n[team-a.limits_maximum]\nmax_processes = 50\n",
        )
        .unwrap();
        let a = namespaces.get("team-a").unwrap();
        assert_eq!(a.workflow_dirs, [PathBuf::from("/cwd/wf")]);
        assert_eq!((a.max_running, a.max_queued), (Some(2), Some(5)));
        assert_eq!(a.start_rate.map(|(r, b)| (r, b.get())), Some((1.5, 2)));
        assert_eq!(a.limits_maximum.max_processes, Some(50));
        assert!(namespaces.get(crate::namespaces::DEFAULT).is_some());
        let mut dirs = vec![PathBuf::from("/cwd/wf"), PathBuf::from("/x")];
        add_workflow_dirs(&mut dirs, &namespaces);
        assert_eq!(
            dirs.len(),
            2,
            "a directory already listed is not added again"
        );
    }

    #[test]
    fn bad_namespaces_are_refused_naming_the_key() {
        assert!(message("[Team]\n").contains("namespaces.Team: \"Team\" is not a namespace name"));
        assert!(message("[a]\nmax_running = 0\n")
            .contains("namespaces.a.max_running: must be at least 1"));
        assert!(message("[a]\ndrop_folders = ['/elsewhere']\n")
            .contains("namespaces.a.drop_folders: /elsewhere is not a configured drop folder"));
        assert!(message("[a]\nstart_rate_per_second = -1\n")
            .contains("namespaces.a.start_rate_per_second: must be more than 0"));
        assert!(message("[a]\nstart_rate_burst = 3\n")
            .contains("namespaces.a.start_rate_burst: needs start_rate_per_second"));
        let above = message("[a.limits_maximum]\nmax_processes = 101\n");
        assert!(
            above.contains(
                "namespaces.a.limits_maximum.max_processes: 101 is above the maximum of 100"
            ) && above.contains("program_limits.maximum"),
            "{above}"
        );
        assert!(message("[a.limits_maximum]\nmemory_mb = 0\n")
            .contains("namespaces.a.limits_maximum.memory_mb: must be positive"));
    }
}
