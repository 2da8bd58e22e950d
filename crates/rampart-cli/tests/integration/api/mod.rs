//! `/api/v1/…`

mod access;
mod audit;
pub mod auth;
mod orgs;
mod routes;
mod tokens;
mod users;
