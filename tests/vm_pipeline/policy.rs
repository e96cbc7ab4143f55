//! The operator's policy: sources are read only from the source roots,
//! outputs written only inside the output directory, existing outputs
//! replaced only when asked, and only the configured fix tools offered.

use std::{fs, path::Path};

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::helper::*;

use super::images::*;
use super::run::*;

/// Executes `vm_pipeline` with the manifest at `manifest` and waits for it
/// to fail; returns the error of its load stage (or of the stage that
/// failed).
async fn failed_run(daemon: &Daemon, manifest: &Path) -> String {
    let exec = daemon
        .execute("vm_pipeline", &[("manifest", text(s(manifest)))])
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Failed).await;
    exec.error
}

#[tokio::test]
async fn execute_reads_sources_only_from_the_source_roots() {
    // The roots: the daemon's files dir (the helper's) and a symlink to a
    // directory in staging, which stands for its target.
    let dir = pipeline_dir();
    let staging = tempfile::Builder::new()
        .prefix("vm-pipeline-roots-")
        .tempdir()
        .unwrap();
    let st = staging.path();
    fs::create_dir_all(st.join("real")).unwrap();
    fs::create_dir_all(st.join("secret")).unwrap();
    std::os::unix::fs::symlink(st.join("real"), st.join("alias")).unwrap();
    let daemon = Daemon::builder()
        .workflow_dir(dir.path())
        .flag("--source-root", s(&st.join("alias")))
        .start()
        .await;
    let secret = raw_image(&st.join("secret/shadow.raw"), 1);
    std::os::unix::fs::symlink(st.join("secret"), daemon.file("link")).unwrap();

    let files = daemon.file("");
    for (name, source) in [
        ("outside", secret.clone()),
        (
            "dotdot",
            files
                .join("../../..")
                .join(secret.strip_prefix("/").unwrap()),
        ),
        ("symlink", daemon.file("link/shadow.raw")),
        ("missing-then-up", daemon.file("nope/../link/shadow.raw")),
    ] {
        let m = write_manifest(
            &daemon.file(&format!("{name}.json")),
            name,
            json!({"source_type": "raw", "source_path": source}),
            json!({"output_format": "qcow2"}),
            json!({}),
        );
        let error = failed_run(&daemon, &m).await;
        let why = if name == "missing-then-up" {
            error.contains("`..` after") && error.contains("cannot be judged")
        } else {
            error.contains("is outside every source root") && error.contains("setting source_roots")
        };
        assert!(
            error.contains(&format!("load.source_path: {}", source.display())) && why,
            "{name}: {error}"
        );
    }

    // A manifest outside the roots is not read at all.
    let m = write_manifest(
        &st.join("secret/vm.json"),
        "vm",
        json!({"source_type": "raw", "source_path": daemon.file("x.raw")}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
    let error = failed_run(&daemon, &m).await;
    assert!(
        error.contains("input manifest: ") && error.contains("setting source_roots"),
        "{error}"
    );

    // An OVF whose href climbs out of the roots (and so out of the OVF's
    // own directory, which the image check refuses first).
    let ovf = daemon.file("escape.ovf");
    fs::write(
        &ovf,
        format!(
            r#"<Envelope><References><File id="f" href="{}"/></References><DiskSection><Disk fileRef="f"/></DiskSection></Envelope>"#,
            Path::new("link").join("shadow.raw").display()
        ),
    )
    .unwrap();
    let m = qcow2_manifest(&daemon.file("ovf.json"), "ovf", &ovf);
    let error = failed_run(&daemon, &m).await;
    assert!(
        error.contains("references \"link/shadow.raw\"")
            && error.contains("outside the OVF's own directory"),
        "{error}"
    );

    // Through the symlinked root: allowed, it is what the operator named.
    let base = raw_image(&st.join("real/ok.raw"), 1);
    let m = vm_manifest(
        &daemon.file("ok.json"),
        "raw",
        &st.join("alias/ok.raw"),
        json!({"output_format": "qcow2", "output_path": "ok.qcow2"}),
        json!({}),
    );
    let exec = daemon
        .execute("vm_pipeline", &[("manifest", text(s(&m)))])
        .await;
    daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;
    assert_eq!(compare(&base, &daemon.output_dir().join("ok.qcow2")), 0);
    let secret_outputs = fs::read_dir(daemon.output_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert_eq!(secret_outputs, ["ok.qcow2"], "nothing else was converted");
}

#[tokio::test]
async fn execute_writes_only_inside_the_output_directory() {
    let (daemon, _dir) = pipeline_daemon().await;
    let base = raw_image(&daemon.file("base.raw"), 1);
    // Stands for /etc/cron.d: a directory the caller would like to write.
    let elsewhere = tempfile::Builder::new()
        .prefix("vm-pipeline-cron.d-")
        .tempdir()
        .unwrap();
    fs::create_dir_all(daemon.output_dir()).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), daemon.output_dir().join("link")).unwrap();
    let cases = [
        ("absolute", json!(elsewhere.path().join("job.qcow2"))),
        (
            "dotdot",
            json!("../../..".to_string() + s(&elsewhere.path().join("job.qcow2"))),
        ),
        ("symlink", json!("link/job.qcow2")),
    ];
    for (name, output_path) in cases {
        let m = write_manifest(
            &daemon.file(&format!("{name}.json")),
            name,
            json!({"source_type": "raw", "source_path": base}),
            json!({"output_format": "qcow2", "output_path": output_path}),
            json!({}),
        );
        let error = failed_run(&daemon, &m).await;
        assert!(
            error.contains("convert.output_path: ")
                && error.contains("outside the output directory")
                && error.contains("setting output_dir"),
            "{name}: {error}"
        );
    }
    // The output_dir input must itself be inside the output directory.
    let m = qcow2_manifest(&daemon.file("dir.json"), "raw", &base);
    let exec = daemon
        .execute(
            "vm_pipeline",
            &[
                ("manifest", text(s(&m))),
                ("output_dir", text(s(elsewhere.path()))),
            ],
        )
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Failed).await;
    assert!(
        exec.error.contains("input output_dir: ") && exec.error.contains("setting output_dir"),
        "{}",
        exec.error
    );
    assert_eq!(
        fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing was written there"
    );
}

