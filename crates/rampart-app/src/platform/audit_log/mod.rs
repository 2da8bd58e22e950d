//! The tamper-evident audit log above the store: this module owns the log's signing
//! key (an Ed25519 key wrapped by the root key) and names the jobs around the log, one
//! file each: signed checkpoints (`checkpoints`), the query API (`query`), export as
//! NDJSON with checkpoints and proofs, or CSV (`export`), retention (`retention`), and
//! the offline verifier that `rampart admin audit verify` runs with no server (`verify`).
//!
//! Checkpoints are computed from the previous checkpoint's stored frontier plus the
//! leaves appended since, never by re-reading older rows: rewriting old rows in the
//! database cannot change what a later checkpoint signs, so the verifier catches it.
//!
//! An event has one shape throughout: the store's `AuditEvent` (leaf position and hash)
//! around its `AuditRecord` (the body the hash covers). The query returns it, an export
//! writes the record as is, and the verifier reads it back (`verify::EventRef` is the
//! same record, borrowed); HTTP converts it to the wire type.

mod checkpoints;
mod export;
mod query;
mod retention;
mod verify;

use jiff::Timestamp;
use rampart_crypto::RootKey;
use rampart_crypto::checkpoint::CheckpointSigner;
pub use rampart_crypto::digest::hex;
use rampart_store::Store;

pub use checkpoints::CheckpointSummary;
pub use export::{EXPORT_FORMAT, ExportFormat, ExportLine};
pub use query::AuditQuery;
pub use verify::{VerifyError, VerifyReport, verify_export};

use crate::{App, AppResult};

pub(crate) const SIGNING_KEY_SECRET: &str = "audit_signing_key";
pub(crate) const SIGNING_KEY_PURPOSE: &str = "rampart/audit-signing-key/v1";

/// Loads the log's Ed25519 key (wrapped by the root key), creating it on first start.
pub(crate) async fn load_or_create_signer(
    store: &Store,
    root_key: &RootKey,
    now: Timestamp,
) -> AppResult<CheckpointSigner> {
    let pkcs8 = crate::bootstrap::load_or_create_server_key(
        store,
        root_key,
        now,
        crate::bootstrap::ServerKey {
            secret: SIGNING_KEY_SECRET,
            purpose: SIGNING_KEY_PURPOSE,
            audit_action: "audit.signing_key.create",
            resource_type: "audit_signing_key",
        },
    )
    .await?;
    Ok(CheckpointSigner::from_pkcs8(&pkcs8)?)
}

impl App {
    /// The log's public key, for verifiers.
    pub fn audit_public_key(&self) -> Vec<u8> {
        self.inner.signer.public_key()
    }
}
