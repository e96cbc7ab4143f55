//! Pages of execution logs, read from the history once for every reader at
//! the same place.
//!
//! StreamLogs readers that are behind the live channel read the history a
//! page at a time, and each page costs a query and a JSON decode of every
//! event. A hundred dashboards following one busy execution fall behind
//! together and used to read the same pages a hundred times (bench/fanout.rs,
//! `perf`). Pages are aligned on sequence numbers, so readers at nearby
//! places ask for the same page; a page is kept once it is complete (its
//! events never change after commit), the most recently used in memory up
//! to a budget of stored text.
//!
//! The budget counts memory, not pages: a hundred readers spread over a
//! long log of short lines need many small pages at once, and holding
//! only eight (16,000 events) made most of them read their own
//! (bench/README.md, fan-out).

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use uuid::Uuid;

use crate::events::LogEvent;

/// Events per page.
pub(crate) const LOG_PAGE: usize = 2000;
/// Memory the complete pages kept may take, in all, about ([`memory_of`]):
/// 16 MiB, where eight pages of the longest lines kept took about 10 MiB...
const KEPT_BYTES: usize = 16 << 20;
/// ...each page kept only if its stored text is at most this big: a line
/// can be 64 KiB, and a page of those 128 MiB. Such pages are read by
/// each reader, as before there were shared pages.
const PAGE_BYTES_KEPT: usize = 1 << 20;

/// What a decoded event's allocation costs beyond its text, about.
const ALLOCATION_BYTES: usize = 32;

/// About the memory a page takes: its text, and each event's own size and
/// allocation (most of it for a log of short lines).
fn memory_of(events: &[LogEvent], text_bytes: usize) -> usize {
    text_bytes + events.len() * (std::mem::size_of::<LogEvent>() + ALLOCATION_BYTES)
}

/// A page of an execution's log, from the event a reader asked for.
#[derive(Debug, Clone)]
pub(crate) struct LogPage {
    events: Arc<[LogEvent]>,
    /// Where in `events` the reader's event is.
    from: usize,
    /// Whether the whole page was in the history: later events may follow.
    /// An incomplete page is the end of what has been committed.
    pub(crate) complete: bool,
}

impl LogPage {
    /// The page's events from the one asked for on.
    pub(crate) fn events(&self) -> &[LogEvent] {
        &self.events[self.from..]
    }
}

/// Which page of whose log: execution ids, unlike row ids, are never
/// reused once retention deleted an execution.
type PageKey = (Uuid, u64);

/// The complete pages kept, the most recently used last.
#[derive(Default)]
pub(crate) struct LogPages {
    kept: Mutex<Kept>,
}

/// The pages kept and the memory they take ([`memory_of`]).
#[derive(Default)]
struct Kept {
    pages: VecDeque<KeptPage>,
    bytes: usize,
}

struct KeptPage {
    key: PageKey,
    events: Arc<[LogEvent]>,
    bytes: usize,
}

impl Kept {
    /// The page `key`, now the most recently used, when it is kept.
    fn take(&mut self, key: PageKey) -> Option<Arc<[LogEvent]>> {
        let at = self.pages.iter().position(|page| page.key == key)?;
        let page = self.pages.remove(at)?;
        let events = page.events.clone();
        self.pages.push_back(page);
        Some(events)
    }

    /// Keeps a page, dropping the least recently used ones it needs room
    /// from.
    fn keep(&mut self, key: PageKey, events: Arc<[LogEvent]>, bytes: usize) {
        if self.pages.iter().any(|page| page.key == key) {
            return;
        }
        while self.bytes + bytes > KEPT_BYTES {
            let Some(oldest) = self.pages.pop_front() else {
                break;
            };
            self.bytes -= oldest.bytes;
        }
        self.bytes += bytes;
        self.pages.push_back(KeptPage { key, events, bytes });
    }
}

