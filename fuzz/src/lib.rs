//! What the fuzz targets assert beyond "does not panic", where more than one
//! target needs it (docs/fuzzing.md).

use serde_json::Value;
use workflow_manager::fuzz_api::{self, ManifestCheck, ManifestEncoding};
use workflow_manager::vm::manifest::VmManifest;

/// Validates `data` as a manifest in `encoding` and checks what must hold
/// of any outcome:
///
/// - VMs come only with no problem, and a manifest without problems has at
///   least one VM (the API would otherwise accept a manifest that runs
///   nothing);
/// - the parsed document means the same whatever it is written in: written
///   back as JSON, and as YAML the way wfctl writes manifests, it validates
///   to the same problems and the same VM documents;
/// - every VM document the daemon writes for the pipeline (pretty JSON, as
///   `manifest::submit` writes it), the pipeline's own reader
///   (`VmManifest`) accepts: validation must refuse what cannot run.
pub fn check_manifest(data: &[u8], encoding: ManifestEncoding) {
    let check = fuzz_api::validate_manifest(data, encoding);
    assert!(
        check.problems.is_empty() != check.vm_documents.is_empty(),
        "problems and VMs: {check:?}"
    );
    let Ok(document) = fuzz_api::parse_manifest(data, encoding) else {
        return;
    };

    let json = serde_json::to_vec(&document).expect("a parsed manifest writes as JSON");
    let from_json = fuzz_api::validate_manifest(&json, ManifestEncoding::Json);
    assert_same_check(&check, &from_json, "written back as JSON");

    let yaml =
        workflow_manager::yaml::to_string(&document).expect("a parsed manifest writes as YAML");
    let from_yaml = fuzz_api::validate_manifest(yaml.as_bytes(), ManifestEncoding::Yaml);
    assert_same_check(
        &check,
        &from_yaml,
        &format!("written back as YAML:\n{yaml}"),
    );

    for document in &check.vm_documents {
        let written = serde_json::to_vec_pretty(document).expect("VM documents serialize");
        if let Err(e) = serde_json::from_slice::<VmManifest>(&written) {
            panic!("the pipeline refuses a VM document validation accepted: {e}\n{document:#}");
        }
    }
}

/// Two validations of one document agree: the same problems at the same
/// paths, and VM documents equal, up to float rounding in both (the
/// daemon's JSON reader parses a float to within one ULP, not always
/// exactly, so a number a message quotes may differ in its last digit).
fn assert_same_check(first: &ManifestCheck, again: &ManifestCheck, how: &str) {
    let problems = |check: &ManifestCheck| {
        check
            .problems
            .iter()
            .map(|p| (p.path.clone(), without_numbers(&p.message)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        problems(first),
        problems(again),
        "problems differ when {how}"
    );
    assert_eq!(
        first.vm_documents.len(),
        again.vm_documents.len(),
        "VM counts differ when {how}"
    );
    for (a, b) in first.vm_documents.iter().zip(&again.vm_documents) {
        assert!(
            same_json(a, b),
            "VM documents differ when {how}:\n{a:#}\n{b:#}"
        );
    }
}

/// `text` with each number in it (a run of digits, signs, dots and
/// exponents that holds a digit) replaced by `#`.
fn without_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// JSON equality, numbers compared as floats within a relative 1e-12
/// unless both are integers.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
            } else {
                x == y
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
