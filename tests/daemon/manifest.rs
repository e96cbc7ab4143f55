//! hyper2kvm manifests over the API: ValidateManifest reports every problem
//! with its path, SubmitManifest runs each VM as an execution of
//! `vm_pipeline` (batch ids, idempotent by request_id), converting real
//! disk images with qemu-img; wfctl's `manifest validate|submit`; and the
//! real `workflow-vm-pipeline` found by the default discovery.
//!
//! Most tests use a small sh fixture as `vm_pipeline` ([`fixture_pipeline`])
//! so they do not depend on the real program's stages; one runs the real one.

use std::path::Path;

use serde_json::{json, Value};
use tonic::Code;

use crate::helper::*;

fn validate_request(content: &str, file_name: &str) -> pb::ValidateManifestRequest {
    pb::ValidateManifestRequest {
        content: content.as_bytes().to_vec(),
        format: pb::ManifestFormat::Detect as i32,
        file_name: file_name.to_string(),
    }
}

fn submit_request(content: &str, file_name: &str, request_id: &str) -> pb::SubmitManifestRequest {
    pb::SubmitManifestRequest {
        content: content.as_bytes().to_vec(),
        format: pb::ManifestFormat::Detect as i32,
        file_name: file_name.to_string(),
        request_id: request_id.to_string(),
        labels: labels(&[("team", "storage")]),
        namespace: String::new(),
    }
}

impl Daemon {
    /// ValidateManifest, expected to answer.
    pub async fn validate_manifest(
        &self,
        content: &str,
        file_name: &str,
    ) -> pb::ValidateManifestResponse {
        self.client()
            .validate_manifest(validate_request(content, file_name))
            .await
            .expect("ValidateManifest")
            .into_inner()
    }

    /// SubmitManifest, expected to succeed.
    pub async fn submit_manifest(
        &self,
        content: &str,
        file_name: &str,
        request_id: &str,
    ) -> pb::SubmitManifestResponse {
        self.client()
            .submit_manifest(submit_request(content, file_name, request_id))
            .await
            .unwrap_or_else(|s| panic!("SubmitManifest {file_name}: {s:?}"))
            .into_inner()
    }
}

/// Each problem of a ValidateManifest answer as (path, message).
fn problem_pairs(response: &pb::ValidateManifestResponse) -> Vec<(&str, &str)> {
    response
        .problems
        .iter()
        .map(|p| (p.path.as_str(), p.message.as_str()))
        .collect()
}

/// Invalid manifests and the exact problem paths expected, JSON and YAML.
const INVALID: &[(&str, &str, &[&str])] = &[
    ("empty.json", "", &[""]),
    ("list.yaml", "- a\n- b\n", &[""]),
    ("syntax.json", "{\"version\": \"1.0\", ", &[""]),
    (
        "missing.json",
        r#"{"pipeline": {"load": {}}}"#,
        &[
            "pipeline.convert.output_format",
            "pipeline.load.source_path",
            "pipeline.load.source_type",
            "version",
        ],
    ),
    (
        "types.yaml",
        "version: '1.0'\npipeline:\n  load: {source_type: raw, source_path: /d/a.img}\n  inspect: {enabled: yes}\n  fix: {grub: true, network: {fix_level: partial}}\n  convert: {output_format: qcow3, compress: 1}\n  validate: {boot_test: false, extra: 1}\n",
        &[
            "pipeline.convert.compress",
            "pipeline.convert.output_format",
            "pipeline.fix.grub",
            "pipeline.fix.network.fix_level",
            "pipeline.inspect.enabled",
            "pipeline.validate.extra",
        ],
    ),
    (
        "ami.json",
        r#"{"version": "1.0", "pipeline": {"load": {"source_type": "ami", "source_path": "/d/x.raw"}, "convert": {"output_format": "raw"}, "fix": {"fstab": {"mode": "sort"}}}}"#,
        &["pipeline.fix.fstab.mode", "pipeline.load.ami_id"],
    ),
    (
        "batch.json",
        r#"{"version": "1.0", "batch": true, "vms": [
            {"name": "a", "pipeline": {"load": {"source_path": "/d/a.vmdk"}}},
            {"name": "b", "pipeline": {"load": {"source_path": "/d/b.iso"}}},
            {"name": "a", "pipeline": {"load": {"source_path": "relative/c.vhd"}, "convert": {"output_format": "qcow3"}}},
            {"pipeline": {"load": {"source_type": "ova"}}, "extra": true}]}"#,
        &[
            "vms[1].pipeline.load.source_type",
            "vms[2].name",
            "vms[2].pipeline.convert.output_format",
            "vms[2].pipeline.load.source_path",
            "vms[3].extra",
            "vms[3].name",
            "vms[3].pipeline.load.source_path",
        ],
    ),
    (
        "no-vms.yaml",
        "version: '1.0'\nbatch: true\nvms: []\n",
        &["vms"],
    ),
    (
        "artifact.json",
        r#"{"manifest_version": "1.0", "disks": [{"id": "bad id", "source_format": "iso", "local_path": "/d/a"}], "vm": {"firmware": "efi"}}"#,
        &[
            "disks[0].bytes",
            "disks[0].id",
            "disks[0].source_format",
            "vm.firmware",
        ],
    ),
];

