//! The validate stage's boot test: the first output booted headless in
//! qemu for a few seconds. A smoke test: it shows the BIOS finds something
//! to boot and the guest does not reset or stop early, not that the OS
//! came up.

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::{json, Value};
use tokio::process::Command;

use crate::vm::{
    command::{describe_status, find_program},
    error::StageError,
    run::Run,
};

/// The emulator the boot test runs.
const QEMU_SYSTEM: &str = "qemu-system-x86_64";

/// Boots the first output headless (snapshot mode: nothing is written)
/// and lets it run for the manifest's `boot_test_seconds`; the serial
/// console's tail is kept. [`StageError::ToolMissing`] when qemu is not
/// installed.
pub(super) async fn run(run: &mut Run) -> Result<Value, StageError> {
    let program = find_program(QEMU_SYSTEM).ok_or(StageError::ToolMissing { tool: QEMU_SYSTEM })?;
    let output = run.outputs[0].clone();
    let seconds = run.manifest().pipeline.validate.boot_test_seconds;
    let accelerator = run
        .manifest()
        .pipeline
        .validate
        .boot_accel
        .clone()
        .unwrap_or_else(|| run.options.boot_accel.clone());
    let scratch = run.scratch()?;
    let serial = scratch.join("boot-serial.log");
    let bios_log = scratch.join("boot-bios.log");
    let qemu_log = scratch.join("boot-qemu.log");
    run.progress(
        "validate",
        &format!(
            "boot test: running {} headless for {seconds} s",
            output.path.display()
        ),
    );
    let log = std::fs::File::create(&qemu_log).map_err(StageError::io("create", &qemu_log))?;
    let drive = format!(
        "file={},format={},if=virtio",
        qemu_option_value(&output.path),
        output.format
    );
    let mut child = Command::new(&program)
        .args(["-nodefaults", "-display", "none", "-machine"])
        .arg(format!("accel={accelerator}"))
        .args([
            "-m",
            "1024",
            "-snapshot",
            // A guest reset ends qemu; so does a disk the BIOS cannot
            // boot, which SeaBIOS would otherwise retry every minute,
            // looking to this test like a guest that runs.
            "-no-reboot",
            "-boot",
            "strict=on,reboot-timeout=0",
            // SeaBIOS writes its messages ("No bootable device.") to
            // the debug console port.
            "-chardev",
        ])
        .arg(format!(
            "file,id=bios,path={}",
            qemu_option_value(&bios_log)
        ))
        .args(["-device", "isa-debugcon,iobase=0x402,chardev=bios"])
        .arg("-serial")
        .arg(format!("file:{}", qemu_option_value(&serial)))
        .arg("-drive")
        .arg(drive)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| StageError::failed(format!("cannot start {}: {e}", program.display())))?;
    let ended = tokio::select! {
        status = child.wait() => Some(status),
        _ = tokio::time::sleep(Duration::from_secs(seconds)) => None,
        _ = run.cancel.cancelled() => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(StageError::Cancelled);
        }
    };
    let serial_tail = tail(&std::fs::read_to_string(&serial).unwrap_or_default(), 20);
    let Some(status) = ended else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Ok(json!({
            "status": "ran",
            "seconds": seconds,
            "accelerator": accelerator,
            "note": "qemu ran the guest without it stopping or resetting; \
                     the guest OS itself was not verified",
            "serial_tail": serial_tail,
        }));
    };
    let status = status.map_err(|e| StageError::failed(e.to_string()))?;
    let bios_says = std::fs::read_to_string(&bios_log).unwrap_or_default();
    if bios_says.contains("No bootable device") {
        return Err(StageError::failed(format!(
            "the BIOS found nothing to boot on {} (no boot sector or boot loader)",
            output.path.display()
        )));
    }
    let qemu_says = tail(&std::fs::read_to_string(&qemu_log).unwrap_or_default(), 10);
    Err(StageError::failed(format!(
        "qemu stopped after less than {seconds} s ({}; with -no-reboot a guest reset \
         also ends it): {} {}",
        describe_status(status),
        qemu_says.trim(),
        serial_tail.trim()
    )))
}

/// A path as the value of a qemu option, where a comma separates options
/// and a doubled one stands for itself.
fn qemu_option_value(path: &Path) -> String {
    path.to_string_lossy().replace(',', ",,")
}

/// The last `lines` lines of a text.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
