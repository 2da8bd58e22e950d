//! Wire types of key rings: versions, rotation, destruction and root-key rotation.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which key ring: `org` or `org/project`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct KeyScope {
    pub scope: String,
}

/// Crypto-shredding: `confirm` must repeat `scope`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyDestroy {
    pub scope: String,
    pub confirm: String,
}

/// One key version (never its material).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeyVersion {
    pub version: u32,
    /// `enabled` (the primary seals), `disabled` (rotated out, data being moved),
    /// `retired` (data moved; still opens stragglers) or `destroyed`.
    pub status: String,
    pub primary: bool,
    pub created_at: String,
    pub destroyed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeyRing {
    pub scope: String,
    pub versions: Vec<KeyVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeysDestroyed {
    pub scope: String,
    pub versions_destroyed: u64,
}

/// The outcome of an online root-key rotation: how many wrapped keys (ring versions and
/// server secrets) now use the new root key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RootKeyRotated {
    pub wrapped_keys: u64,
}
