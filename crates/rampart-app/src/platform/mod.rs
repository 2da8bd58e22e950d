//! Platform use cases: authentication, tenancy, users, service accounts and tokens, and
//! the audit log, delegates and their tasks, and this server as one replica among
//! several.

pub mod access;
pub mod audit_log;
pub mod auth;
pub mod delegates;
pub mod identity;
pub mod network;
pub mod replicas;
pub mod secrets;
pub mod sso;
pub mod sso_saml;
pub mod tenancy;
pub mod throttle;

use rampart_domain::ErrorCode;
use rampart_domain::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
use std::future::Future;

use rampart_store::platform::PageRequest;
use rampart_store::{Page, StoreResult};

use crate::error::{AppError, AppResult};

/// The page size asked for (default when absent), refused outside 1..=PAGE_SIZE_MAX.
pub(crate) fn page_limit(limit: Option<u32>) -> AppResult<u32> {
    let limit = limit.unwrap_or(PAGE_SIZE_DEFAULT);
    if limit == 0 || limit > PAGE_SIZE_MAX {
        return Err(AppError::bad_request(
            ErrorCode::InvalidLimit,
            format!("limit must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    Ok(limit)
}

/// Validates list parameters: `limit` in 1..=PAGE_SIZE_MAX, `cursor` as returned by a
/// previous page.
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> AppResult<PageRequest> {
    let limit = page_limit(limit)?;
    let after = match cursor {
        None | Some("") => None,
        Some(text) => {
            let parsed = rampart_domain::parse_uuid(text).ok_or_else(|| {
                AppError::bad_request(
                    ErrorCode::InvalidCursor,
                    "cursor is not one this server issued",
                )
            })?;
            Some(parsed.as_hyphenated().to_string())
        }
    };
    Ok(PageRequest { after, limit })
}

/// Validates list parameters of a list paged by number (incidents, state versions,
/// audit events): `cursor` is the number the previous page ended on, in the one form
/// `rampart_domain::parse_number` reads.
pub fn numbered_page_request(limit: Option<u32>, cursor: Option<&str>) -> AppResult<PageRequest> {
    let limit = page_limit(limit)?;
    let after = match cursor {
        None | Some("") => None,
        Some(text) => Some(
            rampart_domain::parse_number(text)
                .ok_or_else(|| {
                    AppError::bad_request(
                        ErrorCode::InvalidCursor,
                        "cursor is not one this server issued",
                    )
                })?
                .to_string(),
        ),
    };
    Ok(PageRequest { after, limit })
}

/// Pages through a store list keeping only what `visible` accepts, until `request.limit`
/// items are found or the list ends, so that a filtered list still pages correctly: the
/// cursor is the last item returned.
pub(crate) async fn filtered_page<T, Fetch, Fut>(
    request: PageRequest,
    id_of: impl Fn(&T) -> String,
    visible: impl Fn(&T) -> bool,
    fetch: Fetch,
) -> AppResult<Page<T>>
where
    Fetch: Fn(PageRequest) -> Fut,
    Fut: Future<Output = StoreResult<Page<T>>>,
{
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let mut after = request.after.clone();
    loop {
        let batch = fetch(PageRequest {
            after: after.clone(),
            limit: request.limit,
        })
        .await?;
        let exhausted = batch.next_cursor.is_none();
        let mut batch_items = batch.items.into_iter().peekable();
        while let Some(item) = batch_items.next() {
            after = Some(id_of(&item));
            if visible(&item) {
                items.push(item);
                if items.len() == limit {
                    let more = batch_items.peek().is_some() || !exhausted;
                    let next_cursor = if more { after } else { None };
                    return Ok(Page { items, next_cursor });
                }
            }
        }
        if exhausted {
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
    }
}
