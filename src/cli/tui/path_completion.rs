//! Tab completion of a path typed into a form: the longest prefix the
//! matching entries of its directory share, with `/` after a directory,
//! and the other candidates when there is more than one. It reads the
//! local file system, where wfctl runs: the daemon resolves the same path
//! on its host, which is this one when wfctl talks to a local daemon (the
//! case the TUI is for; docs/tui.md).

use std::path::Path;

/// Candidates listed at most.
const MAX_CHOICES: usize = 50;

/// The result of one Tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    /// The text after completion (unchanged when nothing matched).
    pub(crate) text: String,
    /// The file names that still match, when more than one does (sorted).
    pub(crate) choices: Vec<String>,
}

/// Completes `typed`: `~/` is the home directory, a relative path is
/// relative to the current directory (and stays relative).
pub(crate) fn complete_path(typed: &str) -> Completion {
    let unchanged = || Completion {
        text: typed.to_string(),
        choices: Vec::new(),
    };
    let (dir_text, stem) = match typed.rfind('/') {
        Some(slash) => (&typed[..=slash], &typed[slash + 1..]),
        None => ("", typed),
    };
    let dir = match dir_text.strip_prefix("~/") {
        Some(rest) => match dirs::home_dir() {
            Some(home) => home.join(rest),
            None => return unchanged(),
        },
        None if dir_text.is_empty() => Path::new(".").to_path_buf(),
        None => Path::new(dir_text).to_path_buf(),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return unchanged();
    };
    let mut matches: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            // Hidden entries only when asked for with a leading dot.
            if !name.starts_with(stem) || (name.starts_with('.') && !stem.starts_with('.')) {
                return None;
            }
            // Through symlinks, as the shell does.
            let is_dir = entry.path().is_dir();
            Some((name, is_dir))
        })
        .collect();
    matches.sort();
    match matches.as_slice() {
        [] => unchanged(),
        [(name, is_dir)] => Completion {
            text: format!("{dir_text}{name}{}", if *is_dir { "/" } else { "" }),
            choices: Vec::new(),
        },
        several => {
            let first = &several[0].0;
            let shared = several.iter().fold(first.len(), |len, (name, _)| {
                first
                    .char_indices()
                    .zip(name.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((i, a), _)| i + a.len_utf8())
                    .min(len)
            });
            Completion {
                text: format!("{dir_text}{}", &first[..shared]),
                choices: several
                    .iter()
                    .take(MAX_CHOICES)
                    .map(|(name, is_dir)| format!("{name}{}", if *is_dir { "/" } else { "" }))
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_match_completes_and_a_directory_gets_its_slash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("disks")).unwrap();
        std::fs::write(dir.path().join("web-01.raw"), b"").unwrap();
        std::fs::write(dir.path().join("web-02.raw"), b"").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"").unwrap();
        let base = format!("{}/", dir.path().display());

        let done = complete_path(&format!("{base}di"));
        assert_eq!(done.text, format!("{base}disks/"));
        assert!(done.choices.is_empty());

        let shared = complete_path(&format!("{base}we"));
        assert_eq!(shared.text, format!("{base}web-0"));
        assert_eq!(shared.choices, ["web-01.raw", "web-02.raw"]);

        let all = complete_path(&base);
        assert_eq!(all.choices, ["disks/", "web-01.raw", "web-02.raw"]);
        assert_eq!(
            complete_path(&format!("{base}.h")).text,
            format!("{base}.hidden")
        );

        let none = complete_path(&format!("{base}zz"));
        assert_eq!(none.text, format!("{base}zz"));
        assert!(none.choices.is_empty());
        let missing = complete_path("/no/such/dir/x");
        assert_eq!(missing.text, "/no/such/dir/x");
    }
}
