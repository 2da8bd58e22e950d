//! Standard output for every command, and what happens when its reader goes away.
//!
//! Rust ignores SIGPIPE, so writing to a closed pipe (`rampart admin audit export | head`)
//! is an error: `std::println!` panics with "failed printing to stdout: Broken pipe" and
//! a `write` returns `BrokenPipe`. A command whose reader has gone has nothing left to
//! do: it ends at once, printing nothing, with status 0 — the reader took what it
//! wanted (ripgrep does the same; a status of 141 would fail `set -o pipefail` scripts
//! that read the first lines). The crate's [`println!`](crate::println) routes every
//! line through [`write_stdout`]; errors that reach `main` are checked with
//! [`is_closed_pipe`].

use std::io::Write;

/// Writes to standard output; a closed pipe ends the process quietly, any other write
/// error ends it with a one-line message.
pub fn write_stdout(text: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(text).and_then(|()| out.flush()) {
        exit_on_write_error(&error);
    }
}

/// Ends the process after a failed write to standard output.
pub fn exit_on_write_error(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to standard output: {error}");
    std::process::exit(1);
}

/// Whether a command failed because its standard output was closed (anywhere in the
/// error's chain).
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `std::println!` for this crate's commands, ending quietly on a closed pipe (see the
/// module doc). Defined before the modules in `lib.rs`, so it replaces the standard
/// macro in every one of them; `main.rs` imports it.
#[macro_export]
macro_rules! println {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_a_closed_pipe() {
        let closed = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the export");
        assert!(is_closed_pipe(&closed));
        let other = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound))
            .context("writing the export");
        assert!(!is_closed_pipe(&other));
    }
}
