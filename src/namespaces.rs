//! Namespaces: which workflows and executions a caller sees, and the
//! quotas of each team's share of the daemon (docs/security.md,
//! "Namespaces").
//!
//! A workflow belongs to the namespaces that list its directory (the
//! bundled workflows to every namespace: they are the daemon's own); an
//! execution to the one it was started in. A caller sees the namespaces of
//! its token ([`Visibility`]); what it does not see does not exist for it
//! (NOT_FOUND, the same answer as for an id nobody ever made).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use crate::program_limits::ProgramLimits;

/// The namespace of everything a daemon without namespaces configured has.
pub const DEFAULT: &str = "default";

/// What a token stores for "every namespace".
const ALL_STORED: &str = "*";

/// The key a client's request id (idempotency key) is kept under: within
/// its namespace, so two teams' `deploy-1` are two executions, and apart
/// from the ids the daemon makes itself (`schedule/...`, `retry/...`,
/// drop-folder attempts), which never start with `ns:` (a namespace name
/// has no `:`), so a client cannot claim one of those.
pub(crate) fn scoped_request_id(namespace: &str, request_id: &str) -> String {
    format!("ns:{namespace}:{request_id}")
}

/// A stored request id as its client sent it: without the scope
/// [`scoped_request_id`] added (ids stored before it, and the daemon's
/// own, are shown as they are).
pub(crate) fn shown_request_id<'a>(namespace: &str, stored: &'a str) -> &'a str {
    stored
        .strip_prefix("ns:")
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(stored)
}

/// Checks a namespace's name: lowercase letters, digits, `-` and `_`,
/// starting with a letter or digit, at most 63 characters (it appears in
/// URLs, labels and metrics).
pub fn check_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !name.starts_with(['-', '_']);
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a namespace name: 1 to 63 lowercase letters, digits, '-' or '_', \
             starting with a letter or digit"
        ))
    }
}

/// The namespaces a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// Every namespace: authentication off, the Unix socket, tokens made
    /// for `*`.
    All,
    /// These only.
    Only(BTreeSet<String>),
}

impl Visibility {
    /// Whether `namespace` is seen.
    pub(crate) fn sees(&self, namespace: &str) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Only(names) => names.contains(namespace),
        }
    }

    /// Whether any of `namespaces` is seen.
    pub(crate) fn sees_any<'a>(&self, mut namespaces: impl Iterator<Item = &'a str>) -> bool {
        namespaces.any(|n| self.sees(n))
    }

    /// Whether everything `other` sees is seen here too (a token may only
    /// hand out what its maker sees).
    pub(crate) fn covers(&self, other: &Visibility) -> bool {
        match (self, other) {
            (Visibility::All, _) => true,
            (Visibility::Only(_), Visibility::All) => false,
            (Visibility::Only(mine), Visibility::Only(theirs)) => theirs.is_subset(mine),
        }
    }

    /// `All` when this sees every one of `configured` (a `default` token
    /// on a daemon with no other namespace sees everything there is).
    pub(crate) fn normalized(self, configured: &BTreeSet<String>) -> Self {
        match self {
            Visibility::Only(names) if configured.is_subset(&names) => Visibility::All,
            other => other,
        }
    }

    /// The namespaces to filter a list by; None: no filter.
    pub(crate) fn listed(&self) -> Option<Vec<String>> {
        match self {
            Visibility::All => None,
            Visibility::Only(names) => Some(names.iter().cloned().collect()),
        }
    }

    /// The names as a token shows them: `*` for all.
    pub(crate) fn names(&self) -> Vec<String> {
        match self {
            Visibility::All => vec![ALL_STORED.to_string()],
            Visibility::Only(names) => names.iter().cloned().collect(),
        }
    }

    /// From a token's names (`*` for all); each checked, at least one.
    pub(crate) fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        if names.is_empty() {
            return Err("at least one namespace (or `*` for all)".into());
        }
        if names.iter().any(|n| n.as_ref() == ALL_STORED) {
            return Ok(Visibility::All);
        }
        let mut set = BTreeSet::new();
        for name in names {
            check_name(name.as_ref())?;
            set.insert(name.as_ref().to_string());
        }
        Ok(Visibility::Only(set))
    }

    /// As the history stores it: `*`, or the names joined by commas.
    pub(crate) fn stored(&self) -> String {
        self.names().join(",")
    }

    /// From the history's text (see [`Visibility::stored`]).
    pub(crate) fn from_stored(text: &str) -> Result<Self, String> {
        let names: Vec<&str> = text.split(',').filter(|n| !n.is_empty()).collect();
        Self::from_names(&names)
    }
}