#[tokio::test]
async fn validate_manifest_reports_every_problem_with_its_path() {
    // The example paths below are in these roots.
    let daemon = Daemon::builder()
        .flag("--source-root", "/d")
        .flag("--source-root", "/data")
        .start()
        .await;
    for (file_name, content, expected) in INVALID {
        let response = daemon.validate_manifest(content, file_name).await;
        assert!(!response.valid, "{file_name} is invalid");
        let paths: Vec<&str> = response.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(&paths, expected, "{file_name}: {:?}", response.problems);
        assert!(response.problems.iter().all(|p| !p.message.is_empty()));
        assert!(response.vms.is_empty());
    }

    // A valid YAML single-VM manifest comes back normalized, hyperctl's
    // defaults applied, named after the file.
    let response = daemon
        .validate_manifest(
            "version: 1.0\npipeline:\n  load:\n    source_type: vmdk\n    source_path: /data/web.vmdk\n  convert:\n    output_format: qcow2\n",
            "web-01.yaml",
        )
        .await;
    assert!(response.valid, "{:?}", response.problems);
    assert_eq!(response.format(), pb::ManifestFormat::Yaml);
    assert_eq!(response.kind(), pb::ManifestKind::Single);
    assert_eq!(response.vms.len(), 1);
    assert_eq!(response.vms[0].name, "web-01");
    let document: Value = serde_json::from_str(&response.vms[0].pipeline_json).unwrap();
    assert_eq!(
        document["pipeline"],
        json!({
            "load": {"source_type": "vmdk", "source_path": "/data/web.vmdk"},
            "inspect": {"enabled": true, "detect_os": true},
            "fix": {"enabled": true,
                    "fstab": {"enabled": true, "mode": "stabilize-all"},
                    "grub": {"enabled": true},
                    "initramfs": {"enabled": true, "regenerate": true},
                    "network": {"enabled": true, "fix_level": "full"}},
            "convert": {"enabled": true, "output_format": "qcow2", "compress": true},
            "validate": {"enabled": true, "boot_test": false, "boot_test_seconds": 20},
        })
    );

    // Artifact Manifest v1: one pipeline per disk.
    let out = daemon.output_dir().join("art");
    let response = daemon
        .validate_manifest(
            &r#"{"manifest_version": "1.0", "vm": {"cpu": 2, "mem_gb": 4, "firmware": "uefi"},
                "disks": [{"id": "boot", "source_format": "vmdk", "bytes": 1048576, "local_path": "/d/boot.vmdk",
                           "checksum": "sha256:0000000000000000000000000000000000000000000000000000000000000000"},
                          {"id": "data", "source_format": "qcow2", "bytes": 1, "local_path": "/d/data.qcow2"}],
                "pipeline": {"validate": {"enabled": false}}, "output": {"directory": "OUT", "format": "raw"}}"#
                .replace("OUT", out.to_str().unwrap()),
            "",
        )
        .await;
    assert!(response.valid, "{:?}", response.problems);
    assert_eq!(response.kind(), pb::ManifestKind::ArtifactV1);
    let names: Vec<&str> = response.vms.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["boot", "data"]);
    let data: Value = serde_json::from_str(&response.vms[1].pipeline_json).unwrap();
    assert_eq!(
        data["pipeline"]["convert"]["output_path"],
        out.join("data.raw").to_str().unwrap()
    );
    assert_eq!(data["pipeline"]["validate"]["enabled"], false);

    // SubmitManifest checks the manifest first (every problem as a field
    // violation), then needs the workflow vm_pipeline, which this daemon
    // does not have.
    let status = daemon
        .client()
        .submit_manifest(submit_request(INVALID[6].1, "batch.json", ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, INVALID[6].2);
    let status = daemon
        .client()
        .submit_manifest(submit_request("", "x.json", ""))
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "content");
    let status = daemon
        .client()
        .submit_manifest(submit_request(
            r#"{"version": "1.0", "pipeline": {"load": {"source_type": "raw", "source_path": "/d/a.raw"}, "convert": {"output_format": "qcow2"}}}"#,
            "a.json",
            "",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("vm_pipeline"), "{status:?}");
}

