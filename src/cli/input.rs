//! What the user types, made into request values: `key=value` pairs,
//! JSON/YAML data files, input maps, labels, seconds, durations (`1h30m`),
//! RFC 3339 times, state names and retry policies. Every mistake is a
//! [`CliError::Usage`] naming the flag.

use std::{collections::HashMap, path::Path, time::Duration};

use super::{
    args::{LimitArgs, RetryArgs},
    CliError,
};
use crate::pb::{self, ExecutionState};

/// Splits `key=value`; `what` names the flag for the error message.
pub(crate) fn parse_pair(text: &str, what: &str) -> Result<(String, String), CliError> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(CliError::Usage(format!(
            "{what} {text:?} is not of the form key=value"
        ))),
    }
}

/// Reads a JSON or YAML file (by extension; YAML, a superset of JSON, for
/// any other name) into a JSON value.
pub(crate) fn read_data_file(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        crate::yaml::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| CliError::Usage(format!("cannot parse {}: {e}", path.display())))
}

/// Input values from an optional file (an object) and `name=value` flags,
/// the flags winning.
pub(crate) fn collect_inputs(
    file: Option<&Path>,
    pairs: &[String],
) -> Result<HashMap<String, prost_types::Value>, CliError> {
    let mut inputs = HashMap::new();
    if let Some(path) = file {
        match read_data_file(path)? {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    inputs.insert(k, crate::proto_value::from_json(&v));
                }
            }
            serde_json::Value::Null => {}
            _ => {
                return Err(CliError::Usage(format!(
                    "{} must hold an object of input values",
                    path.display()
                )))
            }
        }
    }
    for pair in pairs {
        let (name, value) = parse_pair(pair, "--input")?;
        inputs.insert(name, prost_types::Value::from(value));
    }
    Ok(inputs)
}

/// `key=value` flags as a map.
pub(crate) fn collect_labels(pairs: &[String]) -> Result<HashMap<String, String>, CliError> {
    pairs.iter().map(|p| parse_pair(p, "--label")).collect()
}

/// Seconds from a flag as a proto duration.
pub(crate) fn proto_duration(secs: f64, flag: &str) -> Result<prost_types::Duration, CliError> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(CliError::Usage(format!(
            "{flag} must be a non-negative number of seconds"
        )));
    }
    prost_types::Duration::try_from(Duration::from_secs_f64(secs))
        .map_err(|_| CliError::Usage(format!("{flag} is too large")))
}

/// A duration as Go's `time.ParseDuration` reads it (`30s`, `1h30m`,
/// `1.5h`, `250ms`; units ns, us, µs, ms, s, m, h), so hyperctl's flags
/// take the same text, or a bare number of seconds as `--timeout SECS`
/// takes it elsewhere.
pub(crate) fn parse_duration(text: &str, flag: &str) -> Result<prost_types::Duration, CliError> {
    let invalid = || {
        CliError::Usage(format!(
            "{flag} {text:?} is not a duration: a number of seconds, or e.g. 30s, 10m, 1h30m"
        ))
    };
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return proto_duration(secs, flag);
    }
    let mut secs = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        secs += number.parse::<f64>().map_err(|_| invalid())? * scale;
        rest = after;
    }
    if text.is_empty() {
        return Err(invalid());
    }
    proto_duration(secs, flag)
}

/// An RFC 3339 time (`2026-05-01T02:00:00Z`, `2026-05-01T04:00:00+02:00`).
pub(crate) fn parse_time(text: &str, flag: &str) -> Result<prost_types::Timestamp, CliError> {
    let time = chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        CliError::Usage(format!(
            "{flag} {text:?} is not an RFC 3339 time such as 2026-05-01T02:00:00Z: {e}"
        ))
    })?;
    Ok(prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    })
}

/// The retry policy the `--retry-*` flags give, None without
/// `--retry-max-attempts` (the others require it). The daemon checks the
/// values and names the field it refuses (`retry_policy.max_attempts`).
pub(crate) fn retry_policy(args: &RetryArgs) -> Result<Option<pb::RetryPolicy>, CliError> {
    let Some(max_attempts) = args.retry_max_attempts else {
        return Ok(None);
    };
    let duration = |text: &Option<String>, flag: &str| {
        text.as_deref().map(|t| parse_duration(t, flag)).transpose()
    };
    // 0 on the wire is "the default", which the user did not ask for.
    if args.retry_backoff == Some(0.0) {
        return Err(CliError::Usage(
            "--retry-backoff must be at least 1".to_string(),
        ));
    }
    Ok(Some(pb::RetryPolicy {
        max_attempts,
        initial_interval: duration(&args.retry_initial_interval, "--retry-initial-interval")?,
        backoff_coefficient: args.retry_backoff.unwrap_or_default(),
        maximum_interval: duration(&args.retry_max_interval, "--retry-max-interval")?,
        non_retryable_exit_codes: args.retry_non_retryable_exit_codes.clone(),
    }))
}

