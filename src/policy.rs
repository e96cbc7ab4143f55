//! The operator's policy for workflow programs: where their sources may come
//! from, where their outputs may go and which guest-fix tools exist. It is
//! configuration (src/config.rs), never a caller's input: the daemon hands
//! it to every program it runs, discovery included, in one environment
//! variable ([`POLICY_ENV`], JSON), and checks manifests against it before
//! anything runs; `workflow-vm-pipeline` checks again at run time, because
//! a caller can also Execute `vm_pipeline` with any manifest file.
//!
//! Paths are confined by what they resolve to, not by how they are written:
//! the part that exists is canonicalized (symlinks followed), the rest is
//! applied lexically, so neither `..` nor a symlink can lead out of a root.
//! Roots are resolved the same way: a root that is a symlink stands for its
//! target, which is what the operator configured.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable the daemon passes the policy in.
pub(crate) const POLICY_ENV: &str = "WORKFLOWD_POLICY";

/// Placeholder of a fix tool's argv for the disk (the overlay) to fix.
pub(crate) const DISK_PLACEHOLDER: &str = "{disk}";

/// Placeholder of a fix tool's argv for the VM's name (made safe for file
/// names).
pub(crate) const NAME_PLACEHOLDER: &str = "{name}";

/// The name the built-in guest-fix fallback (libguestfs's virt-customize)
/// is picked by; no configured tool may take it.
pub(crate) const BUILTIN_FIX_TOOL: &str = "virt-customize";

/// What a policy's JSON looks like, for messages that tell a user how to
/// set [`POLICY_ENV`] by hand.
pub(crate) const POLICY_SHAPE: &str = r#"{"output_dir": "/srv/vm-out", "source_roots": ["/srv/vm-in"], "fix_tools": {"hyper2kvm": {"argv": ["/usr/bin/hyper2kvm", "--fix", "{disk}"]}}}"#;

/// Why a policy is missing or unusable, or a path is outside it.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The program was started without a policy.
    #[error(
        "{POLICY_ENV} is not set: this program runs under workflowd, which passes the \
         operator's policy; to run it by hand set {POLICY_ENV} to JSON like {POLICY_SHAPE}"
    )]
    Missing,
    /// The policy's JSON does not parse or breaks a rule.
    #[error("{POLICY_ENV} is not a valid policy ({message}); expected JSON like {POLICY_SHAPE}")]
    Invalid {
        /// What is wrong.
        message: String,
    },
    /// A path is relative where only an absolute one can be judged.
    #[error("{path:?} is relative; give an absolute path")]
    Relative {
        /// The path as given.
        path: PathBuf,
    },
    /// A path climbs (`..`) out of a directory that does not exist: the
    /// kernel would fail it now, but where it leads once that directory
    /// appears (say as a symlink) cannot be judged, so it is refused.
    #[error(
        "{} has `..` after {}, which does not exist: where it leads cannot be judged",
        .path.display(), .missing.display()
    )]
    ClimbsOutOfMissing {
        /// The path as given.
        path: PathBuf,
        /// Its part that does not exist, up to the `..`.
        missing: PathBuf,
    },
    /// A path could not be resolved.
    #[error("cannot resolve {path}: {source}")]
    Resolve {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A path resolves to a place outside every root of a setting.
    #[error("{} is outside {} (setting {setting}: {})", shown(.path, .resolved), .what, list(.roots))]
    Outside {
        /// The path as given.
        path: PathBuf,
        /// What it resolves to.
        resolved: PathBuf,
        /// The setting whose roots it is outside.
        setting: &'static str,
        /// What the roots are, in words.
        what: &'static str,
        /// The roots, resolved.
        roots: Vec<PathBuf>,
    },
}

fn shown(path: &Path, resolved: &Path) -> String {
    if path == resolved {
        path.display().to_string()
    } else {
        format!("{} (resolved: {})", path.display(), resolved.display())
    }
}

