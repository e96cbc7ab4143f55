//! A small table-driven validator for JSON-like documents.
//!
//! A document's shape is declared as static tables of [`Rule`]s (key, type,
//! required or not, default). [`check`] walks a `serde_json::Value` against
//! such a table, collects *every* problem with its path
//! (`vms[2].pipeline.convert.output_format`) and returns the document
//! normalized: only known keys, defaults filled in (absent mappings with
//! defaults are created so their own defaults apply).
//!
//! `null` counts as absent, so a YAML key left empty (`inspect:`) gets its
//! defaults instead of a type error.
//!
//! The same tables give the published JSON Schema
//! ([`json_schema`](super::json_schema)), so a key, type or default is
//! declared once.

use std::collections::HashMap;
use std::sync::LazyLock;

use parking_lot::Mutex;
use regex::Regex;
use serde_json::{Map, Value};

use super::Problem;

/// The type of a value.
#[derive(Debug)]
pub(crate) enum Ty {
    /// A non-empty string.
    Str,
    /// true or false.
    Bool,
    /// This one boolean: a key that names the format it is in (`batch`),
    /// whose other value belongs to another format.
    Exactly {
        /// The value allowed.
        value: bool,
        /// What the key must be, for messages (`true (or left out) in ...`).
        meaning: &'static str,
    },
    /// A whole number from `min` to `max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value (`i64::MAX`: no limit).
        max: i64,
    },
    /// A number greater than 0.
    Positive,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// A string matching a regular expression (anchored by the caller's
    /// pattern), described in words for messages.
    Pattern {
        /// The regular expression.
        regex: &'static str,
        /// What it means, e.g. `letters, digits, _ and -`.
        meaning: &'static str,
    },
    /// A string or a number (versions written as `1.0` in YAML).
    Version,
    /// A mapping with these keys; other keys are problems.
    Object(&'static [Rule]),
    /// A mapping with any keys (free-form metadata).
    AnyObject,
    /// A list of items of one type, with at least `min` items.
    List {
        /// The type of each item.
        item: &'static Ty,
        /// Fewest items.
        min: usize,
    },
}

impl Ty {
    /// A whole number at least `min`, with no upper limit.
    pub(crate) const fn at_least(min: i64) -> Ty {
        Ty::Int { min, max: i64::MAX }
    }
}

/// What happens when a key is absent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Absent {
    /// Left out of the normalized document.
    Skip,
    /// A problem: the key is required.
    Required,
    /// This boolean.
    Bool(bool),
    /// This string.
    Str(&'static str),
    /// This whole number.
    Int(i64),
    /// An empty mapping, so the nested table's defaults apply.
    Defaults,
}

/// One key of a mapping.
#[derive(Debug)]
pub(crate) struct Rule {
    /// The key.
    pub(crate) key: &'static str,
    /// Its type.
    pub(crate) ty: Ty,
    /// What happens when it is absent.
    pub(crate) absent: Absent,
    /// What the key means, for editors (the JSON Schema's description);
    /// empty when the key's name says it.
    // Read by the JSON Schema generator (json_schema.rs), which runs as a
    // test that writes docs/manifest.schema.json.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) doc: &'static str,
}

impl Rule {
    /// The rule with a description for editors.
    pub(crate) const fn doc(self, doc: &'static str) -> Rule {
        Rule { doc, ..self }
    }
}

/// Shorthand for a [`Rule`] in the static tables.
pub(crate) const fn rule(key: &'static str, ty: Ty, absent: Absent) -> Rule {
    Rule {
        key,
        ty,
        absent,
        doc: "",
    }
}

/// A boolean key with its default.
pub(crate) const fn flag(key: &'static str, default: bool) -> Rule {
    rule(key, Ty::Bool, Absent::Bool(default))
}

/// A key taking one of `allowed`, `default` when absent.
pub(crate) const fn one_of(
    key: &'static str,
    allowed: &'static [&'static str],
    default: &'static str,
) -> Rule {
    rule(key, Ty::Enum(allowed), Absent::Str(default))
}