/// One namespace's settings (`[namespaces.NAME]` in the config file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamespaceSettings {
    /// Workflow directories whose workflows belong to it.
    pub workflow_dirs: Vec<PathBuf>,
    /// Drop folders whose executions go into it.
    pub drop_folders: Vec<PathBuf>,
    /// Executions of it running at once; None: only the daemon's pool.
    pub max_running: Option<usize>,
    /// Executions of it waiting at once; None: only the daemon's queue.
    pub max_queued: Option<usize>,
    /// Its rate of starting work (per second) and burst; None: none.
    pub start_rate: Option<(f64, NonZeroU32)>,
    /// The most a call in it may ask for (within the daemon's maximum).
    pub limits_maximum: ProgramLimits,
}

/// The daemon's namespaces: `default` and the configured ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespaces {
    settings: BTreeMap<String, NamespaceSettings>,
}

impl Default for Namespaces {
    fn default() -> Self {
        Self::new(BTreeMap::new())
    }
}

impl Namespaces {
    /// `configured` plus `default` (with no settings unless configured).
    pub fn new(mut configured: BTreeMap<String, NamespaceSettings>) -> Self {
        configured.entry(DEFAULT.to_string()).or_default();
        Self {
            settings: configured,
        }
    }

    /// A namespace's settings, if it exists.
    pub fn get(&self, name: &str) -> Option<&NamespaceSettings> {
        self.settings.get(name)
    }