fn list(roots: &[PathBuf]) -> String {
    if roots.is_empty() {
        "none configured".to_string()
    } else {
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A guest-fix tool the operator configured: a fixed argv whose elements
/// [`DISK_PLACEHOLDER`] and [`NAME_PLACEHOLDER`] are replaced, each as one
/// whole argument, never spliced into another one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixTool {
    /// The program (an absolute path) and its arguments.
    pub argv: Vec<String>,
}

impl FixTool {
    /// Why this argv cannot be used, if it cannot: it must be non-empty,
    /// start with an absolute program path, and use braces only as a whole
    /// known placeholder.
    pub fn problem(&self) -> Option<String> {
        let Some(program) = self.argv.first() else {
            return Some("argv is empty; give the program and its arguments".into());
        };
        if !Path::new(program).is_absolute() {
            return Some(format!(
                "argv[0] {program:?} must be an absolute program path"
            ));
        }
        for (i, arg) in self.argv.iter().enumerate().skip(1) {
            let placeholder = arg == DISK_PLACEHOLDER || arg == NAME_PLACEHOLDER;
            if !placeholder && (arg.contains('{') || arg.contains('}')) {
                return Some(format!(
                    "argv[{i}] {arg:?}: placeholders are {DISK_PLACEHOLDER} and \
                     {NAME_PLACEHOLDER}, each standing alone as a whole argument"
                ));
            }
        }
        None
    }

    /// The program to run.
    pub fn program(&self) -> &Path {
        Path::new(self.argv.first().map_or("", String::as_str))
    }

    /// The arguments after the program, placeholders replaced.
    pub fn args(&self, disk: &Path, name: &str) -> Vec<OsString> {
        self.argv
            .iter()
            .skip(1)
            .map(|arg| match arg.as_str() {
                DISK_PLACEHOLDER => disk.as_os_str().to_os_string(),
                NAME_PLACEHOLDER => OsString::from(name),
                other => OsString::from(other),
            })
            .collect()
    }
}

/// What the operator allows workflow programs to read, write and run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowPolicy {
    /// Every output goes inside this directory.
    pub output_dir: PathBuf,
    /// Sources (disks, OVF/OVA, job configs, pipeline documents) are read
    /// only from inside these directories.
    #[serde(default)]
    pub source_roots: Vec<PathBuf>,
    /// Guest-fix tools by name.
    #[serde(default)]
    pub fix_tools: BTreeMap<String, FixTool>,
}

impl WorkflowPolicy {
    /// The policy the daemon passed in [`POLICY_ENV`].
    pub fn from_env() -> Result<Self, PolicyError> {
        match std::env::var(POLICY_ENV) {
            Ok(json) => Self::from_json(&json),
            Err(std::env::VarError::NotPresent) => Err(PolicyError::Missing),
            Err(e) => Err(PolicyError::Invalid {
                message: e.to_string(),
            }),
        }
    }

    /// Parses and checks a policy.
    pub fn from_json(json: &str) -> Result<Self, PolicyError> {
        let policy: WorkflowPolicy =
            serde_json::from_str(json).map_err(|e| PolicyError::Invalid {
                message: e.to_string(),
            })?;
        policy
            .problem()
            .map_or(Ok(policy), |message| Err(PolicyError::Invalid { message }))
    }

    /// The value of [`POLICY_ENV`] for the programs the daemon runs.
    pub fn to_env_value(&self) -> String {
        serde_json::to_string(self).expect("a policy serializes")
    }

    /// Why this policy cannot be used, if it cannot (the first problem,
    /// naming the setting).
    pub fn problem(&self) -> Option<String> {
        if !self.output_dir.is_absolute() {
            return Some(format!(
                "output_dir {} must be absolute",
                self.output_dir.display()
            ));
        }
        if let Some(root) = self.source_roots.iter().find(|r| !r.is_absolute()) {
            return Some(format!("source_roots: {} must be absolute", root.display()));
        }
        for (name, tool) in &self.fix_tools {
            if name == BUILTIN_FIX_TOOL || name.is_empty() {
                return Some(format!(
                    "fix_tools: {name:?} cannot name a configured tool (the empty name and \
                     {BUILTIN_FIX_TOOL:?}, the built-in fallback, are taken)"
                ));
            }
            if let Some(problem) = tool.problem() {
                return Some(format!("fix_tools.{name}: {problem}"));
            }
        }
        None
    }

