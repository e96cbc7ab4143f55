//! Reading and validating manifests: formats, every problem with its
//! path, the three kinds of manifest.

use super::*;

/// A local check (no policy, no file name) of `content`.
fn local(content: &[u8]) -> Validation {
    validate(content, FormatHint::Detect, Context::default())
}

fn paths(content: &str) -> Vec<String> {
    local(content.as_bytes())
        .problems
        .into_iter()
        .map(|p| p.path)
        .collect()
}

#[test]
fn a_minimal_single_manifest_gets_hyperctls_defaults() {
    let v = local(
        br#"{"version":"1.0","pipeline":{"load":{"source_type":"vmdk","source_path":"/d/web.vmdk"},"convert":{"output_format":"qcow2"}}}"#,
    );
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(v.kind, Some(Kind::Single));
    assert_eq!(v.vms.len(), 1);
    assert_eq!(v.vms[0].name, "web");
    let p = &v.vms[0].document["pipeline"];
    assert_eq!(p["inspect"], json!({"enabled": true, "detect_os": true}));
    assert_eq!(p["fix"]["fstab"]["mode"], "stabilize-all");
    assert_eq!(p["fix"]["network"]["fix_level"], "full");
    assert_eq!(p["fix"]["initramfs"]["regenerate"], true);
    assert_eq!(p["convert"]["compress"], true);
    assert_eq!(
        p["validate"],
        json!({"enabled": true, "boot_test": false, "boot_test_seconds": 20})
    );
}

#[test]
fn yaml_batches_are_detected_and_types_inferred() {
    let v = local(
        b"version: 1.0\nbatch: true\nvms:\n  - name: a\n    pipeline:\n      load: {source_path: /d/a.img}\n  - name: b\n    pipeline:\n      load: {source_path: /d/b.vhdx}\n",
    );
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!((v.format, v.kind), (Some(Format::Yaml), Some(Kind::Batch)));
    assert_eq!(v.vms[0].document["pipeline"]["load"]["source_type"], "raw");
    assert_eq!(v.vms[1].document["pipeline"]["load"]["source_type"], "vhdx");
    assert_eq!(
        v.vms[1].document["pipeline"]["convert"]["output_format"],
        "qcow2"
    );
}

#[test]
fn every_problem_of_a_batch_has_its_path() {
    let got = paths(
        r#"{"version":"2","vms":[
            {"name":"a","pipeline":{"load":{"source_path":"/x.iso"}}},
            {"name":"a","pipeline":{"load":{"source_path":"rel.vmdk","source_type":"ami"},"convert":{"output_format":"qcow3","compres":true}}},
            {"pipeline":{"load":{}}}]}"#,
    );
    assert_eq!(
        got,
        [
            "version",
            "vms[0].pipeline.load.source_type",
            "vms[1].name",
            "vms[1].pipeline.convert.compres",
            "vms[1].pipeline.convert.output_format",
            "vms[1].pipeline.load.ami_id",
            "vms[1].pipeline.load.source_path",
            "vms[2].name",
            "vms[2].pipeline.load.source_path",
        ]
    );
}

#[test]
fn outputs_that_would_collide_are_found_without_a_policy_too() {
    let v = local(
        br#"{"version":"1.0","vms":[
            {"name":"web 01","pipeline":{"load":{"source_path":"/d/a.raw"}}},
            {"name":"web?01","pipeline":{"load":{"source_path":"/d/b.raw"}}},
            {"name":"c","pipeline":{"load":{"source_path":"/d/c.raw"},"convert":{"output_path":"x/../c.qcow2"}}},
            {"name":"d","pipeline":{"load":{"source_path":"/d/d.raw"},"convert":{"output_path":"c.qcow2"}}}]}"#,
    );
    let problems = v.problem_pairs();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].0, "vms[1]");
    assert!(
        problems[0]
            .1
            .starts_with(r#"vms[0] ("web 01") and vms[1] ("web?01") would both write"#),
        "{problems:?}"
    );
    assert_eq!(problems[1].0, "vms[3]");
    assert!(
        problems[1].1.contains("/OUTPUT_DIR/c.qcow2"),
        "{problems:?}"
    );
}

