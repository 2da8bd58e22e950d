//! Signed checkpoints of the audit log (a "signed tree head"): tree size, root hash,
//! time and the hash of the previous checkpoint, signed with Ed25519. A verifier with
//! the public key can check a checkpoint offline, chain checkpoints, and check entries
//! against the root with the proofs of [`crate::merkle`].
//!
//! The signed message is a fixed text form, so that any tool can rebuild it:
//! `rampart-audit-checkpoint/v1\n<size>\n<root hex>\n<time micros>\n<previous hex>\n`.

use crate::ed25519::SigningKey;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::merkle::Hash;

/// A checkpoint's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub tree_size: u64,
    pub root: Hash,
    /// Microseconds since the Unix epoch.
    pub time_micros: i64,
    /// SHA-256 of the previous checkpoint's signed message (zeros for the first).
    pub previous: Hash,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "rampart-audit-checkpoint/v1\n{}\n{}\n{}\n{}\n",
            self.tree_size,
            hex(&self.root),
            self.time_micros,
            hex(&self.previous)
        )
        .into_bytes()
    }

    /// The hash the next checkpoint records as `previous`.
    pub fn hash(&self) -> Hash {
        crate::digest::sha256(&self.message())
    }
}

/// The log's signing key (Ed25519). Stored as PKCS#8, wrapped by the root key.
#[derive(Debug)]
pub struct CheckpointSigner {
    key: SigningKey,
}

impl CheckpointSigner {
    /// A new key, returned with its PKCS#8 document (to be stored wrapped).
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let (key, pkcs8) = SigningKey::generate()?;
        Ok((Self { key }, pkcs8))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        SigningKey::from_pkcs8(pkcs8).map(|key| Self { key })
    }

    /// The raw 32-byte public key, for verifiers.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().to_vec()
    }

    pub fn sign(&self, checkpoint: &Checkpoint) -> Vec<u8> {
        self.key.sign(&checkpoint.message()).to_vec()
    }
}

/// Verifies a checkpoint's signature with a raw Ed25519 public key.
pub fn verify_checkpoint(
    public_key: &[u8],
    checkpoint: &Checkpoint,
    signature_bytes: &[u8],
) -> bool {
    crate::ed25519::verify(public_key, &checkpoint.message(), signature_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let (signer, pkcs8) = CheckpointSigner::generate().unwrap();
        let again = CheckpointSigner::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(signer.public_key(), again.public_key());
        let checkpoint = Checkpoint {
            tree_size: 42,
            root: [7; 32],
            time_micros: 1_800_000_000_000_000,
            previous: [0; 32],
        };
        let signature = signer.sign(&checkpoint);
        assert!(verify_checkpoint(
            &signer.public_key(),
            &checkpoint,
            &signature
        ));
        for changed in [
            Checkpoint {
                tree_size: 43,
                ..checkpoint.clone()
            },
            Checkpoint {
                root: [8; 32],
                ..checkpoint.clone()
            },
            Checkpoint {
                time_micros: 1,
                ..checkpoint.clone()
            },
            Checkpoint {
                previous: [1; 32],
                ..checkpoint.clone()
            },
        ] {
            assert!(!verify_checkpoint(
                &signer.public_key(),
                &changed,
                &signature
            ));
        }
        let (other, _) = CheckpointSigner::generate().unwrap();
        assert!(!verify_checkpoint(
            &other.public_key(),
            &checkpoint,
            &signature
        ));
        assert!(
            String::from_utf8(checkpoint.message())
                .unwrap()
                .starts_with("rampart-audit-checkpoint/v1\n42\n")
        );
    }
}