/// A state name as the user may type it: `running`, `RUNNING` or
/// `EXECUTION_STATE_RUNNING`.
pub(crate) fn parse_state(text: &str) -> Result<ExecutionState, CliError> {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    let full = if upper.starts_with("EXECUTION_STATE_") {
        upper
    } else {
        format!("EXECUTION_STATE_{upper}")
    };
    match ExecutionState::from_str_name(&full) {
        Some(state) if state != ExecutionState::Unspecified => Ok(state),
        _ => Err(CliError::Usage(format!(
            "unknown state {text:?}; one of queued, running, succeeded, failed, cancelled, timed_out, interrupted"
        ))),
    }
}

/// The limits `wfctl run`'s flags ask for: ExecuteRequest.limits, none
/// when no flag is given.
pub(crate) fn resource_limits(args: &LimitArgs) -> Result<Option<pb::ResourceLimits>, CliError> {
    let mib = |flag: &str, value: Option<u64>| {
        value
            .map(|mb| {
                mb.checked_mul(1024 * 1024)
                    .ok_or_else(|| CliError::Usage(format!("{flag} is too large")))
            })
            .transpose()
    };
    let limits = pb::ResourceLimits {
        memory_bytes: mib("--memory-mb", args.memory_mb)?,
        cpu_time: args
            .cpu_secs
            .map(|secs| proto_duration(secs, "--cpu-secs"))
            .transpose()?,
        max_processes: args.max_processes,
        max_output_bytes: mib("--max-output-mb", args.max_output_mb)?,
        max_open_files: args.max_open_files,
    };
    Ok((limits != pb::ResourceLimits::default()).then_some(limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_pair("a=b=c", "--input").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert!(parse_pair("novalue", "--input").is_err());
        assert!(parse_pair("=v", "--input").is_err());
    }

    #[test]
    fn durations_read_as_go_reads_them_or_as_seconds() {
        let secs = |text| {
            let d = parse_duration(text, "--jitter").unwrap();
            d.seconds as f64 + f64::from(d.nanos) / 1e9
        };
        assert_eq!(secs("30s"), 30.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("1.5h"), 5400.0);
        assert_eq!(secs("250ms"), 0.25);
        assert_eq!(secs("90"), 90.0);
        assert_eq!(secs("2.5"), 2.5);
        for bad in ["", "s", "1d", "1h30", "-5s", "abc"] {
            let error = parse_duration(bad, "--jitter").unwrap_err();
            assert!(error.to_string().contains("--jitter"), "{bad}: {error}");
        }
    }

    #[test]
    fn times_are_rfc_3339() {
        let t = parse_time("2026-05-01T04:00:00.5+02:00", "--start").unwrap();
        assert_eq!((t.seconds, t.nanos), (1_777_600_800, 500_000_000));
        assert!(parse_time("2026-05-01 02:00", "--start").is_err());
    }

    #[test]
    fn retry_flags_are_a_policy_only_with_max_attempts() {
        assert_eq!(retry_policy(&RetryArgs::default()).unwrap(), None);
        let policy = retry_policy(&RetryArgs {
            retry_max_attempts: Some(5),
            retry_initial_interval: Some("2s".into()),
            retry_backoff: Some(1.5),
            retry_max_interval: Some("1m".into()),
            retry_non_retryable_exit_codes: vec![2, 64],
        })
        .unwrap()
        .unwrap();
        assert_eq!(policy.max_attempts, 5);
        assert_eq!(policy.initial_interval.unwrap().seconds, 2);
        assert_eq!(policy.backoff_coefficient, 1.5);
        assert_eq!(policy.maximum_interval.unwrap().seconds, 60);
        assert_eq!(policy.non_retryable_exit_codes, [2, 64]);
        // Unset: left to the daemon's defaults.
        let bare = RetryArgs {
            retry_max_attempts: Some(3),
            ..Default::default()
        };
        let bare = retry_policy(&bare).unwrap().unwrap();
        assert_eq!(
            (bare.initial_interval, bare.backoff_coefficient),
            (None, 0.0)
        );
        let bad = RetryArgs {
            retry_max_attempts: Some(3),
            retry_max_interval: Some("1d".into()),
            ..Default::default()
        };
        let error = retry_policy(&bad).unwrap_err().to_string();
        assert!(error.contains("--retry-max-interval"), "{error}");
    }

    #[test]
    fn states_parse_in_any_case_and_form() {
        assert_eq!(parse_state("running").unwrap(), ExecutionState::Running);
        assert_eq!(parse_state("TIMED_OUT").unwrap(), ExecutionState::TimedOut);
        assert_eq!(parse_state("timed-out").unwrap(), ExecutionState::TimedOut);
        assert_eq!(
            parse_state("EXECUTION_STATE_FAILED").unwrap(),
            ExecutionState::Failed
        );
        assert!(parse_state("done").is_err());
        assert!(parse_state("unspecified").is_err());
    }
}