#[tokio::test]
async fn single_and_batch_manifests_run_as_vm_pipeline_executions() {
    let daemon = Daemon::builder()
        .program("vm-pipeline.sh", fixture_pipeline())
        .flag("--output-dir", "out")
        .start()
        .await;
    let disks = daemon.staging_dir();
    let out = daemon.file("out");

    // Single VM, JSON: a raw disk to compressed qcow2 at an explicit path.
    let raw = make_disk(&disks, "web 01.raw", "raw");
    let converted = out.join("web.qcow2");
    let single = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "raw", "source_path": raw},
        "convert": {"output_format": "qcow2", "compress": true, "output_path": converted}}})
    .to_string();
    let response = daemon.submit_manifest(&single, "web-01.json", "").await;
    assert!(response.started);
    assert!(response.batch_id.is_empty(), "a single VM has no batch");
    assert_eq!(response.kind(), pb::ManifestKind::Single);
    assert_eq!(response.vms.len(), 1);
    let vm = &response.vms[0];
    assert_eq!(vm.name, "web-01");
    let execution = vm.execution.clone().unwrap();
    assert_eq!(execution.workflow_id, "vm_pipeline");
    assert_eq!(execution.inputs["manifest"], vm.manifest_path);
    assert!(Path::new(&vm.manifest_path).starts_with(daemon.data_dir().join("manifests")));
    assert_eq!(execution.labels["vm"], "web-01");
    assert_eq!(execution.labels["manifest"], "web-01.json");
    assert_eq!(execution.labels["team"], "storage");
    let done = daemon
        .wait_state(&execution.id, ExecutionState::Succeeded)
        .await;
    assert_eq!(image_format(&converted), "qcow2");
    assert!(
        same_content(&raw, &converted),
        "the conversion kept the data"
    );
    let report = &done.artifacts[0];
    assert_eq!(report.description, "pipeline report");
    let document: Value =
        serde_json::from_slice(&std::fs::read(&vm.manifest_path).unwrap()).unwrap();
    assert_eq!(document["name"], "web-01");
    assert_eq!(document["pipeline"]["fix"]["network"]["fix_level"], "full");

    // Batch, YAML: vmdk and vhdx sources, default and explicit formats.
    let vmdk = make_disk(&disks, "app.vmdk", "vmdk");
    let vhdx = make_disk(&disks, "db.vhdx", "vhdx");
    let batch = format!(
        "version: \"1.0\"\nbatch: true\nvms:\n  - name: app\n    pipeline:\n      load: {{source_path: '{}'}}\n  - name: db\n    pipeline:\n      load: {{source_type: vhdx, source_path: '{}'}}\n      convert: {{output_format: raw}}\n",
        vmdk.display(),
        vhdx.display()
    );
    let response = daemon
        .submit_manifest(&batch, "nightly.yaml", "nightly-1")
        .await;
    assert!(response.started);
    assert_eq!(response.kind(), pb::ManifestKind::Batch);
    assert!(!response.batch_id.is_empty());
    let ids: Vec<String> = response
        .vms
        .iter()
        .map(|v| v.execution.as_ref().unwrap().id.clone())
        .collect();
    for (vm, name) in response.vms.iter().zip(["app", "db"]) {
        assert_eq!(vm.name, name);
        let execution = vm.execution.as_ref().unwrap();
        assert_eq!(execution.batch_id, response.batch_id);
        assert_eq!(execution.labels["batch_id"], response.batch_id);
    }
    for id in &ids {
        daemon.wait_state(id, ExecutionState::Succeeded).await;
    }
    assert_eq!(image_format(&out.join("app.qcow2")), "qcow2");
    assert!(same_content(&vmdk, &out.join("app.qcow2")));
    assert_eq!(image_format(&out.join("db.raw")), "raw");
    assert!(same_content(&vhdx, &out.join("db.raw")));

    // The same request_id returns the same executions without starting more.
    let again = daemon
        .submit_manifest(&batch, "nightly.yaml", "nightly-1")
        .await;
    assert!(!again.started);
    assert_eq!(again.batch_id, response.batch_id);
    let again_ids: Vec<String> = again
        .vms
        .iter()
        .map(|v| v.execution.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(again_ids, ids);

    // ListExecutions by batch id: exactly the batch, newest first.
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest {
            batch_id: response.batch_id.clone(),
            ..Default::default()
        })
        .await;
    let mut listed_ids: Vec<String> = listed.executions.iter().map(|e| e.id.clone()).collect();
    listed_ids.reverse();
    assert_eq!(listed_ids, ids);
    assert!(listed
        .executions
        .iter()
        .all(|e| e.batch_id == response.batch_id));
    let all = daemon.list_executions(Default::default()).await;
    assert_eq!(all.executions.len(), 3, "2 batch VMs and the single VM");

    // wfctl: validate prints every problem and exits 5; submit -wait runs
    // the manifest and prints each execution.
    let bad = daemon.file("bad.json");
    std::fs::write(&bad, INVALID[3].1).unwrap();
    let run = wfctl(
        &daemon.addr,
        &["manifest", "validate", "-file", bad.to_str().unwrap()],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        run.stdout
            .contains("pipeline.load.source_type: is required"),
        "{run:?}"
    );
    let good = daemon.file("good.json");
    std::fs::write(&good, &single).unwrap();
    let run = wfctl(
        &daemon.addr,
        &[
            "manifest",
            "submit",
            "-file",
            good.to_str().unwrap(),
            "-wait",
            "-json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        printed["vms"][0]["execution"]["state"],
        "EXECUTION_STATE_SUCCEEDED"
    );
}

