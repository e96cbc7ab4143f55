//! Small disk images made with the real qemu-img, and what qemu-img says
//! about them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Writes a disk image of `format` (raw, qcow2, vmdk, vhdx, vpc) with data
/// in it: 1 MiB whose first and last sectors hold text naming the image.
pub fn make_disk(dir: &Path, file_name: &str, format: &str) -> PathBuf {
    let path = dir.join(file_name);
    let mut data = vec![0u8; 1 << 20];
    let text = format!("disk {file_name} written by the test");
    data[..text.len()].copy_from_slice(text.as_bytes());
    let end = data.len() - 512;
    data[end..end + text.len()].copy_from_slice(text.as_bytes());
    if format == "raw" {
        std::fs::write(&path, &data).expect("write raw disk");
        return path;
    }
    let raw = dir.join(format!("{file_name}.source.raw"));
    std::fs::write(&raw, &data).expect("write raw disk");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        format,
        raw.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    std::fs::remove_file(raw).expect("remove the raw source");
    path
}

/// Runs qemu-img, whatever its exit code.
pub fn qemu_img_run(args: &[&str]) -> Output {
    Command::new("qemu-img")
        .args(args)
        .output()
        .expect("qemu-img is installed (apt-get install qemu-utils)")
}

/// Runs qemu-img and expects success.
pub fn qemu_img_ok(args: &[&str]) -> Output {
    let out = qemu_img_run(args);
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs qemu-img and expects success; returns stdout.
pub fn qemu_img(args: &[&str]) -> String {
    String::from_utf8_lossy(&qemu_img_ok(args).stdout).into_owned()
}

/// The format `qemu-img info` reports for an image.
pub fn image_format(path: &Path) -> String {
    let info: Value = serde_json::from_str(&qemu_img(&[
        "info",
        "--output=json",
        path.to_str().unwrap(),
    ]))
    .expect("qemu-img info JSON");
    info["format"].as_str().expect("format").to_string()
}

/// Whether two images hold the same data (`qemu-img compare`).
pub fn same_content(a: &Path, b: &Path) -> bool {
    Command::new("qemu-img")
        .args(["compare", a.to_str().unwrap(), b.to_str().unwrap()])
        .output()
        .expect("qemu-img compare")
        .status
        .success()
}
