//! Validation of execution inputs against a workflow's declared fields, and
//! the argv built from them. Every violation is reported at once, each
//! naming its field.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::workflow::{DiscoveredWorkflow, FieldSpec, FieldType};

/// One problem with one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the offending field in the request, e.g. `inputs.depth`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub description: String,
}

impl FieldViolation {
    fn input(name: &str, description: impl Into<String>) -> Self {
        FieldViolation {
            field: format!("inputs.{name}"),
            description: description.into(),
        }
    }
}

/// Inputs after validation: each value as the string passed on the command
/// line, and the full argv (program first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedInputs {
    /// Values by field name, defaults applied.
    pub values: BTreeMap<String, String>,
    /// The argv, program path first.
    pub argv: Vec<String>,
}

/// Validates `inputs` for `workflow` and builds the argv, or returns every
/// violation found.
pub(crate) fn resolve(
    workflow: &DiscoveredWorkflow,
    inputs: &BTreeMap<String, Value>,
) -> Result<ResolvedInputs, Vec<FieldViolation>> {
    let fields = &workflow.metadata.fields;
    let mut violations = Vec::new();

    for name in inputs.keys() {
        if !fields.iter().any(|f| &f.name == name) {
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            violations.push(FieldViolation::input(
                name,
                format!(
                    "unknown input; this workflow takes: {}",
                    if known.is_empty() {
                        "no inputs".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }

    let mut values = BTreeMap::new();
    for field in fields {
        let given = inputs.get(&field.name).filter(|v| !v.is_null());
        let result = match given {
            Some(value) => normalize(field, value),
            None => match &field.default {
                // Defaults are the program's own; they are still checked so a
                // broken default surfaces as a clear error, not a program crash.
                Some(default) => normalize(field, &Value::String(default.clone()))
                    .map_err(|e| format!("default {default:?} is invalid: {e}")),
                None => continue,
            },
        };
        // Whatever the field type made of the value, it must survive the
        // trip into argv, so a refusal comes now and not at spawn.
        let result = result.and_then(|text| passable_as_argument(&text).map(|()| text));
        match result {
            Ok(text) => {
                values.insert(field.name.clone(), text);
            }
            Err(description) => violations.push(FieldViolation::input(&field.name, description)),
        }
    }

    // Each value may fit and still the argv not: name the field whose value
    // crossed the budget, counting in argv order.
    let mut argv_bytes = argv_cost(&workflow.program_path.to_string_lossy());
    for field in fields {
        let Some(value) = values.get(&field.name) else {
            continue;
        };
        argv_bytes += argv_cost(&field.cli_arg) + argv_cost(value);
        if argv_bytes > MAX_ARGV_BYTES {
            violations.push(FieldViolation::input(
                &field.name,
                format!(
                    "brings the program's arguments to {argv_bytes} bytes, over the \
                     {MAX_ARGV_BYTES} bytes a program can be given; pass large values in a file"
                ),
            ));
            break;
        }
    }

    let selected_phases = selected_phases(fields, &values);
    for field in fields {
        // A value that was given (or defaulted) but invalid is reported once,
        // above, not again as missing.
        let supplied =
            inputs.get(&field.name).is_some_and(|v| !v.is_null()) || field.default.is_some();
        if supplied {
            continue;
        }
        let needed_by_phase = field.required_for_phases.as_ref().and_then(|needs| {
            let phases = selected_phases.as_ref()?;
            needs.iter().find(|p| phases.contains(p)).copied()
        });
        if field.required {
            violations.push(FieldViolation::input(&field.name, "is required"));
        } else if let Some(phase) = needed_by_phase {
            violations.push(FieldViolation::input(
                &field.name,
                format!("is required when phase {phase} is selected"),
            ));
        }
    }

    if !violations.is_empty() {
        return Err(violations);
    }
    let mut argv = vec![workflow.program_path.to_string_lossy().into_owned()];
    for field in fields {
        if let Some(value) = values.get(&field.name) {
            argv.push(field.cli_arg.clone());
            argv.push(value.clone());
        }
    }
    Ok(ResolvedInputs { values, argv })
}

/// The phases chosen by the workflow's phase selector field, if it has one.
fn selected_phases(fields: &[FieldSpec], values: &BTreeMap<String, String>) -> Option<Vec<i32>> {
    let field = fields
        .iter()
        .find(|f| matches!(f.field_type, FieldType::PhaseSelector { .. }))?;
    let text = values.get(&field.name)?;
    text.split(',').map(|p| p.parse().ok()).collect()
}

/// Checks one value against its field and renders it as the argv string.
fn normalize(field: &FieldSpec, value: &Value) -> Result<String, String> {
    match &field.field_type {
        FieldType::Text => scalar_text(value),
        FieldType::Number { min, max } => {
            let number = match value {
                Value::Number(n) => n.as_f64().ok_or("is not a finite number")?,
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("must be a number, got {s:?}"))?,
                other => return Err(format!("must be a number, got {}", kind(other))),
            };
            if !number.is_finite() {
                return Err("must be a finite number".into());
            }
            if let Some(min) = min {
                if number < *min as f64 {
                    return Err(format!("must be >= {min}, got {}", render_number(number)));
                }
            }
            if let Some(max) = max {
                if number > *max as f64 {
                    return Err(format!("must be <= {max}, got {}", render_number(number)));
                }
            }
            Ok(render_number(number))
        }
        FieldType::Select { options } => {
            let text = scalar_text(value)?;
            if options.iter().any(|o| o == &text) {
                Ok(text)
            } else {
                Err(format!(
                    "must be one of {}, got {text:?}",
                    options.join(", ")
                ))
            }
        }
        FieldType::FilePath { pattern } => existing_file(value, pattern.as_deref()),
        FieldType::StateFile { pattern, .. } => existing_file(value, Some(pattern)),
        FieldType::PhaseSelector { total_phases } => {
            let phases = phase_list(value)?;
            if phases.is_empty() {
                return Err("must select at least one phase".into());
            }
            let mut seen = Vec::new();
            for phase in phases {
                if phase < 0 || phase >= i64::from(*total_phases) {
                    return Err(format!(
                        "phase {phase} is out of range 0..{}",
                        total_phases - 1
                    ));
                }
                if seen.contains(&phase) {
                    return Err(format!("phase {phase} is selected twice"));
                }
                seen.push(phase);
            }
            Ok(seen
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","))
        }
    }
}

/// Phase selectors come as a JSON list `[0,1,2]`, a string `"0,1,2"` or a
/// single number.
fn phase_list(value: &Value) -> Result<Vec<i64>, String> {
    let as_int = |v: &Value| -> Result<i64, String> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| format!("phase {n} is not an integer")),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("phase {s:?} is not an integer")),
            other => Err(format!("phase must be an integer, got {}", kind(other))),
        }
    };
    match value {
        Value::Array(items) => items.iter().map(as_int).collect(),
        Value::String(s) => s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| as_int(&Value::String(p.to_string())))
            .collect(),
        Value::Number(_) => Ok(vec![as_int(value)?]),
        other => Err(format!(
            "must be a list of phase numbers or a string like \"0,1,2\", got {}",
            kind(other)
        )),
    }
}