    /// Every namespace's name, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.settings.keys().map(String::as_str)
    }

    /// Every workflow directory some namespace lists.
    pub fn workflow_dirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.settings.values().flat_map(|s| s.workflow_dirs.iter())
    }

    /// The namespaces of the workflow at `program_path`: the ones listing
    /// its directory, else `default`; every one for the bundled workflows
    /// (in `bundled_dir`).
    pub(crate) fn of_workflow(&self, program_path: &Path, bundled_dir: &Path) -> Vec<String> {
        match program_path.parent() {
            Some(dir) => self.of_directory(dir, bundled_dir),
            None => vec![DEFAULT.to_string()],
        }
    }

    /// The namespaces of the workflow directory `dir`: the ones listing
    /// it, else `default`; every one for the bundled workflows' directory
    /// (`bundled_dir`).
    pub(crate) fn of_directory(&self, dir: &Path, bundled_dir: &Path) -> Vec<String> {
        let dir = Some(dir);
        if dir == Some(bundled_dir) {
            return self.settings.keys().cloned().collect();
        }
        let listing: Vec<String> = self
            .settings
            .iter()
            .filter(|(_, s)| s.workflow_dirs.iter().any(|d| Some(d.as_path()) == dir))
            .map(|(name, _)| name.clone())
            .collect();
        if listing.is_empty() {
            vec![DEFAULT.to_string()]
        } else {
            listing
        }
    }

    /// Whether the workflow at `program_path` belongs to `namespace`
    /// ([`Namespaces::of_workflow`] without building the list: Execute
    /// asks it on every start).
    pub(crate) fn has_workflow(
        &self,
        namespace: &str,
        program_path: &Path,
        bundled_dir: &Path,
    ) -> bool {
        let dir = program_path.parent();
        if dir == Some(bundled_dir) {
            return self.settings.contains_key(namespace);
        }
        let listed_by =
            |s: &NamespaceSettings| s.workflow_dirs.iter().any(|d| Some(d.as_path()) == dir);
        match self.settings.get(namespace) {
            Some(s) if listed_by(s) => true,
            // `default` also has every directory no namespace lists.
            Some(_) if namespace == DEFAULT => !self.settings.values().any(listed_by),
            _ => false,
        }
    }

    /// The namespace a drop folder's executions go into: the first (by
    /// name) listing it, else `default`.
    pub(crate) fn of_drop_folder(&self, folder: &Path) -> &str {
        self.settings
            .iter()
            .find(|(_, s)| s.drop_folders.iter().any(|d| d == folder))
            .map_or(DEFAULT, |(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_star_means_all() {
        assert!(check_name("team-a_1").is_ok());
        for bad in ["", "Team", "-a", "a b", "a/b", &"x".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Visibility::from_names(&["*"]), Ok(Visibility::All));
        assert!(Visibility::from_names::<&str>(&[]).is_err());
        let only = Visibility::from_names(&["b", "a"]).unwrap();
        assert_eq!(only.stored(), "a,b");
        assert_eq!(Visibility::from_stored("a,b"), Ok(only.clone()));
        assert_eq!(Visibility::from_stored("*"), Ok(Visibility::All));
        assert!(only.sees("a") && !only.sees("c"));
        assert_eq!(only.listed(), Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn request_ids_are_kept_per_namespace_and_shown_as_sent() {
        let a = scoped_request_id("team-a", "deploy-1");
        assert_ne!(a, scoped_request_id("team-b", "deploy-1"));
        assert_eq!(shown_request_id("team-a", &a), "deploy-1");
        assert_eq!(shown_request_id("team-b", &a), a, "another namespace's key");
        assert_eq!(shown_request_id("default", "schedule/n/1"), "schedule/n/1");
        assert!(!scoped_request_id("schedule", "n/1").starts_with("schedule/"));
    }

    #[test]
    fn a_visibility_covers_only_what_it_sees() {
        let a = Visibility::from_names(&["a"]).unwrap();
        let ab = Visibility::from_names(&["a", "b"]).unwrap();
        assert!(Visibility::All.covers(&ab));
        assert!(ab.covers(&a));
        assert!(!a.covers(&ab));
        assert!(!ab.covers(&Visibility::All));
    }

    #[test]
    fn workflows_belong_to_the_namespaces_listing_their_directory() {
        let team = |dir: &str| NamespaceSettings {
            workflow_dirs: vec![PathBuf::from(dir)],
            ..NamespaceSettings::default()
        };
        let namespaces = Namespaces::new(BTreeMap::from([
            ("a".to_string(), team("/w/shared")),
            ("b".to_string(), team("/w/shared")),
            (
                "c".to_string(),
                NamespaceSettings {
                    drop_folders: vec![PathBuf::from("/drop")],
                    ..team("/w/c")
                },
            ),
        ]));
        let bundled = Path::new("/data/bundled");
        assert_eq!(
            namespaces.of_workflow(Path::new("/w/shared/x"), bundled),
            ["a", "b"]
        );
        assert_eq!(namespaces.of_workflow(Path::new("/w/c/x"), bundled), ["c"]);
        assert_eq!(
            namespaces.of_workflow(Path::new("/w/other/x"), bundled),
            [DEFAULT]
        );
        assert_eq!(
            namespaces.of_workflow(Path::new("/data/bundled/hello"), bundled),
            ["a", "b", "c", DEFAULT]
        );
        for path in ["/w/shared/x", "/w/c/x", "/w/other/x", "/data/bundled/hello"] {
            let of = namespaces.of_workflow(Path::new(path), bundled);
            for name in ["a", "b", "c", DEFAULT, "nope"] {
                assert_eq!(
                    namespaces.has_workflow(name, Path::new(path), bundled),
                    of.iter().any(|n| n == name),
                    "{name} {path}"
                );
            }
        }
        assert_eq!(namespaces.of_drop_folder(Path::new("/drop")), "c");
        assert_eq!(namespaces.of_drop_folder(Path::new("/else")), DEFAULT);
    }
}
