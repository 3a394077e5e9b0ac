//! What the commands print on stdout: a reader that goes away early (`| head`) ends the output
//! quietly, with success, rather than with a panic or an error.

/// Prints a line on stdout. A reader that has gone (`jaminan audit verify | head -1`) ends the
/// output quietly: the line is dropped, and so is every later one, and the command still
/// succeeds; any other failure to write is the command's error.
pub(super) fn say(line: impl std::fmt::Display) -> Result<(), String> {
    write_out(&format!("{line}\n"))
}

/// Writes `text` as it is on stdout; a reader that has gone is no error (see `say`).
pub(super) fn write_out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.to_string()),
        _ => Ok(()),
    }
}

/// Stdout for a command that streams (an export): remembers whether the reader went away, so
/// that the command can end quietly rather than report the write that failed.
pub(super) struct Stdout {
    pub(super) closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.noted(std::io::stdout().lock().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.noted(std::io::stdout().lock().flush())
    }
}

impl Stdout {
    fn noted<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(err) = &result
            && err.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }
}
