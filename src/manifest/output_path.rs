//! Where a VM's converted disks go. One rule, used by the program that
//! writes them and by the daemon, which refuses a batch whose VMs would
//! write the same file before anything runs.

use std::path::{Path, PathBuf};

/// A VM name made safe as a file name: letters, digits, `.`, `_` and `-`
/// kept, anything else `_`; no leading `.` (hidden) or `-` (a file name
/// another tool could read as an option); "vm" when nothing is left.
/// Different names can give the same safe name (`web 01`, `web:01`).
pub(crate) fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches(['.', '-']).to_string();
    if cleaned.is_empty() {
        "vm".to_string()
    } else {
        cleaned
    }
}

/// The (first) output of the VM whose safe name is `name`: `output_path`
/// joined to `output_dir` (an absolute one replaces it; one naming a
/// directory gets `<name>.<format>` inside), else
/// `OUTPUT_DIR/<date>/<name>/<name>.<format>`. Not yet checked against the
/// policy: see [`crate::policy::WorkflowPolicy::confine_output`].
pub(crate) fn first_output(
    output_dir: &Path,
    name: &str,
    output_path: Option<&Path>,
    format: &str,
    date: &str,
) -> PathBuf {
    let file_name = format!("{name}.{format}");
    match output_path {
        Some(path) => {
            let path = output_dir.join(path);
            let names_a_dir = path.is_dir()
                || path
                    .as_os_str()
                    .to_string_lossy()
                    .ends_with(std::path::MAIN_SEPARATOR);
            if names_a_dir {
                path.join(file_name)
            } else {
                path
            }
        }
        None => output_dir.join(date).join(name).join(file_name),
    }
}

/// Today's date as the default output path has it.
pub(crate) fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// `dir/name.ext` -> `dir/name-diskN.ext`, for the further disks of a VM.
pub(crate) fn further_disk(first: &Path, n: usize) -> PathBuf {
    let stem = first
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match first.extension() {
        Some(ext) => format!("{stem}-disk{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-disk{n}"),
    };
    first.with_file_name(name)
}

/// Whether `other` is what [`further_disk`] gives for `first` and some
/// disk number from 2 on.
pub(crate) fn is_further_disk_of(first: &Path, other: &Path) -> bool {
    if first.parent() != other.parent() || first.extension() != other.extension() {
        return false;
    }
    let (Some(stem), Some(other_stem)) = (first.file_stem(), other.file_stem()) else {
        return false;
    };
    let prefix = format!("{}-disk", stem.to_string_lossy());
    other_stem
        .to_string_lossy()
        .strip_prefix(&prefix)
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n >= 2 && further_disk(first, n) == other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe_for_file_names() {
        assert_eq!(safe_name("web-01"), "web-01");
        assert_eq!(safe_name("../etc/passwd"), "_etc_passwd");
        assert_eq!(safe_name("my vm"), "my_vm");
        assert_eq!(safe_name("--help"), "help");
        assert_eq!(safe_name(""), "vm");
        assert_eq!(safe_name("web:01"), safe_name("web 01"));
    }

    #[test]
    fn further_disks_get_numbered_names() {
        let first = Path::new("/o/vm.qcow2");
        assert_eq!(further_disk(first, 2), Path::new("/o/vm-disk2.qcow2"));
        assert!(is_further_disk_of(first, Path::new("/o/vm-disk3.qcow2")));
        assert!(!is_further_disk_of(first, Path::new("/o/vm-disk1.qcow2")));
        assert!(!is_further_disk_of(first, Path::new("/o/vm-disk2.raw")));
        assert!(!is_further_disk_of(first, Path::new("/p/vm-disk2.qcow2")));
    }

    #[test]
    fn the_default_output_is_dated_and_named_after_the_vm() {
        assert_eq!(
            first_output(Path::new("/o"), "web", None, "qcow2", "2026-01-02"),
            Path::new("/o/2026-01-02/web/web.qcow2")
        );
        assert_eq!(
            first_output(Path::new("/o"), "web", Some(Path::new("vms/")), "raw", "d"),
            Path::new("/o/vms/web.raw")
        );
        assert_eq!(
            first_output(
                Path::new("/o"),
                "web",
                Some(Path::new("/x/y.vdi")),
                "vdi",
                "d"
            ),
            Path::new("/x/y.vdi")
        );
    }
}
