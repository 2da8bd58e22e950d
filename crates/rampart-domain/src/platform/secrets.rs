//! Secrets: named, versioned values of an organisation or a project. The value itself
//! never appears here — only its metadata; it lives sealed in the store and in memory
//! only while a consumer uses it.

use jiff::Timestamp;

use crate::platform::tenancy::Scope;
use crate::{Description, Name, SecretId, Slug};

#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub id: SecretId,
    /// An organisation or a project (never the account).
    pub scope: Scope,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    /// The newest version (1 after creation).
    pub current_version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One version's metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretVersion {
    pub version: u32,
    pub created_at: Timestamp,
    /// The actor text of who wrote it.
    pub created_by: String,
}
