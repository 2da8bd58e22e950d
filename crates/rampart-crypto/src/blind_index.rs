//! Blind indexes: HMAC-SHA256 of a value under a secret key, for equality lookups on
//! values the database must not hold in clear (SECURITY.md "Keys and encryption at
//! rest"). Equal values give equal indexes under one key; without the key an index
//! says nothing about its value, not even a guessable one.
//!
//! Two keys use this one computation: the server [`Pepper`](crate::Pepper)
//! (installation-wide: API and webhook tokens) and each key ring's own index key
//! ([`KeyRing::blind_index_key`](crate::envelope::KeyRing::blind_index_key): alert
//! dedup and group keys, which crypto-shredding the ring makes meaningless).

use aws_lc_rs::hmac;

use crate::CryptoError;

/// An HMAC key for blind indexes. Never printed.
pub struct BlindIndexKey(hmac::Key);

impl std::fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndexKey(<redacted>)")
    }
}

impl BlindIndexKey {
    /// A key from 32 bytes of key material.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != crate::root_key::KEY_BYTES {
            return Err(CryptoError::KeyMaterial("a blind-index key is 32 bytes"));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    pub(crate) fn from_hmac_key(key: hmac::Key) -> Self {
        Self(key)
    }

    /// HMAC-SHA256(key, domain ‖ 0x00 ‖ value). The domain keeps blind indexes of
    /// different kinds of value apart.
    pub fn blind_index(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(domain.as_bytes());
        context.update(&[0]);
        context.update(value);
        let mut out = [0u8; 32];
        out.copy_from_slice(context.sign().as_ref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_equal_for_equal_values_and_differ_by_key_and_domain() {
        let key = BlindIndexKey::from_bytes(&[7u8; 32]).unwrap();
        let other = BlindIndexKey::from_bytes(&[8u8; 32]).unwrap();
        let index = key.blind_index("alert-dedup-key", b"db-1/disk-full");
        assert_eq!(index, key.blind_index("alert-dedup-key", b"db-1/disk-full"));
        assert_ne!(index, key.blind_index("alert-dedup-key", b"db-2/disk-full"));
        assert_ne!(index, key.blind_index("alert-group-key", b"db-1/disk-full"));
        assert_ne!(
            index,
            other.blind_index("alert-dedup-key", b"db-1/disk-full")
        );
        // The domain and the value cannot trade bytes.
        assert_ne!(key.blind_index("ab", b"c"), key.blind_index("a", b"bc"));
        assert!(BlindIndexKey::from_bytes(&[7u8; 31]).is_err());
        assert_eq!(format!("{key:?}"), "BlindIndexKey(<redacted>)");
    }
}
