//! The platform in the UI: signing in and out.

pub mod auth;
