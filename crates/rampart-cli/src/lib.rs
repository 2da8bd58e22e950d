//! The `rampart` binary's library: command-line definitions, configuration (the only
//! place that reads the environment), wiring of the server (`serve`), operator commands
//! (`admin`) and the API client commands. `main.rs` only dispatches.

pub mod admin;
pub mod cli;
pub mod client;
pub mod config;
pub mod generate;
pub mod instance_lock;
pub mod logging;
pub mod serve;
pub mod setup;
pub mod tls_files;
