//! Platform entities shared by SRE and IaCM: tenancy (account, organisations, projects)
//! and identity (users, service accounts, tokens, sessions, passwords).

pub mod access;
pub mod identity;
pub mod password;
pub mod secrets;
pub mod tenancy;
pub mod throttle;
