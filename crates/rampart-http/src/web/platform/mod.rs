//! The platform in the UI: signing in and out, step-up, your API tokens.

pub mod auth;
pub mod identity;