fn existing_file(value: &Value, pattern: Option<&str>) -> Result<String, String> {
    let text = scalar_text(value)?;
    if text.is_empty() {
        return Err("must be a file path, got an empty string".into());
    }
    let path = Path::new(&text);
    if !path.is_absolute() {
        return Err(format!(
            "must be an absolute path (the daemon does not share your working directory), got {text:?}"
        ));
    }
    if let Some(pattern) = pattern {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let glob = glob::Pattern::new(pattern)
            .map_err(|e| format!("the workflow's pattern {pattern:?} is invalid: {e}"))?;
        if !glob.matches(&file_name) {
            return Err(format!(
                "file name {file_name:?} does not match {pattern:?}"
            ));
        }
    }
    if !path.is_file() {
        return Err(format!("file {text:?} does not exist"));
    }
    Ok(text)
}

fn scalar_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => {
            passable_as_argument(s)?;
            Ok(s.clone())
        }
        Value::Number(n) => Ok(match n.as_f64() {
            Some(f) => render_number(f),
            None => n.to_string(),
        }),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("must be a single value, got {}", kind(other))),
    }
}

/// The longest single argument a program can be given: Linux refuses
/// (E2BIG) any argv or environment string longer than MAX_ARG_STRLEN, 32
/// pages = 131072 bytes, counting its terminating NUL.
pub(crate) const MAX_ARGUMENT_BYTES: usize = 131_071;

/// What the whole argv may take, counted as the kernel counts it (each
/// string with its NUL, plus its pointer). execve(2) fails with E2BIG when
/// argv and environment together pass a quarter of the stack limit: 2 MiB
/// under the usual 8 MiB `ulimit -s`. Half of that leaves the other half
/// to the environment (the allow-listed variables, `program_env`,
/// `WORKFLOWD_POLICY`): an argv accepted here fits under ordinary limits.
pub(crate) const MAX_ARGV_BYTES: usize = 1024 * 1024;

/// Fails for text that cannot be a program argument: argv entries are C
/// strings, ended by the first NUL byte, and at most
/// [`MAX_ARGUMENT_BYTES`] long.
fn passable_as_argument(text: &str) -> Result<(), String> {
    if let Some(at) = text.find('\0') {
        return Err(format!(
            "contains a NUL byte (at byte {at}), which cannot be passed to a program as an argument"
        ));
    }
    if text.len() > MAX_ARGUMENT_BYTES {
        return Err(format!(
            "is {} bytes long; a program argument can be at most {MAX_ARGUMENT_BYTES} bytes \
             (Linux's MAX_ARG_STRLEN); pass a file instead",
            text.len()
        ));
    }
    Ok(())
}

/// What one argv entry costs against [`MAX_ARGV_BYTES`].
fn argv_cost(argument: &str) -> usize {
    argument.len() + 1 + std::mem::size_of::<usize>()
}

