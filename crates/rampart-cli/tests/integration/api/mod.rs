//! `/api/v1/…`

mod access;
pub mod auth;
mod orgs;
mod routes;
mod tokens;
mod users;
