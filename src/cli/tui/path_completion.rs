//! Tab completion of a local file path in a text field (the manifest
//! builder's paths, the run form's file fields), as a shell completes: to
//! the longest prefix the matching entries share, with `/` after a
//! directory. [`complete_among`] is the pure rule; [`complete_path`] reads
//! the directory.

use std::path::Path;

/// What Tab did to a path typed so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Completion {
    /// The path after completion: what was typed, extended as far as every
    /// match agrees (unchanged when nothing matches or they disagree at
    /// once).
    pub(crate) text: String,
    /// The names that match when more than one does (directories with a
    /// trailing `/`), sorted, for the field to show; empty otherwise.
    pub(crate) matches: Vec<String>,
}

/// One entry of a directory: its name and whether it is a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The file name.
    pub(crate) name: String,
    /// A directory (a link to one counts).
    pub(crate) is_dir: bool,
}

/// Completes `typed` against the local filesystem: the entries of its
/// directory (the part up to the last `/`; the current directory when
/// there is none) whose names start with the rest. Hidden entries match
/// only when the rest starts with `.`. A directory that cannot be read
/// completes nothing.
pub(crate) fn complete_path(typed: &str) -> Completion {
    let (dir, _) = split(typed);
    let dir_path = if dir.is_empty() { "." } else { dir };
    let entries = match std::fs::read_dir(Path::new(dir_path)) {
        Ok(read) => read
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                // `metadata` follows links, so a link to a directory is one.
                let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
                Some(Entry { name, is_dir })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    complete_among(typed, &entries)
}

/// Completes `typed` against `entries`, the contents of its directory
/// part: one match is completed whole (with `/` for a directory); several
/// extend `typed` to their longest common prefix and are listed.
pub(crate) fn complete_among(typed: &str, entries: &[Entry]) -> Completion {
    let (dir, prefix) = split(typed);
    let mut found: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name.starts_with(prefix))
        .filter(|e| prefix.starts_with('.') || !e.name.starts_with('.'))
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    match found.as_slice() {
        [] => Completion {
            text: typed.to_string(),
            matches: Vec::new(),
        },
        [one] => Completion {
            text: format!("{dir}{}{}", one.name, if one.is_dir { "/" } else { "" }),
            matches: Vec::new(),
        },
        [first, rest @ ..] => {
            let common = rest.iter().fold(first.name.as_str(), |common, e| {
                common_prefix(common, &e.name)
            });
            Completion {
                text: format!("{dir}{common}"),
                matches: found
                    .iter()
                    .map(|e| format!("{}{}", e.name, if e.is_dir { "/" } else { "" }))
                    .collect(),
            }
        }
    }
}

/// `typed` as (its directory part with the trailing `/`, the name part).
fn split(typed: &str) -> (&str, &str) {
    match typed.rfind('/') {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    }
}

/// The longest prefix of `a` that `b` shares, on character boundaries.
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let end = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i);
    &a[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(&str, bool)]) -> Vec<Entry> {
        list.iter()
            .map(|(name, is_dir)| Entry {
                name: name.to_string(),
                is_dir: *is_dir,
            })
            .collect()
    }

    #[test]
    fn one_match_is_completed_whole_and_a_directory_gets_a_slash() {
        let list = entries(&[("web.raw", false), ("disks", true), ("notes", false)]);
        let done = complete_among("/data/we", &list);
        assert_eq!(done.text, "/data/web.raw");
        assert!(done.matches.is_empty());
        assert_eq!(complete_among("/data/di", &list).text, "/data/disks/");
        assert_eq!(complete_among("di", &list).text, "disks/");
    }

    #[test]
    fn several_matches_extend_to_their_common_prefix_and_are_listed() {
        let list = entries(&[("web-01.raw", false), ("web-02.raw", false), ("db", true)]);
        let done = complete_among("/d/w", &list);
        assert_eq!(done.text, "/d/web-0");
        assert_eq!(done.matches, vec!["web-01.raw", "web-02.raw"]);
        // Already at the common prefix: unchanged, still listed.
        assert_eq!(complete_among("/d/web-0", &list).text, "/d/web-0");
        // A name that is a prefix of another is the common prefix.
        let list = entries(&[("a", false), ("ab", false)]);
        assert_eq!(complete_among("", &list).text, "a");
    }

    #[test]
    fn nothing_matching_leaves_the_text_and_hidden_entries_need_a_dot() {
        let list = entries(&[(".cache", true), ("web.raw", false)]);
        let done = complete_among("/d/x", &list);
        assert_eq!(
            done,
            Completion {
                text: "/d/x".into(),
                matches: vec![]
            }
        );
        assert_eq!(complete_among("/d/", &list).text, "/d/web.raw");
        assert_eq!(complete_among("/d/.c", &list).text, "/d/.cache/");
    }

    #[test]
    fn the_common_prefix_keeps_whole_characters() {
        assert_eq!(common_prefix("café-a", "café-b"), "café-");
        assert_eq!(common_prefix("caf\u{e9}", "caf\u{e8}"), "caf");
    }

    #[test]
    fn the_filesystem_is_read_for_the_directory_typed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("web.vmdk"), b"").unwrap();
        std::fs::create_dir(dir.path().join("images")).unwrap();
        let base = dir.path().to_str().unwrap();
        assert_eq!(
            complete_path(&format!("{base}/we")).text,
            format!("{base}/web.vmdk")
        );
        assert_eq!(
            complete_path(&format!("{base}/im")).text,
            format!("{base}/images/")
        );
        let both = complete_path(&format!("{base}/"));
        assert_eq!(both.matches, vec!["images/", "web.vmdk"]);
        assert_eq!(
            complete_path(&format!("{base}/missing/x")).text,
            format!("{base}/missing/x")
        );
    }
}