/// Whole numbers print without a fraction ("3", not "3.0") because that is
/// what programs parsing integers expect.
fn render_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::WorkflowMetadata;
    use serde_json::json;

    fn workflow() -> DiscoveredWorkflow {
        let metadata: WorkflowMetadata = serde_json::from_value(json!({
            "id": "w", "name": "W",
            "fields": [
                {"name":"topic","cli_arg":"--topic","required":true,"field_type":{"type":"text"}},
                {"name":"depth","cli_arg":"--depth","default":"2","field_type":{"type":"number","min":1,"max":5}},
                {"name":"fmt","cli_arg":"--fmt","default":"md","field_type":{"type":"select","options":["md","json"]}},
                {"name":"phases","cli_arg":"--phases","default":"0,1,2","field_type":{"type":"phase_selector","total_phases":3}},
                {"name":"resume","cli_arg":"--resume","required_for_phases":[2],
                 "field_type":{"type":"state_file","pattern":"*.json"}}
            ]
        }))
        .unwrap();
        DiscoveredWorkflow {
            input_json_schema: String::new(),
            metadata,
            program_path: "/bin/w".into(),
            discovered_at_ms: 0,
        }
    }

    fn inputs(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_apply_and_argv_follows_field_order() {
        let resolved = resolve(
            &workflow(),
            &inputs(json!({"topic": "rust", "phases": [0, 1]})),
        )
        .unwrap();
        assert_eq!(
            resolved.argv,
            ["/bin/w", "--topic", "rust", "--depth", "2", "--fmt", "md", "--phases", "0,1"]
        );
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let violations = resolve(
            &workflow(),
            &inputs(json!({"depth": 9, "fmt": "pdf", "phases": "0,7", "extra": 1})),
        )
        .unwrap_err();
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "inputs.extra",
                "inputs.depth",
                "inputs.fmt",
                "inputs.phases",
                "inputs.topic"
            ]
        );
    }

    #[test]
    fn values_that_cannot_be_arguments_are_refused() {
        let violations = resolve(
            &workflow(),
            &inputs(json!({"topic": "a\u{0}b", "fmt": "md\u{0}", "phases": ["0\u{0}"], "resume": "/tmp/x\u{0}.json"})),
        )
        .unwrap_err();
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "inputs.topic",
                "inputs.fmt",
                "inputs.phases",
                "inputs.resume"
            ]
        );
        for violation in &violations[..2] {
            assert!(violation.description.contains("NUL"), "{violation:?}");
        }
        assert!(
            violations[3].description.contains("NUL"),
            "{:?}",
            violations[3]
        );
    }

    #[test]
    fn an_argument_longer_than_the_kernel_passes_is_refused() {
        let topic = |len: usize| inputs(json!({"topic": "a".repeat(len), "phases": "0"}));
        let resolved = resolve(&workflow(), &topic(MAX_ARGUMENT_BYTES)).unwrap();
        assert_eq!(resolved.values["topic"].len(), 131_071);

        let violations = resolve(&workflow(), &topic(131_072)).unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].field, "inputs.topic");
        assert!(
            violations[0].description.contains("131072 bytes long"),
            "{violations:?}"
        );
    }

    #[test]
    fn an_argv_over_the_budget_names_the_field_that_crossed_it() {
        // Text fields of the longest argument each: seven fit in
        // MAX_ARGV_BYTES, the eighth does not.
        let fields: Vec<Value> = (0..8)
            .map(|i| {
                json!({"name": format!("t{i}"), "cli_arg": format!("--t{i}"),
                            "field_type": {"type": "text"}})
            })
            .collect();
        let metadata: WorkflowMetadata =
            serde_json::from_value(json!({"id": "big", "name": "Big", "fields": fields})).unwrap();
        let workflow = DiscoveredWorkflow {
            input_json_schema: String::new(),
            metadata,
            program_path: "/bin/big".into(),
            discovered_at_ms: 0,
        };
        let long = "a".repeat(MAX_ARGUMENT_BYTES);
        let all: BTreeMap<String, Value> = (0..8)
            .map(|i| (format!("t{i}"), Value::String(long.clone())))
            .collect();
        let violations = resolve(&workflow, &all).unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].field, "inputs.t7");
        assert!(
            violations[0].description.contains("1048576 bytes"),
            "{violations:?}"
        );

        let mut seven = all;
        seven.remove("t7");
        let resolved = resolve(&workflow, &seven).unwrap();
        let total: usize = resolved.argv.iter().map(|a| argv_cost(a)).sum();
        assert!(total <= MAX_ARGV_BYTES, "{total}");
    }

    #[test]
    fn required_for_phases_applies_only_when_selected() {
        let violations = resolve(&workflow(), &inputs(json!({"topic": "t"}))).unwrap_err();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "inputs.resume");
        assert!(violations[0].description.contains("phase 2"));
        assert!(resolve(&workflow(), &inputs(json!({"topic": "t", "phases": "0,1"}))).is_ok());
        // An invalid value is one violation, not also "missing".
        let violations =
            resolve(&workflow(), &inputs(json!({"topic": "t", "resume": 5}))).unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].field, "inputs.resume");
    }
}
