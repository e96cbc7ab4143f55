//! The VM pipeline program (`workflow-vm-pipeline`) on small images the
//! tests make with the real qemu-img: run directly (events on stderr, the
//! report file) and through a real daemon (tree, artifacts, errors, cancel).

use std::{
    fs,
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::{Path, PathBuf},
    process::{Command as StdCommand, Output},
    time::Duration,
};

use serde_json::{json, Value};
use tempfile::TempDir;
use workflow_manager::{
    events::{WorkflowEvent, EVENT_PREFIX},
    workflow::{FieldType, WorkflowMetadata},
};

use crate::helper::*;

const PROGRAM: &str = env!("CARGO_BIN_EXE_workflow-vm-pipeline");
const MIB: u64 = 1 << 20;

// ---- images ---------------------------------------------------------------

fn qemu_img(args: &[&str]) -> Output {
    StdCommand::new("qemu-img")
        .args(args)
        .output()
        .expect("qemu-img runs (the test script installs qemu-utils)")
}

fn qemu_img_ok(args: &[&str]) -> Output {
    let out = qemu_img(args);
    assert!(
        out.status.success(),
        "qemu-img {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The format qemu-img detects.
fn image_format(path: &Path) -> String {
    let out = qemu_img_ok(&["info", "--output=json", s(path)]);
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    info["format"].as_str().unwrap().to_string()
}

/// `qemu-img compare` exit code: 0 identical, 1 different.
fn compare(a: &Path, b: &Path) -> i32 {
    qemu_img(&["compare", s(a), s(b)])
        .status
        .code()
        .unwrap_or(-1)
}

/// A raw image of `mib` MiB with distinct 64 KiB data blocks at a few
/// offsets (start, a third, unaligned middle, end): small, but every
/// conversion has real data to carry.
fn raw_image(path: &Path, mib: u64) -> PathBuf {
    qemu_img_ok(&["create", "-q", "-f", "raw", s(path), &format!("{mib}M")]);
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    let size = mib * MIB;
    for (i, offset) in [0, size / 3, size / 2 + 12_345, size - 65_536]
        .into_iter()
        .enumerate()
    {
        let block: Vec<u8> = (0..65_536u32)
            .map(|j| ((j * 7 + i as u32 * 13) % 251) as u8 ^ 0x5a)
            .collect();
        file.write_all_at(&block, offset).unwrap();
    }
    path.to_path_buf()
}

/// What the boot sector of [`bootable_image`] prints.
const BOOT_MESSAGE: &str = "BOOT OK";

/// A 1 MiB raw disk whose boot sector prints [`BOOT_MESSAGE`] on the first
/// serial port and halts with interrupts off: the BIOS boots it and the
/// guest then stays up, doing nothing, until qemu is stopped.
fn bootable_image(path: &Path) -> PathBuf {
    // 16-bit code loaded at 0x7c00, assembled by hand; the message follows
    // at 0x7c17 (offset 23).
    #[rustfmt::skip]
    let code: [u8; 23] = [
        0xfc,             // cld
        0x31, 0xc0,       // xor ax, ax
        0x8e, 0xd8,       // mov ds, ax
        0xbe, 0x17, 0x7c, // mov si, 0x7c17 (the message)
        0xba, 0xf8, 0x03, // mov dx, 0x3f8 (COM1)
        0xac,             // next: lodsb
        0x84, 0xc0,       //   test al, al
        0x74, 0x03,       //   jz halt
        0xee,             //   out dx, al
        0xeb, 0xf8,       //   jmp next
        0xfa,             // halt: cli
        0xf4,             //   hlt
        0xeb, 0xfc,       //   jmp halt
    ];
    let mut sector = code.to_vec();
    sector.extend_from_slice(BOOT_MESSAGE.as_bytes());
    sector.extend_from_slice(b"\r\n\0");
    sector.resize(510, 0);
    sector.extend_from_slice(&[0x55, 0xaa]);
    sector.resize(MIB as usize, 0);
    fs::write(path, sector).unwrap();
    path.to_path_buf()
}

/// A raw image of 256 MiB, half of it incompressible data: compressing it
/// takes seconds, while the first progress event comes at once, so a test
/// can stop a run mid-convert.
fn slow_to_convert_image(path: &Path) -> PathBuf {
    qemu_img_ok(&["create", "-q", "-f", "raw", s(path), "256M"]);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let block: Vec<u8> = (0..MIB / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    for i in (0..256).step_by(2) {
        file.write_all_at(&block, i * MIB).unwrap();
    }
    path.to_path_buf()
}

/// The raw base converted to another format.
fn image_as(base: &Path, format: &str, path: &Path) -> PathBuf {
    qemu_img_ok(&["convert", "-q", "-f", "raw", "-O", format, s(base), s(path)]);
    path.to_path_buf()
}

/// Writes a per-VM manifest as the daemon hands it to the program.
fn write_manifest(path: &Path, name: &str, load: Value, convert: Value, more: Value) -> PathBuf {
    let mut pipeline = json!({ "load": load, "convert": convert });
    if let (Some(p), Some(more)) = (pipeline.as_object_mut(), more.as_object()) {
        for (k, v) in more {
            p.insert(k.clone(), v.clone());
        }
    }
    fs::write(
        path,
        serde_json::to_vec_pretty(&json!({ "name": name, "pipeline": pipeline })).unwrap(),
    )
    .unwrap();
    path.to_path_buf()
}

// ---- running the program directly ------------------------------------------

struct Direct {
    code: i32,
    events: Vec<WorkflowEvent>,
    stdout: String,
    report_path: PathBuf,
    report: Value,
}

/// The policy of [`run_direct`]: the test's temp dir (the parent of the
/// working directory) is both the source root and the output directory.
fn test_policy(work_dir: &Path) -> Value {
    let dir = work_dir
        .parent()
        .expect("the work dir is in the test's dir");
    json!({"output_dir": dir, "source_roots": [dir]})
}

/// Runs the program in `work_dir` under [`test_policy`] and reads its
/// events and its report.
fn run_direct(work_dir: &Path, manifest: &Path, extra: &[&str]) -> Direct {
    run_direct_with(work_dir, manifest, extra, &test_policy(work_dir))
}

/// Runs the program in `work_dir` with this policy (WORKFLOWD_POLICY) and
/// reads its events and its report.
fn run_direct_with(work_dir: &Path, manifest: &Path, extra: &[&str], policy: &Value) -> Direct {
    fs::create_dir_all(work_dir).unwrap();
    let out = StdCommand::new(PROGRAM)
        .arg("--manifest")
        .arg(manifest)
        .args(extra)
        .current_dir(work_dir)
        .env("WORKFLOWD_POLICY", policy.to_string())
        .output()
        .expect("run workflow-vm-pipeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<WorkflowEvent> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(EVENT_PREFIX))
        .map(|json| serde_json::from_str(json).expect("every event line parses"))
        .collect();
    let report_path = events
        .iter()
        .find_map(|e| match e {
            WorkflowEvent::StateFileCreated {
                phase: 4,
                file_path,
                description,
            } if description == "pipeline report" => Some(PathBuf::from(file_path)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no report announced; stderr:\n{stderr}"));
    let report = serde_json::from_slice(&fs::read(&report_path).unwrap()).unwrap();
    Direct {
        code: out.status.code().unwrap_or(-1),
        events,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        report_path,
        report,
    }
}

impl Direct {
    fn stage(&self, name: &str) -> &Value {
        &self.report["pipeline"]["stages"][name]
    }

    fn status(&self, name: &str) -> &str {
        self.stage(name)["status"].as_str().unwrap_or("?")
    }

    fn warnings(&self) -> String {
        self.report["warnings"].to_string()
    }

    fn convert_percents(&self) -> Vec<i64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                WorkflowEvent::TaskProgress { task_id, message } if task_id == "convert" => message
                    .strip_prefix("converting ")?
                    .strip_suffix('%')?
                    .parse()
                    .ok(),
                _ => None,
            })
            .collect()
    }

    fn output(&self) -> PathBuf {
        PathBuf::from(
            self.report["artifacts"][0]["path"]
                .as_str()
                .expect("an artifact"),
        )
    }

    /// Asserts a successful run with fix skipped (no guest tooling here).
    fn assert_succeeded(&self) {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nreport: {:#}",
            self.stdout, self.report
        );
        assert_eq!(self.report["pipeline"]["success"], true);
        for stage in ["load", "inspect", "convert", "validate"] {
            assert_eq!(self.status(stage), "succeeded", "{stage}");
        }
        assert_eq!(self.status("fix"), "skipped");
        assert_eq!(
            self.report["summary"],
            json!({"total_stages": 5, "successful_stages": 4, "failed_stages": 0,
                   "skipped_stages": 1, "not_run_stages": 0})
        );
        let phases: Vec<(i32, i32)> = self
            .events
            .iter()
            .filter_map(|e| match e {
                WorkflowEvent::PhaseStarted {
                    phase,
                    total_phases,
                    ..
                } => Some((*phase, *total_phases)),
                _ => None,
            })
            .collect();
        assert_eq!(phases, [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]);
        let percents = self.convert_percents();
        assert!(
            percents.windows(2).all(|w| w[0] < w[1]) && percents.last() == Some(&100),
            "at most one event per whole percent, ending at 100: {percents:?}"
        );
        assert!(matches!(
            self.events.last(),
            Some(WorkflowEvent::StateFileCreated { .. })
        ));
        let artifact = &self.report["artifacts"][0];
        assert_eq!(artifact["type"], "disk");
        assert_eq!(
            artifact["size_bytes"].as_u64(),
            Some(fs::metadata(self.output()).unwrap().len())
        );
    }
}

// ---- direct runs --------------------------------------------------------------

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
    let m = write_manifest(
        &d.join("vm.json"),
        "vm",
        json!({"source_type": "raw", "source_path": base}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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
    let m = write_manifest(
        &d.join("raw-vm.json"),
        "raw-vm",
        json!({"source_type": "raw", "source_path": base}),
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
    let m = write_manifest(
        &d.join("vmdk-vm.json"),
        "vmdk-vm",
        json!({"source_type": "vmdk", "source_path": vmdk}),
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
    let m = write_manifest(
        &d.join("vhdx-vm.json"),
        "vhdx-vm",
        json!({"source_type": "vhdx", "source_path": vhdx}),
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
    let m = write_manifest(
        &d.join("q-vm.json"),
        "q-vm",
        json!({"source_type": "qcow2", "source_path": qcow2}),
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

    let m = write_manifest(
        &d.join("ovf-vm.json"),
        "ovf-vm",
        json!({"source_type": "ovf", "source_path": ovf}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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
    let m = write_manifest(
        &d.join("ova-vm.json"),
        "ova-vm",
        json!({"source_type": "ova", "source_path": ova}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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
    let m = write_manifest(
        &d.join("bad-ova.json"),
        "bad-ova",
        json!({"source_type": "ova", "source_path": base}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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
    let m = write_manifest(
        &d.join("liar.json"),
        "liar",
        json!({"source_type": "vhdx", "source_path": qcow2}),
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
    let m = write_manifest(
        &d.join("ghost.json"),
        "ghost",
        json!({"source_type": "vmdk", "source_path": missing}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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
    let m = write_manifest(
        &d.join("strict.json"),
        "strict",
        json!({"source_type": "raw", "source_path": base}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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
    let m = write_manifest(
        &d.join("lean.json"),
        "lean",
        json!({"source_type": "raw", "source_path": base}),
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
    let m = write_manifest(
        &d.join("boots.json"),
        "boots",
        json!({"source_type": "raw", "source_path": bootable_image(&d.join("boots.raw"))}),
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
    let m = write_manifest(
        &d.join("blank.json"),
        "blank",
        json!({"source_type": "raw", "source_path": raw_image(&d.join("blank.raw"), 1)}),
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
    let m = write_manifest(
        &d.join("fixed.json"),
        "fixed",
        json!({"source_type": "raw", "source_path": base}),
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
    let m = write_manifest(
        &d.join("unknown.json"),
        "unknown",
        json!({"source_type": "raw", "source_path": base}),
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

// ---- through the daemon ---------------------------------------------------------

/// A workflow directory holding only a symlink to the pipeline binary.
fn pipeline_dir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("vm-pipeline-workflows-")
        .tempdir()
        .unwrap();
    std::os::unix::fs::symlink(PROGRAM, dir.path().join("workflow-vm-pipeline")).unwrap();
    dir
}

async fn pipeline_daemon() -> (Daemon, TempDir) {
    let dir = pipeline_dir();
    let daemon = Daemon::builder().workflow_dir(dir.path()).start().await;
    (daemon, dir)
}

/// The report the execution announced as an artifact.
fn execution_report(exec: &pb::Execution) -> Value {
    let artifact = exec
        .artifacts
        .iter()
        .find(|a| a.description == "pipeline report" && a.phase == 4)
        .unwrap_or_else(|| panic!("no report artifact: {:?}", exec.artifacts));
    serde_json::from_slice(&fs::read(&artifact.path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_daemon_runs_the_pipeline_as_an_ordinary_execution() {
    let (daemon, _dir) = pipeline_daemon().await;
    let base = raw_image(&daemon.file("base.raw"), 8);
    let vmdk = image_as(&base, "vmdk", &daemon.file("web.vmdk"));
    let m = write_manifest(
        &daemon.file("web.json"),
        "web",
        json!({"source_type": "vmdk", "source_path": vmdk}),
        json!({"output_format": "qcow2", "compress": true, "output_path": "web.qcow2"}),
        json!({}),
    );
    let out_dir = daemon.output_dir().join("out");
    let exec = daemon
        .execute(
            "vm_pipeline",
            &[("manifest", text(s(&m))), ("output_dir", text(s(&out_dir)))],
        )
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Succeeded).await;

    let phases: Vec<(&str, pb::NodeStatus)> = exec
        .phases
        .iter()
        .map(|p| (p.name.as_str(), p.status()))
        .collect();
    assert_eq!(
        phases,
        ["load", "inspect", "fix", "convert", "validate"].map(|n| (n, pb::NodeStatus::Completed))
    );
    assert!(exec.phases.iter().all(|p| p.total_phases == 5));
    let convert = &exec.phases[3].tasks[0];
    assert_eq!(convert.task_id, "convert");
    assert_eq!(convert.percent, 100);
    assert!(exec.phases[2].tasks[0].result.starts_with("SKIPPED: "));

    let report = execution_report(&exec);
    assert_eq!(report["pipeline"]["success"], true);
    assert_eq!(report["pipeline"]["stages"]["fix"]["status"], "skipped");
    let output = out_dir.join("web.qcow2");
    assert_eq!(report["artifacts"][0]["path"], json!(output));
    assert_eq!(image_format(&output), "qcow2");
    assert_eq!(compare(&base, &output), 0);
}

#[tokio::test]
async fn the_daemon_reports_failed_pipelines_with_their_reason() {
    let (daemon, _dir) = pipeline_daemon().await;
    let base = raw_image(&daemon.file("base.raw"), 2);
    let missing = daemon.file("gone.vhd");
    let ghost = write_manifest(
        &daemon.file("ghost.json"),
        "ghost",
        json!({"source_type": "vhd", "source_path": missing}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
    let strict = write_manifest(
        &daemon.file("strict.json"),
        "strict",
        json!({"source_type": "raw", "source_path": base}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
    let ghost = daemon
        .execute("vm_pipeline", &[("manifest", text(s(&ghost)))])
        .await;
    let strict = daemon
        .execute(
            "vm_pipeline",
            &[
                ("manifest", text(s(&strict))),
                ("require_fix", text("true")),
            ],
        )
        .await;

    let ghost = daemon.wait_state(&ghost.id, ExecutionState::Failed).await;
    let expected = format!("source {} does not exist", missing.display());
    assert!(
        ghost.error.contains("load") && ghost.error.contains(&expected),
        "{}",
        ghost.error
    );
    assert_eq!(ghost.phases.len(), 1);
    assert_eq!(ghost.phases[0].status(), pb::NodeStatus::Failed);
    let report = execution_report(&ghost);
    assert_eq!(report["errors"], json!([format!("load: {expected}")]));

    let strict = daemon.wait_state(&strict.id, ExecutionState::Failed).await;
    assert!(
        strict.error.contains("phase fix failed") && strict.error.contains("require_fix"),
        "{}",
        strict.error
    );
    let report = execution_report(&strict);
    assert_eq!(report["pipeline"]["stages"]["fix"]["status"], "failed");
    assert_eq!(report["pipeline"]["stages"]["convert"]["status"], "not_run");
}

#[tokio::test]
async fn cancel_mid_convert_stops_qemu_img_and_leaves_no_partial_output() {
    let (daemon, _dir) = pipeline_daemon().await;
    let big = slow_to_convert_image(&daemon.file("big.raw"));
    let m = write_manifest(
        &daemon.file("big.json"),
        "big",
        json!({"source_type": "raw", "source_path": big}),
        json!({"output_format": "qcow2", "compress": true}),
        json!({}),
    );
    let out_dir = daemon.output_dir().join("big-out");
    let exec = daemon
        .execute(
            "vm_pipeline",
            &[("manifest", text(s(&m))), ("output_dir", text(s(&out_dir)))],
        )
        .await;
    daemon
        .wait_for_event(&exec.id, "the first convert progress", |e| {
            matches!(&e.payload, Some(Payload::TaskProgress(p))
                if p.task_id == "convert" && p.message.ends_with('%'))
        })
        .await;
    daemon
        .cancel(&exec.id, Some(Duration::from_secs(10)), false)
        .await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Cancelled).await;
    assert_eq!(exec.phases[3].name, "convert");
    assert_eq!(exec.phases[3].status(), pb::NodeStatus::Failed);
    assert!(
        exec.signal.is_none(),
        "the program exited by itself on SIGTERM: {exec:?}"
    );
    assert!(
        !out_dir.exists(),
        "no partial output (not even the directories made for it) is left: {:?}",
        fs::read_dir(&out_dir).map(|d| d.count())
    );
    let report = execution_report(&exec);
    assert_eq!(report["pipeline"]["cancelled"], true);
    assert_eq!(report["pipeline"]["stages"]["convert"]["status"], "failed");
    assert_eq!(report["artifacts"], json!([]));
}

// ---- the operator's policy: sources, outputs --------------------------------

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
    let m = write_manifest(
        &daemon.file("ovf.json"),
        "ovf",
        json!({"source_type": "ovf", "source_path": ovf}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
    let error = failed_run(&daemon, &m).await;
    assert!(
        error.contains("references \"link/shadow.raw\"")
            && error.contains("outside the OVF's own directory"),
        "{error}"
    );

    // Through the symlinked root: allowed, it is what the operator named.
    let base = raw_image(&st.join("real/ok.raw"), 1);
    let m = write_manifest(
        &daemon.file("ok.json"),
        "ok",
        json!({"source_type": "raw", "source_path": st.join("alias/ok.raw")}),
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
    let m = write_manifest(
        &daemon.file("dir.json"),
        "dir",
        json!({"source_type": "raw", "source_path": base}),
        json!({"output_format": "qcow2"}),
        json!({}),
    );
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

// ---- untrusted images -----------------------------------------------------------

/// What the host file the hostile images point at is made of: no image of
/// these tests holds it otherwise.
const SECRET_MARKER: &[u8] = b"HOST-SECRET-7f3a9c1e|";

/// A 1 MiB host file of [`SECRET_MARKER`]s, standing for /etc/shadow.
fn secret_file(path: &Path) -> PathBuf {
    let bytes: Vec<u8> = SECRET_MARKER
        .iter()
        .copied()
        .cycle()
        .take(MIB as usize)
        .collect();
    fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// Files below `dir` (symlinks not followed) holding the secret's bytes.
fn files_holding_the_secret(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(files_holding_the_secret(&entry.path()));
        } else if kind.is_file() {
            let bytes = fs::read(entry.path()).unwrap();
            if bytes
                .windows(SECRET_MARKER.len())
                .any(|w| w == SECRET_MARKER)
            {
                found.push(entry.path());
            }
        }
    }
    found
}

/// A VMDK text descriptor whose one extent is `extent` (FLAT, 1 MiB).
fn flat_extent_descriptor(path: &Path, extent: &str) -> PathBuf {
    fs::write(
        path,
        format!(
            "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n\
             createType=\"monolithicFlat\"\n\n# Extent description\n\
             RW 2048 FLAT \"{extent}\" 0\n\nddb.virtualHWVersion = \"4\"\n"
        ),
    )
    .unwrap();
    path.to_path_buf()
}

/// A sparse VMDK header with capacity 0 whose embedded descriptor lists
/// `extent` as a FLAT extent: qemu then reads the file as that descriptor.
fn embedded_descriptor_vmdk(path: &Path, extent: &str) -> PathBuf {
    let mut bytes = vec![0u8; 512];
    bytes[0..4].copy_from_slice(b"KDMV");
    bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    // capacity (12..20) stays 0
    bytes[20..28].copy_from_slice(&128u64.to_le_bytes());
    bytes[28..36].copy_from_slice(&1u64.to_le_bytes());
    bytes[36..44].copy_from_slice(&20u64.to_le_bytes());
    bytes[44..48].copy_from_slice(&512u32.to_le_bytes());
    let descriptor = format!(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n\
         createType=\"monolithicFlat\"\nRW 2048 FLAT \"{extent}\" 0\n"
    );
    bytes.extend_from_slice(descriptor.as_bytes());
    bytes.resize(21 * 512, 0);
    fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// A qcow2 of 1 MiB whose backing file is `backing` (a raw file), as
/// written, not checked by qemu-img (`-u`).
fn qcow2_backed_by(path: &Path, backing: &str) -> PathBuf {
    qemu_img_ok(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-u",
        "-F",
        "raw",
        "-b",
        backing,
        s(path),
        "1M",
    ]);
    path.to_path_buf()
}

/// Images in `<dir>/img/` that reach the secret `<dir>/secret.raw`, each
/// with its source type and the reference its refusal must name.
fn hostile_images(d: &Path) -> Vec<(PathBuf, &'static str, String)> {
    fs::create_dir_all(d).unwrap();
    let secret = secret_file(&d.join("secret.raw"));
    let secret = s(&secret).to_string();
    let img = d.join("img");
    fs::create_dir_all(&img).unwrap();
    std::os::unix::fs::symlink("../secret.raw", img.join("inside-link.raw")).unwrap();
    let json =
        format!(r#"json:{{"driver":"raw","file":{{"driver":"file","filename":"{secret}"}}}}"#);
    vec![
        (
            qcow2_backed_by(&img.join("abs.qcow2"), &secret),
            "qcow2",
            secret.clone(),
        ),
        (
            qcow2_backed_by(&img.join("rel.qcow2"), "../secret.raw"),
            "qcow2",
            "../secret.raw".into(),
        ),
        (
            qcow2_backed_by(&img.join("link.qcow2"), "inside-link.raw"),
            "qcow2",
            "inside-link.raw".into(),
        ),
        (
            qcow2_backed_by(&img.join("json.qcow2"), &json),
            "qcow2",
            json.clone(),
        ),
        (
            flat_extent_descriptor(&img.join("flat.vmdk"), &secret),
            "vmdk",
            secret.clone(),
        ),
        (
            flat_extent_descriptor(&img.join("relflat.vmdk"), "../secret.raw"),
            "vmdk",
            "../secret.raw".into(),
        ),
        (
            embedded_descriptor_vmdk(&img.join("embedded.vmdk"), &secret),
            "vmdk",
            secret.clone(),
        ),
        // A descriptor whose SPARSE extent next to it embeds a descriptor of
        // its own, whose FLAT extent is the host file.
        {
            embedded_descriptor_vmdk(&img.join("inner.vmdk"), &secret);
            let outer = img.join("nested.vmdk");
            fs::write(
                &outer,
                "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n\
                 createType=\"twoGbMaxExtentSparse\"\nRW 2048 SPARSE \"inner.vmdk\"\n",
            )
            .unwrap();
            (outer, "vmdk", secret)
        },
    ]
}

/// A sparse VMDK whose parent is `parent` (in its own directory), with the
/// hint written as qemu reads it but not as a plain `="` key: qemu skips
/// any two characters after `parentFileNameHint`.
fn vmdk_with_unusual_parent_hint(path: &Path, parent: &str) -> PathBuf {
    qemu_img_ok(&[
        "create",
        "-q",
        "-f",
        "vmdk",
        "-F",
        "vmdk",
        "-b",
        parent,
        s(path),
        "1M",
    ]);
    let bytes = fs::read(path).unwrap();
    let plain = format!("parentFileNameHint=\"{parent}\"");
    let unusual = format!("parentFileNameHint=:{parent}\"");
    let at = bytes
        .windows(plain.len())
        .position(|w| w == plain.as_bytes())
        .expect("qemu-img wrote the parent hint");
    let mut patched = bytes;
    patched[at..at + plain.len()].copy_from_slice(unusual.as_bytes());
    fs::write(path, patched).unwrap();
    path.to_path_buf()
}

#[test]
fn a_parent_that_reaches_a_host_file_one_step_down_is_refused() {
    // vm.vmdk's parent, evil.vmdk, is in the image's directory; its one
    // extent is the host file. qemu follows the hint, so converting vm.vmdk
    // would copy the secret.
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let secret = secret_file(&d.join("secret.raw"));
    let img = d.join("img");
    fs::create_dir(&img).unwrap();
    flat_extent_descriptor(&img.join("evil.vmdk"), s(&secret));
    let image = vmdk_with_unusual_parent_hint(&img.join("vm.vmdk"), "evil.vmdk");
    let m = write_manifest(
        &d.join("vm.json"),
        "vm",
        json!({"source_type": "vmdk", "source_path": image}),
        json!({"output_format": "raw"}),
        json!({}),
    );
    let work = d.join("w");
    let run = run_direct(&work, &m, &[]);
    assert_eq!(run.code, 1, "{:#}", run.report);
    let error = run.stage("load")["error"].as_str().unwrap();
    assert!(
        error.contains("evil.vmdk")
            && error.contains(&format!("{:?}", s(&secret)))
            && error.contains("outside the image's own directory"),
        "the error names the parent and its extent: {error}"
    );
    assert_eq!(files_holding_the_secret(&work), Vec::<PathBuf>::new());
    assert_eq!(
        files_holding_the_secret(&d.join("output")),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn unusual_vmdk_descriptors_are_judged_before_qemu_opens_anything() {
    // An extent spread over lines (one extent to qemu's sscanf) and a
    // quoted host path on a comment line: both refused from the bytes, so
    // qemu-img never opens the host file. A FIFO stands for it, with a
    // writer waiting on it: the writer's open returns only once something
    // opens the FIFO for reading, which tells whether qemu-img did.
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo");
    let made = StdCommand::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let test_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (fifo, test_done) = (fifo.clone(), test_done.clone());
        std::thread::spawn(move || {
            let opened = fs::OpenOptions::new().write(true).open(&fifo);
            // Whoever opened it for reading before the test was done is a
            // run that let qemu-img near the host file.
            opened.is_ok() && !test_done.load(std::sync::atomic::Ordering::SeqCst)
        })
    };
    let img = d.join("img");
    fs::create_dir(&img).unwrap();
    for (name, descriptor) in [
        (
            "spread.vmdk",
            format!(
                "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW\n2048\nFLAT\n\"{}\" 0\n",
                s(&fifo)
            ),
        ),
        (
            "comment.vmdk",
            format!(
                "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n# \"{}\nRW 2048 FLAT \"a.raw\" 0\n",
                s(&fifo)
            ),
        ),
    ] {
        fs::write(img.join("a.raw"), vec![0u8; MIB as usize]).unwrap();
        let image = img.join(name);
        fs::write(&image, descriptor).unwrap();
        let m = write_manifest(
            &d.join(format!("{name}.json")),
            "vm",
            json!({"source_type": "vmdk", "source_path": image}),
            json!({"output_format": "raw"}),
            json!({}),
        );
        let run = run_direct(&d.join(format!("w-{name}")), &m, &[]);
        assert_eq!(run.code, 1, "{name}: {:#}", run.report);
        let error = run.stage("load")["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("{:?}", s(&fifo))) && error.contains("outside"),
            "{name}: {error}"
        );
    }
    test_done.store(true, std::sync::atomic::Ordering::SeqCst);
    // Opening it for reading ourselves (without waiting for a writer, in
    // case the writer already left) lets the writer's open return.
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    assert!(
        !writer.join().unwrap(),
        "qemu-img opened the host file before the descriptor was judged"
    );
}

#[test]
fn images_that_reference_host_files_are_refused_and_nothing_of_them_is_read() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    for (i, (image, source_type, reference)) in hostile_images(d).into_iter().enumerate() {
        let name = format!("hostile{i}");
        let m = write_manifest(
            &d.join(format!("{name}.json")),
            &name,
            json!({"source_type": source_type, "source_path": image}),
            json!({"output_format": "raw"}),
            json!({}),
        );
        let work = d.join(format!("w-{name}"));
        let run = run_direct(&work, &m, &[]);
        assert_eq!(run.code, 1, "{}: {:#}", image.display(), run.report);
        assert_eq!(run.status("load"), "failed", "{}", image.display());
        let error = run.stage("load")["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("{reference:?}"))
                && error.contains(s(&image))
                && (error.contains("outside the image's own directory")
                    || error.contains("protocol or URL")),
            "{}: the error names the image, the reference and why: {error}",
            image.display()
        );
        assert_eq!(run.report["artifacts"], json!([]));
        assert_eq!(files_holding_the_secret(&work), Vec::<PathBuf>::new());
    }

    // An OVF whose disk is the host file, by a climbing path or by a
    // symlink next to it.
    let pkg = d.join("pkg");
    fs::create_dir(&pkg).unwrap();
    std::os::unix::fs::symlink(d.join("secret.raw"), pkg.join("disk.raw")).unwrap();
    for (name, href) in [("ovf-climb", "../secret.raw"), ("ovf-link", "disk.raw")] {
        let ovf = pkg.join(format!("{name}.ovf"));
        fs::write(
            &ovf,
            format!(
                r#"<Envelope><References><File id="f" href="{href}"/></References></Envelope>"#
            ),
        )
        .unwrap();
        let m = write_manifest(
            &d.join(format!("{name}.json")),
            name,
            json!({"source_type": "ovf", "source_path": ovf}),
            json!({"output_format": "raw"}),
            json!({}),
        );
        let work = d.join(format!("w-{name}"));
        let run = run_direct(&work, &m, &[]);
        assert_eq!(run.code, 1, "{name}: {:#}", run.report);
        let error = run.stage("load")["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("{href:?}"))
                && error.contains("outside the OVF's own directory"),
            "{name}: {error}"
        );
        assert_eq!(files_holding_the_secret(&work), Vec::<PathBuf>::new());
    }
}

#[test]
fn images_referencing_files_in_their_own_directory_still_convert() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let base = raw_image(&d.join("base.raw"), 2);
    let img = d.join("img");
    fs::create_dir(&img).unwrap();

    // A qcow2 overlay on a qcow2 next to it.
    image_as(&base, "qcow2", &img.join("base.qcow2"));
    qemu_img_ok(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        "base.qcow2",
        s(&img.join("top.qcow2")),
    ]);
    // A monolithicFlat VMDK: a descriptor and its flat extent next to it.
    qemu_img_ok(&[
        "convert",
        "-q",
        "-f",
        "raw",
        "-O",
        "vmdk",
        "-o",
        "subformat=monolithicFlat",
        s(&base),
        s(&img.join("flat.vmdk")),
    ]);
    // A monolithic sparse VMDK renamed after it was made: its embedded
    // descriptor still names its old file name, which qemu ignores.
    image_as(&base, "vmdk", &img.join("made-as.vmdk"));
    fs::rename(img.join("made-as.vmdk"), img.join("renamed.vmdk")).unwrap();

    for (file, source_type) in [
        ("top.qcow2", "qcow2"),
        ("flat.vmdk", "vmdk"),
        ("renamed.vmdk", "vmdk"),
    ] {
        let name = file.replace('.', "-");
        let m = write_manifest(
            &d.join(format!("{name}.json")),
            &name,
            json!({"source_type": source_type, "source_path": img.join(file)}),
            json!({"output_format": "raw"}),
            json!({}),
        );
        let run = run_direct(&d.join(format!("w-{name}")), &m, &[]);
        run.assert_succeeded();
        assert_eq!(compare(&base, &run.output()), 0, "{file}");
        if file == "top.qcow2" {
            let chain = &run.stage("inspect")["result"]["disks"][0]["backing_chain"];
            assert_eq!(chain.as_array().map(Vec::len), Some(1), "{chain}");
        }
    }
}

#[test]
fn a_backing_file_whose_format_is_not_recorded_is_refused_not_probed() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    raw_image(&d.join("base.raw"), 1);
    let image = qcow2_backed_by(&d.join("top.qcow2"), "base.raw");
    // Overwrite the type of the header extension that records the backing
    // format (the first one, at the header length): qemu skips extensions
    // it does not know, so the backing file's format is no longer recorded.
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&image)
        .unwrap();
    let mut header = [0u8; 104];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut header, 0).unwrap();
    let header_length = u32::from_be_bytes(header[100..104].try_into().unwrap());
    file.write_all_at(&0x0bad_0badu32.to_be_bytes(), header_length.into())
        .unwrap();
    drop(file);
    let m = write_manifest(
        &d.join("nofmt.json"),
        "nofmt",
        json!({"source_type": "qcow2", "source_path": image}),
        json!({"output_format": "raw"}),
        json!({}),
    );
    let run = run_direct(&d.join("w"), &m, &[]);
    assert_eq!(run.code, 1, "{:#}", run.report);
    let error = run.stage("load")["error"].as_str().unwrap();
    assert!(
        error.contains("\"base.raw\" has no recorded format")
            && error.contains("qemu-img rebase -u -F"),
        "{error}"
    );
}

#[test]
fn a_raw_source_that_looks_like_a_qcow2_is_converted_as_raw() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let secret = secret_file(&d.join("secret.raw"));
    let img = d.join("img");
    fs::create_dir(&img).unwrap();
    // A guest wrote a qcow2 header, naming the host file as its backing
    // file, at the start of its raw disk.
    let disk = qcow2_backed_by(&img.join("disk.raw"), s(&secret));
    let m = write_manifest(
        &d.join("raw-vm.json"),
        "raw-vm",
        json!({"source_type": "raw", "source_path": disk}),
        json!({"output_format": "raw"}),
        json!({}),
    );
    let work = d.join("w");
    let run = run_direct(&work, &m, &[]);
    run.assert_succeeded();
    assert_eq!(run.stage("load")["result"]["disks"][0]["format"], "raw");
    // The raw disk's own bytes, its size rounded up to whole sectors.
    let (output, source) = (fs::read(run.output()).unwrap(), fs::read(&disk).unwrap());
    assert!(
        output.starts_with(&source) && output[source.len()..].iter().all(|&b| b == 0),
        "the output ({} bytes) holds the raw disk's own bytes ({})",
        output.len(),
        source.len()
    );
    assert_eq!(files_holding_the_secret(&work), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn the_daemon_fails_runs_of_images_that_reference_host_files() {
    let (daemon, _dir) = pipeline_daemon().await;
    let d = daemon.file("hostile");
    let images = hostile_images(&d);
    let out_dir = daemon.file("out");
    for (image, source_type, reference) in [&images[0], &images[4]] {
        let m = write_manifest(
            &daemon.file(&format!("{source_type}.json")),
            source_type,
            json!({"source_type": source_type, "source_path": image}),
            json!({"output_format": "raw"}),
            json!({}),
        );
        let exec = daemon
            .execute(
                "vm_pipeline",
                &[("manifest", text(s(&m))), ("output_dir", text(s(&out_dir)))],
            )
            .await;
        let exec = daemon.wait_state(&exec.id, ExecutionState::Failed).await;
        assert!(
            exec.error.contains("phase load failed")
                && exec.error.contains(&format!("{reference:?}"))
                && exec.error.contains("outside the image's own directory"),
            "{}",
            exec.error
        );
        assert_eq!(execution_report(&exec)["artifacts"], json!([]));
    }
    assert_eq!(files_holding_the_secret(&out_dir), Vec::<PathBuf>::new());
    assert_eq!(
        files_holding_the_secret(&daemon.data_dir()),
        Vec::<PathBuf>::new()
    );
}

// ---- leftovers of killed runs ---------------------------------------------------

/// Entries below `dir` named as partials (`.<name>.partial-<pid>`).
fn partial_leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".partial-") {
            found.push(entry.path());
        } else if entry.file_type().unwrap().is_dir() {
            found.extend(partial_leftovers(&entry.path()));
        }
    }
    found
}

/// A daemon running the pipeline whose configured output directory is
/// `out`.
async fn pipeline_daemon_writing_to(out: &Path) -> (Daemon, TempDir) {
    let dir = pipeline_dir();
    let daemon = Daemon::builder()
        .workflow_dir(dir.path())
        .flag("--output-dir", s(out))
        .start()
        .await;
    (daemon, dir)
}

/// Starts a pipeline run of a 256 MiB image packed in an OVA (so it has
/// a scratch directory too) that writes into `out`, and waits until it
/// is converting.
async fn start_slow_ova_run(daemon: &Daemon, out: &Path) -> pb::Execution {
    let big = slow_to_convert_image(&daemon.file("big.raw"));
    let ovf = daemon.file("big.ovf");
    fs::write(
        &ovf,
        r#"<Envelope><References><File id="f" href="big.raw"/></References></Envelope>"#,
    )
    .unwrap();
    let ova = daemon.file("big.ova");
    let mut tar = tar::Builder::new(fs::File::create(&ova).unwrap());
    tar.append_path_with_name(&ovf, "big.ovf").unwrap();
    tar.append_path_with_name(&big, "big.raw").unwrap();
    tar.finish().unwrap();
    drop(tar);
    let m = write_manifest(
        &daemon.file("big.json"),
        "big",
        json!({"source_type": "ova", "source_path": ova}),
        json!({"output_format": "qcow2", "compress": true}),
        json!({}),
    );
    let exec = daemon
        .execute(
            "vm_pipeline",
            &[("manifest", text(s(&m))), ("output_dir", text(s(out)))],
        )
        .await;
    daemon
        .wait_for_event(&exec.id, "the first convert progress", |e| {
            matches!(&e.payload, Some(Payload::TaskProgress(p))
                if p.task_id == "convert" && p.message.ends_with('%'))
        })
        .await;
    exec
}

#[tokio::test]
async fn a_forced_cancel_mid_convert_leaves_no_partial_anything() {
    let out = TempDir::new().unwrap();
    let (daemon, _dir) = pipeline_daemon_writing_to(out.path()).await;
    let exec = start_slow_ova_run(&daemon, out.path()).await;
    let runs = daemon.data_dir().join("runs");
    assert_eq!(
        partial_leftovers(out.path()).len(),
        1,
        "mid-convert, the output is a partial in a dated folder"
    );
    assert_eq!(
        partial_leftovers(&runs).len(),
        1,
        "and the OVA is unpacked in scratch"
    );

    daemon.cancel(&exec.id, None, true).await;
    let exec = daemon.wait_state(&exec.id, ExecutionState::Cancelled).await;
    assert_eq!(exec.signal, Some(9), "the program was killed: {exec:?}");
    assert_eq!(partial_leftovers(out.path()), Vec::<PathBuf>::new());
    assert_eq!(partial_leftovers(&runs), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn leftovers_of_a_run_orphaned_by_a_daemon_crash_are_removed_at_the_next_start() {
    let out = TempDir::new().unwrap();
    let (mut daemon, _dir) = pipeline_daemon_writing_to(out.path()).await;
    let exec = start_slow_ova_run(&daemon, out.path()).await;
    let pid = daemon.wait_started(&exec.id).await.pid;
    let runs = daemon.data_dir().join("runs");
    assert_eq!(partial_leftovers(out.path()).len(), 1);
    assert_eq!(partial_leftovers(&runs).len(), 1);

    daemon.kill9().await;
    // The orphan would finish the conversion while no daemon runs; stopped,
    // it is still mid-convert when the next daemon starts.
    let group = rustix::process::Pid::from_raw(pid).expect("a pid is positive");
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::STOP);
    daemon.restart().await;

    // Recovery is done before the daemon serves.
    assert_eq!(partial_leftovers(out.path()), Vec::<PathBuf>::new());
    assert_eq!(partial_leftovers(&runs), Vec::<PathBuf>::new());
    daemon
        .wait_state(&exec.id, ExecutionState::Interrupted)
        .await;
    wait_process_gone(pid, "the orphaned pipeline").await;
}
