//! Daemon configuration: embedded defaults, then a config file (TOML or
//! YAML), then `WORKFLOWD_*` environment variables, then flags; validated
//! once at start with messages that name the setting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

use crate::policy::{FixTool, WorkflowPolicy};
use crate::program_env::ProgramEnvName;
use crate::watcher::{DropFolderConfig, DropMode};

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file could not be parsed.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the key and line).
        message: String,
    },
    /// A setting has a bad value.
    #[error("setting {setting}: {message}")]
    Invalid {
        /// Which setting (file key / flag).
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Command-line flags of `workflowd`. Each also reads a `WORKFLOWD_*`
/// environment variable; a flag wins over the variable, both over the file.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "workflowd",
    version,
    about = "The workflow daemon: runs workflow programs and serves workflow.v1.WorkflowService over gRPC"
)]
pub struct DaemonArgs {
    /// Config file (TOML, or YAML when it ends in .yaml/.yml).
    #[arg(long, env = "WORKFLOWD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to serve gRPC on (default 127.0.0.1:50051; port 0 picks a
    /// free one), or `none` to serve only on --unix-socket.
    #[arg(long, env = "WORKFLOWD_LISTEN")]
    pub listen: Option<String>,
    /// Also serve on this Unix socket (a stale one is replaced; removed at stop).
    #[arg(long, env = "WORKFLOWD_UNIX_SOCKET")]
    pub unix_socket: Option<PathBuf>,
    /// Data directory: history database, run directories, bundled workflows.
    #[arg(long, env = "WORKFLOWD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Workflow directory to discover programs in (repeatable; replaces the defaults).
    #[arg(
        long = "workflow-dir",
        env = "WORKFLOWD_WORKFLOW_DIRS",
        value_delimiter = ':'
    )]
    pub workflow_dirs: Vec<PathBuf>,
    /// Do not install and discover the bundled example workflows.
    #[arg(long, env = "WORKFLOWD_NO_BUNDLED_WORKFLOWS")]
    pub no_bundled_workflows: bool,
    /// Executions running at once (default: number of cores).
    #[arg(long, env = "WORKFLOWD_MAX_CONCURRENT_JOBS")]
    pub max_concurrent_jobs: Option<usize>,
    /// Executions allowed to wait for a worker (default 1000).
    #[arg(long, env = "WORKFLOWD_MAX_QUEUE")]
    pub max_queue: Option<usize>,
    /// Seconds between SIGTERM and SIGKILL when a cancel does not say (default 10).
    #[arg(long, env = "WORKFLOWD_DEFAULT_GRACE_PERIOD")]
    pub default_grace_period: Option<f64>,
    /// Seconds running executions get to stop when the daemon shuts down (default 10).
    #[arg(long, env = "WORKFLOWD_SHUTDOWN_GRACE_PERIOD")]
    pub shutdown_grace_period: Option<f64>,
    /// Seconds a program gets to answer --workflow-metadata (default 5).
    #[arg(long, env = "WORKFLOWD_DISCOVERY_TIMEOUT")]
    pub discovery_timeout: Option<f64>,
    /// Days a finished execution is kept (its record, log, artifacts and
    /// kept working directory); older ones are deleted. Fractions allowed.
    /// Default: kept forever.
    #[arg(long, env = "WORKFLOWD_HISTORY_RETENTION_DAYS")]
    pub history_retention_days: Option<f64>,
    /// Manifest drop folder (hyper2kvm's manifest_workflow_dir): pipeline
    /// manifests dropped into DIR/to_be_processed/ are run.
    #[arg(long = "manifest-dir", env = "WORKFLOWD_MANIFEST_DIR")]
    pub manifest_dir: Option<PathBuf>,
    /// Disk drop folder (hyper2kvm's workflow_dir): disk images and job
    /// configs dropped into DIR/to_be_processed/ are converted.
    #[arg(long = "disk-dir", env = "WORKFLOWD_DISK_DIR")]
    pub disk_dir: Option<PathBuf>,
    /// Where the VM pipeline writes converted disks (default DATA_DIR/output).
    #[arg(long = "output-dir", env = "WORKFLOWD_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,
    /// Group of the Unix socket (name or gid); its members may connect.
    #[arg(long, env = "WORKFLOWD_UNIX_SOCKET_GROUP")]
    pub unix_socket_group: Option<String>,
    /// An environment variable of the daemon passed on to workflow
    /// programs (repeatable; `NAME_*` passes every name with that prefix).
    #[arg(
        long = "program-env",
        env = "WORKFLOWD_PROGRAM_ENV",
        value_delimiter = ','
    )]
    pub program_env: Vec<String>,
    /// A directory manifests may read sources from (repeatable; replaces the
    /// file's `source_roots`). The drop folders and DATA_DIR/manifests are
    /// always source roots too.
    #[arg(
        long = "source-root",
        env = "WORKFLOWD_SOURCE_ROOTS",
        value_delimiter = ':'
    )]
    pub source_roots: Vec<PathBuf>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// The config file's keys; unknown keys are an error so typos surface.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    unix_socket: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    workflow_dirs: Option<Vec<PathBuf>>,
    bundled_workflows: Option<bool>,
    max_concurrent_jobs: Option<usize>,
    max_queue: Option<usize>,
    default_grace_period_secs: Option<f64>,
    shutdown_grace_period_secs: Option<f64>,
    discovery_timeout_secs: Option<f64>,
    history_retention_days: Option<f64>,
    // The keys of hyper2kvm's workflow daemon, so its config file works here.
    /// Disk drop folder.
    workflow_dir: Option<PathBuf>,
    /// Whether the disk drop folder is on (default: when workflow_dir is set).
    workflow_mode: Option<bool>,
    /// Manifest drop folder.
    manifest_workflow_dir: Option<PathBuf>,
    /// Whether the manifest drop folder is on (default: when its dir is set).
    manifest_workflow_mode: Option<bool>,
    /// Where converted disks go.
    output_dir: Option<PathBuf>,
    /// Directories manifests may read sources from.
    source_roots: Option<Vec<PathBuf>>,
    /// Guest-fix tools by name, each a fixed argv template.
    fix_tools: Option<BTreeMap<String, FixTool>>,
    /// Accepted and ignored: workflowd always runs as a daemon.
    #[allow(dead_code)]
    daemon: Option<bool>,
    /// Accepted and ignored (upstream's `command: daemon`).
    #[allow(dead_code)]
    command: Option<String>,
    /// Accepted and ignored: WORKFLOWD_LOG sets the log level.
    #[allow(dead_code)]
    verbose: Option<bool>,
    // Who may reach the daemon and what its programs see.
    /// Group of the Unix socket, by name or gid.
    unix_socket_group: Option<GroupSetting>,
    /// Variables of the daemon's environment passed on to programs.
    program_env: Option<Vec<String>>,
}

