//! The integration suite: the real server on port 0 over HTTPS, driven through HTTP and
//! through the `rampart` binary. One test binary (link time). Modules mirror the slices:
//! `platform/`, `sre/` and `iacm/`, one file per resource named as in every crate
//! (`sre/incidents.rs` tests what `rampart-*/src/…/sre/incidents.rs` implement); what
//! crosses slices is at the top: the edge, TLS, database outages, the kill -9 harness, the
//! route table (anonymous refusals, no 500s, the OpenAPI document, the role matrix), the
//! server against its OpenAPI document under schemathesis (`openapi_conformance`),
//! oversized bodies answered to every client (`unread_body`), the CLI, every command block
//! of the README run against a server (`readme`), the tidy checks and zero egress at run
//! time (`egress`: the end-to-end delegate tests under strace), and the web UI (`web`: as a
//! browser without JavaScript uses it; `web_browser`: in real Chromium).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

mod cli;
mod crash;
mod edge;
mod egress;
mod iacm;
mod openapi_conformance;
mod outage;
mod platform;
mod readme;
mod routes;
mod scale_out;
mod sealed;
mod sre;
mod tidy;
mod tls;
mod unread_body;
mod web;
mod web_browser;
