//! The program run directly: its metadata, the policy it needs, and each
//! stage (load, fix, convert, validate with the boot test) on real images.

use std::{fs, path::Path, process::Command as StdCommand};

use serde_json::{json, Value};
use tempfile::TempDir;
use workflow_manager::{
    events::WorkflowEvent,
    workflow::{FieldType, WorkflowMetadata},
};

use crate::helper::*;

use super::images::*;
use super::run::*;

#[test]
fn metadata_declares_the_vm_pipeline_fields() {
    let out = StdCommand::new(PROGRAM)
        .arg("--workflow-metadata")
        .output()
        .unwrap();
    assert!(out.status.success());
    let meta: WorkflowMetadata = serde_json::from_slice(&out.stdout).unwrap();
    meta.check().unwrap();
    assert_eq!(meta.id, "vm_pipeline");
    assert_eq!(meta.name, "VM conversion pipeline");
    let fields: Vec<(&str, &str, bool)> = meta
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.cli_arg.as_str(), f.required))
        .collect();
    assert_eq!(
        fields,
        [
            ("manifest", "--manifest", true),
            ("output_dir", "--output-dir", false),
            ("fix_tool", "--fix-tool", false),
            ("require_fix", "--require-fix", false),
            ("boot_accel", "--boot-accel", false),
        ]
    );
    assert_eq!(
        meta.fields[4].field_type,
        FieldType::Select {
            options: vec!["kvm:tcg".into(), "tcg".into(), "kvm".into()]
        }
    );
    assert_eq!(meta.fields[4].default.as_deref(), Some("kvm:tcg"));
    assert_eq!(
        meta.fields[0].field_type,
        FieldType::FilePath {
            pattern: Some("*.json".into())
        }
    );
    assert_eq!(meta.fields[3].default.as_deref(), Some("false"));
    // Without a policy only the built-in fallback can be picked; discovery
    // passes the policy, whose configured tools become the options.
    let fix_tool = |meta: &WorkflowMetadata| meta.fields[2].field_type.clone();
    assert_eq!(
        fix_tool(&meta),
        FieldType::Select {
            options: vec!["virt-customize".into()]
        }
    );
    let out = StdCommand::new(PROGRAM)
        .arg("--workflow-metadata")
        .env(
            "WORKFLOWD_POLICY",
            json!({"output_dir": "/o", "fix_tools": {"hyper2kvm": {"argv": ["/usr/bin/hyper2kvm", "{disk}"]}}})
                .to_string(),
        )
        .output()
        .unwrap();
    let meta: WorkflowMetadata = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        fix_tool(&meta),
        FieldType::Select {
            options: vec!["virt-customize".into(), "hyper2kvm".into()]
        }
    );
}

#[test]
fn without_a_policy_the_program_refuses_to_run_and_says_how_to_set_one() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 1);
    let m = qcow2_manifest(&d.join("vm.json"), "raw", &base);
    let out = StdCommand::new(PROGRAM)
        .arg("--manifest")
        .arg(&m)
        .current_dir(d)
        .env_remove("WORKFLOWD_POLICY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WORKFLOWD_POLICY is not set")
            && stderr.contains(r#"{"output_dir": "#)
            && stderr.contains("source_roots"),
        "{stderr}"
    );
    assert!(
        fs::read_dir(d).unwrap().count() == 2,
        "nothing was written: no report, no output"
    );
}

