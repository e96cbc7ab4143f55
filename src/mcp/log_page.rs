//! One page of get_workflow_logs: forward from a cursor within a byte
//! budget, or the last N lines.

use std::collections::VecDeque;

use super::model::{self, LogLine, LogsOutput};
use crate::pb;

/// Builds one page of log lines: forward from the cursor within a byte
/// budget, or the last N lines.
pub(crate) struct LogPage {
    lines: VecDeque<LogLine>,
    bytes: usize,
    max_bytes: usize,
    tail: Option<usize>,
    next_cursor: u64,
    has_more: bool,
    finished: bool,
}

impl LogPage {
    pub(crate) fn new(cursor: u64, max_bytes: usize, tail: Option<usize>) -> LogPage {
        LogPage {
            lines: Default::default(),
            bytes: 0,
            max_bytes,
            tail,
            next_cursor: cursor,
            has_more: false,
            finished: false,
        }
    }

    /// Adds an event; false when the page is full (forward mode only).
    pub(crate) fn push(&mut self, event: &pb::LogEvent) -> bool {
        let mut line = model::log_line(event);
        let size = line.text.len();
        if self.tail.is_none() && self.bytes + size > self.max_bytes {
            if self.lines.is_empty() {
                // A line larger than the whole budget: send its start so
                // the reader still moves on.
                truncate_to(&mut line.text, self.max_bytes);
            } else {
                self.has_more = true;
                return false;
            }
        }
        self.finished |= model::is_finished_event(event);
        self.next_cursor = event.sequence + 1;
        self.bytes += line.text.len();
        self.lines.push_back(line);
        if let Some(tail) = self.tail {
            while self.lines.len() > tail || self.bytes > self.max_bytes {
                match self.lines.pop_front() {
                    Some(dropped) => self.bytes -= dropped.text.len(),
                    None => break,
                }
            }
        }
        true
    }

    pub(crate) fn finish(self, execution_id: String) -> LogsOutput {
        LogsOutput {
            execution_id,
            lines: self.lines.into(),
            next_cursor: self.next_cursor,
            has_more: self.has_more,
            execution_finished: self.finished,
        }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate_to(text: &mut String, max: usize) {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::log_event::Payload;

    fn output(sequence: u64, text: &str) -> pb::LogEvent {
        pb::LogEvent {
            sequence,
            time: None,
            payload: Some(Payload::Output(pb::OutputLine {
                stream: pb::OutputStream::Stdout as i32,
                text: text.into(),
                malformed_event: false,
                truncated: false,
            })),
        }
    }

    #[test]
    fn forward_pages_stop_at_the_byte_budget() {
        let mut page = LogPage::new(1, 10, None);
        assert!(page.push(&output(1, "12345")));
        assert!(page.push(&output(2, "12345")));
        assert!(!page.push(&output(3, "1")));
        let out = page.finish("e".into());
        assert_eq!(out.lines.len(), 2);
        assert_eq!(out.next_cursor, 3);
        assert!(out.has_more);
    }

    #[test]
    fn an_oversized_first_line_is_cut_not_skipped() {
        let mut page = LogPage::new(4, 3, None);
        assert!(page.push(&output(4, "héllo")));
        let out = page.finish("e".into());
        assert_eq!(out.lines[0].text, "hé");
        assert_eq!(out.next_cursor, 5);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut page = LogPage::new(1, 1000, Some(2));
        for i in 1..=5 {
            assert!(page.push(&output(i, &i.to_string())));
        }
        let out = page.finish("e".into());
        let texts: Vec<_> = out.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["4", "5"]);
        assert_eq!(out.next_cursor, 6);
        assert!(!out.has_more);
    }
}
