//! Signed checkpoints: a signed tree head over every event committed so far, chained to
//! the one before and carrying the Merkle frontier the next checkpoint starts from.

use jiff::Timestamp;
use rampart_crypto::checkpoint::Checkpoint;
use rampart_crypto::merkle::Frontier;
use rampart_store::StoredCheckpoint;

use crate::{App, AppError, AppResult};

fn checkpoint_of(stored: &StoredCheckpoint) -> Checkpoint {
    Checkpoint {
        tree_size: stored.tree_size,
        root: stored.root,
        time_micros: stored.signed_at.as_microsecond(),
        previous: stored.previous,
    }
}

/// The newest signed checkpoint as people read it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointSummary {
    pub tree_size: u64,
    pub signed_at: Timestamp,
    /// The Merkle root over the first `tree_size` events, hex.
    pub root: String,
    /// Its signature verifies with the log's public key.
    pub signature_valid: bool,
}

impl App {
    /// The newest signed checkpoint, its signature checked against the log's public key
    /// (`None` before the first).
    pub async fn latest_audit_checkpoint(&self) -> AppResult<Option<CheckpointSummary>> {
        let Some(stored) = self.store().latest_audit_checkpoint().await? else {
            return Ok(None);
        };
        let signature_valid = rampart_crypto::checkpoint::verify_checkpoint(
            &self.audit_public_key(),
            &checkpoint_of(&stored),
            &stored.signature,
        );
        Ok(Some(CheckpointSummary {
            tree_size: stored.tree_size,
            signed_at: stored.signed_at,
            root: super::hex(&stored.root),
            signature_valid,
        }))
    }

    /// Signs a checkpoint over every event committed so far, unless the newest one
    /// already covers them. Safe to run from several replicas at once.
    pub async fn sign_audit_checkpoint(&self) -> AppResult<Option<StoredCheckpoint>> {
        let mut tx = self.store().write().await?;
        tx.lock_audit_checkpoints().await?;
        let latest = tx.latest_audit_checkpoint().await?;
        let size = tx.audit_tree_size().await?;
        let from = latest.as_ref().map_or(0, |checkpoint| checkpoint.tree_size);
        if size == from {
            tx.rollback().await?;
            return Ok(latest);
        }
        let mut frontier = match &latest {
            None => Frontier::default(),
            Some(checkpoint) => Frontier::from_bytes(&checkpoint.frontier).ok_or_else(|| {
                AppError::Integrity("the stored audit checkpoint frontier does not decode".into())
            })?,
        };
        for (expected, (index, hash)) in (from..).zip(tx.audit_leaf_hashes(from, size).await?) {
            if index != expected {
                return Err(AppError::Integrity(format!(
                    "audit leaf {expected} is missing from the log"
                )));
            }
            frontier.push(hash);
        }
        if frontier.size() != size {
            return Err(AppError::Integrity(format!(
                "the audit log holds {} leaves, the head says {size}",
                frontier.size()
            )));
        }
        let checkpoint = Checkpoint {
            tree_size: size,
            root: frontier.root(),
            time_micros: self.now().as_microsecond(),
            previous: latest
                .as_ref()
                .map_or([0; 32], |stored| checkpoint_of(stored).hash()),
        };
        let stored = StoredCheckpoint {
            tree_size: size,
            root: checkpoint.root,
            signed_at: self.now(),
            previous: checkpoint.previous,
            signature: self.inner.signer.sign(&checkpoint),
            frontier: frontier.to_bytes(),
        };
        // `signed_at` must be exactly the signed time.
        let stored = StoredCheckpoint {
            signed_at: Timestamp::from_microsecond(checkpoint.time_micros)
                .map_err(|error| AppError::Internal(error.to_string()))?,
            ..stored
        };
        tx.insert_audit_checkpoint(&stored).await?;
        tx.commit_audit_machinery().await?;
        Ok(Some(stored))
    }
}
