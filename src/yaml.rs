//! The one way YAML is read and written: manifests, config files, `wfctl`'s
//! input files and its YAML output.
//!
//! serde-saphyr: a pure-Rust parser without unsafe code that does not panic
//! on malformed input and limits alias expansion, which matters because
//! manifests come from untrusted drop folders and callers. Booleans are
//! strict (YAML 1.2: `yes`/`no`/`on`/`off` stay strings, as they were with
//! serde_yaml), duplicate keys are an error, and messages are one line
//! with the position.

use serde::{de::DeserializeOwned, Serialize};

/// Why a YAML document could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(String);

/// Parses one YAML document. A syntax error names its line and column; a
/// value of the wrong type names its key path (`max_queue: invalid type:
/// ...`), which a typed parse of serde-saphyr alone would not say.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    let value: serde_json::Value =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| YamlError(e.to_string()))?;
    serde_path_to_error::deserialize(value).map_err(|e| YamlError(e.to_string()))
}

/// Writes `value` as one YAML document.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|e| YamlError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    #[test]
    fn yaml_1_1_words_stay_strings_and_duplicates_are_refused() {
        let value: Value = super::from_str("a: yes\nb: off\nc: true\nd: 12\n").unwrap();
        assert_eq!(value, json!({"a": "yes", "b": "off", "c": true, "d": 12}));
        let error = super::from_str::<Value>("a: 1\na: 2\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("duplicate mapping key: a"), "{error}");
        assert!(error.contains("line 2"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }

    #[test]
    fn an_alias_bomb_is_refused_instead_of_expanded() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = super::from_str::<Value>(&bomb).unwrap_err().to_string();
        assert!(error.contains("budget breached"), "{error}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Settings {
            limits: Limits,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Limits {
            max_queue: u64,
        }
        let error = super::from_str::<Settings>("limits:\n  max_queue: many\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("limits.max_queue: invalid type"),
            "{error}"
        );
    }

    #[test]
    fn values_round_trip() {
        let value = json!({"name": "web", "list": [1, "x: y", null, false]});
        let text = super::to_string(&value).unwrap();
        assert_eq!(super::from_str::<Value>(&text).unwrap(), value);
    }
}
