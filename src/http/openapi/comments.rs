//! The proto's comments, read from the descriptor set's source info
//! (build.rs keeps it), as the descriptions of the document.

use prost_reflect::FileDescriptor;

/// The leading comment of the element at `path` in `file` (a message
/// `[4, i]`, a field `[4, i, 2, j]`, an RPC `[6, s, 2, m]`, ...), its lines
/// unindented by the one space after `//`; None when it has none.
pub(super) fn comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    let text = lines.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The first sentence of `text` (up to the first `. ` or the end), on one
/// line: an operation's summary.
pub(super) fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(end) => flat[..=end].to_string(),
        None => flat,
    }
}