#[test]
fn conversions_are_verified_with_qemu_img() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 8);
    let vmdk = image_as(&base, "vmdk", &d.join("src.vmdk"));
    let vhdx = image_as(&base, "vhdx", &d.join("src.vhdx"));
    let qcow2 = image_as(&base, "qcow2", &d.join("src.qcow2"));
    let out_dir = d.join("out");
    let date = regex::Regex::new(r"/out/\d{4}-\d{2}-\d{2}/raw-vm/raw-vm\.qcow2$").unwrap();

    // raw -> qcow2, compressed, default path under --output-dir.
    let m = vm_manifest(
        &d.join("raw-vm.json"),
        "raw",
        &base,
        json!({"output_format": "qcow2", "compress": true}),
        json!({}),
    );
    let run = run_direct(&d.join("w1"), &m, &["--output-dir", s(&out_dir)]);
    run.assert_succeeded();
    let output = run.output();
    assert!(date.is_match(s(&output)), "{}", output.display());
    assert_eq!(image_format(&output), "qcow2");
    assert_eq!(compare(&base, &output), 0);
    let check: Value =
        serde_json::from_slice(&qemu_img_ok(&["check", "--output=json", s(&output)]).stdout)
            .unwrap();
    assert!(
        check["compressed-clusters"].as_u64() > Some(0),
        "compressed: {check}"
    );
    assert_eq!(
        run.report_path,
        d.join("w1/raw-vm.report.json"),
        "the report is in the working directory"
    );
    let inspected = &run.stage("inspect")["result"]["disks"][0];
    assert_eq!(inspected["format"], "raw");
    assert_eq!(inspected["virtual_size"], 8 * MIB);
    assert!(run.warnings().contains("libguestfs"), "{}", run.warnings());
    assert!(
        run.warnings().contains("guest fixes NOT applied"),
        "{}",
        run.warnings()
    );
    assert_eq!(
        run.stage("validate")["result"]["outputs"][0]["compare"]["status"],
        "identical"
    );

    // vmdk -> qcow2 uncompressed; a relative output_path lands in the output dir.
    let m = vm_manifest(
        &d.join("vmdk-vm.json"),
        "vmdk",
        &vmdk,
        json!({"output_format": "qcow2", "compress": false, "output_path": "vms/web.qcow2"}),
        json!({}),
    );
    let run = run_direct(&d.join("w2"), &m, &["--output-dir", s(&out_dir)]);
    run.assert_succeeded();
    assert_eq!(run.output(), out_dir.join("vms/web.qcow2"));
    assert_eq!(image_format(&run.output()), "qcow2");
    assert_eq!(compare(&base, &run.output()), 0);

    // vhdx -> raw to an absolute output_path.
    let target = d.join("abs/vhdx-vm.raw");
    let m = vm_manifest(
        &d.join("vhdx-vm.json"),
        "vhdx",
        &vhdx,
        json!({"output_format": "raw", "compress": false, "output_path": target}),
        json!({}),
    );
    let run = run_direct(&d.join("w3"), &m, &[]);
    run.assert_succeeded();
    assert_eq!(run.output(), target);
    assert_eq!(image_format(&target), "raw");
    assert_eq!(compare(&base, &target), 0);
    assert_eq!(
        run.stage("validate")["result"]["outputs"][0]["check"]["status"],
        "not_supported",
        "raw has no consistency check"
    );

    // qcow2 -> vdi, no output dir: the policy's output directory;
    // compress on a non-qcow2 format is a warning, not an error.
    let m = vm_manifest(
        &d.join("q-vm.json"),
        "qcow2",
        &qcow2,
        json!({"output_format": "vdi", "compress": true}),
        json!({}),
    );
    let run = run_direct(&d.join("w4"), &m, &[]);
    run.assert_succeeded();
    let dated = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}/q-vm/q-vm\.vdi$").unwrap();
    let below = run.output().strip_prefix(d).unwrap().to_path_buf();
    assert!(dated.is_match(s(&below)), "{}", below.display());
    assert_eq!(image_format(&run.output()), "vdi");
    assert_eq!(compare(&base, &run.output()), 0);
    assert!(run
        .warnings()
        .contains("compress is only supported for qcow2"));
    // Nothing but the output and the report is left behind.
    let mut left: Vec<String> = fs::read_dir(d.join("w4"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["q-vm.report.json"]);
}

#[test]
fn ovf_and_ova_sources_are_read_for_their_disks() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 4);
    let pkg = d.join("pkg");
    fs::create_dir(&pkg).unwrap();
    image_as(&base, "vmdk", &pkg.join("system-disk1.vmdk"));
    let ovf = pkg.join("appliance.ovf");
    fs::write(
        &ovf,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="system-disk1.vmdk" ovf:id="file1" ovf:size="1"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="4" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
</Envelope>
"#,
    )
    .unwrap();

    let m = qcow2_manifest(&d.join("ovf-vm.json"), "ovf", &ovf);
    let run = run_direct(&d.join("w-ovf"), &m, &[]);
    run.assert_succeeded();
    assert_eq!(
        run.stage("load")["result"]["disks"][0]["path"],
        json!(pkg.join("system-disk1.vmdk"))
    );
    assert_eq!(compare(&base, &run.output()), 0);

    // The same two files in a tar: an OVA.
    let ova = d.join("appliance.ova");
    let mut tar = tar::Builder::new(fs::File::create(&ova).unwrap());
    tar.append_path_with_name(&ovf, "appliance.ovf").unwrap();
    tar.append_path_with_name(pkg.join("system-disk1.vmdk"), "system-disk1.vmdk")
        .unwrap();
    tar.finish().unwrap();
    drop(tar);
    let m = qcow2_manifest(&d.join("ova-vm.json"), "ova", &ova);
    let work = d.join("w-ova");
    let run = run_direct(&work, &m, &[]);
    run.assert_succeeded();
    assert_eq!(image_format(&run.output()), "qcow2");
    assert_eq!(compare(&base, &run.output()), 0);
    assert!(
        !work.join("ova-vm.work").exists(),
        "the unpacked OVA is removed after the run"
    );

    // Not a tar at all.
    let m = qcow2_manifest(&d.join("bad-ova.json"), "ova", &base);
    let run = run_direct(&d.join("w-bad"), &m, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.status("load"), "failed");
}