/// A group as written in the config file: a name or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum GroupSetting {
    Id(u32),
    Name(String),
}

/// The resolved, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// gRPC address; None serves no TCP port at all (`listen = "none"`),
    /// only the Unix socket.
    pub listen: Option<SocketAddr>,
    /// Optional Unix socket.
    pub unix_socket: Option<PathBuf>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Workflow directories, in priority order (a duplicate id keeps the first).
    pub workflow_dirs: Vec<PathBuf>,
    /// Whether the bundled examples are installed into the data directory.
    pub bundled_workflows: bool,
    /// Worker pool size.
    pub max_concurrent_jobs: usize,
    /// Queue limit.
    pub max_queue: usize,
    /// Default cancel grace.
    pub default_grace_period: Duration,
    /// Shutdown grace.
    pub shutdown_grace_period: Duration,
    /// Metadata probe time limit.
    pub discovery_timeout: Duration,
    /// The drop folders (manifest and/or disk mode), each optional.
    pub drop_folders: Vec<DropFolderConfig>,
    /// Where the VM pipeline writes converted disks by default.
    pub output_dir: PathBuf,
    /// How long finished executions are kept; None keeps them forever.
    pub history_retention: Option<Duration>,
    // Who may reach the daemon and what its programs see.
    /// Group given the Unix socket (mode 0660), as a gid; None leaves the
    /// daemon's own group.
    pub unix_socket_group: Option<u32>,
    /// Names of the daemon's environment passed on to programs beyond
    /// the ones always passed (`program_env.rs`).
    pub program_env: Vec<ProgramEnvName>,
    /// The configured `source_roots` (see [`Config::policy`] for all the
    /// roots in force).
    pub source_roots: Vec<PathBuf>,
    /// The configured guest-fix tools.
    pub fix_tools: BTreeMap<String, FixTool>,
}

