//! The inspect stage: what `qemu-img info` says about each source disk and
//! its backing chain, and, when libguestfs is installed, which guest OS is
//! on it (virt-inspector's XML, or guestfish's answers).

use serde_json::{json, Value};
use tokio::process::Command;

use crate::vm::{
    command::{self, clip, find_program},
    error::StageError,
    qemu,
    run::Run,
};

use super::{StageOutcome, StageResult};

/// The libguestfs tools OS detection uses, as the warning names them.
const LIBGUESTFS: &str = "libguestfs (virt-inspector or guestfish)";

/// What virt-inspector says of an operating system that the report keeps.
const INSPECTOR_KEYS: [&str; 8] = [
    "root",
    "name",
    "arch",
    "distro",
    "product_name",
    "major_version",
    "minor_version",
    "hostname",
];

/// Runs the inspect stage.
pub(super) async fn run(run: &mut Run) -> StageResult {
    let mut disks = Vec::new();
    for disk in run.sources.clone() {
        let chain = qemu::info_chain(&disk.path, &disk.format, &run.cancel).await?;
        let Some(top) = chain.first() else {
            return Err(StageError::failed(format!(
                "qemu-img info returned nothing for {}",
                disk.path.display()
            )));
        };
        run.progress(
            "inspect",
            &format!(
                "{}: {}, virtual size {} bytes, {} bytes allocated, backing chain of {}",
                disk.path.display(),
                top.format,
                top.virtual_size,
                top.actual_size.unwrap_or(0),
                chain.len() - 1
            ),
        );
        if top.dirty_flag {
            run.warn(format!(
                "{} was not closed cleanly (dirty flag set)",
                disk.path.display()
            ));
        }
        disks.push(json!({
            "path": disk.path,
            "format": top.format,
            "virtual_size": top.virtual_size,
            "actual_size": top.actual_size,
            "cluster_size": top.cluster_size,
            "dirty": top.dirty_flag,
            "backing_chain": chain[1..].iter().map(|b| json!({
                "filename": b.filename,
                "format": b.format,
                "virtual_size": b.virtual_size,
            })).collect::<Vec<_>>(),
        }));
    }

    let (os, os_detection) = if !run.manifest().pipeline.inspect.detect_os {
        (Value::Null, "not requested (detect_os: false)".to_string())
    } else {
        run.progress("inspect", "detecting the guest OS");
        match detect_os(run).await {
            Ok((tool, os)) => (os, format!("done with {tool}")),
            Err(StageError::ToolMissing { .. }) => {
                run.warn(format!(
                    "OS detection skipped: {LIBGUESTFS} is not installed, so the guest OS was \
                     not identified"
                ));
                (
                    Value::Null,
                    "skipped: libguestfs is not installed".to_string(),
                )
            }
            Err(StageError::Cancelled) => return Err(StageError::Cancelled),
            Err(e) => {
                run.warn(format!("OS detection failed: {e}"));
                (Value::Null, format!("failed: {e}"))
            }
        }
    };
    Ok(StageOutcome::Done {
        summary: format!(
            "{} disk(s) inspected; OS detection: {os_detection}",
            disks.len()
        ),
        result: json!({ "disks": disks, "os": os, "os_detection": os_detection }),
    })
}