#[tokio::test]
async fn a_lone_daemon_binary_discovers_its_own_vm_pipeline_and_converts() {
    // No --workflow-dir, and the daemon binary alone, as `cargo install` or a copy puts it: no
    // workflow-vm-pipeline beside it. It carries the pipeline itself.
    let install = tempfile::tempdir().unwrap();
    let workflowd = install.path().join("workflowd");
    copy_executable(Path::new(env!("CARGO_BIN_EXE_workflowd")), &workflowd);
    assert_eq!(std::fs::read_dir(install.path()).unwrap().count(), 1);
    let daemon = Daemon::builder()
        .default_dirs()
        .binary(&workflowd)
        .start()
        .await;
    let link = daemon
        .data_dir()
        .join("bundled-workflows/workflow-vm-pipeline");
    assert_eq!(
        std::fs::read_link(&link).expect("the pipeline is linked"),
        workflowd
    );
    let vmdk = make_disk(&daemon.staging_dir(), "legacy.vmdk", "vmdk");
    let output = daemon.output_dir().join("legacy.qcow2");
    let manifest = json!({"version": "1.0", "pipeline": {
        "load": {"source_type": "vmdk", "source_path": vmdk},
        "convert": {"output_format": "qcow2", "compress": true, "output_path": output}}})
    .to_string();
    let response = daemon.submit_manifest(&manifest, "legacy.json", "").await;
    let id = response.vms[0].execution.as_ref().unwrap().id.clone();
    let done = daemon.wait_state(&id, ExecutionState::Succeeded).await;
    let phases: Vec<&str> = done.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(phases, ["load", "inspect", "fix", "convert", "validate"]);
    assert_eq!(image_format(&output), "qcow2");
    assert!(same_content(&vmdk, &output));
    assert!(
        done.artifacts
            .iter()
            .any(|a| a.description == "pipeline report"),
        "{:?}",
        done.artifacts
    );
}

