//! Randomness from the operating system through aws-lc-rs.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::CryptoError;

/// Fills `buffer` with cryptographically secure random bytes.
pub fn fill(buffer: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new()
        .fill(buffer)
        .map_err(|_| CryptoError::Random)
}

/// Returns `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut buffer = [0u8; N];
    fill(&mut buffer)?;
    Ok(buffer)
}
