//! Platform use cases: authentication, tenancy, users, service accounts and tokens.

pub mod auth;
pub mod identity;
pub mod tenancy;

use rampart_domain::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
use rampart_store::platform::PageRequest;

use crate::error::{AppError, AppResult};

/// Validates list parameters: `limit` in 1..=PAGE_SIZE_MAX, `cursor` as returned by a
/// previous page.
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> AppResult<PageRequest> {
    let limit = limit.unwrap_or(PAGE_SIZE_DEFAULT);
    if limit == 0 || limit > PAGE_SIZE_MAX {
        return Err(AppError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    let after = match cursor {
        None | Some("") => None,
        Some(text) => {
            let parsed = uuid::Uuid::parse_str(text).map_err(|_| {
                AppError::bad_request("invalid_cursor", "cursor is not one this server issued")
            })?;
            Some(parsed.as_hyphenated().to_string())
        }
    };
    Ok(PageRequest { after, limit })
}