/// The path of a key below `parent`.
pub(crate) fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of a list item below `parent`.
pub(crate) fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Walks `value` against `ty`, pushing every problem, and returns the value
/// normalized (Null where it is unusable).
pub(crate) fn check(value: &Value, ty: &Ty, path: &str, problems: &mut Vec<Problem>) -> Value {
    let mut wrong = |expected: &str| {
        problems.push(Problem::new(
            path,
            format!("expected {expected}, got {}", describe(value)),
        ));
        Value::Null
    };
    match ty {
        Ty::Str => match value {
            Value::String(s) if s.trim().is_empty() => {
                problems.push(Problem::new(path, "must not be empty"));
                Value::Null
            }
            Value::String(_) => value.clone(),
            _ => wrong("a string"),
        },
        Ty::Bool => match value {
            Value::Bool(_) => value.clone(),
            _ => wrong("a boolean (true or false)"),
        },
        Ty::Exactly {
            value: allowed,
            meaning,
        } => match value {
            Value::Bool(b) if b == allowed => value.clone(),
            _ => {
                problems.push(Problem::new(path, format!("must be {meaning}")));
                Value::Null
            }
        },
        Ty::Int { min, max } => match value.as_i64() {
            Some(n) if (*min..=*max).contains(&n) => value.clone(),
            Some(n) => {
                let allowed = if *max == i64::MAX {
                    format!("at least {min}")
                } else {
                    format!("from {min} to {max}")
                };
                problems.push(Problem::new(path, format!("must be {allowed}, got {n}")));
                Value::Null
            }
            None => wrong("a whole number"),
        },
        Ty::Positive => match value.as_f64() {
            Some(n) if n > 0.0 => value.clone(),
            Some(n) => {
                problems.push(Problem::new(
                    path,
                    format!("must be greater than 0, got {n}"),
                ));
                Value::Null
            }
            None => wrong("a number"),
        },
        Ty::Enum(allowed) => match value {
            Value::String(s) if allowed.contains(&s.as_str()) => value.clone(),
            Value::String(s) => {
                problems.push(Problem::new(
                    path,
                    format!("must be one of {}; got {s:?}", allowed.join(", ")),
                ));
                Value::Null
            }
            _ => wrong(&format!("one of {}", allowed.join(", "))),
        },
        Ty::Pattern { regex, meaning } => match value {
            Value::String(s) => {
                if compiled(regex).is_match(s) {
                    value.clone()
                } else {
                    problems.push(Problem::new(path, format!("must be {meaning}; got {s:?}")));
                    Value::Null
                }
            }
            _ => wrong(&format!("a string of {meaning}")),
        },
        Ty::Version => match value {
            Value::String(_) | Value::Number(_) => value.clone(),
            _ => wrong("a version string such as \"1.0\""),
        },
        Ty::AnyObject => match value {
            Value::Object(_) => value.clone(),
            _ => wrong("a mapping"),
        },
        Ty::Object(rules) => match value {
            Value::Object(map) => check_object(map, rules, path, problems),
            _ => wrong("a mapping"),
        },
        Ty::List { item: item_ty, min } => match value {
            Value::Array(items) => {
                if items.len() < *min {
                    problems.push(Problem::new(
                        path,
                        format!(
                            "needs at least {min} item{}",
                            if *min == 1 { "" } else { "s" }
                        ),
                    ));
                }
                Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| check(v, item_ty, &item(path, i), problems))
                        .collect(),
                )
            }
            _ => wrong("a list"),
        },
    }
}

/// A table's pattern, compiled at its first use.
fn compiled(pattern: &'static str) -> Regex {
    static COMPILED: LazyLock<Mutex<HashMap<&'static str, Regex>>> =
        LazyLock::new(Default::default);
    COMPILED
        .lock()
        .entry(pattern)
        .or_insert_with(|| Regex::new(pattern).expect("schema patterns are valid"))
        .clone()
}

