//! Disk mode of the drop folders: a dropped disk image, or a job config
//! naming one, becomes a one-VM pipeline with the upstream disk workflow's
//! defaults (qcow2, compressed, fstab stabilize-all, initramfs regenerated;
//! grub and network fixes only when asked). A job config with a top-level
//! `jobs:` list is a batch.
//!
//! `flatten` is accepted for compatibility; `qemu-img convert` always writes
//! a standalone image, so it cannot be turned off (false is a problem).

use std::path::Path;

use serde_json::{json, Value};

use super::checks::{check_source, check_unique_outputs};
use super::pipeline::{source_type_of, FSTAB_MODES, OUTPUT_FORMATS};
use super::schema::{check, child, flag, item, one_of, rule, Absent, Rule, Ty};
use super::{FormatHint, Kind, Problem, Validation, VmPlan};
use crate::policy::WorkflowPolicy;

/// Extensions of the disk images the disk mode takes as they are.
pub(crate) const DISK_EXTENSIONS: &[&str] =
    &["vmdk", "ova", "ovf", "vhd", "vhdx", "raw", "img", "ami"];

/// Extensions of job configs.
pub(crate) const JOB_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

const JOB: &[Rule] = &[
    rule("input", Ty::Str, Absent::Required),
    one_of("output_format", OUTPUT_FORMATS, "qcow2"),
    flag("compress", true),
    flag("flatten", true),
    one_of("fstab_mode", FSTAB_MODES, "stabilize-all"),
    flag("regen_initramfs", true),
    flag("fix_grub", false),
    flag("fix_network", false),
];
const JOB_ITEM: Ty = Ty::Object(JOB);
const JOB_LIST: &[Rule] = &[rule(
    "jobs",
    Ty::List {
        item: &JOB_ITEM,
        min: 1,
    },
    Absent::Required,
)];

/// What a dropped file is in disk mode, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiskFile {
    /// A disk image.
    Disk,
    /// A job config.
    JobConfig,
    /// Neither.
    Other,
}

/// Classifies a file name.
pub(crate) fn classify(file_name: &Path) -> DiskFile {
    let ext = file_name
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if DISK_EXTENSIONS.contains(&ext.as_str()) {
        DiskFile::Disk
    } else if JOB_EXTENSIONS.contains(&ext.as_str()) {
        DiskFile::JobConfig
    } else {
        DiskFile::Other
    }
}

/// The pipeline of a dropped disk image at `path`, named `name`.
pub(crate) fn disk_plan(path: &Path, name: &str) -> Result<VmPlan, Problem> {
    let source = path.to_str().ok_or_else(|| {
        Problem::new(
            "",
            "the file name is not valid UTF-8; rename it to run it through the pipeline",
        )
    })?;
    let source_type =
        source_type_of(path).ok_or_else(|| Problem::new("", "not a disk image extension"))?;
    let job = json!({
        "input": source,
        "output_format": "qcow2",
        "compress": true,
        "fstab_mode": "stabilize-all",
        "regen_initramfs": true,
        "fix_grub": false,
        "fix_network": false,
    });
    Ok(VmPlan::new(
        name.to_string(),
        pipeline(&job, source_type, name),
    ))
}

/// Reads and validates a job config; `stem` names a single job, `base_dir`
/// anchors relative `input` paths, which must then be inside a source root
/// of `policy`.
pub(crate) fn job_config(
    content: &[u8],
    file_name: &str,
    stem: &str,
    base_dir: &Path,
    policy: &WorkflowPolicy,
) -> Validation {
    let (format, document) = match super::parse(content, FormatHint::Detect, Some(file_name)) {
        Ok(parsed) => parsed,
        Err((format, problem)) => return Validation::failed(format, problem),
    };
    let value = Value::Object(document.clone());
    let mut problems = Vec::new();
    let (kind, jobs): (Kind, Vec<(String, Value)>) = if document.contains_key("jobs") {
        let normalized = check(&value, &Ty::Object(JOB_LIST), "", &mut problems);
        let jobs = normalized
            .get("jobs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        (
            Kind::Batch,
            jobs.into_iter()
                .enumerate()
                .map(|(i, job)| (item("jobs", i), job))
                .collect(),
        )
    } else {
        let normalized = check(&value, &Ty::Object(JOB), "", &mut problems);
        (Kind::Single, vec![(String::new(), normalized)])
    };
    let mut vms = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (path, mut job) in jobs {
        if job.get("flatten") == Some(&Value::Bool(false)) {
            problems.push(Problem::new(
                &child(&path, "flatten"),
                "false is not supported: qemu-img convert always writes a standalone image",
            ));
        }
        let Some(input) = job.get("input").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let input_path = base_dir.join(&input);
        check_source(
            &input_path,
            &child(&path, "input"),
            Some(policy),
            &mut problems,
        );
        job["input"] = Value::String(input_path.to_string_lossy().into_owned());
        let Some(source_type) = source_type_of(&input_path) else {
            problems.push(Problem::new(
                &child(&path, "input"),
                format!(
                    "{input:?} is not a disk image (one of .{})",
                    DISK_EXTENSIONS.join(" .")
                ),
            ));
            continue;
        };
        let mut name = match kind {
            Kind::Single => stem.to_string(),
            _ => input_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| stem.to_string()),
        };
        if names.contains(&name) {
            name = format!("{name}-{}", names.len() + 1);
        }
        names.push(name.clone());
        vms.push(VmPlan::new(
            name.clone(),
            pipeline(&job, source_type, &name),
        ));
    }
    check_unique_outputs(&vms, "jobs", Some(policy), &mut problems);
    Validation::finished(format, kind, problems, vms)
}

