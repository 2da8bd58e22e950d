//! The root key (key-encryption key) and what it directly protects.
//!
//! The root key is 256 bits, kept in a file created with mode 0600 by `admin init`, or
//! given base64-encoded in `RAMPART_ROOT_KEY`. It only wraps other keys: today the server
//! pepper; the project key rings of the encryption-at-rest work use the same wrapping.
//! Wrapped format: `0x01 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`, with the
//! purpose of the wrapped key as associated data so that a wrapped key cannot be swapped
//! for another.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::{Zeroize, Zeroizing};

use crate::CryptoError;
use crate::blind_index::BlindIndexKey;

const WRAP_FORMAT_VERSION: u8 = 1;
pub const KEY_BYTES: usize = 32;

/// The root key. Zeroed on drop, never printed.
#[derive(Clone)]
pub struct RootKey(Zeroizing<[u8; KEY_BYTES]>);

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl RootKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(Zeroizing::new(crate::random::bytes::<KEY_BYTES>()?)))
    }

    /// Parses the base64 text form (the file's content or `RAMPART_ROOT_KEY`).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let mut decoded = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::KeyMaterial("the root key is not valid base64"))?;
        if decoded.len() != KEY_BYTES {
            decoded.zeroize();
            return Err(CryptoError::KeyMaterial(
                "the root key must be exactly 32 bytes",
            ));
        }
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        key.copy_from_slice(&decoded);
        decoded.zeroize();
        Ok(Self(key))
    }

    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_slice()))
    }

    /// Writes the key to `path`, created new with mode 0600. Refuses to overwrite.
    pub fn write_new_file(&self, path: &Path) -> Result<(), CryptoError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(self.to_base64().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        Ok(())
    }

    /// Reads the key from `path`, refusing a file that group or others can read.
    pub fn read_file(path: &Path) -> Result<Self, CryptoError> {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path)?;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(CryptoError::KeyMaterial(
                "the root key file must not be readable by group or others (chmod 600)",
            ));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        Self::from_base64(&text)
    }

    /// A public name for this key: the first 16 bytes (hex) of HMAC-SHA256 under the
    /// key of a fixed label. The database records the name of the key it is wrapped
    /// under, so that a replica holding another key says so plainly instead of failing
    /// integrity checks; the name reveals nothing of the key.
    pub fn key_id(&self) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.0.as_slice());
        let tag = aws_lc_rs::hmac::sign(&key, b"rampart/root-key-id/v1");
        crate::digest::hex(tag.as_ref().get(..16).unwrap_or(tag.as_ref()))
    }

    fn aead_key(&self) -> Result<LessSafeKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, self.0.as_slice())
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::KeyMaterial("AES-256-GCM key"))
    }

    /// Wraps `plaintext` key material for `purpose`.
    pub fn wrap(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = crate::random::bytes::<NONCE_LEN>()?;
        let mut in_out = plaintext.to_vec();
        self.aead_key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(purpose.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(WRAP_FORMAT_VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&in_out);
        in_out.zeroize();
        Ok(out)
    }

    /// Unwraps key material wrapped for `purpose`.
    pub fn unwrap_key(
        &self,
        purpose: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (Some(&WRAP_FORMAT_VERSION), Some(nonce), Some(sealed)) = (
            wrapped.first(),
            wrapped.get(1..1 + NONCE_LEN),
            wrapped.get(1 + NONCE_LEN..),
        ) else {
            return Err(CryptoError::Open);
        };
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
        let mut in_out = Zeroizing::new(sealed.to_vec());
        let plaintext_len = self
            .aead_key()?
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut in_out)
            .map_err(|_| CryptoError::Open)?
            .len();
        in_out.truncate(plaintext_len);
        Ok(in_out)
    }
}

/// The server pepper: the HMAC key under which tokens (and other secrets that need an
/// equality lookup) are stored. Generated once, stored wrapped by the root key in the
/// database so that every replica shares it.
pub struct Pepper(BlindIndexKey);

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

impl Pepper {
    pub const WRAP_PURPOSE: &'static str = "rampart/server-pepper/v1";

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != KEY_BYTES {
            return Err(CryptoError::KeyMaterial("the pepper must be 32 bytes"));
        }
        Ok(Self(BlindIndexKey::from_bytes(bytes)?))
    }

    /// The blind index of `value` under the pepper (see [`BlindIndexKey::blind_index`]).
    pub fn blind_index(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        self.0.blind_index(domain, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_open_only_for_their_purpose_and_detect_tampering() {
        let root = RootKey::generate().unwrap();
        let wrapped = root
            .wrap("purpose-a", b"key material 32 bytes long......")
            .unwrap();
        assert_eq!(
            root.unwrap_key("purpose-a", &wrapped).unwrap().as_slice(),
            b"key material 32 bytes long......"
        );
        assert!(root.unwrap_key("purpose-b", &wrapped).is_err());
        for index in 0..wrapped.len() {
            let mut tampered = wrapped.clone();
            tampered[index] ^= 1;
            assert!(
                root.unwrap_key("purpose-a", &tampered).is_err(),
                "byte {index}"
            );
        }
        let other = RootKey::generate().unwrap();
        assert!(other.unwrap_key("purpose-a", &wrapped).is_err());
    }

    #[test]
    fn the_key_file_is_private_and_round_trips() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let root = RootKey::generate().unwrap();
        root.write_new_file(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = RootKey::read_file(&path).unwrap();
        assert_eq!(again.0.as_slice(), root.0.as_slice());
        assert!(root.write_new_file(&path).is_err(), "never overwrites");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            RootKey::read_file(&path).is_err(),
            "refuses a readable key file"
        );
        assert!(RootKey::from_base64("AAAA").is_err());
    }

    /// The id is HMAC-SHA256(key, label) cut to 16 bytes, as Python's `hmac` computes it.
    #[test]
    fn the_key_id_is_the_published_hmac_and_differs_per_key() {
        let key = RootKey::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap();
        assert_eq!(key.key_id(), "9a1dd61ab3cf26421787a65a6d6e46cd");
        assert_ne!(RootKey::generate().unwrap().key_id(), key.key_id());
    }

    #[test]
    fn blind_indexes_depend_on_pepper_domain_and_value() {
        let a = Pepper::from_bytes(&[1; 32]).unwrap();
        let b = Pepper::from_bytes(&[2; 32]).unwrap();
        assert_eq!(a.blind_index("token", b"x"), a.blind_index("token", b"x"));
        assert_ne!(a.blind_index("token", b"x"), b.blind_index("token", b"x"));
        assert_ne!(a.blind_index("token", b"x"), a.blind_index("other", b"x"));
        assert_ne!(a.blind_index("token", b"x"), a.blind_index("token", b"y"));
    }
}
