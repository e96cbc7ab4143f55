//! Splitting a child's output into lines in a way that survives anything a
//! program can print: lines longer than the limit are cut (and flagged)
//! instead of growing memory without bound, and bytes that are not UTF-8
//! are replaced. It does no I/O: the runner reads the pipes (into one
//! buffer per worker thread, reused for every execution) and pushes what
//! it read.

/// Longest line kept; the rest of a longer line is skipped.
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024;

/// Splits one stream of bytes into lines.
#[derive(Debug)]
pub(super) struct LineSplitter {
    /// The start of a line whose newline has not come yet.
    partial: Vec<u8>,
    /// That line was longer than the limit.
    truncated: bool,
    max: usize,
}

/// One line read.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Line {
    /// The text, without the newline (and without a trailing CR).
    pub(super) text: String,
    /// The line was longer than the limit and was cut.
    pub(super) truncated: bool,
}

impl LineSplitter {
    /// A splitter keeping at most `max` bytes of a line.
    pub(super) fn new(max: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            truncated: false,
            max,
        }
    }

    /// Takes the next bytes of the stream and hands each line they complete
    /// to `emit`; the start of an unfinished line is kept for the next push.
    pub(super) fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(Line)) {
        while let Some(newline) = bytes.iter().position(|&b| b == b'\n') {
            self.keep(&bytes[..newline]);
            emit(self.take_line());
            bytes = &bytes[newline + 1..];
        }
        self.keep(bytes);
    }

    /// Ends the stream: a last line without a newline is still a line.
    pub(super) fn finish(&mut self) -> Option<Line> {
        (!self.partial.is_empty() || self.truncated).then(|| self.take_line())
    }

    fn keep(&mut self, chunk: &[u8]) {
        let room = self.max.saturating_sub(self.partial.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.partial
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn take_line(&mut self) -> Line {
        let mut bytes = std::mem::take(&mut self.partial);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Line {
            text,
            truncated: std::mem::take(&mut self.truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `input` pushed in pieces of `piece` bytes.
    fn lines(input: &[u8], max: usize, piece: usize) -> Vec<Line> {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            splitter.push(chunk, |line| out.push(line));
        }
        out.extend(splitter.finish());
        out
    }

    #[test]
    fn long_lines_are_cut_and_flagged_and_reading_goes_on() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nnext\r\nlast");
        for piece in [1, 7, input.len()] {
            let got = lines(&input, 10, piece);
            assert_eq!(got.len(), 3, "in pieces of {piece}");
            assert_eq!(got[0].text, "x".repeat(10));
            assert!(got[0].truncated);
            assert_eq!(
                got[1],
                Line {
                    text: "next".into(),
                    truncated: false
                }
            );
            assert_eq!(got[2].text, "last");
            assert!(!got[2].truncated);
        }
    }

    #[test]
    fn a_line_longer_than_one_push_is_joined() {
        let long = "y".repeat(MAX_LINE_BYTES * 2 + 10);
        let input = format!("{long}\nnext\n");
        let got = lines(input.as_bytes(), usize::MAX, MAX_LINE_BYTES);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, long);
        assert!(!got[0].truncated);
        assert_eq!(got[1].text, "next");
    }

    #[test]
    fn empty_lines_count_and_no_input_gives_no_line() {
        assert_eq!(lines(b"\n\n", 10, 1).len(), 2);
        assert!(lines(b"", 10, 1).is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let got = lines(b"a\xffb\n", 100, 2);
        assert_eq!(got[0].text, "a\u{fffd}b");
    }
}