impl LogPages {
    /// The page holding sequence number `next` (1-based, at most
    /// `i64::MAX` as the history stores them) of `execution`'s log, from
    /// memory or from `read(first sequence, count)`, which gives the events
    /// and the size of their stored text.
    pub(crate) fn page<E>(
        &self,
        execution: Uuid,
        next: u64,
        read: impl FnOnce(u64, usize) -> Result<(Vec<LogEvent>, usize), E>,
    ) -> Result<LogPage, E> {
        let index = next.saturating_sub(1) / LOG_PAGE as u64;
        let first = index * LOG_PAGE as u64 + 1;
        let key = (execution, index);
        let kept = self.kept.lock().take(key);
        let (events, complete) = match kept {
            Some(events) => (events, true),
            None if next == first => {
                let (events, bytes) = read(first, LOG_PAGE)?;
                let events: Arc<[LogEvent]> = events.into();
                let complete = events.len() == LOG_PAGE;
                // A page whose front is gone (retention) is not kept: the
                // reader is told by the gap.
                if complete && events[0].sequence == first && bytes <= PAGE_BYTES_KEPT {
                    let memory = memory_of(&events, bytes);
                    self.kept.lock().keep(key, events.clone(), memory);
                }
                (events, complete)
            }
            None => {
                // A reader starting (or resuming) mid-page reads only the
                // rest of it; from the next page on it asks for whole ones.
                let rest = (first + LOG_PAGE as u64 - next) as usize;
                let events: Arc<[LogEvent]> = read(next, rest)?.0.into();
                let complete = events.len() == rest;
                (events, complete)
            }
        };
        let from = events.partition_point(|event| event.sequence < next);
        Ok(LogPage {
            events,
            from,
            complete,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::events::{LogPayload, OutputStream};

    fn log(from: u64, count: usize) -> Vec<LogEvent> {
        (from..from + count as u64)
            .map(|sequence| LogEvent {
                sequence,
                time_ms: 0,
                payload: LogPayload::Output {
                    stream: OutputStream::Stdout,
                    text: sequence.to_string(),
                    malformed_event: false,
                    truncated: false,
                },
            })
            .collect()
    }

    #[test]
    fn a_complete_page_is_read_once_for_every_reader_in_it() {
        let pages = LogPages::default();
        let execution = Uuid::now_v7();
        let reads = Cell::new(0);
        let read = |first: u64, count: usize| {
            reads.set(reads.get() + 1);
            Ok::<_, ()>((log(first, count), count))
        };
        let page = pages.page(execution, 1, read).unwrap();
        assert!(page.complete);
        assert_eq!(page.events().len(), LOG_PAGE);
        let page = pages.page(execution, 1500, read).unwrap();
        assert_eq!(page.events()[0].sequence, 1500);
        assert_eq!(page.events().len(), LOG_PAGE - 1499);
        assert_eq!(reads.get(), 1, "the second reader got it from memory");
        let page = pages.page(execution, LOG_PAGE as u64 + 1, read).unwrap();
        assert_eq!(page.events()[0].sequence, LOG_PAGE as u64 + 1);
        assert_eq!(reads.get(), 2, "the next page is read");
        pages.page(Uuid::now_v7(), 1, read).unwrap();
        assert_eq!(reads.get(), 3, "another execution's log is its own");
    }

    /// Pages are kept up to the budget of stored text, however many that
    /// is, and the one dropped for room is the least recently used.
    #[test]
    fn pages_are_kept_by_bytes_and_the_least_recently_used_goes() {
        let pages = LogPages::default();
        let execution = Uuid::now_v7();
        let reads = Cell::new(0);
        // Each page a sixteenth of the budget: sixteen fit.
        let read = |first: u64, count: usize| {
            reads.set(reads.get() + 1);
            let events = log(first, count);
            let text = KEPT_BYTES / 16 - memory_of(&events, 0);
            Ok::<_, ()>((events, text))
        };
        let start = |page: u64| page * LOG_PAGE as u64 + 1;
        for page in 0..16 {
            pages.page(execution, start(page), read).unwrap();
        }
        assert_eq!(reads.get(), 16);
        // Page 0 used again: page 1 is now the least recently used.
        pages.page(execution, start(0), read).unwrap();
        assert_eq!(reads.get(), 16, "sixteen pages kept, more than eight");
        pages.page(execution, start(16), read).unwrap();
        assert_eq!(reads.get(), 17);
        pages.page(execution, start(0), read).unwrap();
        assert_eq!(reads.get(), 17, "the page used again was kept");
        pages.page(execution, start(1), read).unwrap();
        assert_eq!(reads.get(), 18, "the least recently used was dropped");
    }

    #[test]
    fn a_page_of_long_lines_is_not_kept() {
        let pages = LogPages::default();
        let execution = Uuid::now_v7();
        let reads = Cell::new(0);
        let read = |first: u64, count: usize| {
            reads.set(reads.get() + 1);
            Ok::<_, ()>((log(first, count), count * 64 * 1024))
        };
        pages.page(execution, 1, read).unwrap();
        pages.page(execution, 1, read).unwrap();
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn the_end_of_the_log_is_read_again_and_a_gap_is_left_to_the_reader() {
        let pages = LogPages::default();
        let execution = Uuid::now_v7();
        let reads = Cell::new(0);
        // The log so far ends at 10: read every time, as it grows, and
        // only from where the reader is.
        let so_far = |first: u64, _| {
            reads.set(reads.get() + 1);
            Ok::<_, ()>((log(first, 11usize.saturating_sub(first as usize)), 10))
        };
        for next in [1, 4] {
            let page = pages.page(execution, next, so_far).unwrap();
            assert!(!page.complete);
            assert_eq!(page.events()[0].sequence, next);
            assert_eq!(page.events().last().map(|e| e.sequence), Some(10));
        }
        assert_eq!(reads.get(), 2);
        assert!(pages
            .page(execution, 11, so_far)
            .unwrap()
            .events()
            .is_empty());
        // A whole page read mid-way is not kept: it was read from the middle.
        let read_mid = |first: u64, count: usize| {
            reads.set(reads.get() + 1);
            Ok::<_, ()>((log(first, count), count))
        };
        let page = pages.page(execution, 5, read_mid).unwrap();
        assert!(page.complete);
        assert_eq!(page.events().len(), LOG_PAGE - 4);
        pages.page(execution, 6, read_mid).unwrap();
        assert_eq!(reads.get(), 5);
        // Its front was deleted: the reader sees where the page starts.
        let page = pages
            .page(Uuid::now_v7(), 1, |_, count| {
                Ok::<_, ()>((log(500, count), count))
            })
            .unwrap();
        assert_eq!(page.events()[0].sequence, 500);
    }
}
