//! The platform in the UI: signing in and out, step-up, your API tokens, the audit log.

pub mod audit_log;
pub mod auth;
pub mod identity;
