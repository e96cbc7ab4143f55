//! What the user types, made into request values: `key=value` pairs,
//! JSON/YAML data files, input maps, labels, seconds and state names. Every
//! mistake is a [`CliError::Usage`] naming the flag.

use std::{collections::HashMap, path::Path, time::Duration};

use super::CliError;
use crate::pb::ExecutionState;

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