/// A normalized job (`input`, `output_format`, ...) as a pipeline.
fn pipeline(job: &Value, source_type: &str, name: &str) -> Value {
    let flag = |key: &str| job.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mut load = json!({"source_type": source_type, "source_path": job["input"]});
    if source_type == "ami" {
        // An exported AMI is named after its image id (ami-0123...).
        load["ami_id"] = Value::String(name.to_string());
    }
    let fstab_mode = job["fstab_mode"].as_str().unwrap_or("stabilize-all");
    json!({
        "load": load,
        "inspect": {"enabled": true, "detect_os": true},
        "fix": {
            "enabled": true,
            "fstab": {"enabled": fstab_mode != "noop", "mode": fstab_mode},
            "grub": {"enabled": flag("fix_grub")},
            "initramfs": {"enabled": flag("regen_initramfs"), "regenerate": flag("regen_initramfs")},
            "network": {"enabled": flag("fix_network"), "fix_level": "full"},
        },
        "convert": {
            "enabled": true,
            "output_format": job["output_format"].as_str().unwrap_or("qcow2"),
            "compress": flag("compress"),
        },
        "validate": {"enabled": true, "boot_test": false},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_disk_gets_the_disk_defaults() {
        let plan = disk_plan(Path::new("/in/processing/web 01.vmdk"), "web 01").unwrap();
        let p = &plan.document["pipeline"];
        assert_eq!(p["load"]["source_type"], "vmdk");
        assert_eq!(
            p["convert"],
            json!({"enabled": true, "output_format": "qcow2", "compress": true})
        );
        assert_eq!(p["fix"]["grub"]["enabled"], false);
        assert_eq!(p["fix"]["initramfs"]["regenerate"], true);
    }

    fn policy() -> WorkflowPolicy {
        WorkflowPolicy {
            output_dir: "/out".into(),
            source_roots: vec!["/drop".into(), "/d".into()],
            fix_tools: Default::default(),
        }
    }

    /// A job config `file_name` dropped into the folder /drop.
    fn dropped(content: &[u8], file_name: &str) -> Validation {
        let stem = Path::new(file_name).file_stem().unwrap().to_str().unwrap();
        job_config(content, file_name, stem, Path::new("/drop"), &policy())
    }

    #[test]
    fn job_config_inputs_come_from_source_roots_and_outputs_do_not_clash() {
        let v = dropped(b"jobs:\n  - input: /etc/shadow.raw\n  - input: ../up.raw\n  - input: a b.raw\n  - input: a_b.raw\n", "batch.yaml");
        let problems = v.problem_pairs();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0].0, "jobs[0].input");
        assert!(
            problems[0].1.contains("setting source_roots"),
            "{problems:?}"
        );
        assert_eq!(problems[1].0, "jobs[1].input");
        assert_eq!(problems[2].0, "jobs[3]");
        assert!(
            problems[2]
                .1
                .contains("jobs[2] (\"a b\") and jobs[3] (\"a_b\") would both write"),
            "{problems:?}"
        );
    }

    #[test]
    fn job_configs_report_every_problem_and_batch_with_jobs() {
        let v = dropped(b"jobs:\n  - input: a.raw\n    output_format: qcow3\n  - input: b.iso\n    flatten: false\n  - {}\n", "batch.yaml");
        let paths: Vec<&str> = v.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "jobs[0].output_format",
                "jobs[1].flatten",
                "jobs[1].input",
                "jobs[2].input"
            ]
        );
        let v = dropped(b"{\"input\": \"/d/x.img\", \"fix_grub\": true}", "x.json");
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(v.vms[0].name, "x");
        assert_eq!(v.vms[0].document["pipeline"]["load"]["source_type"], "raw");
        assert_eq!(
            v.vms[0].document["pipeline"]["fix"]["grub"]["enabled"],
            true
        );
    }
}
