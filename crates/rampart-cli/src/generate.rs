//! Shell completion scripts and manual pages, generated from the same clap definitions
//! that parse the command line ([`crate::cli::Cli`]), so they cannot drift from it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The binary's name, as completion scripts register it.
const BIN_NAME: &str = "rampart";

/// Writes the completion script for `shell` (to be sourced, or installed where the
/// shell looks for completions).
pub fn completions(shell: Shell, out: &mut dyn Write) -> Result<()> {
    let mut command = Cli::command();
    // Generated into memory first: clap_complete panics on a failed write (a closed
    // pipe), and a write error should be an ordinary error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN_NAME, &mut script);
    out.write_all(&script)
        .context("writing the completion script")
}

/// Writes the manual page of `rampart` itself (roff): synopsis, every command with its
/// description, version.
pub fn man_page(out: &mut dyn Write) -> Result<()> {
    clap_mangen::Man::new(Cli::command())
        .render(out)
        .context("writing the manual page")
}

/// Writes one manual page per command into `dir` (`rampart.1`, `rampart-incident.1`,
/// `rampart-incident-ack.1`, …): a `man1` directory, or pages to read with `man -l`.
pub fn man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("writing manual pages to {}", dir.display()))
}
