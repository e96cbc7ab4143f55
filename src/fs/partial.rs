//! The one naming scheme for what a pipeline run writes before it is
//! complete, and the sweep that removes what a killed run left behind.
//!
//! A run writes a conversion target into `.<file>.partial-<pid>/` next to
//! the destination and keeps its scratch files in
//! `.<name>.work.partial-<pid>/` in its working directory, `<pid>` being the
//! pipeline's own process id. A run that ends, even by SIGTERM, removes
//! them; a SIGKILL cannot be handled, so the daemon, which knows the pid it
//! killed, sweeps them (`engine/leftovers.rs`). The name alone says which
//! process owns an entry, so the sweep never needs to guess, and an output
//! can never be mistaken for a partial: output names never start with a
//! dot (the pipeline refuses an output path with a component of this form).

use std::{
    ffi::{OsStr, OsString},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

const MARKER: &str = ".partial-";

/// `.<name>.partial-<pid>`: the partial form of `name` owned by `pid`.
pub(crate) fn partial_name(name: &OsStr, pid: u32) -> OsString {
    let mut partial = OsString::from(".");
    partial.push(name);
    partial.push(format!("{MARKER}{pid}"));
    partial
}

/// The owning pid, when `name` has the form `.<name>.partial-<pid>`.
pub(crate) fn owner_pid(name: &OsStr) -> Option<u32> {
    let name = name.as_bytes();
    let rest = name.strip_prefix(b".")?;
    let at = rest
        .windows(MARKER.len())
        .rposition(|w| w == MARKER.as_bytes())?;
    let digits = &rest[at + MARKER.len()..];
    if at == 0 || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The first component of `path` that has the partial form, if any.
pub(crate) fn partial_component(path: &Path) -> Option<&OsStr> {
    path.components()
        .map(|c| c.as_os_str())
        .find(|c| owner_pid(c).is_some())
}

/// What one sweep removed, and what it could not.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// Entries removed.
    pub(crate) removed: Vec<PathBuf>,
    /// Entries that matched but could not be removed, with why.
    pub(crate) failed: Vec<(PathBuf, std::io::Error)>,
}

/// Removes every entry below `root`, at most `depth` levels down (1: its
/// direct entries), whose name has the partial form with a pid for which
/// `owned_by_dead` is true. Symlinks are never followed: a symlink is
/// neither descended into nor removed through, only removed itself when
/// its own name matches, and a partial directory is removed with
/// `remove_dir_all`, which removes symlinks inside it, not what they point
/// to. A missing `root` is an empty sweep.
pub(crate) fn sweep(root: &Path, depth: usize, owned_by_dead: &dyn Fn(u32) -> bool) -> Sweep {
    let mut sweep = Sweep::default();
    visit(root, depth, owned_by_dead, &mut sweep);
    sweep
}

fn visit(dir: &Path, depth: usize, owned_by_dead: &dyn Fn(u32) -> bool, sweep: &mut Sweep) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        // DirEntry::file_type does not follow symlinks.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        match owner_pid(&entry.file_name()) {
            Some(pid) if owned_by_dead(pid) => {
                let removed = if kind.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                match removed {
                    Ok(()) => sweep.removed.push(path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => sweep.failed.push((path, e)),
                }
            }
            // A live run's partial is left alone, and not looked into.
            Some(_) => {}
            None if kind.is_dir() => visit(&path, depth - 1, owned_by_dead, sweep),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_carry_their_owner() {
        let name = partial_name(OsStr::new("vm.qcow2"), 4242);
        assert_eq!(name, ".vm.qcow2.partial-4242");
        assert_eq!(owner_pid(&name), Some(4242));
        for not_partial in [
            "vm.qcow2",
            ".vm.qcow2",
            "vm.qcow2.partial-12",
            ".vm.partial-",
            ".vm.partial-12x",
            "..partial-12",
        ] {
            assert_eq!(owner_pid(OsStr::new(not_partial)), None, "{not_partial}");
        }
        assert_eq!(
            partial_component(Path::new("/out/.x.partial-7/vm.qcow2")),
            Some(OsStr::new(".x.partial-7"))
        );
        assert_eq!(
            partial_component(Path::new("/out/2025-01-01/vm/vm.qcow2")),
            None
        );
    }

    #[test]
    fn a_sweep_removes_only_dead_owners_partials_within_its_depth_never_through_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"x").unwrap();
        let dated = r.join("2025-01-01/vm");
        std::fs::create_dir_all(dated.join(".vm.qcow2.partial-11")).unwrap();
        std::fs::write(dated.join(".vm.qcow2.partial-11/vm.qcow2"), b"half").unwrap();
        std::fs::create_dir_all(dated.join(".vm.qcow2.partial-22")).unwrap();
        std::fs::write(dated.join("vm.qcow2"), b"an output").unwrap();
        // A partial name on a symlink to a directory elsewhere: the link
        // goes, what it points to stays.
        std::os::unix::fs::symlink(outside.path(), r.join(".evil.partial-11")).unwrap();
        // A symlinked directory is not descended into.
        std::os::unix::fs::symlink(outside.path(), r.join("linked")).unwrap();
        std::fs::create_dir(outside.path().join(".x.partial-11")).unwrap();
        // Deeper than the sweep looks.
        std::fs::create_dir_all(r.join("a/b/c/d/.deep.partial-11")).unwrap();

        let sweep = sweep(r, 4, &|pid| pid == 11);
        assert!(sweep.failed.is_empty(), "{:?}", sweep.failed);
        let mut removed = sweep.removed.clone();
        removed.sort();
        assert_eq!(
            removed,
            [
                r.join(".evil.partial-11"),
                dated.join(".vm.qcow2.partial-11")
            ]
        );
        assert!(dated.join(".vm.qcow2.partial-22").exists());
        assert!(dated.join("vm.qcow2").exists());
        assert!(outside.path().join("keep").exists());
        assert!(outside.path().join(".x.partial-11").exists());
        assert!(r.join("a/b/c/d/.deep.partial-11").exists());
        assert!(sweep_is_empty(&super::sweep(
            Path::new("/nonexistent/x"),
            3,
            &|_| true
        )));
    }

    fn sweep_is_empty(sweep: &Sweep) -> bool {
        sweep.removed.is_empty() && sweep.failed.is_empty()
    }
}
