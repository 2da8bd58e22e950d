//! Rampart's one crypto stack, on `aws-lc-rs` (SECURITY.md "One crypto stack").
//!
//! This crate owns every primitive the server uses: randomness, API token minting and
//! parsing (prefix + CRC32 checksum), the peppered HMAC under which tokens and other
//! secrets are looked up, Argon2id password hashing, session ids, SHA-256, and the root
//! key that wraps every other key, the Ed25519 signatures on tasks handed to
//! delegates, and the verification of identity providers' signed ID tokens (`jws`), SAML
//! XML signatures (`xmldsig`) and SAML responses (`saml`).
//! Secret material lives in zeroizing types and is never formatted by `Debug`.

pub mod blind_index;
pub mod checkpoint;
pub mod digest;
pub mod ed25519;
pub mod envelope;
pub mod jws;
pub mod merkle;
pub mod password;
pub mod random;
pub mod root_key;
pub mod saml;
pub mod saml_messages;
pub mod session;
pub mod task_signature;
pub mod token;
pub mod webhook_signature;
pub mod xmldsig;

pub use blind_index::BlindIndexKey;
pub use password::{PasswordHasher, PasswordParams, PasswordVerdict};
pub use root_key::{Pepper, RootKey};
pub use token::{ParsedToken, SecretToken, TokenFormatError};

/// A crypto operation failed. Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the system random number generator failed")]
    Random,
    #[error("a sealed value could not be opened (wrong key, wrong context or tampered)")]
    Open,
    #[error("sealing failed")]
    Seal,
    #[error("invalid key material: {0}")]
    KeyMaterial(&'static str),
    #[error("password hashing failed: {0}")]
    Password(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
