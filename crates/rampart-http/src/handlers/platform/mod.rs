//! The platform: health, sessions, identities, tenancy, access control, secrets, key
//! rings, network allowlists, delegates, single sign-on and the audit log.

pub mod access;
pub mod audit_log;
pub mod auth;
pub mod delegates;
pub mod health;
pub mod identity;
pub mod keys;
pub mod network;
pub mod secrets;
pub mod sso;
pub mod tenancy;