// ---- the operator's policy ------------------------------------------------------

#[tokio::test]
async fn submit_manifest_refuses_outputs_outside_the_output_directory() {
    let daemon = Daemon::start().await;
    let disk = make_disk(&daemon.file(""), "web.raw", "raw");
    // Stands for /etc/cron.d.
    let elsewhere = tempfile::Builder::new()
        .prefix("manifest-cron.d-")
        .tempdir()
        .unwrap();
    let absolute = elsewhere.path().join("job");
    let climbing = format!("../../..{}", elsewhere.path().join("job").display());
    for (output_path, field) in [
        (absolute.to_str().unwrap(), "pipeline.convert.output_path"),
        (climbing.as_str(), "pipeline.convert.output_path"),
    ] {
        let manifest = json!({"version": "1.0", "pipeline": {
            "load": {"source_type": "raw", "source_path": disk},
            "convert": {"output_format": "raw", "output_path": output_path}}});
        let status = daemon
            .client()
            .submit_manifest(submit_request(&manifest.to_string(), "web.json", ""))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let violations = violations(&status);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].0, field);
        assert!(
            violations[0].1.contains("outside the output directory")
                && violations[0].1.contains("setting output_dir"),
            "{violations:?}"
        );
    }
    // Artifact Manifest v1's output.directory is held to the same rule.
    let artifact = json!({"manifest_version": "1.0",
        "disks": [{"id": "boot", "source_format": "raw", "bytes": 1, "local_path": disk}],
        "output": {"directory": elsewhere.path(), "format": "raw"}});
    let response = daemon
        .validate_manifest(&artifact.to_string(), "a.json")
        .await;
    let paths: Vec<&str> = response.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["output.directory"], "{:?}", response.problems);
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing was written there"
    );
}

