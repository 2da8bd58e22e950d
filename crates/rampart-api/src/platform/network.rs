//! Wire types of source-address allowlists.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Source networks allowed to use the API (account) or one organisation; empty allows
/// every address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IpAllowlist {
    /// CIDRs or single addresses, at most 200.
    pub cidrs: Vec<String>,
}
