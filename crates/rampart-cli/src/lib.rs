//! The `rampart` binary's library: command-line definitions, configuration (the only
//! place that reads the environment), wiring of the server (`serve`), operator commands
//! (`admin`), the offline IaCM commands (`iacm`: cost estimates, policy evaluation) and the API client commands. `main.rs` only dispatches. Everything printed
//! goes through [`output`] (its `println!` is declared first, so every module uses it).

#[macro_use]
pub mod output;

pub mod admin;
pub mod cli;
pub mod client;
pub mod config;
pub mod generate;
pub mod iacm;
pub mod instance_lock;
pub mod logging;
pub mod serve;
pub mod setup;
pub mod tls_files;