impl Config {
    /// The history database.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("history.sqlite3")
    }

    /// Where executions get their working directories.
    pub fn runs_dir(&self) -> PathBuf {
        self.data_dir.join("runs")
    }

    /// Where the bundled examples are installed.
    pub fn bundled_workflows_dir(&self) -> PathBuf {
        self.data_dir.join("bundled-workflows")
    }

    /// Where the per-VM pipeline documents of manifest runs are written.
    pub fn manifests_dir(&self) -> PathBuf {
        self.data_dir.join("manifests")
    }

    /// What programs may read, write and run: `source_roots` plus every
    /// drop folder plus [`Config::manifests_dir`] (where the daemon writes
    /// the per-VM pipeline documents), the output directory, the fix tools.
    pub fn policy(&self) -> WorkflowPolicy {
        let mut source_roots = self.source_roots.clone();
        source_roots.extend(self.drop_folders.iter().map(|f| f.path.clone()));
        source_roots.push(self.manifests_dir());
        source_roots.dedup();
        WorkflowPolicy {
            output_dir: self.output_dir.clone(),
            source_roots,
            fix_tools: self.fix_tools.clone(),
        }
    }

    /// Resolves defaults, file, environment and flags (clap has already
    /// merged the last two), then validates.
    pub fn load(args: &DaemonArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let absolute = |p: PathBuf| if p.is_absolute() { p } else { cwd.join(p) };

        let listen_text = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:50051".to_string());
        let unix_socket = args.unix_socket.clone().or(file.unix_socket).map(absolute);
        let listen = parse_listen(&listen_text, unix_socket.is_some())?;
        let unix_socket_group = match args
            .unix_socket_group
            .clone()
            .map(GroupSetting::Name)
            .or(file.unix_socket_group)
        {
            Some(group) => Some(resolve_group(&group)?),
            None => None,
        };
        if unix_socket_group.is_some() && unix_socket.is_none() {
            return Err(ConfigError::Invalid {
                setting: "unix_socket_group",
                message: "is set but there is no unix_socket (--unix-socket) to give it to".into(),
            });
        }
        let program_env = if args.program_env.is_empty() {
            file.program_env.unwrap_or_default()
        } else {
            args.program_env.clone()
        }
        .iter()
        .map(|name| {
            ProgramEnvName::parse(name).map_err(|message| ConfigError::Invalid {
                setting: "program_env",
                message,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
        let data_dir = absolute(
            args.data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(default_data_dir),
        );
        let bundled_workflows =
            !args.no_bundled_workflows && file.bundled_workflows.unwrap_or(true);
        let configured_dirs = if args.workflow_dirs.is_empty() {
            file.workflow_dirs
        } else {
            Some(args.workflow_dirs.clone())
        };
        let workflow_dirs = match configured_dirs {
            Some(dirs) => dirs.into_iter().map(absolute).collect(),
            None => {
                let mut dirs = Vec::new();
                if bundled_workflows {
                    dirs.push(data_dir.join("bundled-workflows"));
                }
                if let Some(home) = dirs::home_dir() {
                    dirs.push(home.join(".workflow-manager").join("workflows"));
                }
                dirs
            }
        };
        let max_concurrent_jobs = args
            .max_concurrent_jobs
            .or(file.max_concurrent_jobs)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        if max_concurrent_jobs == 0 {
            return Err(ConfigError::Invalid {
                setting: "max_concurrent_jobs",
                message: "must be at least 1".into(),
            });
        }
        let seconds =
            |setting: &'static str, value: Option<f64>, default: f64, allow_zero: bool| {
                let value = value.unwrap_or(default);
                if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) {
                    return Err(ConfigError::Invalid {
                        setting,
                        message: format!(
                            "must be a number of seconds {} 0, got {value}",
                            if allow_zero { ">=" } else { ">" }
                        ),
                    });
                }
                Ok(Duration::from_secs_f64(value))
            };
        let drop_folder = |setting: &'static str,
                           flag: &Option<PathBuf>,
                           dir: Option<PathBuf>,
                           mode: Option<bool>|
         -> Result<Option<PathBuf>, ConfigError> {
            if let Some(flag) = flag {
                return Ok(Some(absolute(flag.clone())));
            }
            match (dir, mode) {
                (_, Some(false)) => Ok(None),
                (Some(dir), _) => Ok(Some(absolute(dir))),
                (None, Some(true)) => Err(ConfigError::Invalid {
                    setting,
                    message: "is true but no folder is configured".into(),
                }),
                (None, None) => Ok(None),
            }
        };
        let mut drop_folders = Vec::new();
        if let Some(path) = drop_folder(
            "manifest_workflow_mode",
            &args.manifest_dir,
            file.manifest_workflow_dir,
            file.manifest_workflow_mode,
        )? {
            drop_folders.push(DropFolderConfig {
                path,
                mode: DropMode::Manifest,
            });
        }
        if let Some(path) = drop_folder(
            "workflow_mode",
            &args.disk_dir,
            file.workflow_dir,
            file.workflow_mode,
        )? {
            drop_folders.push(DropFolderConfig {
                path,
                mode: DropMode::Disk,
            });
        }
        if let [a, b] = drop_folders.as_slice() {
            if a.path == b.path {
                return Err(ConfigError::Invalid {
                    setting: "workflow_dir",
                    message: format!(
                        "{} is also the manifest folder; each mode needs its own folder",
                        a.path.display()
                    ),
                });
            }
        }
        let output_dir = absolute(
            args.output_dir
                .clone()
                .or(file.output_dir)
                .unwrap_or_else(|| data_dir.join("output")),
        );
        let history_retention = match args
            .history_retention_days
            .or(file.history_retention_days)
        {
            None => None,
            Some(days) if days.is_finite() && days > 0.0 && days <= 100.0 * 365.0 => {
                Some(Duration::from_secs_f64(days * 86_400.0))
            }
            Some(days) => {
                return Err(ConfigError::Invalid {
                    setting: "history_retention_days",
                    message: format!(
                        "must be a number of days > 0 (at most 36500), got {days}; leave it out to keep everything"
                    ),
                })
            }
        };
        // The operator's policy for programs (src/policy.rs).
        let source_roots: Vec<PathBuf> = if args.source_roots.is_empty() {
            file.source_roots.unwrap_or_default()
        } else {
            args.source_roots.clone()
        }
        .into_iter()
        .map(absolute)
        .collect();
        let fix_tools = file.fix_tools.unwrap_or_default();
        // The policy reaches programs as JSON (WORKFLOWD_POLICY), and JSON
        // strings are Unicode: a path that is not UTF-8 cannot be in it.
        let mut policy_paths = vec![("data_dir", &data_dir), ("output_dir", &output_dir)];
        policy_paths.extend(source_roots.iter().map(|root| ("source_roots", root)));
        policy_paths.extend(drop_folders.iter().map(|folder| {
            let setting = match folder.mode {
                DropMode::Manifest => "manifest_workflow_dir",
                DropMode::Disk => "workflow_dir",
            };
            (setting, &folder.path)
        }));
        for (setting, path) in policy_paths {
            if path.to_str().is_none() {
                return Err(ConfigError::Invalid {
                    setting,
                    message: format!(
                        "{} is not valid UTF-8; programs are told this path as JSON text, \
                         so it must be",
                        path.display()
                    ),
                });
            }
        }
        let policy = WorkflowPolicy {
            output_dir: output_dir.clone(),
            source_roots: source_roots.clone(),
            fix_tools: fix_tools.clone(),
        };
        if let Some(message) = policy.problem() {
            return Err(ConfigError::Invalid {
                setting: if message.starts_with("fix_tools") {
                    "fix_tools"
                } else {
                    "source_roots"
                },
                message,
            });
        }
        Ok(Config {
            source_roots,
            fix_tools,
            drop_folders,
            output_dir,
            history_retention,
            listen,
            unix_socket,
            unix_socket_group,
            program_env,
            data_dir,
            workflow_dirs,
            bundled_workflows,
            max_concurrent_jobs,
            max_queue: args.max_queue.or(file.max_queue).unwrap_or(1000),
            default_grace_period: seconds(
                "default_grace_period",
                args.default_grace_period.or(file.default_grace_period_secs),
                10.0,
                true,
            )?,
            shutdown_grace_period: seconds(
                "shutdown_grace_period",
                args.shutdown_grace_period
                    .or(file.shutdown_grace_period_secs),
                10.0,
                true,
            )?,
            discovery_timeout: seconds(
                "discovery_timeout",
                args.discovery_timeout.or(file.discovery_timeout_secs),
                5.0,
                false,
            )?,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => {
            crate::yaml::from_str(&text).map_err(|e| parse_error(e.to_string()))
        }
        _ => toml::from_str(&text).map_err(|e| parse_error(e.to_string())),
    }
}

/// The `listen` setting: an address, or `none` (only with a Unix socket).
fn parse_listen(text: &str, has_unix_socket: bool) -> Result<Option<SocketAddr>, ConfigError> {
    if text.trim().eq_ignore_ascii_case("none") {
        if !has_unix_socket {
            return Err(ConfigError::Invalid {
                setting: "listen",
                message: "is \"none\" but no unix_socket (--unix-socket) is set: the daemon would serve nothing".into(),
            });
        }
        return Ok(None);
    }
    text.parse().map(Some).map_err(|e| ConfigError::Invalid {
        setting: "listen",
        message: format!(
            "{text:?} is not an address like 127.0.0.1:50051 (or \"none\" for the Unix socket only): {e}"
        ),
    })
}

/// The gid of `unix_socket_group`: a number is taken as a gid (which must
/// exist too, so a typo does not hand the socket to a stranger's group), a
/// name is looked up in the system's group database.
fn resolve_group(group: &GroupSetting) -> Result<u32, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        setting: "unix_socket_group",
        message,
    };
    let (found, described) = match group {
        GroupSetting::Id(gid) => (uzers::get_group_by_gid(*gid), format!("gid {gid}")),
        GroupSetting::Name(text) => match text.trim().parse::<u32>() {
            Ok(gid) => return resolve_group(&GroupSetting::Id(gid)),
            Err(_) => (
                uzers::get_group_by_name(text.trim()),
                format!("group {text:?}"),
            ),
        },
    };
    // The system's group database (NSS: files, LDAP, ...); a failed
    // look-up reads as a missing group.
    match found {
        Some(group) => Ok(group.gid()),
        None => Err(invalid(format!("{described} does not exist"))),
    }
}

/// `$XDG_DATA_HOME/workflow-manager` (usually ~/.local/share/workflow-manager).
fn default_data_dir() -> PathBuf {
    dirs::data_local_dir()
        .map(|d| d.join("workflow-manager"))
        .unwrap_or_else(|| PathBuf::from(".workflow-manager-data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.yaml");
        std::fs::write(
            &file,
            "max_queue: 7\nmax_concurrent_jobs: 3\nlisten: 127.0.0.1:6000\nhistory_retention_days: 30\n",
        )
        .unwrap();
        let args = DaemonArgs {
            config: Some(file),
            max_concurrent_jobs: Some(5),
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.max_queue, 7);
        assert_eq!(config.max_concurrent_jobs, 5);
        assert_eq!(config.listen.map(|l| l.port()), Some(6000));
        assert_eq!(
            config.history_retention,
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            config.workflow_dirs[0],
            dir.path().join("bundled-workflows")
        );
    }

    #[test]
    fn errors_name_the_setting_or_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.toml");
        std::fs::write(&file, "max_qeue = 7\n").unwrap();
        let args = DaemonArgs {
            config: Some(file),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(message.contains("max_qeue"), "{message}");

        let args = DaemonArgs {
            listen: Some("nowhere".into()),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(message.starts_with("setting listen"), "{message}");

        let args = DaemonArgs {
            history_retention_days: Some(0.0),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with("setting history_retention_days"),
            "{message}"
        );
    }

    #[test]
    fn paths_that_are_not_utf8_are_refused_naming_the_setting() {
        use std::os::unix::ffi::OsStringExt;
        let dir = tempfile::tempdir().unwrap();
        let mut not_utf8 = dir.path().as_os_str().to_owned().into_vec();
        not_utf8.extend_from_slice(b"/caf\xe9");
        let not_utf8 = PathBuf::from(std::ffi::OsString::from_vec(not_utf8));
        let good = DaemonArgs {
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        Config::load(&good).unwrap().policy().to_env_value();
        let cases = [
            (
                "data_dir",
                DaemonArgs {
                    data_dir: Some(not_utf8.clone()),
                    ..Default::default()
                },
            ),
            (
                "output_dir",
                DaemonArgs {
                    output_dir: Some(not_utf8.clone()),
                    ..good.clone()
                },
            ),
            (
                "source_roots",
                DaemonArgs {
                    source_roots: vec!["/srv/in".into(), not_utf8.clone()],
                    ..good.clone()
                },
            ),
            (
                "manifest_workflow_dir",
                DaemonArgs {
                    manifest_dir: Some(not_utf8.clone()),
                    ..good.clone()
                },
            ),
            (
                "workflow_dir",
                DaemonArgs {
                    disk_dir: Some(not_utf8.clone()),
                    ..good.clone()
                },
            ),
        ];
        for (setting, args) in cases {
            let message = Config::load(&args).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("setting {setting}:"))
                    && message.contains("not valid UTF-8"),
                "{setting}: {message}"
            );
        }
    }

    #[test]
    fn the_policy_has_the_source_roots_the_drop_folders_and_the_manifests_dir() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.toml");
        std::fs::write(
            &file,
            "source_roots = [\"/srv/in\"]\nmanifest_workflow_dir = \"/srv/drop\"\n\
             [fix_tools.hyper2kvm]\nargv = [\"/usr/bin/hyper2kvm\", \"--fix\", \"{disk}\"]\n",
        )
        .unwrap();
        let args = DaemonArgs {
            config: Some(file.clone()),
            data_dir: Some(dir.path().to_path_buf()),
            output_dir: Some("/srv/out".into()),
            ..Default::default()
        };
        let policy = Config::load(&args).unwrap().policy();
        assert_eq!(
            policy.source_roots,
            [
                PathBuf::from("/srv/in"),
                "/srv/drop".into(),
                dir.path().join("manifests")
            ]
        );
        assert_eq!(policy.output_dir, PathBuf::from("/srv/out"));
        assert_eq!(
            policy.fix_tools["hyper2kvm"].argv,
            ["/usr/bin/hyper2kvm", "--fix", "{disk}"]
        );
        // A flag replaces the file's roots.
        let args = DaemonArgs {
            source_roots: vec!["/a".into(), "/b".into()],
            ..args
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.source_roots, [PathBuf::from("/a"), "/b".into()]);
    }

    #[test]
    fn the_upstream_daemon_keys_configure_the_drop_folders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hyper2kvm.yaml");
        std::fs::write(
            &file,
            "command: daemon\ndaemon: true\nworkflow_mode: true\nworkflow_dir: /srv/disks\n\
             manifest_workflow_mode: true\nmanifest_workflow_dir: /srv/manifests\n\
             output_dir: /srv/out\nmax_concurrent_jobs: 3\nverbose: true\n",
        )
        .unwrap();
        let args = DaemonArgs {
            config: Some(file.clone()),
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(
            config.drop_folders,
            [
                DropFolderConfig {
                    path: "/srv/manifests".into(),
                    mode: DropMode::Manifest
                },
                DropFolderConfig {
                    path: "/srv/disks".into(),
                    mode: DropMode::Disk
                },
            ]
        );
        assert_eq!(config.output_dir, PathBuf::from("/srv/out"));
        assert_eq!(config.max_concurrent_jobs, 3);

        // A mode switched off wins over its folder; a flag wins over both.
        std::fs::write(&file, "workflow_mode: false\nworkflow_dir: /srv/disks\n").unwrap();
        let args = DaemonArgs {
            config: Some(file.clone()),
            manifest_dir: Some("/m".into()),
            ..Default::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.drop_folders.len(), 1);
        assert_eq!(config.drop_folders[0].mode, DropMode::Manifest);

        std::fs::write(&file, "manifest_workflow_mode: true\n").unwrap();
        let args = DaemonArgs {
            config: Some(file),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with("setting manifest_workflow_mode"),
            "{message}"
        );
    }

    #[test]
    fn listen_none_needs_a_unix_socket_and_the_socket_group_must_exist() {
        let args = DaemonArgs {
            listen: Some("none".into()),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with("setting listen") && message.contains("unix_socket"),
            "{message}"
        );
        let args = DaemonArgs {
            listen: Some("none".into()),
            unix_socket: Some("/run/w.sock".into()),
            unix_socket_group: Some("root".into()),
            ..Default::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.listen, None);
        assert_eq!(config.unix_socket_group, Some(0));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.toml");
        std::fs::write(
            &file,
            "listen = \"none\"\nunix_socket = \"/run/w.sock\"\nunix_socket_group = 0\n",
        )
        .unwrap();
        let args = DaemonArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        assert_eq!(Config::load(&args).unwrap().unix_socket_group, Some(0));

        for group in ["no-such-group-here", "4000000000"] {
            let args = DaemonArgs {
                unix_socket: Some("/run/w.sock".into()),
                unix_socket_group: Some(group.into()),
                ..Default::default()
            };
            let message = Config::load(&args).unwrap_err().to_string();
            assert!(
                message.starts_with("setting unix_socket_group")
                    && message.contains("does not exist"),
                "{message}"
            );
        }
    }

    #[test]
    fn program_env_names_come_from_the_file_or_the_flags_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.yaml");
        std::fs::write(&file, "program_env: [HTTP_PROXY, LIBGUESTFS_*]\n").unwrap();
        let args = DaemonArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let names: Vec<String> = Config::load(&args)
            .unwrap()
            .program_env
            .iter()
            .map(|n| n.as_str().to_string())
            .collect();
        assert_eq!(names, ["HTTP_PROXY", "LIBGUESTFS_*"]);
        let args = DaemonArgs {
            config: Some(file),
            program_env: vec!["NO PROXY".into()],
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(message.starts_with("setting program_env"), "{message}");
    }
}
