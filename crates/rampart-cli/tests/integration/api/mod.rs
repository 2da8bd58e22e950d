//! `/api/v1/…`

pub mod access;
mod audit;
pub mod auth;
mod orgs;
mod routes;
mod secrets;
mod tokens;
mod users;
