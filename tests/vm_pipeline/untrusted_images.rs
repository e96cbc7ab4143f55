//! Untrusted images: backing files, VMDK extents and parents that reach
//! host files are refused before qemu reads them; references inside the
//! image's own directory still convert.

use std::{
    fs,
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::{Path, PathBuf},
    process::Command as StdCommand,
};

use serde_json::json;
use tempfile::TempDir;

use crate::helper::*;

use super::images::*;
use super::run::*;

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
    let m = vm_manifest(
        &d.join("vm.json"),
        "vmdk",
        &image,
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
    let m = vm_manifest(
        &d.join("nofmt.json"),
        "qcow2",
        &image,
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
    let m = vm_manifest(
        &d.join("raw-vm.json"),
        "raw",
        &disk,
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