    /// The tool names a manifest or input may pick: the built-in fallback
    /// first, then the configured ones.
    pub fn fix_tool_names(&self) -> Vec<String> {
        std::iter::once(BUILTIN_FIX_TOOL.to_string())
            .chain(self.fix_tools.keys().cloned())
            .collect()
    }

    /// `path` (absolute) resolved and checked to be inside a source root.
    pub fn confine_source(&self, path: &Path) -> Result<PathBuf, PolicyError> {
        confine(
            path,
            &self.source_roots,
            "source_roots",
            "every source root",
        )
    }

    /// `path` (absolute) resolved and checked to be inside the output
    /// directory.
    pub fn confine_output(&self, path: &Path) -> Result<PathBuf, PolicyError> {
        confine(
            path,
            std::slice::from_ref(&self.output_dir),
            "output_dir",
            "the output directory",
        )
    }

    /// Where a manifest's output path (relative: to the output directory)
    /// points, resolved and confined to the output directory.
    pub fn output_target(&self, path: &Path) -> Result<PathBuf, PolicyError> {
        self.confine_output(&self.output_dir.join(path))
    }
}

fn confine(
    path: &Path,
    roots: &[PathBuf],
    setting: &'static str,
    what: &'static str,
) -> Result<PathBuf, PolicyError> {
    let resolved = resolve(path)?;
    let roots: Vec<PathBuf> = roots
        .iter()
        .map(|root| resolve(root))
        .collect::<Result<_, _>>()?;
    if roots.iter().any(|root| resolved.starts_with(root)) {
        Ok(resolved)
    } else {
        Err(PolicyError::Outside {
            path: path.to_path_buf(),
            resolved,
            setting,
            what,
            roots,
        })
    }
}

