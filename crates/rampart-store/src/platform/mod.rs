//! Platform tables, one module per resource: tenancy (account, organisations,
//! projects), identity (users, service accounts, tokens, sessions, installation
//! secrets), access (roles, user groups, resource groups, assignments), keys (key
//! rings and the root key's id), replicas (running servers), secrets, delegates and
//! their tasks, and the audit log. Also the keyset [`Page`] every list returns.

pub mod access;
pub mod audit;
pub mod delegates;
pub mod identity;
pub mod keys;
pub mod replicas;
pub mod secrets;
pub mod sso;
pub mod tenancy;

/// One page of a keyset-paginated list, ordered by id (ids are time-ordered UUIDv7).
/// `next_cursor` is the last id of the page when more items follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says that more
    /// follow.
    pub(crate) fn from_overfetch(
        mut items: Vec<T>,
        limit: u32,
        id_of: impl Fn(&T) -> String,
    ) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more { items.last().map(id_of) } else { None };
        Self { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Where a list starts and how long it is.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Exclusive lower bound (the previous page's `next_cursor`); `None` for the first page.
    pub after: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub(crate) fn after_or_start(&self) -> &str {
        // Every id is a hyphenated UUID, which sorts after the empty string.
        self.after.as_deref().unwrap_or("")
    }

    pub(crate) fn overfetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}
