//! `wfctl manifest`: the interactive `create` wizard (with back), create
//! from flags, and generate from a disk.

use serde_json::Value;

use crate::helper::*;

/// Runs `wfctl` without input in the daemon's staging directory.
async fn at(daemon: &Daemon, args: &[&str]) -> Run {
    wfctl_in(&daemon.addr, args, Some(&daemon.staging_dir()), "").await
}

/// The answers to `manifest create`'s prompts, one per line.
fn answers(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn manifest_create_walks_four_steps_with_back_and_submits() {
    let daemon = Daemon::builder().default_dirs().start().await;
    let dir = daemon.staging_dir();
    let disk = make_disk(&dir, "web.raw", "raw");
    // Outputs go only inside the daemon's output directory.
    let output = daemon.output_dir().join("web01.qcow2");
    let script = answers(&[
        // Step 1, Source: path, type (inferred raw), name (the stem).
        "web.raw",
        "",
        "",
        // Step 2, Pipeline: inspect, then back to Source.
        "y",
        "back",
        // Step 1 again: the path and type kept, a new name.
        "",
        "",
        "web01",
        // Step 2: inspect on, fix off.
        "",
        "n",
        // Step 3, Output: raw, no output file, validate on.
        "2",
        "",
        "",
        // Step 4, Review: back to Output.
        "back",
        // Step 3 again: qcow2 uncompressed into the output directory,
        // validate on.
        "qcow2",
        "n",
        output.to_str().unwrap(),
        "y",
        // Step 4: save and submit, to web01.yaml.
        "2",
        "web01.yaml",
    ]);
    let run = wfctl_in(
        &daemon.addr,
        &["manifest", "create", "-interactive", "-wait", "-json"],
        Some(&dir),
        &script,
    )
    .await
    .expect(0);
    for step in [
        "Step 1/4: Source",
        "Step 2/4: Pipeline",
        "Step 3/4: Output",
        "Step 4/4: Review",
    ] {
        assert_eq!(run.stderr.matches(step).count(), 2, "{step}: {run:?}");
    }
    let submitted = run.json();
    assert_eq!(submitted["vms"][0]["name"], "web01", "{submitted}");
    assert_eq!(
        submitted["vms"][0]["execution"]["state"],
        "EXECUTION_STATE_SUCCEEDED"
    );

    let written: Value =
        workflow_manager::yaml::from_str(&std::fs::read_to_string(dir.join("web01.yaml")).unwrap())
            .unwrap();
    assert_eq!(written["version"], "1.0");
    assert_eq!(written["name"], "web01");
    let pipeline = &written["pipeline"];
    assert_eq!(pipeline["load"]["source_type"], "raw");
    assert_eq!(pipeline["load"]["source_path"], disk.to_str().unwrap());
    assert_eq!(pipeline["inspect"]["enabled"], true);
    assert_eq!(pipeline["fix"]["enabled"], false);
    assert_eq!(pipeline["convert"]["output_format"], "qcow2");
    assert_eq!(pipeline["convert"]["compress"], false);
    assert_eq!(pipeline["convert"]["output_path"], output.to_str().unwrap());
    assert_eq!(pipeline["validate"]["enabled"], true);
    assert_eq!(image_format(&output), "qcow2");
    assert!(same_content(&disk, &output));
}

#[tokio::test]
async fn manifest_create_from_flags_and_generate_from_a_disk() {
    let daemon = Daemon::start().await;
    let dir = daemon.staging_dir();

    // Without a terminal (or -interactive) the flags are all there is.
    let no_source = at(&daemon, &["manifest", "create"]).await.expect(2);
    assert!(
        no_source.stderr.contains("needs -source-path"),
        "{no_source:?}"
    );
    at(
        &daemon,
        &[
            "manifest",
            "create",
            "-source-path",
            "a.vmdk",
            "-output-format",
            "qcow3",
        ],
    )
    .await
    .expect(2)
    .stderr_has("for -output-format");
    at(&daemon, &["manifest", "create", "-source-path", "img.ami"])
        .await
        .expect(5)
        .stderr_has("pipeline.load.ami_id: is required");
    let printed = at(
        &daemon,
        &[
            "manifest",
            "create",
            "-source-path",
            "web.vmdk",
            "-output-format",
            "raw",
            "-fix=false",
            "-format",
            "yaml",
        ],
    )
    .await
    .expect(0);
    let printed: Value = workflow_manager::yaml::from_str(&printed.stdout).unwrap();
    let pipeline = &printed["pipeline"];
    assert_eq!(pipeline["load"]["source_type"], "vmdk");
    assert_eq!(
        pipeline["load"]["source_path"],
        dir.join("web.vmdk").to_str().unwrap()
    );
    assert_eq!(pipeline["fix"]["enabled"], false);
    assert_eq!(
        pipeline["convert"]["compress"], false,
        "only qcow2 compresses"
    );

    let file = [
        "manifest",
        "create",
        "-source-path",
        "web.vmdk",
        "-file",
        "m.json",
    ];
    let written = at(&daemon, &file).await.expect(0);
    assert_eq!(written.stdout.trim(), "m.json");
    let again = at(&daemon, &file).await.expect(2);
    assert!(
        again.stderr.contains("already exists; give -force"),
        "{again:?}"
    );
    at(
        &daemon,
        &[
            "manifest",
            "create",
            "-source-path",
            "web.vmdk",
            "-file",
            "m.json",
            "-force",
        ],
    )
    .await
    .expect(0);
    at(&daemon, &["manifest", "validate", "-file", "m.json"])
        .await
        .expect(0)
        .stdout_has("valid single-VM manifest");

    // Interactive: cancel writes nothing; input that ends early is an error.
    wfctl_in(
        &daemon.addr,
        &["manifest", "create", "-interactive", "-file", "c.json"],
        Some(&dir),
        &answers(&["web.vmdk", "cancel"]),
    )
    .await
    .expect(0)
    .stderr_has("cancelled");
    assert!(!dir.join("c.json").exists());
    let ended = wfctl_in(
        &daemon.addr,
        &["manifest", "create", "-interactive"],
        Some(&dir),
        &answers(&["web.vmdk", ""]),
    )
    .await
    .expect(2);
    assert!(
        ended
            .stderr
            .contains("standard input ended during the Source step"),
        "{ended:?}"
    );

    // generate: hyperctl's defaults for one disk, in OUT_DIR.
    let disk = make_disk(&dir, "legacy.vmdk", "vmdk");
    let generated = at(&daemon, &["manifest", "generate", "legacy.vmdk", "out"])
        .await
        .expect(0);
    assert_eq!(generated.stdout.trim(), "out/legacy-manifest.json");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/legacy-manifest.json")).unwrap(),
    )
    .unwrap();
    let pipeline = &manifest["pipeline"];
    assert_eq!(manifest["name"], "legacy");
    assert_eq!(pipeline["load"]["source_type"], "vmdk");
    assert_eq!(pipeline["load"]["source_path"], disk.to_str().unwrap());
    assert_eq!(pipeline["inspect"]["detect_os"], true);
    assert_eq!(pipeline["fix"]["fstab"]["mode"], "stabilize-all");
    assert_eq!(pipeline["fix"]["initramfs"]["regenerate"], true);
    assert_eq!(pipeline["fix"]["network"]["fix_level"], "full");
    assert_eq!(pipeline["convert"]["output_format"], "qcow2");
    assert_eq!(pipeline["convert"]["compress"], true);
    assert_eq!(pipeline["validate"]["boot_test"], false);
    at(
        &daemon,
        &["manifest", "validate", "-file", "out/legacy-manifest.json"],
    )
    .await
    .expect(0);
    at(&daemon, &["manifest", "generate", "legacy.vmdk", "out"])
        .await
        .expect(2)
        .stderr_has("already exists");
    at(&daemon, &["manifest", "generate", "gone.vmdk", "out"])
        .await
        .expect(2)
        .stderr_has("cannot read gone.vmdk");
    std::fs::write(dir.join("disk.bin"), b"data").unwrap();
    at(&daemon, &["manifest", "generate", "disk.bin", "out"])
        .await
        .expect(2)
        .stderr_has("give -source-type");
    at(&daemon, &["manifest", "generate", "legacy.vmdk"])
        .await
        .expect(2);
}