#[test]
fn load_failures_are_reported_and_stop_the_pipeline() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 2);
    let qcow2 = image_as(&base, "qcow2", &d.join("disk.qcow2"));

    // A qcow2 file that the manifest calls a vhdx.
    let m = vm_manifest(
        &d.join("liar.json"),
        "vhdx",
        &qcow2,
        json!({"output_format": "raw"}),
        json!({}),
    );
    let run = run_direct(&d.join("w1"), &m, &[]);
    assert_eq!(run.code, 1);
    let error = run.stage("load")["error"].as_str().unwrap();
    assert!(error.contains("is a qcow2 image, not vhdx"), "{error}");
    assert!(run.events.iter().any(|e| matches!(
        e,
        WorkflowEvent::PhaseFailed { phase: 0, name, .. } if name == "load"
    )));
    for stage in ["inspect", "fix", "convert", "validate"] {
        assert_eq!(run.status(stage), "not_run", "{stage}");
    }
    assert_eq!(run.report["pipeline"]["success"], false);
    assert_eq!(run.report["summary"]["failed_stages"], 1);
    assert_eq!(run.report["artifacts"], json!([]));

    // A source that is not there.
    let missing = d.join("nowhere/disk.vmdk");
    let m = qcow2_manifest(&d.join("ghost.json"), "vmdk", &missing);
    let run = run_direct(&d.join("w2"), &m, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.report["errors"],
        json!([format!("load: source {} does not exist", missing.display())])
    );

    // A manifest that is not a pipeline: the report still says why.
    let bad = d.join("broken.json");
    fs::write(
        &bad,
        r#"{"name": "broken", "pipeline": {"load": {"source_type": "iso", "source_path": "/x"}}}"#,
    )
    .unwrap();
    let run = run_direct(&d.join("w3"), &bad, &[]);
    assert_eq!(run.code, 1);
    assert!(run.report["errors"][0]
        .as_str()
        .unwrap()
        .contains("unknown variant `iso`"));
}

#[test]
fn fixes_without_guest_tooling_are_skipped_or_fail_when_required() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 2);
    let m = qcow2_manifest(&d.join("strict.json"), "raw", &base);
    let work = d.join("w1");
    let mut policy = test_policy(&work);
    policy["fix_tools"] = json!({"missing": {"argv": ["/nonexistent/no-such-fixer", "{disk}"]}});
    let run = run_direct_with(
        &work,
        &m,
        &["--require-fix", "true", "--fix-tool", "missing"],
        &policy,
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.status("fix"), "failed");
    let error = run.stage("fix")["error"].as_str().unwrap();
    assert!(
        error.contains("NOT applied")
            && error.contains("no-such-fixer")
            && error.contains("require_fix"),
        "{error}"
    );
    assert_eq!(run.status("convert"), "not_run");
    assert_eq!(run.report["artifacts"], json!([]), "nothing was converted");

    // Stages switched off are reported as skipped, and a fix stage with
    // nothing requested is skipped without a warning.
    let m = vm_manifest(
        &d.join("lean.json"),
        "raw",
        &base,
        json!({"output_format": "raw", "compress": false}),
        json!({"inspect": {"enabled": false},
               "fix": {"fstab": {"mode": "noop"}, "grub": {"enabled": false},
                       "initramfs": {"regenerate": false}, "network": {"fix_level": "none"}},
               "validate": {"enabled": false}}),
    );
    let run = run_direct(&d.join("w2"), &m, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.status("inspect"), "skipped");
    assert_eq!(run.status("fix"), "skipped");
    assert_eq!(run.status("validate"), "skipped");
    assert_eq!(run.status("convert"), "succeeded");
    assert_eq!(
        run.stage("validate")["result"]["reason"],
        "disabled in the manifest (enabled: false)"
    );
    assert_eq!(run.report["warnings"], json!([]));
    assert_eq!(run.report["summary"]["skipped_stages"], 3);
}

