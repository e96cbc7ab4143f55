//! Disk images the tests make with the real qemu-img, and the per-VM
//! manifests that point the program at them.

use std::{
    fs,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use crate::helper::*;

pub(super) const MIB: u64 = 1 << 20;

pub(super) fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `qemu-img compare` exit code: 0 identical, 1 different.
pub(super) fn compare(a: &Path, b: &Path) -> i32 {
    qemu_img_run(&["compare", s(a), s(b)])
        .status
        .code()
        .unwrap_or(-1)
}

/// A raw image of `mib` MiB with distinct 64 KiB data blocks at a few
/// offsets (start, a third, unaligned middle, end): small, but every
/// conversion has real data to carry.
pub(super) fn raw_image(path: &Path, mib: u64) -> PathBuf {
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
pub(super) const BOOT_MESSAGE: &str = "BOOT OK";

/// A 1 MiB raw disk whose boot sector prints [`BOOT_MESSAGE`] on the first
/// serial port and halts with interrupts off: the BIOS boots it and the
/// guest then stays up, doing nothing, until qemu is stopped.
pub(super) fn bootable_image(path: &Path) -> PathBuf {
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
pub(super) fn slow_to_convert_image(path: &Path) -> PathBuf {
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
pub(super) fn image_as(base: &Path, format: &str, path: &Path) -> PathBuf {
    qemu_img_ok(&["convert", "-q", "-f", "raw", "-O", format, s(base), s(path)]);
    path.to_path_buf()
}

/// Writes a per-VM manifest as the daemon hands it to the program.
pub(super) fn write_manifest(
    path: &Path,
    name: &str,
    load: Value,
    convert: Value,
    more: Value,
) -> PathBuf {
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

/// Writes the manifest of the VM named as the file at `path` (without
/// `.json`): it loads `source` as `source_type`, converts it as `convert`
/// says, and has the stages in `more` too.
pub(super) fn vm_manifest(
    path: &Path,
    source_type: &str,
    source: &Path,
    convert: Value,
    more: Value,
) -> PathBuf {
    let name = path
        .file_stem()
        .and_then(|n| n.to_str())
        .expect("a manifest file name");
    write_manifest(
        path,
        name,
        json!({"source_type": source_type, "source_path": source}),
        convert,
        more,
    )
}

/// [`vm_manifest`] converting to qcow2 with the defaults and no more stages.
pub(super) fn qcow2_manifest(path: &Path, source_type: &str, source: &Path) -> PathBuf {
    vm_manifest(
        path,
        source_type,
        source,
        json!({"output_format": "qcow2"}),
        json!({}),
    )
}
