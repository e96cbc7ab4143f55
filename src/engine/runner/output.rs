//! One of the program's output pipes, read into lines for the log.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;

use crate::engine::active::ActiveExecution;
use crate::engine::line_splitter::{LineSplitter, MAX_LINE_BYTES};
use crate::events::{classify_line, LogPayload, OutputStream};

/// One of the program's output pipes.
pub(super) struct OutputPipe {
    /// None once it reached its end.
    pub(super) pipe: Option<File>,
    stream: OutputStream,
    lines: LineSplitter,
    /// Bytes read from it, for the output limit.
    pub(super) bytes: u64,
}

impl OutputPipe {
    pub(super) fn new(pipe: impl Into<OwnedFd>, stream: OutputStream) -> Self {
        OutputPipe {
            pipe: Some(File::from(pipe.into())),
            stream,
            lines: LineSplitter::new(MAX_LINE_BYTES),
            bytes: 0,
        }
    }

    /// Reads what the pipe holds (it polled readable, so this does not
    /// block) and adds the lines it completes to `read`.
    pub(super) fn read(
        &mut self,
        execution: &ActiveExecution,
        buffer: &mut [u8],
        read: &mut Vec<LogPayload>,
    ) {
        let Some(pipe) = &mut self.pipe else {
            return;
        };
        let stream = self.stream;
        match pipe.read(buffer) {
            Ok(0) => {}
            Ok(n) => {
                self.bytes += n as u64;
                self.lines.push(&buffer[..n], |line| {
                    read.push(classify_line(stream, line.text, line.truncated))
                });
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return,
            Err(e) => {
                tracing::warn!(execution = %execution.id, ?stream, error = %e, "reading program output failed");
            }
        }
        // The end of the stream: a last line without a newline counts.
        read.extend(
            self.lines
                .finish()
                .map(|line| classify_line(stream, line.text, line.truncated)),
        );
        self.pipe = None;
    }
}
