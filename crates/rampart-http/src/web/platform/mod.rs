//! The platform in the UI: signing in and out, step-up, your API tokens, users, access
//! (assignments, roles, groups, explain), settings (allowlists, audit retention,
//! secrets, delegates) and the audit log.

pub mod access;
pub mod audit_log;
pub mod auth;
pub mod delegates;
pub mod identity;
pub mod network;
pub mod secrets;
pub mod settings;
