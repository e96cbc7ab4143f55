//! Path templates of `google.api.http` rules (AIP-127):
//! `/v1/executions/{execution_id}:wait`. Only what the API uses: literal
//! segments, single-segment variables (`{field}` or `{field=*}`) and an
//! optional `:verb` suffix on the last segment.

use std::fmt;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Matches exactly this text.
    Literal(String),
    /// Matches any one non-empty segment and binds it to this field.
    Variable(String),
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    segments: Vec<Segment>,
    verb: Option<String>,
    text: String,
}

/// Why a template in the proto could not be read.
#[derive(Debug, thiserror::Error)]
#[error("path template {template:?}: {reason}")]
pub(crate) struct TemplateError {
    template: String,
    reason: &'static str,
}

impl PathTemplate {
    /// Parses `text`, e.g. `/v1/workflows/{workflow_id}:validate`.
    pub(crate) fn parse(text: &str) -> Result<Self, TemplateError> {
        let error = |reason| TemplateError {
            template: text.to_string(),
            reason,
        };
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| error("must start with /"))?;
        let (path, verb) = split_verb(rest);
        let mut segments = Vec::new();
        for part in path.split('/') {
            if part.is_empty() {
                return Err(error("has an empty segment"));
            }
            let segment = match part.strip_prefix('{') {
                Some(inner) => {
                    let inner = inner
                        .strip_suffix('}')
                        .ok_or_else(|| error("has an unclosed variable"))?;
                    let field = match inner.split_once('=') {
                        Some((field, "*")) => field,
                        Some(_) => return Err(error("has a multi-segment variable")),
                        None => inner,
                    };
                    if field.is_empty() || field.contains('.') {
                        return Err(error("binds a nested or empty field name"));
                    }
                    Segment::Variable(field.to_string())
                }
                None if part.contains(['{', '}', '*']) => {
                    return Err(error("has a wildcard outside a variable"))
                }
                None => Segment::Literal(part.to_string()),
            };
            segments.push(segment);
        }
        Ok(Self {
            segments,
            verb: verb.map(str::to_string),
            text: text.to_string(),
        })
    }

    /// The fields bound by the path, in order.
    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Variable(field) => Some(field.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Whether the last segment ends in a `:verb`.
    pub(crate) fn has_verb(&self) -> bool {
        self.verb.is_some()
    }

    /// The template as written in the proto.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The bindings of `path` (already split from its query), or None when
    /// it does not match. Values are percent-decoded.
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let rest = path.strip_prefix('/')?;
        let rest = match &self.verb {
            // The verb ends the last segment, so a colon inside an id
            // never looks like a verb.
            Some(verb) => rest.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => rest,
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut bindings = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Variable(field) => {
                    let value = percent_decode(part)?;
                    if value.is_empty() {
                        return None;
                    }
                    bindings.push((field.clone(), value));
                }
            }
        }
        Some(bindings)
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits `a/b/c:verb` into `a/b/c` and `verb` (a colon inside the last
/// variable's braces is not a verb).
fn split_verb(path: &str) -> (&str, Option<&str>) {
    let last_segment_start = path.rfind('/').map_or(0, |i| i + 1);
    let last = &path[last_segment_start..];
    let after_variable = last.rfind('}').map_or(0, |i| i + 1);
    match last[after_variable..].rfind(':') {
        Some(colon) => {
            let at = last_segment_start + after_variable + colon;
            (&path[..at], Some(&path[at + 1..]))
        }
        None => (path, None),
    }
}

/// `text` with its `%XX` escapes decoded; None when the result is not
/// UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        PathTemplate::parse(template).unwrap().matches(path)
    }

    #[test]
    fn literal_paths_match_only_themselves() {
        assert_eq!(bindings("/v1/status", "/v1/status"), Some(vec![]));
        assert_eq!(bindings("/v1/status", "/v1/status/x"), None);
        assert_eq!(bindings("/v1/status", "/v1/statu"), None);
    }

    #[test]
    fn variables_bind_one_decoded_segment() {
        assert_eq!(
            bindings("/v1/workflows/{workflow_id}", "/v1/workflows/hello%20world"),
            Some(vec![("workflow_id".into(), "hello world".into())])
        );
        assert_eq!(
            bindings("/v1/workflows/{workflow_id}", "/v1/workflows/"),
            None
        );
        assert_eq!(
            bindings("/v1/workflows/{workflow_id}", "/v1/workflows/a/b"),
            None
        );
        assert_eq!(
            bindings("/v1/workflows/{workflow_id}", "/v1/workflows/%ff"),
            None
        );
    }

    #[test]
    fn verbs_are_part_of_the_last_segment() {
        let t = "/v1/executions/{execution_id}:wait";
        assert_eq!(
            bindings(t, "/v1/executions/abc:wait"),
            Some(vec![("execution_id".into(), "abc".into())])
        );
        assert_eq!(bindings(t, "/v1/executions/abc"), None);
        assert_eq!(bindings(t, "/v1/executions/abc:cancel"), None);
        assert_eq!(
            bindings("/v1/manifests:submit", "/v1/manifests:submit"),
            Some(vec![])
        );
        assert_eq!(bindings("/v1/manifests:submit", "/v1/manifests"), None);
        assert_eq!(
            bindings("/v1/executions/{execution_id}", "/v1/executions/a:b"),
            Some(vec![("execution_id".into(), "a:b".into())])
        );
    }

    #[test]
    fn unsupported_templates_are_refused() {
        for bad in [
            "v1/x",
            "/v1//x",
            "/v1/{a=**}",
            "/v1/{a.b}",
            "/v1/*",
            "/v1/{a",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
        let t = PathTemplate::parse("/v1/{a=*}/x:go").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["a"]);
    }
}