/// Checks the keys of a mapping against a table.
fn check_object(
    map: &Map<String, Value>,
    rules: &[Rule],
    path: &str,
    problems: &mut Vec<Problem>,
) -> Value {
    for key in map.keys() {
        if !rules.iter().any(|r| r.key == key) {
            problems.push(Problem::new(
                &child(path, key),
                unknown_key_message(key, rules),
            ));
        }
    }
    let mut normalized = Map::new();
    for rule in rules {
        let key_path = child(path, rule.key);
        match map.get(rule.key).filter(|v| !v.is_null()) {
            Some(value) => {
                normalized.insert(
                    rule.key.to_string(),
                    check(value, &rule.ty, &key_path, problems),
                );
            }
            None => match rule.absent {
                Absent::Skip => {}
                Absent::Required => problems.push(Problem::new(&key_path, "is required")),
                Absent::Bool(b) => {
                    normalized.insert(rule.key.to_string(), Value::Bool(b));
                }
                Absent::Str(s) => {
                    normalized.insert(rule.key.to_string(), Value::String(s.to_string()));
                }
                Absent::Int(n) => {
                    normalized.insert(rule.key.to_string(), Value::from(n));
                }
                Absent::Defaults => {
                    let empty = Value::Object(Map::new());
                    normalized.insert(
                        rule.key.to_string(),
                        check(&empty, &rule.ty, &key_path, problems),
                    );
                }
            },
        }
    }
    Value::Object(normalized)
}

fn unknown_key_message(key: &str, rules: &[Rule]) -> String {
    let allowed: Vec<&str> = rules.iter().map(|r| r.key).collect();
    let close = allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, _)| *d <= 2)
        .min();
    match close {
        Some((_, suggestion)) => format!(
            "unknown key (did you mean {suggestion:?}?); allowed keys: {}",
            allowed.join(", ")
        ),
        None if allowed.is_empty() => "unknown key; no keys are allowed here".to_string(),
        None => format!("unknown key; allowed keys: {}", allowed.join(", ")),
    }
}

/// Levenshtein distance, for "did you mean" hints on short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// A value of `ty` with every key of every mapping present, for tests
/// comparing another model of a document with the tables. `pick` chooses
/// among the values of an enum (wrapping) and alternates booleans, so
/// successive picks try each allowed value.
#[cfg(test)]
pub(crate) fn sample(ty: &Ty, pick: usize) -> Value {
    match ty {
        Ty::Str => Value::from("x"),
        Ty::Bool => Value::Bool(pick.is_multiple_of(2)),
        Ty::Exactly { value, .. } => Value::Bool(*value),
        Ty::Int { min, .. } => Value::from(*min),
        Ty::Positive => Value::from(1),
        Ty::Enum(allowed) => Value::from(allowed[pick % allowed.len()]),
        Ty::Pattern { regex, .. } => panic!("no sample for the pattern {regex}"),
        Ty::Version => Value::from("1.0"),
        Ty::AnyObject => Value::Object(Map::new()),
        Ty::Object(rules) => Value::Object(
            rules
                .iter()
                .map(|r| (r.key.to_string(), sample(&r.ty, pick)))
                .collect(),
        ),
        Ty::List { item, .. } => Value::Array(vec![sample(item, pick)]),
    }
}

/// A value's type and (short) content, for messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("the string {:?}...", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INNER: &[Rule] = &[
        rule("on", Ty::Bool, Absent::Bool(true)),
        rule("mode", Ty::Enum(&["a", "b"]), Absent::Str("a")),
    ];
    const OUTER: &[Rule] = &[
        rule("name", Ty::Str, Absent::Required),
        rule("inner", Ty::Object(INNER), Absent::Defaults),
        rule("n", Ty::at_least(1), Absent::Skip),
    ];

    fn run(value: Value) -> (Value, Vec<(String, String)>) {
        let mut problems = Vec::new();
        let normalized = check(&value, &Ty::Object(OUTER), "", &mut problems);
        (
            normalized,
            problems.into_iter().map(|p| (p.path, p.message)).collect(),
        )
    }

    #[test]
    fn defaults_fill_absent_keys_and_nested_mappings() {
        let (normalized, problems) = run(json!({"name": "x", "inner": null}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            normalized,
            json!({"name": "x", "inner": {"on": true, "mode": "a"}})
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let (_, problems) = run(json!({"inner": {"on": "yes", "mode": "c", "mdoe": 1}, "n": 0}));
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["name", "inner.mdoe", "inner.on", "inner.mode", "n"],
            "{problems:?}"
        );
        assert!(problems[1].1.contains("did you mean \"mode\""));
        assert!(problems[2].1.contains("the string \"yes\""));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("mdoe", "mode"), 2);
        assert_eq!(edit_distance("compres", "compress"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
