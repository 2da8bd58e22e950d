//! Ed25519: the one signing key type and verification behind signed audit checkpoints
//! ([`crate::checkpoint`]) and delegate task envelopes ([`crate::task_signature`]).
//! Keys are stored as PKCS#8 documents (wrapped by the root key by their owners); the
//! private half is never formatted.

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Bytes of a public key and of a signature.
pub const PUBLIC_KEY_BYTES: usize = 32;
pub const SIGNATURE_BYTES: usize = 64;

/// An Ed25519 key pair.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// A new key, returned with its PKCS#8 document (to be stored wrapped).
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let document = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| CryptoError::KeyMaterial("Ed25519 key generation"))?;
        let pkcs8 = Zeroizing::new(document.as_ref().to_vec());
        Ok((Self::from_pkcs8(&pkcs8)?, pkcs8))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        Ed25519KeyPair::from_pkcs8(pkcs8)
            .map(|pair| Self { pair })
            .map_err(|_| CryptoError::KeyMaterial("Ed25519 PKCS#8"))
    }

    /// The key of a 32-byte seed (RFC 8032's "secret key").
    pub fn from_seed(seed: &[u8]) -> Result<Self, CryptoError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| Self { pair })
            .map_err(|_| CryptoError::KeyMaterial("Ed25519 seed"))
    }

    /// The raw 32-byte public key, for verifiers.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_BYTES] {
        let mut key = [0u8; PUBLIC_KEY_BYTES];
        key.copy_from_slice(self.pair.public_key().as_ref());
        key
    }

    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_BYTES] {
        let mut signature = [0u8; SIGNATURE_BYTES];
        signature.copy_from_slice(self.pair.sign(message).as_ref());
        signature
    }
}

/// Whether `signature` is `public_key`'s (raw 32 bytes) over `message`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{from_hex, hex};

    /// RFC 8032 §7.1: Ed25519 test vectors 1–3 (secret key, public key, message,
    /// signature), an implementation independent of ours.
    const RFC_8032: [(&str, &str, &str, &str); 3] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];

    #[test]
    fn signatures_match_rfc_8032_vectors() {
        for (secret, public, message, expected) in RFC_8032 {
            let key = SigningKey::from_seed(&from_hex(secret).unwrap()).unwrap();
            assert_eq!(hex(&key.public_key()), public);
            let message = from_hex(message).unwrap();
            assert_eq!(hex(&key.sign(&message)), expected);
            let expected = from_hex(expected).unwrap();
            assert!(verify(&from_hex(public).unwrap(), &message, &expected));
            let mut changed = message.clone();
            changed.push(0);
            assert!(!verify(&from_hex(public).unwrap(), &changed, &expected));
        }
    }

    #[test]
    fn a_stored_key_round_trips_and_is_never_formatted() {
        let (key, pkcs8) = SigningKey::generate().unwrap();
        assert_eq!(
            SigningKey::from_pkcs8(&pkcs8).unwrap().public_key(),
            key.public_key()
        );
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
        assert!(SigningKey::from_seed(&[0u8; 31]).is_err());
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
    }
}
