//! `/api/v1/…`

pub mod auth;
mod orgs;
mod routes;
mod tokens;
mod users;