#[test]
fn an_existing_output_is_replaced_only_when_the_manifest_says_overwrite() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 1);
    let target = d.join("out/vm.qcow2");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::write(&target, "keep me").unwrap();
    let manifest = |overwrite: Option<bool>| {
        let mut convert = json!({"output_format": "qcow2", "output_path": "out/vm.qcow2"});
        if let Some(overwrite) = overwrite {
            convert["overwrite"] = json!(overwrite);
        }
        write_manifest(
            &d.join("vm.json"),
            "vm",
            json!({"source_type": "raw", "source_path": base}),
            convert,
            json!({}),
        )
    };

    let run = run_direct(&d.join("w1"), &manifest(None), &[]);
    assert_eq!(run.code, 1);
    let error = run.stage("convert")["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{} already exists", target.display()))
            && error.contains("convert.overwrite: true"),
        "{error}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
    let run = run_direct(&d.join("w2"), &manifest(Some(false)), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");

    let run = run_direct(&d.join("w3"), &manifest(Some(true)), &[]);
    run.assert_succeeded();
    assert_eq!(run.output(), target);
    assert_eq!(compare(&base, &target), 0, "replaced by the conversion");
}

#[tokio::test]
async fn the_fix_tool_input_offers_only_the_configured_tools() {
    let dir = pipeline_dir();
    let daemon = Daemon::builder()
        .workflow_dir(dir.path())
        .config_file(
            "workflowd.toml",
            "[fix_tools.hyper2kvm]\nargv = [\"/usr/bin/hyper2kvm\", \"--fix\", \"{disk}\"]\n",
        )
        .start()
        .await;
    let workflows = daemon.list_workflows().await;
    let pipeline = workflows
        .workflows
        .iter()
        .find(|w| w.id == "vm_pipeline")
        .expect("vm_pipeline is discovered");
    let schema: Value = serde_json::from_str(&pipeline.input_json_schema).unwrap();
    assert_eq!(
        schema["properties"]["fix_tool"]["enum"],
        json!(["virt-customize", "hyper2kvm"]),
        "discovery ran the program with the policy"
    );
    fs::write(daemon.file("vm.json"), "{}").unwrap();
    let status = daemon
        .client()
        .execute(request(
            "vm_pipeline",
            &[
                ("manifest", text(s(&daemon.file("vm.json")))),
                ("fix_tool", text("/bin/sh -c reboot")),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["inputs.fix_tool"]);
}
