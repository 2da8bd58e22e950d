//! Structured logs with `tracing`: JSON lines by default. Nothing secret is ever a field
//! (tokens, passwords, cookies and bodies are never logged; the edge logs only the route
//! template, status, latency, request id and client IP).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber writing to stderr. Safe to call twice (the second
/// call does nothing). Colours only when stderr is a terminal: logs sent to a file, a
/// pipe or a journal carry no ANSI escape codes.
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if format == "text" {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// A writer that appends log lines to a shared file (the testkit sends every test
/// server's logs to one file, which a test then searches for leaked secrets).
#[derive(Clone)]
pub struct SharedFile(pub Arc<Mutex<std::fs::File>>);

impl<'a> MakeWriter<'a> for SharedFile {
    type Writer = SharedFileGuard;
    fn make_writer(&'a self) -> Self::Writer {
        SharedFileGuard(self.0.clone())
    }
}

pub struct SharedFileGuard(Arc<Mutex<std::fs::File>>);

impl Write for SharedFileGuard {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut file) => file.write(buf),
            Err(_) => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock() {
            Ok(mut file) => file.flush(),
            Err(_) => Ok(()),
        }
    }
}

/// Installs a JSON subscriber (at debug level for Rampart's crates) writing to `file`.
pub fn init_to_file(file: std::fs::File) {
    let writer = SharedFile(Arc::new(Mutex::new(file)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("rampart=debug,info"))
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .try_init();
}