#[tokio::test]
async fn manifests_read_sources_only_from_the_source_roots() {
    let daemon = Daemon::start().await;
    let outside = tempfile::Builder::new()
        .prefix("manifest-secrets-")
        .tempdir()
        .unwrap();
    let secret = make_disk(outside.path(), "shadow.raw", "raw");
    // A symlink in a source root that leads out, reached through `..`
    // after a name that does not exist: never resolved, so refused.
    std::os::unix::fs::symlink(outside.path(), daemon.file("out-link")).unwrap();
    let batch = json!({"version": "1.0", "vms": [
        {"name": "a", "pipeline": {"load": {"source_path": secret}}},
        {"name": "b", "pipeline": {"load": {"source_path": daemon.file("../../..").join(secret.strip_prefix("/").unwrap())}}},
        {"name": "c", "pipeline": {"load": {"source_path": daemon.file("nope/../out-link/shadow.raw")}}}]});
    let response = daemon.validate_manifest(&batch.to_string(), "b.json").await;
    let problems = problem_pairs(&response);
    assert_eq!(problems.len(), 3, "{problems:?}");
    for (i, (path, message)) in problems.iter().enumerate() {
        assert_eq!(*path, format!("vms[{i}].pipeline.load.source_path"));
        assert!(
            message.contains("outside every source root")
                && message.contains("setting source_roots")
                || i == 2 && message.contains("`..` after") && message.contains("cannot be judged"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_batch_whose_outputs_would_collide_is_refused_naming_both() {
    let daemon = Daemon::start().await;
    let disk = make_disk(&daemon.file(""), "web.raw", "raw");
    let ova = daemon.file("app.ova");
    std::fs::write(&ova, "").unwrap();
    let batch = json!({"version": "1.0", "vms": [
        {"name": "web 01", "pipeline": {"load": {"source_path": disk}}},
        {"name": "web:01", "pipeline": {"load": {"source_path": disk}}},
        {"name": "x", "pipeline": {"load": {"source_path": disk}, "convert": {"output_path": "same.qcow2"}}},
        {"name": "y", "pipeline": {"load": {"source_path": disk}, "convert": {"output_path": "./same.qcow2"}}},
        {"name": "app", "pipeline": {"load": {"source_path": ova}, "convert": {"output_path": "app.qcow2"}}},
        {"name": "z", "pipeline": {"load": {"source_path": disk}, "convert": {"output_path": "app-disk2.qcow2"}}}]});
    let status = daemon
        .client()
        .submit_manifest(submit_request(&batch.to_string(), "batch.json", ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let found = violations(&status);
    let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["vms[1]", "vms[3]", "vms[5]"], "{found:?}");
    let out = daemon.output_dir();
    assert!(
        found[0]
            .1
            .starts_with(r#"vms[0] ("web 01") and vms[1] ("web:01") would both write "#)
            && found[0].1.contains("/web_01/web_01.qcow2"),
        "{found:?}"
    );
    assert!(
        found[1].1.contains(r#"vms[2] ("x") and vms[3] ("y")"#)
            && found[1]
                .1
                .contains(&out.join("same.qcow2").display().to_string()),
        "{found:?}"
    );
    assert!(
        found[2].1.contains(r#"vms[4] ("app") and vms[5] ("z")"#)
            && found[2].1.contains("app-disk2.qcow2"),
        "{found:?}"
    );
    let listed = daemon
        .list_executions(pb::ListExecutionsRequest::default())
        .await;
    assert!(listed.executions.is_empty(), "nothing ran");
}

#[tokio::test]
async fn fix_tools_are_picked_by_configured_name_only() {
    let daemon = Daemon::builder()
        .config_file(
            "workflowd.toml",
            "[fix_tools.hyper2kvm]\nargv = [\"/usr/bin/hyper2kvm\", \"--fix\", \"{disk}\"]\n",
        )
        .start()
        .await;
    let disk = make_disk(&daemon.file(""), "web.raw", "raw");
    let manifest = |tool: &str| {
        json!({"version": "1.0", "pipeline": {
            "load": {"source_type": "raw", "source_path": disk},
            "fix": {"tool": tool},
            "convert": {"output_format": "qcow2"}}})
        .to_string()
    };
    let response = daemon
        .validate_manifest(&manifest("hyper2kvm"), "w.json")
        .await;
    assert!(response.valid, "{:?}", response.problems);
    let response = daemon
        .validate_manifest(&manifest("rm -rf /"), "w.json")
        .await;
    let problems = problem_pairs(&response);
    assert_eq!(
        problems,
        [(
            "pipeline.fix.tool",
            "\"rm -rf /\" is not a configured fix tool; the configured ones (setting fix_tools) are: virt-customize, hyper2kvm"
        )]
    );
}