#[test]
fn the_boot_test_boots_the_output_and_fails_a_disk_with_nothing_to_boot() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let validate = json!({"validate": {"boot_test": true, "boot_test_seconds": 3}});
    // Emulated: KVM nested in this test VM spends seconds in the firmware.
    // Said by the manifest here, by the program's input below.
    let tcg = ["--boot-accel", "tcg"];

    // A disk with a boot sector, converted to qcow2 and booted from that.
    let m = vm_manifest(
        &d.join("boots.json"),
        "raw",
        &bootable_image(&d.join("boots.raw")),
        json!({"output_format": "qcow2"}),
        json!({"validate": {"boot_test": true, "boot_test_seconds": 3, "boot_accel": "tcg"}}),
    );
    let run = run_direct(&d.join("w1"), &m, &[]);
    run.assert_succeeded();
    let boot = &run.stage("validate")["result"]["boot_test"];
    assert_eq!(boot["status"], "ran", "{boot:#}");
    assert_eq!(boot["seconds"], 3);
    assert_eq!(boot["accelerator"], "tcg");
    assert!(
        boot["serial_tail"]
            .as_str()
            .is_some_and(|tail| tail.contains(BOOT_MESSAGE)),
        "the guest's serial output is kept: {boot:#}"
    );

    // The same kind of disk without a boot sector: SeaBIOS finds nothing to
    // boot, which must not pass for a guest that runs.
    let m = vm_manifest(
        &d.join("blank.json"),
        "raw",
        &raw_image(&d.join("blank.raw"), 1),
        json!({"output_format": "qcow2"}),
        validate,
    );
    let run = run_direct(&d.join("w2"), &m, &tcg);
    assert_eq!(run.code, 1, "report: {:#}", run.report);
    assert_eq!(run.status("validate"), "failed");
    let error = run.stage("validate")["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "boot test: the BIOS found nothing to boot on {}",
            run.output().display()
        )),
        "{error}"
    );
}

#[test]
fn a_configured_fix_tool_works_on_an_overlay_and_never_touches_the_source() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 4);
    let pristine = image_as(&base, "raw", &d.join("pristine.raw"));
    // A stand-in for hyper2kvm: keeps its arguments, one per line, and the
    // fix request it was handed, then writes a pattern into its disk.
    let fixer = write_program(
        d,
        "fake-fixer",
        "#!/bin/sh\nset -e\nprintf '%s' \"$VM_PIPELINE_FIX\" > fix-request.json\n\
         printf '%s\\n' \"$#\" \"$@\" > fix-argv.txt\n\
         echo \"fixing $2 with $1\"\nexec qemu-io -f qcow2 -c 'write -P 0x42 1M 64k' \"$2\"\n",
    );
    let m = vm_manifest(
        &d.join("fixed.json"),
        "raw",
        &base,
        json!({"output_format": "qcow2"}),
        json!({"fix": {"fstab": {"mode": "bypath-only"}, "tool": "fake"}}),
    );
    // A space in the working directory, so in the overlay's path: the
    // placeholder must arrive as one argument all the same.
    let work = d.join("w x");
    let mut policy = test_policy(&work);
    policy["fix_tools"] = json!({"fake": {"argv": [fixer, "--all", "{disk}", "{name}"]}});
    let run = run_direct_with(&work, &m, &["--require-fix", "true"], &policy);
    run.assert_fix_ran();
    let argv = fs::read_to_string(work.join("fix-argv.txt")).unwrap();
    let argv: Vec<&str> = argv.lines().collect();
    assert_eq!(argv.len(), 4, "{argv:?}");
    assert_eq!(argv[..2], ["3", "--all"], "{argv:?}");
    // In the run's scratch directory, named as the partial it is until
    // the run ends.
    let scratch = Path::new(argv[2]).parent().unwrap();
    assert_eq!(scratch.parent(), Some(work.as_path()), "{argv:?}");
    assert!(
        scratch
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".fixed.work.partial-"),
        "{argv:?}"
    );
    assert!(argv[2].ends_with("fixed-disk1.fixed.qcow2"), "{argv:?}");
    assert_eq!(argv[3], "fixed");

    // A name the operator did not configure is refused, naming the ones
    // that are.
    let m = vm_manifest(
        &d.join("unknown.json"),
        "raw",
        &base,
        json!({"output_format": "qcow2"}),
        json!({"fix": {"tool": "/bin/sh"}}),
    );
    let refused = run_direct_with(&d.join("w2"), &m, &[], &policy);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stage("fix")["error"],
        "fix.tool \"/bin/sh\" is not a configured fix tool; the configured ones \
         (setting fix_tools) are: virt-customize, fake"
    );
    assert_eq!(compare(&base, &pristine), 0, "the source is unchanged");
    assert_eq!(compare(&base, &run.output()), 1, "the fix is in the output");
    let request: Value =
        serde_json::from_slice(&fs::read(work.join("fix-request.json")).unwrap()).unwrap();
    assert_eq!(request["fstab"]["mode"], "bypath-only");
    assert!(run.stdout.contains("fixing"), "{}", run.stdout);
    assert!(!work.join("fixed.work").exists(), "the overlay is removed");
}

impl Direct {
    fn assert_fix_ran(&self) {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nreport: {:#}",
            self.stdout, self.report
        );
        assert_eq!(self.status("fix"), "succeeded");
        assert_eq!(self.stage("fix")["result"]["tool"], "fake");
        assert_eq!(self.status("validate"), "succeeded");
    }
}
