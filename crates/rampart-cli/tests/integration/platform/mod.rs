//! `/api/v1/…` of the platform: one module per slice, named as in every crate (tenancy,
//! identity, auth, access, secrets, audit log).

pub mod access;
mod audit_log;
pub mod auth;
mod identity;
mod secrets;
mod tenancy;
mod users;
