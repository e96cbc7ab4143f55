//! The config file's `program_limits`: resource limits of the programs by
//! default, per workflow, and the most a call may ask for
//! ([`crate::program_limits`]), in the units people write (MiB, seconds).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use crate::program_limits::{LimitSettings, ProgramLimits};

/// The longest CPU time limit accepted, in seconds (ten years).
const MAX_CPU_SECS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// `program_limits` as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsSetting {
    #[serde(default)]
    default: LimitSetting,
    #[serde(default)]
    maximum: LimitSetting,
    #[serde(default)]
    workflows: BTreeMap<String, LimitSetting>,
}

/// One set of limits as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitSetting {
    memory_mb: Option<u64>,
    cpu_secs: Option<f64>,
    max_processes: Option<u32>,
    max_output_mb: Option<u64>,
    max_open_files: Option<u64>,
}

/// The file's limits, checked: every value positive, and the default's
/// and each workflow's within the maximum.
pub(super) fn limit_settings(setting: LimitsSetting) -> Result<LimitSettings, ConfigError> {
    let maximum = limits("program_limits.maximum", &setting.maximum)?;
    let within = |key: String, limits: ProgramLimits| -> Result<ProgramLimits, ConfigError> {
        match limits
            .problems_within(&maximum, "program_limits.maximum")
            .first()
        {
            None => Ok(limits),
            Some(problem) => Err(invalid(format!(
                "{key}.{}: {}",
                problem.field.trim_start_matches("limits."),
                problem.message
            ))),
        }
    };
    let default = within(
        "program_limits.default".into(),
        limits("program_limits.default", &setting.default)?,
    )?;
    let workflows = setting
        .workflows
        .iter()
        .map(|(id, own)| {
            let key = format!("program_limits.workflows.{id}");
            let own = limits(&key, own)?;
            Ok((id.clone(), within(key, own)?))
        })
        .collect::<Result<_, ConfigError>>()?;
    Ok(LimitSettings {
        default,
        workflows,
        maximum,
    })
}

/// One set of limits from the file, each value checked; errors name
/// `key`'s fields.
pub(super) fn limits(key: &str, s: &LimitSetting) -> Result<ProgramLimits, ConfigError> {
    let positive = |name: &str, value: Option<u64>| match value {
        Some(0) => Err(invalid(format!(
            "{key}.{name}: must be positive (leave it out for no limit)"
        ))),
        _ => Ok(value),
    };
    let mebibytes = |name: &str, value: Option<u64>| {
        positive(name, value)?
            .map(|mb| {
                mb.checked_mul(1024 * 1024)
                    .ok_or_else(|| invalid(format!("{key}.{name}: {mb} MiB is too large")))
            })
            .transpose()
    };
    let cpu_time_ms = match s.cpu_secs {
        None => None,
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= MAX_CPU_SECS => {
            Some((secs * 1_000.0).ceil() as u64)
        }
        Some(secs) => {
            return Err(invalid(format!(
                "{key}.cpu_secs: must be more than 0 and at most {MAX_CPU_SECS} (ten years), not {secs}"
            )))
        }
    };
    Ok(ProgramLimits {
        memory_bytes: mebibytes("memory_mb", s.memory_mb)?,
        cpu_time_ms,
        max_processes: positive("max_processes", s.max_processes.map(u64::from))?.map(|n| n as u32),
        max_output_bytes: mebibytes("max_output_mb", s.max_output_mb)?,
        max_open_files: positive("max_open_files", s.max_open_files)?,
    })
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid {
        setting: "program_limits",
        message,
    }
}