/// What an absolute path refers to: its deepest existing ancestor
/// canonicalized (symlinks followed), the rest of it applied lexically
/// (nothing of it exists, so no symlink can be in it). A `..` in that rest
/// is refused: it would climb back into the existing part past names never
/// resolved (`missing/../link/x`, `link` a symlink out).
pub(crate) fn resolve(path: &Path) -> Result<PathBuf, PolicyError> {
    if !path.is_absolute() {
        return Err(PolicyError::Relative {
            path: path.to_path_buf(),
        });
    }
    let failed = |source| PolicyError::Resolve {
        path: path.to_path_buf(),
        source,
    };
    for existing in path.ancestors() {
        let canonical = match std::fs::canonicalize(existing) {
            Ok(canonical) => canonical,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                continue
            }
            Err(e) => return Err(failed(e)),
        };
        let rest = path
            .strip_prefix(existing)
            .expect("an ancestor is a prefix");
        let mut resolved = canonical;
        let mut missing = existing.to_path_buf();
        for component in rest.components() {
            match component {
                Component::Normal(part) => {
                    resolved.push(part);
                    missing.push(part);
                }
                Component::ParentDir => {
                    return Err(PolicyError::ClimbsOutOfMissing {
                        path: path.to_path_buf(),
                        missing,
                    })
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        return Ok(resolved);
    }
    Err(failed(std::io::Error::from(std::io::ErrorKind::NotFound)))
}

/// `path` with `.` and `..` taken out without touching the file system:
/// where it points if no part of it is a symlink. Only for comparing paths
/// (two outputs that would be one file), never for confining one.
pub(crate) fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(out: &Path, roots: &[&Path]) -> WorkflowPolicy {
        WorkflowPolicy {
            output_dir: out.to_path_buf(),
            source_roots: roots.iter().map(|r| r.to_path_buf()).collect(),
            fix_tools: BTreeMap::new(),
        }
    }

    #[test]
    fn dot_dot_and_symlinks_cannot_lead_out() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        let (inside, outside) = (d.join("in"), d.join("out"));
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, inside.join("link")).unwrap();
        let p = policy(&d.join("o"), &[&inside]);

        assert!(p.confine_source(&inside.join("disk.raw")).is_ok());
        for escape in [
            inside.join("../out/secret"),
            inside.join("link/secret"),
            inside.join("link/not-yet"),
        ] {
            let err = p.confine_source(&escape).unwrap_err().to_string();
            assert!(err.contains("setting source_roots"), "{escape:?}: {err}");
        }
        // `..` after a missing name would climb back past names never
        // resolved: `link` is a symlink out, reached through `missing/..`.
        for escape in [
            inside.join("missing/../link/secret"),
            inside.join("missing/../../out/secret"),
            inside.join("missing/deeper/../../link/x"),
        ] {
            let err = p.confine_source(&escape).unwrap_err();
            assert!(
                matches!(err, PolicyError::ClimbsOutOfMissing { .. }),
                "{escape:?}: {err}"
            );
            assert!(err.to_string().contains("cannot be judged"), "{err}");
        }
        // A `..` inside the existing part is the kernel's to resolve.
        assert_eq!(
            p.confine_source(&inside.join("link/../in/disk.raw"))
                .unwrap(),
            inside.join("disk.raw")
        );
        let err = p.confine_source(Path::new("rel/disk")).unwrap_err();
        assert!(matches!(err, PolicyError::Relative { .. }));
    }

    #[test]
    fn a_symlinked_root_stands_for_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(d.join("real")).unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("alias")).unwrap();
        let p = policy(&d.join("o"), &[&d.join("alias")]);
        assert_eq!(
            p.confine_source(&d.join("alias/a.raw")).unwrap(),
            d.join("real/a.raw")
        );
        assert!(p.confine_source(&d.join("real/a.raw")).is_ok());
    }

    #[test]
    fn outputs_stay_in_the_output_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        let p = policy(&d.join("out"), &[]);
        assert_eq!(
            p.output_target(Path::new("a/b.qcow2")).unwrap(),
            d.join("out/a/b.qcow2")
        );
        assert!(p.output_target(Path::new("../b.qcow2")).is_err());
        assert!(p.output_target(&d.join("elsewhere/b.qcow2")).is_err());
        assert!(p.output_target(&d.join("out/x/../y.raw")).is_err());
        std::fs::create_dir_all(d.join("out/x")).unwrap();
        assert_eq!(
            p.output_target(&d.join("out/x/../y.raw")).unwrap(),
            d.join("out/y.raw")
        );
    }

    #[test]
    fn fix_tool_argv_templates_are_checked() {
        let tool = |argv: &[&str]| FixTool {
            argv: argv.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            tool(&["/bin/fix", "--disk", "{disk}", "{name}"]).problem(),
            None
        );
        assert!(tool(&[]).problem().unwrap().contains("empty"));
        assert!(tool(&["fix", "{disk}"])
            .problem()
            .unwrap()
            .contains("absolute"));
        assert!(tool(&["/bin/fix", "--disk={disk}"])
            .problem()
            .unwrap()
            .contains("argv[1]"));
        assert!(tool(&["/bin/fix", "{disks}"]).problem().is_some());
        let args =
            tool(&["/bin/fix", "-a", "{disk}", "{name}"]).args(Path::new("/w/x y.qcow2"), "vm 1");
        assert_eq!(args, ["-a", "/w/x y.qcow2", "vm 1"]);
    }

    #[test]
    fn the_env_value_round_trips_and_bad_ones_say_the_shape() {
        let p = policy(Path::new("/o"), &[Path::new("/in")]);
        assert_eq!(WorkflowPolicy::from_json(&p.to_env_value()).unwrap(), p);
        let err = WorkflowPolicy::from_json("{}").unwrap_err().to_string();
        assert!(
            err.contains("output_dir") && err.contains("source_roots"),
            "{err}"
        );
        let err = WorkflowPolicy::from_json(r#"{"output_dir":"o"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be absolute"), "{err}");
    }
}
