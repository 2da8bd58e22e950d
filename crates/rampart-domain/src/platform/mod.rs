//! Platform entities shared by SRE and IaCM: tenancy (account, organisations, projects)
//! identity (users, service accounts, tokens, sessions, passwords), and delegates (the
//! agents that do the outbound work) with their tasks.

pub mod access;
pub mod delegates;
pub mod identity;
pub mod password;
pub mod secrets;
pub mod sso;
pub mod tenancy;
pub mod throttle;
