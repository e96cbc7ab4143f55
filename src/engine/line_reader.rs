//! Line reading from a child's pipe that survives anything a program can
//! print: lines longer than the limit are cut (and flagged) instead of
//! growing memory without bound, and bytes that are not UTF-8 are replaced.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest line kept; the rest of a longer line is skipped.
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024;

/// Most bytes taken from the pipe in one read: a whole pipe buffer, so a
/// program printing a flood is read in few system calls.
const READ_BYTES: usize = 64 * 1024;

/// Reads lines from a pipe.
pub(super) struct LineReader<R> {
    inner: R,
    /// Bytes read and not yet returned are `buffer[consumed..]`. Reads go
    /// into its spare capacity, which is never zeroed: tokio's `BufReader`
    /// zeroes its whole buffer up front, 128 KiB per execution for the two
    /// pipes of a program that may print a single line.
    buffer: Vec<u8>,
    consumed: usize,
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

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader keeping at most `max` bytes of a line.
    pub(super) fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buffer: Vec::with_capacity(READ_BYTES),
            consumed: 0,
            max,
        }
    }

    /// Whether more input is already buffered, so the next line can likely
    /// be read without waiting.
    pub(super) fn has_buffered_input(&self) -> bool {
        self.consumed < self.buffer.len()
    }

    /// The buffered input, reading more when all of it was returned; empty
    /// at end of input.
    async fn fill(&mut self) -> std::io::Result<&[u8]> {
        if !self.has_buffered_input() {
            self.buffer.clear();
            self.consumed = 0;
            // The buffer is empty, so the read is bounded by its capacity
            // and never grows it.
            self.inner.read_buf(&mut self.buffer).await?;
        }
        Ok(&self.buffer[self.consumed..])
    }

    /// The next line, or None at end of input. A last line without a
    /// newline is still returned.
    pub(super) async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let mut truncated = false;
        let mut saw_any = false;
        loop {
            let max = self.max;
            let available = self.fill().await?;
            if available.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            let room = max.saturating_sub(bytes.len());
            if chunk.len() > room {
                truncated = true;
            }
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.consumed += newline.map_or(available.len(), |i| i + 1);
            if newline.is_some() {
                break;
            }
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Some(Line { text, truncated }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap() {
            out.push(line);
        }
        out
    }

    #[tokio::test]
    async fn long_lines_are_cut_and_flagged_and_reading_goes_on() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nnext\r\nlast");
        let got = lines(&input, 10).await;
        assert_eq!(got.len(), 3);
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
    }

    #[tokio::test]
    async fn a_line_longer_than_one_read_is_joined() {
        let long = "y".repeat(READ_BYTES * 2 + 10);
        let input = format!("{long}\nnext\n");
        let got = lines(input.as_bytes(), usize::MAX).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, long);
        assert!(!got[0].truncated);
        assert_eq!(got[1].text, "next");
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced() {
        let got = lines(b"a\xffb\n", 100).await;
        assert_eq!(got[0].text, "a\u{fffd}b");
    }
}
