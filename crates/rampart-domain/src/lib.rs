//! Pure types and rules of Rampart.
//!
//! This crate owns the vocabulary every other crate speaks: identifiers, validated
//! values (slugs, emails, names), the permission catalogue, scopes and the named limits.
//! It does no IO, reads no clock and no environment, and is not async: time is always a
//! parameter, so every rule here can be tested at any instant.
//!
//! Values are parsed at the edge into these types ("parse, don't validate"); the inside
//! of the system never re-checks a string.

pub mod error_code;
pub mod iacm;
pub mod ids;
pub mod json;
pub mod limits;
pub mod permission;
pub mod platform;
pub mod sre;
pub mod validation;

pub use error_code::{ErrorCode, Refusal};
pub use ids::*;
pub use permission::{Permission, PermissionClass, ScopeLevel};
pub use validation::{
    Description, DisplayName, Email, Name, Slug, ValidationError, has_nul, json_has_nul,
};
