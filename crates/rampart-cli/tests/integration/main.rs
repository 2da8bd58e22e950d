//! The integration suite: the real server on port 0 over HTTPS, driven through HTTP and
//! through the `rampart` binary. One test binary (link time); modules mirror the route
//! tree.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

mod cli;
mod edge;
mod iacm;
mod platform;
mod routes;
mod sre;
mod tidy;
mod tls;