#[test]
fn policy_checks_name_the_field_and_the_setting() {
    let policy = WorkflowPolicy {
        output_dir: "/srv/out".into(),
        source_roots: vec!["/srv/in".into()],
        fix_tools: Default::default(),
    };
    let context = Context {
        policy: Some(&policy),
        ..Context::default()
    };
    let v = validate(
        br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/srv/in/../etc/shadow"},
             "fix":{"tool":"sh"},
             "convert":{"output_format":"raw","output_path":"/etc/cron.d/x"}}}"#,
        FormatHint::Detect,
        context,
    );
    let problems = v.problem_pairs();
    assert_eq!(
        problems,
        [
            (
                "pipeline.convert.output_path",
                "/etc/cron.d/x is outside the output directory (setting output_dir: /srv/out)"
            ),
            (
                "pipeline.fix.tool",
                "\"sh\" is not a configured fix tool; the configured ones (setting \
                 fix_tools) are: virt-customize"
            ),
            (
                "pipeline.load.source_path",
                "/srv/in/../etc/shadow has `..` after /srv/in, which does not exist: where it \
                 leads cannot be judged"
            ),
        ]
    );
}

#[test]
fn an_unknown_boot_accelerator_names_the_known_ones() {
    let v = local(
        br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/d/a.raw"},
             "convert":{"output_format":"qcow2"},"validate":{"boot_test":true,"boot_accel":"hvf"}}}"#,
    );
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert_eq!(v.problems[0].path, "pipeline.validate.boot_accel");
    assert!(
        v.problems[0].message.contains("kvm:tcg"),
        "{}",
        v.problems[0].message
    );
    // A known one reaches the VM's document as given.
    let v = local(
        br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/d/a.raw"},
             "convert":{"output_format":"qcow2"},"validate":{"boot_test":true,"boot_accel":"tcg"}}}"#,
    );
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(
        v.vms[0].document["pipeline"]["validate"]["boot_accel"],
        "tcg"
    );
}

#[test]
fn a_boot_test_longer_than_an_hour_is_refused_with_the_range() {
    let v = local(
        br#"{"version":"1.0","pipeline":{"load":{"source_type":"raw","source_path":"/d/a.raw"},
             "convert":{"output_format":"qcow2"},"validate":{"boot_test":true,"boot_test_seconds":3601}}}"#,
    );
    let problems = v.problem_pairs();
    assert_eq!(
        problems,
        [(
            "pipeline.validate.boot_test_seconds",
            "must be from 1 to 3600, got 3601"
        )]
    );
}

#[test]
fn unreadable_documents_are_one_problem_for_the_whole() {
    for content in ["", "  \n", "[1, 2]", "{\"version\": ", "\u{0}\u{1}"] {
        let got = paths(content);
        assert_eq!(got, [""], "{content:?}");
    }
    let v = local(b"\xff\xfe\x00junk");
    assert!(v.problems[0].message.contains("not UTF-8"));
}

#[test]
fn artifact_manifests_become_one_pipeline_per_disk() {
    let v = local(
        br#"{"manifest_version":"1.0","vm":{"cpu":2,"firmware":"uefi"},
            "disks":[{"id":"boot","source_format":"qcow2","bytes":1024,"local_path":"/d/boot.qcow2"},
                     {"id":"data-1","source_format":"vmdk","bytes":2048,"local_path":"/d/data.vmdk","checksum":"sha256:00"}],
            "output":{"directory":"/out","format":"raw"}}"#,
    );
    assert_eq!(
        v.problems
            .iter()
            .map(|p| p.path.as_str())
            .collect::<Vec<_>>(),
        ["disks[1].checksum"]
    );
    let v = local(
        br#"{"manifest_version":"1.0","disks":[{"id":"boot","source_format":"qcow2","bytes":1,"local_path":"/d/boot.qcow2"}],
            "output":{"directory":"/out","format":"raw"}}"#,
    );
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(v.kind, Some(Kind::ArtifactV1));
    let p = &v.vms[0].document["pipeline"];
    assert_eq!(p["load"]["source_type"], "qcow2");
    assert_eq!(p["convert"]["output_path"], "/out/boot.raw");
}

#[test]
fn batch_names_the_format_and_must_agree_with_the_document() {
    let v = local(
        br#"{"version": "1.0", "batch": false, "vms": [{"name": "a", "pipeline": {"load": {"source_path": "/d/a.raw"}}}]}"#,
    );
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert_eq!(v.problems[0].path, "batch");
    assert_eq!(
        v.problems[0].message,
        "must be true (or left out) in a manifest with vms"
    );
}
