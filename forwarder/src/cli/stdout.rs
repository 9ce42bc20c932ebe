//! Where every command writes and what it exits with: a closed pipe never hides what was found.

use std::io::Write;

/// Exit status when nothing was flagged.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status when at least one line was flagged.
pub const EXIT_FLAGGED: u8 = 1;
/// Exit status for bad input, bad usage or a failed publish.
pub const EXIT_ERROR: u8 = 2;

/// Standard output that its reader may close early (`forwarder scan | head -1`): what is left to
/// print is dropped, and the exit status still says what was found, so a closed pipe never turns
/// a flagged input into a clean one.
pub(super) struct Closable<W> {
    inner: W,
    closed: bool,
}

impl Closable<std::io::StdoutLock<'static>> {
    pub(super) fn stdout() -> Self {
        Closable {
            inner: std::io::stdout().lock(),
            closed: false,
        }
    }
}

impl<W: Write> Closable<W> {
    fn outcome<T>(&mut self, r: std::io::Result<T>, done: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(done)
            }
            r => r,
        }
    }
}

impl<W: Write> Write for Closable<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.outcome(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.outcome(r, ())
    }
}
