//! [`Config::load`]: the file, then the environment and flags (clap has
//! merged those two already), over the embedded defaults; each setting
//! validated with a message that names it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{read_file, FileConfig, GroupSetting};
use super::{Config, ConfigError, DaemonArgs};
use crate::auth::AuthMode;
use crate::policy::WorkflowPolicy;
use crate::program_env::ProgramEnvName;
use crate::retry_policy::RetryPolicy;
use crate::watcher::{DropFolderConfig, DropMode};

/// The longest history retention accepted, in days.
const MAX_RETENTION_DAYS: f64 = 100.0 * 365.0;
/// The longest grace period or timeout accepted, in seconds: the range of
/// a protobuf Duration, as the API accepts for a grace period.
const MAX_SECONDS: f64 = 315_576_000_000.0;

impl Config {
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
            .or(file.listen.clone())
            .unwrap_or_else(|| "127.0.0.1:50051".to_string());
        let unix_socket = args
            .unix_socket
            .clone()
            .or(file.unix_socket.clone())
            .map(absolute);
        let listen = parse_listen(&listen_text, unix_socket.is_some())?;
        let auth_text = args.auth.clone().or(file.auth.clone());
        let auth = match auth_text.as_deref() {
            None => AuthMode::None,
            Some(text) => AuthMode::parse(text).ok_or_else(|| ConfigError::Invalid {
                setting: "auth",
                message: format!("{text:?} is not \"none\" or \"tokens\""),
            })?,
        };
        let insecure_listen = args.insecure_listen || file.insecure_listen.unwrap_or(false);
        let file_tls = super::tls::FileTls {
            cert: file.tls_cert.clone(),
            key: file.tls_key.clone(),
            client_ca: file.tls_client_ca.clone(),
            clients: file.tls_clients.clone(),
        };
        let tls = super::tls::tls_settings(args, file_tls, listen.is_some(), &absolute)?;
        let client_certificates = tls
            .as_ref()
            .is_some_and(super::TlsSettings::requires_client_certificates);
        refuse_open_listen(listen, auth, client_certificates, insecure_listen)?;
        let open_metrics = args.open_metrics || file.open_metrics.unwrap_or(false);
        let audit_log_file = args
            .audit_log_file
            .clone()
            .or(file.audit_log_file.clone())
            .map(absolute);
        let unix_socket_group = match args
            .unix_socket_group
            .clone()
            .map(GroupSetting::Name)
            .or(file.unix_socket_group.clone())
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
        let program_env = program_env(args, &file)?;
        let data_dir = absolute(
            args.data_dir
                .clone()
                .or(file.data_dir.clone())
                .unwrap_or_else(default_data_dir),
        );
        let database = postgres_url(args.database.clone().or(file.database.clone()))?;
        let standby = args.standby || file.standby.unwrap_or(false);
        if standby && database.is_none() {
            return Err(ConfigError::Invalid {
                setting: "standby",
                message: "needs a PostgreSQL history (database = \"postgres://...\")".into(),
            });
        }
        let bundled_workflows =
            !args.no_bundled_workflows && file.bundled_workflows.unwrap_or(true);
        let configured_dirs = if args.workflow_dirs.is_empty() {
            file.workflow_dirs.clone()
        } else {
            Some(args.workflow_dirs.clone())
        };
        let mut workflow_dirs = match configured_dirs {
            Some(dirs) => dirs.into_iter().map(absolute).collect(),
            None => default_workflow_dirs(&data_dir, bundled_workflows),
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
        let drop_folders = drop_folders(args, &file, &absolute)?;
        let output_dir = absolute(
            args.output_dir
                .clone()
                .or(file.output_dir.clone())
                .unwrap_or_else(|| data_dir.join("output")),
        );
        let history_retention =
            retention(args.history_retention_days.or(file.history_retention_days))?;
        // The operator's policy for programs (src/policy.rs).
        let source_roots: Vec<PathBuf> = if args.source_roots.is_empty() {
            file.source_roots.clone().unwrap_or_default()
        } else {
            args.source_roots.clone()
        }
        .into_iter()
        .map(absolute)
        .collect();
        let fix_tools = file.fix_tools.clone().unwrap_or_default();
        check_policy_paths(&data_dir, &output_dir, &source_roots, &drop_folders)?;
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
        let http_cors_origins = cors_origins(if args.http_cors_origins.is_empty() {
            file.http_cors_origins.clone().unwrap_or_default()
        } else {
            args.http_cors_origins.clone()
        })?;
        let http_max_body_bytes = args
            .http_max_body_bytes
            .or(file.http_max_body_bytes)
            .unwrap_or(crate::http::DEFAULT_MAX_BODY_BYTES);
        if http_max_body_bytes == 0 {
            return Err(ConfigError::Invalid {
                setting: "http_max_body_bytes",
                message: "must be at least 1".into(),
            });
        }
        let retry_policies = retry_policies(file.retry_policies.clone().unwrap_or_default())?;
        let webhook_give_up_after = match file.webhook_give_up_after_hours {
            None => DEFAULT_WEBHOOK_GIVE_UP_AFTER,
            Some(hours) if hours.is_finite() && hours > 0.0 && hours <= 24.0 * 365.0 => {
                Duration::from_secs_f64(hours * 3600.0)
            }
            Some(hours) => {
                return Err(ConfigError::Invalid {
                    setting: "webhook_give_up_after_hours",
                    message: format!("must be more than 0 and at most 8760 (a year), not {hours}"),
                })
            }
        };
        let webhook_allowed_networks =
            super::webhooks::allowed_networks(file.webhook_allowed_networks.clone())?;
        let program_limits =
            super::limits::limit_settings(file.program_limits.clone().unwrap_or_default())?;
        let start_rate =
            super::start_rate::start_rate(file.start_rate_per_second, file.start_rate_burst)?;
        let namespaces = super::namespaces::namespaces(
            file.namespaces.clone().unwrap_or_default(),
            &absolute,
            &drop_folders,
            &program_limits.maximum,
        )?;
        super::namespaces::add_workflow_dirs(&mut workflow_dirs, &namespaces);
        if let Some(tls) = &tls {
            tls.check_namespaces(&namespaces)?;
        }
        let oidc = match file.oidc.clone() {
            Some(setting) => Some(super::oidc::oidc_settings(setting, auth, &absolute)?),
            None => None,
        };
        Ok(Config {
            oidc,
            namespaces,
            program_limits,
            kill_programs_with_daemon: file.kill_programs_with_daemon.unwrap_or(true),
            cgroups: file.cgroups.unwrap_or(true),
            start_rate,
            auth,
            tls,
            open_metrics,
            audit_log_file,
            retry_policies,
            webhook_give_up_after,
            webhook_allowed_networks,
            http_cors_origins,
            http_max_body_bytes,
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
            database,
            standby,
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

/// Refuses to serve beyond this host with authentication off, unless the
/// operator said `insecure_listen`: anyone who reaches such a port could
/// run programs as the daemon's user. Required client certificates
/// (`tls_client_ca`) authenticate every TCP caller, so they count as
/// authentication on.
fn refuse_open_listen(
    listen: Option<SocketAddr>,
    auth: AuthMode,
    client_certificates: bool,
    insecure_listen: bool,
) -> Result<(), ConfigError> {
    let authenticated = auth != AuthMode::None || client_certificates;
    match listen {
        Some(address) if beyond_loopback(address) && !authenticated && !insecure_listen => {
            Err(ConfigError::Invalid {
                setting: "listen",
                message: format!(
                    "{address} is reachable from other hosts and authentication is off: set \
                     auth = \"tokens\" (--auth tokens) or require client certificates with \
                     tls_client_ca (--tls-client-ca; see docs/security.md), or pass \
                     --insecure-listen (insecure_listen = true) to accept that anyone who reaches \
                     the port can run programs"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Whether other hosts may reach `address` (an IPv4 loopback address
/// written as IPv6, `::ffff:127.0.0.1`, is loopback).
pub(super) fn beyond_loopback(address: SocketAddr) -> bool {
    !address.ip().to_canonical().is_loopback()
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

/// The names passed on to programs: the flags' list, else the file's, each
/// checked.
fn program_env(args: &DaemonArgs, file: &FileConfig) -> Result<Vec<ProgramEnvName>, ConfigError> {
    let names = if args.program_env.is_empty() {
        file.program_env.clone().unwrap_or_default()
    } else {
        args.program_env.clone()
    };
    names
        .iter()
        .map(|name| {
            ProgramEnvName::parse(name).map_err(|message| ConfigError::Invalid {
                setting: "program_env",
                message,
            })
        })
        .collect()
}

/// The bundled workflows (when on), then `~/.workflow-manager/workflows`.
fn default_workflow_dirs(data_dir: &Path, bundled_workflows: bool) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if bundled_workflows {
        dirs.push(data_dir.join("bundled-workflows"));
    }
    if let Some(home) = dirs::home_dir() {
        dirs.push(home.join(".workflow-manager").join("workflows"));
    }
    dirs
}

/// A number of seconds: finite, not negative, and not zero unless allowed.
fn seconds(
    setting: &'static str,
    value: Option<f64>,
    default: f64,
    allow_zero: bool,
) -> Result<Duration, ConfigError> {
    let value = value.unwrap_or(default);
    // Bounded before the conversion, which panics past u64 seconds, and as
    // the API bounds a grace period, so a deadline this far ahead still
    // fits an Instant; zero is checked after it, as a tiny value rounds to 0.
    let duration = (0.0..=MAX_SECONDS)
        .contains(&value)
        .then(|| Duration::from_secs_f64(value));
    match duration {
        Some(duration) if allow_zero || !duration.is_zero() => Ok(duration),
        _ => Err(ConfigError::Invalid {
            setting,
            message: format!(
                "must be a number of seconds {} 0 and at most {MAX_SECONDS} (10000 years), got {value}",
                if allow_zero { ">=" } else { ">" }
            ),
        }),
    }
}

/// The manifest and disk drop folders: a flag turns one on; in the file,
/// its `*_mode` key turns it on or off (on by default when its folder is
/// set). The two must be different folders.
fn drop_folders(
    args: &DaemonArgs,
    file: &FileConfig,
    absolute: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<Vec<DropFolderConfig>, ConfigError> {
    let folder = |setting: &'static str,
                  flag: &Option<PathBuf>,
                  dir: &Option<PathBuf>,
                  mode: Option<bool>|
     -> Result<Option<PathBuf>, ConfigError> {
        if let Some(flag) = flag {
            return Ok(Some(absolute(flag.clone())));
        }
        match (dir, mode) {
            (_, Some(false)) => Ok(None),
            (Some(dir), _) => Ok(Some(absolute(dir.clone()))),
            (None, Some(true)) => Err(ConfigError::Invalid {
                setting,
                message: "is true but no folder is configured".into(),
            }),
            (None, None) => Ok(None),
        }
    };
    let mut drop_folders = Vec::new();
    if let Some(path) = folder(
        "manifest_workflow_mode",
        &args.manifest_dir,
        &file.manifest_workflow_dir,
        file.manifest_workflow_mode,
    )? {
        drop_folders.push(DropFolderConfig {
            path,
            mode: DropMode::Manifest,
        });
    }
    if let Some(path) = folder(
        "workflow_mode",
        &args.disk_dir,
        &file.workflow_dir,
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
    Ok(drop_folders)
}

/// Each origin as a browser sends it in `Origin`: `http` or `https`, a
/// host, an optional port, nothing else (no path, no wildcard: an open
/// CORS policy is never what a daemon that runs programs wants).
fn cors_origins(origins: Vec<String>) -> Result<Vec<String>, ConfigError> {
    // Browsers send scheme and host in lower case.
    let origins: Vec<String> = origins.iter().map(|o| o.to_ascii_lowercase()).collect();
    for origin in &origins {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let well_formed = rest.is_some_and(|host| {
            !host.is_empty()
                && !host.ends_with(':')
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
        if !well_formed {
            return Err(ConfigError::Invalid {
                setting: "http_cors_origins",
                message: format!(
                    "{origin:?} is not an origin: write scheme://host[:port], e.g. https://dash.example.com:8443"
                ),
            });
        }
    }
    Ok(origins)
}

/// `database`: a PostgreSQL URL, checked for its form here; whether the
/// server answers is known when the daemon connects.
fn postgres_url(setting: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = setting else {
        return Ok(None);
    };
    let invalid = |message: String| ConfigError::Invalid {
        setting: "database",
        message,
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(invalid(format!(
            "{url:?} is not a PostgreSQL URL (postgres://user@host:port/database); \
             leave it unset for the SQLite file in the data directory"
        )));
    }
    url.parse::<tokio_postgres::Config>()
        .map_err(|e| invalid(format!("cannot read the URL: {e}")))?;
    Ok(Some(url))
}

/// `history_retention_days` as a duration; None keeps everything.
fn retention(days: Option<f64>) -> Result<Option<Duration>, ConfigError> {
    match days {
        None => Ok(None),
        Some(days) if days.is_finite() && days > 0.0 && days <= MAX_RETENTION_DAYS => {
            Ok(Some(Duration::from_secs_f64(days * 86_400.0)))
        }
        Some(days) => Err(ConfigError::Invalid {
            setting: "history_retention_days",
            message: format!(
                "must be a number of days > 0 (at most 36500), got {days}; leave it out to keep everything"
            ),
        }),
    }
}

/// The policy reaches programs as JSON (`WORKFLOWD_POLICY`), and JSON
/// strings are Unicode: a path that is not UTF-8 cannot be in it.
fn check_policy_paths(
    data_dir: &Path,
    output_dir: &Path,
    source_roots: &[PathBuf],
    drop_folders: &[DropFolderConfig],
) -> Result<(), ConfigError> {
    let mut policy_paths = vec![("data_dir", data_dir), ("output_dir", output_dir)];
    policy_paths.extend(
        source_roots
            .iter()
            .map(|root| ("source_roots", root.as_path())),
    );
    policy_paths.extend(drop_folders.iter().map(|folder| {
        let setting = match folder.mode {
            DropMode::Manifest => "manifest_workflow_dir",
            DropMode::Disk => "workflow_dir",
        };
        (setting, folder.path.as_path())
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
    Ok(())
}

/// `$XDG_DATA_HOME/workflow-manager` (usually ~/.local/share/workflow-manager).
fn default_data_dir() -> PathBuf {
    dirs::data_local_dir()
        .map(|d| d.join("workflow-manager"))
        .unwrap_or_else(|| PathBuf::from(".workflow-manager-data"))
}

/// How long a webhook delivery is tried when the config does not say.
const DEFAULT_WEBHOOK_GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The config file's retry policies, each checked as Execute checks one.
fn retry_policies(
    settings: BTreeMap<String, super::file::RetryPolicySetting>,
) -> Result<BTreeMap<String, RetryPolicy>, ConfigError> {
    let ms = |secs: Option<f64>| secs.map(|s| (s.max(0.0) * 1000.0) as u64);
    settings
        .into_iter()
        .map(|(workflow, s)| {
            RetryPolicy::new(
                s.max_attempts,
                ms(s.initial_interval_secs),
                s.backoff_coefficient,
                ms(s.maximum_interval_secs),
                s.non_retryable_exit_codes,
            )
            .map(|policy| (workflow.clone(), policy))
            .map_err(|problems| ConfigError::Invalid {
                setting: "retry_policies",
                message: problems
                    .iter()
                    .map(|(field, why)| format!("retry_policies.{workflow}.{field}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            })
        })
        .collect()
}