/// Identifies the guest OS with libguestfs; [`StageError::ToolMissing`]
/// when it is not installed.
async fn detect_os(run: &Run) -> Result<(&'static str, Value), StageError> {
    // Every libguestfs tool takes the disks the same way.
    let with_disks = |cmd: &mut Command| {
        for disk in &run.sources {
            cmd.arg(format!("--format={}", disk.format))
                .arg("-a")
                .arg(&disk.path);
        }
    };
    if let Some(program) = find_program("virt-inspector") {
        let mut cmd = Command::new(program);
        with_disks(&mut cmd);
        let out = command::run(&mut cmd, &run.cancel).await?;
        if !out.status.success() {
            return Err(StageError::failed(format!(
                "virt-inspector: {}",
                clip(&out.error_text())
            )));
        }
        return Ok(("virt-inspector", parse_inspector_xml(&out.stdout)?));
    }
    let Some(program) = find_program("guestfish") else {
        return Err(StageError::ToolMissing { tool: LIBGUESTFS });
    };
    let guestfish = || {
        let mut cmd = Command::new(&program);
        cmd.arg("--ro");
        with_disks(&mut cmd);
        cmd.arg("run");
        cmd
    };
    let mut cmd = guestfish();
    cmd.args([":", "inspect-os"]);
    let out = command::run(&mut cmd, &run.cancel).await?;
    if !out.status.success() {
        return Err(StageError::failed(format!(
            "guestfish: {}",
            clip(&out.error_text())
        )));
    }
    let Some(root) = out.stdout.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(StageError::failed(
            "libguestfs found no operating system on the disk",
        ));
    };
    let keys = [
        "type",
        "distro",
        "product-name",
        "major-version",
        "minor-version",
        "arch",
    ];
    let mut cmd = guestfish();
    for key in keys {
        cmd.args([":", &format!("inspect-get-{key}"), root]);
    }
    let out = command::run(&mut cmd, &run.cancel).await?;
    if !out.status.success() {
        return Err(StageError::failed(format!(
            "guestfish: {}",
            clip(&out.error_text())
        )));
    }
    let mut os = serde_json::Map::new();
    os.insert("root".into(), json!(root));
    for (key, value) in keys.iter().zip(out.stdout.lines()) {
        os.insert(key.replace('-', "_"), json!(value.trim()));
    }
    Ok(("guestfish", Value::Object(os)))
}

/// The first operating system of `virt-inspector`'s XML: the text of the
/// [`INSPECTOR_KEYS`] elements directly inside it (an application's
/// `name` further down is not the OS's).
fn parse_inspector_xml(xml: &str) -> Result<Value, StageError> {
    let document = roxmltree::Document::parse(xml).map_err(|e| {
        StageError::failed(format!(
            "virt-inspector printed XML that cannot be read: {e}"
        ))
    })?;
    let Some(system) = document
        .descendants()
        .find(|n| n.has_tag_name("operatingsystem"))
    else {
        return Err(StageError::failed(
            "libguestfs found no operating system on the disk",
        ));
    };
    let mut os = serde_json::Map::new();
    for key in INSPECTOR_KEYS {
        if let Some(element) = system.children().find(|n| n.has_tag_name(key)) {
            os.insert(key.into(), json!(element.text().unwrap_or("").trim()));
        }
    }
    Ok(Value::Object(os))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspector_xml_gives_the_os() {
        let xml = "<operatingsystems><operatingsystem><root>/dev/sda1</root><name>linux</name>\
                   <distro>debian</distro><major_version>12</major_version></operatingsystem>\
                   </operatingsystems>";
        let os = parse_inspector_xml(xml).unwrap();
        assert_eq!(os["distro"], "debian");
        assert_eq!(os["major_version"], "12");
        assert_eq!(os["root"], "/dev/sda1");
        assert!(os.get("hostname").is_none());
    }

    #[test]
    fn inspector_xml_entities_are_decoded_and_nested_names_ignored() {
        let xml = r#"<?xml version="1.0"?>
<operatingsystems>
  <operatingsystem>
    <root>/dev/sda1</root>
    <product_name>Fedora &amp; friends &lt;40&gt; &#x263A;</product_name>
    <applications><application><name>bash</name></application></applications>
    <name>linux</name>
    <hostname></hostname>
  </operatingsystem>
  <operatingsystem><root>/dev/sdb1</root><name>windows</name></operatingsystem>
</operatingsystems>"#;
        let os = parse_inspector_xml(xml).unwrap();
        assert_eq!(os["product_name"], "Fedora & friends <40> \u{263A}");
        assert_eq!(os["name"], "linux", "the OS's name, not an application's");
        assert_eq!(os["root"], "/dev/sda1", "the first OS");
        assert_eq!(os["hostname"], "");
    }

    #[test]
    fn inspector_xml_without_an_os_or_malformed_is_an_error() {
        let error = parse_inspector_xml("<operatingsystems/>").unwrap_err();
        assert_eq!(
            error.to_string(),
            "libguestfs found no operating system on the disk"
        );
        let error = parse_inspector_xml("<operatingsystems><operatingsystem>")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("virt-inspector printed XML that cannot be read: "),
            "{error}"
        );
    }
}
