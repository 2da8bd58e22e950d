//! Envelope encryption of fields and blobs (SECURITY.md "Keys and encryption at rest").
//!
//! A project's [`KeyRing`] holds versioned 256-bit keys (one primary). Each sealed value
//! gets a fresh data key, derived with HKDF-SHA256 from the ring key and a random 32-byte
//! salt (the Kubernetes KMS v2 design: no nonce-reuse or operation-count limit per ring
//! key), used once with AES-256-GCM and a random 96-bit nonce.
//!
//! Format: `"RM" ‖ format version (1) ‖ key version (u32, big endian) ‖ salt (32) ‖
//! nonce (12) ‖ ciphertext ‖ tag (16)`. The associated data binds the value to where it
//! belongs — project, entity type, entity id, field, version — and to the header, so a
//! sealed value copied to another row, project, field or version does not open.

use std::collections::BTreeMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::blind_index::BlindIndexKey;

const MAGIC: &[u8; 2] = b"RM";
const FORMAT_VERSION: u8 = 1;
const SALT_LEN: usize = 32;
const HEADER_LEN: usize = 2 + 1 + 4 + SALT_LEN + NONCE_LEN;
const DATA_KEY_INFO: &[u8] = b"rampart/data-key/v1";
const BLIND_INDEX_KEY_INFO: &[u8] = b"rampart/blind-index-key/v1";

/// Where a sealed value belongs. Every part goes into the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// The key ring's owner: a project id, or an organisation id for its own values.
    pub owner: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub field: &'a str,
    /// The entity's version or serial (0 when the entity has none).
    pub version: u64,
}

impl SealContext<'_> {
    /// Length-prefixed parts, so that no two contexts encode alike.
    fn encode(&self, header: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + header.len());
        for part in [self.owner, self.entity_type, self.entity_id, self.field] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(header);
        out
    }
}

/// The state of one key version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Seals (when primary) and opens.
    Enabled,
    /// Opens only (rotated out; data is being rewrapped).
    Disabled,
    /// Gone: what it sealed can never be opened again.
    Destroyed,
}

struct RingKey {
    material: Option<Zeroizing<[u8; 32]>>,
    status: KeyStatus,
}

/// Why a value does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The key version that sealed it was destroyed (crypto-shredding).
    #[error("the data was crypto-shredded")]
    Shredded,
    /// Not this format, an unknown key version, the wrong context, or tampered bytes.
    #[error("the sealed value does not open (wrong key, wrong place or tampered)")]
    Invalid,
}

/// A project's versioned keys.
#[derive(Default)]
pub struct KeyRing {
    keys: BTreeMap<u32, RingKey>,
    primary: Option<u32>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .field("primary", &self.primary)
            .finish()
    }
}

impl KeyRing {
    /// Adds key `version` (material given, e.g. unwrapped from the store).
    pub fn insert(&mut self, version: u32, material: Zeroizing<[u8; 32]>, status: KeyStatus) {
        let material = (status != KeyStatus::Destroyed).then_some(material);
        self.keys.insert(version, RingKey { material, status });
    }

    /// Generates a new version and makes it primary; the previous primary is disabled
    /// (it still opens what it sealed). Returns the new version and its material, to be
    /// stored wrapped by the root key.
    pub fn rotate(&mut self) -> Result<(u32, Zeroizing<[u8; 32]>), CryptoError> {
        let version = self.keys.keys().next_back().map_or(1, |last| last + 1);
        let material = Zeroizing::new(crate::random::bytes::<32>()?);
        if let Some(previous) = self.primary.and_then(|v| self.keys.get_mut(&v)) {
            previous.status = KeyStatus::Disabled;
        }
        self.insert(version, material.clone(), KeyStatus::Enabled);
        self.primary = Some(version);
        Ok((version, material))
    }

    pub fn set_primary(&mut self, version: u32) {
        self.primary = Some(version);
    }

    pub fn primary(&self) -> Option<u32> {
        self.primary
    }

    /// Destroys every key version: all the ring sealed becomes unreadable.
    pub fn destroy_all(&mut self) {
        for key in self.keys.values_mut() {
            key.material = None;
            key.status = KeyStatus::Destroyed;
        }
        self.primary = None;
    }

    fn data_key(material: &[u8; 32], salt: &[u8]) -> Result<LessSafeKey, CryptoError> {
        let prk = Salt::new(HKDF_SHA256, salt).extract(material);
        let okm = prk
            .expand(&[DATA_KEY_INFO], &AES_256_GCM)
            .map_err(|_| CryptoError::KeyMaterial("HKDF expand"))?;
        Ok(LessSafeKey::new(UnboundKey::from(okm)))
    }

    /// Seals `plaintext` for `context` with the primary key.
    pub fn seal(
        &self,
        context: &SealContext<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let version = self
            .primary
            .ok_or(CryptoError::KeyMaterial("the key ring has no primary key"))?;
        let material = self
            .keys
            .get(&version)
            .and_then(|key| key.material.as_ref())
            .ok_or(CryptoError::KeyMaterial("the primary key is not available"))?;
        let salt = crate::random::bytes::<SALT_LEN>()?;
        let nonce = crate::random::bytes::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        let aad = context.encode(&out);
        // Encrypt in place behind the header: one copy of the plaintext, no more.
        out.extend_from_slice(plaintext);
        let body = out.get_mut(HEADER_LEN..).ok_or(CryptoError::Seal)?;
        let tag = Self::data_key(material, &salt)?
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
            .map_err(|_| CryptoError::Seal)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// The ring's blind-index key (see [`crate::blind_index`]): derived with HKDF-SHA256
    /// from its oldest version that still has material. Rotation keeps it (rotated-out
    /// versions keep their material until the ring is shredded), so blind indexes stay
    /// valid across rotations; crypto-shredding destroys it with the ring, and the first
    /// version made after a shred derives a new one, matching none of the old indexes.
    /// `None` when the ring has no live version. (Destroying single old versions would
    /// change it: whoever adds that must move the blind indexes first.)
    pub fn blind_index_key(&self) -> Option<BlindIndexKey> {
        let material = self.keys.values().find_map(|key| key.material.as_ref())?;
        let prk = Salt::new(HKDF_SHA256, &[]).extract(material.as_slice());
        let okm = prk
            .expand(&[BLIND_INDEX_KEY_INFO], aws_lc_rs::hmac::HMAC_SHA256)
            .ok()?;
        Some(BlindIndexKey::from_hmac_key(aws_lc_rs::hmac::Key::from(
            okm,
        )))
    }

    /// A stand-in for a value sealed under a destroyed version of the ring (the newest
    /// destroyed one): it opens as [`OpenError::Shredded`], never as data. For a value
    /// that must count as crypto-shredded but was never sealed — kept in clear, before
    /// sealing covered it, under a ring destroyed since. `None` when no version is
    /// destroyed.
    pub fn shredded_stand_in(&self) -> Option<Vec<u8>> {
        let version = self
            .keys
            .iter()
            .rev()
            .find(|(_, key)| key.status == KeyStatus::Destroyed)
            .map(|(version, _)| *version)?;
        let mut out = Vec::with_capacity(HEADER_LEN + 16);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&version.to_be_bytes());
        out.resize(HEADER_LEN + 16, 0);
        Some(out)
    }

    /// The key version that sealed `sealed` (for rewrap jobs), if the header is valid.
    pub fn sealed_key_version(sealed: &[u8]) -> Option<u32> {
        if sealed.get(..2)? != MAGIC || *sealed.get(2)? != FORMAT_VERSION {
            return None;
        }
        Some(u32::from_be_bytes(sealed.get(3..7)?.try_into().ok()?))
    }

    /// Opens a value sealed for `context`.
    pub fn open(
        &self,
        context: &SealContext<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let version = Self::sealed_key_version(sealed).ok_or(OpenError::Invalid)?;
        let key = self.keys.get(&version).ok_or(OpenError::Invalid)?;
        let material = match (&key.material, key.status) {
            (_, KeyStatus::Destroyed) | (None, _) => return Err(OpenError::Shredded),
            (Some(material), _) => material,
        };
        let (header, body) = (
            sealed.get(..HEADER_LEN).ok_or(OpenError::Invalid)?,
            sealed.get(HEADER_LEN..).ok_or(OpenError::Invalid)?,
        );
        let salt = header.get(7..7 + SALT_LEN).ok_or(OpenError::Invalid)?;
        let nonce = header.get(7 + SALT_LEN..).ok_or(OpenError::Invalid)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Invalid)?;
        let aad = context.encode(header);
        let mut in_out = Zeroizing::new(body.to_vec());
        let length = Self::data_key(material, salt)
            .map_err(|_| OpenError::Invalid)?
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| OpenError::Invalid)?
            .len();
        in_out.truncate(length);
        Ok(in_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(owner: &'a str, id: &'a str, field: &'a str, version: u64) -> SealContext<'a> {
        SealContext {
            owner,
            entity_type: "incident",
            entity_id: id,
            field,
            version,
        }
    }

    fn ring() -> KeyRing {
        let mut ring = KeyRing::default();
        ring.rotate().unwrap();
        ring
    }

    #[test]
    fn a_sealed_value_opens_only_where_it_belongs() {
        let ring = ring();
        let here = context("p1", "i1", "title", 3);
        let sealed = ring.seal(&here, b"database on fire").unwrap();
        assert_eq!(
            ring.open(&here, &sealed).unwrap().as_slice(),
            b"database on fire"
        );
        for elsewhere in [
            context("p2", "i1", "title", 3),
            context("p1", "i2", "title", 3),
            context("p1", "i1", "description", 3),
            context("p1", "i1", "title", 4),
            SealContext {
                entity_type: "alert",
                ..here
            },
        ] {
            assert_eq!(
                ring.open(&elsewhere, &sealed).unwrap_err(),
                OpenError::Invalid,
                "{elsewhere:?}"
            );
        }
        // A ring without that key version (another project's) cannot open it.
        assert_eq!(
            super::KeyRing::default().open(&here, &sealed).unwrap_err(),
            OpenError::Invalid
        );
        // Two seals of the same value differ (fresh salt and nonce).
        assert_ne!(sealed, ring.seal(&here, b"database on fire").unwrap());
    }

    #[test]
    fn any_single_flipped_bit_is_detected() {
        let ring = ring();
        let here = context("p", "e", "f", 0);
        let sealed = ring.seal(&here, &[42u8; 100]).unwrap();
        for position in 0..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = sealed.clone();
                tampered[position] ^= bit;
                assert!(
                    ring.open(&here, &tampered).is_err(),
                    "byte {position} bit {bit:#x}"
                );
            }
        }
        assert!(
            ring.open(&here, &sealed[..sealed.len() - 1]).is_err(),
            "truncated"
        );
        assert!(ring.open(&here, b"").is_err());
    }

    proptest::proptest! {
        /// Whatever the value, its size and its place, changing any one byte of the
        /// stored ciphertext (header, salt, nonce, body or tag) in any way makes it
        /// refuse to open.
        #[test]
        fn any_changed_byte_of_any_sealed_value_is_detected(
            plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            entity_id in "[a-z0-9-]{1,40}",
            version in proptest::num::u64::ANY,
            position in proptest::num::usize::ANY,
            change in 1u8..=255,
        ) {
            let ring = ring();
            let here = context("p", &entity_id, "field", version);
            let sealed = ring.seal(&here, &plaintext).unwrap();
            let opened = ring.open(&here, &sealed).unwrap();
            proptest::prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
            let mut tampered = sealed.clone();
            let position = position % tampered.len();
            tampered[position] ^= change;
            proptest::prop_assert!(ring.open(&here, &tampered).is_err());
        }
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_shredding_makes_everything_unreadable() {
        let mut ring = ring();
        let here = context("p", "e", "f", 0);
        let old = ring.seal(&here, b"old").unwrap();
        let (version, _) = ring.rotate().unwrap();
        assert_eq!(version, 2);
        let new = ring.seal(&here, b"new").unwrap();
        assert_eq!(KeyRing::sealed_key_version(&old), Some(1));
        assert_eq!(KeyRing::sealed_key_version(&new), Some(2));
        assert_eq!(ring.open(&here, &old).unwrap().as_slice(), b"old");
        assert_eq!(ring.open(&here, &new).unwrap().as_slice(), b"new");
        ring.destroy_all();
        assert_eq!(ring.open(&here, &old).unwrap_err(), OpenError::Shredded);
        assert_eq!(ring.open(&here, &new).unwrap_err(), OpenError::Shredded);
        assert!(
            ring.seal(&here, b"x").is_err(),
            "nothing seals after shredding"
        );
    }

    #[test]
    fn the_blind_index_key_survives_rotation_and_dies_with_a_shred() {
        let mut ring = ring();
        let before = ring
            .blind_index_key()
            .unwrap()
            .blind_index("alert-dedup-key", b"db-1");
        ring.rotate().unwrap();
        ring.rotate().unwrap();
        let after = ring
            .blind_index_key()
            .unwrap()
            .blind_index("alert-dedup-key", b"db-1");
        assert_eq!(before, after);
        ring.destroy_all();
        assert!(ring.blind_index_key().is_none());
        // A ring made again after the shred: another key, matching no old index.
        ring.rotate().unwrap();
        let reborn = ring
            .blind_index_key()
            .unwrap()
            .blind_index("alert-dedup-key", b"db-1");
        assert_ne!(reborn, before);
        // Another project's ring indexes the same value differently.
        let other = super::tests::ring()
            .blind_index_key()
            .unwrap()
            .blind_index("alert-dedup-key", b"db-1");
        assert_ne!(other, before);
    }

    #[test]
    fn a_shredded_stand_in_opens_as_shredded() {
        let mut ring = ring();
        assert!(ring.shredded_stand_in().is_none());
        ring.destroy_all();
        ring.rotate().unwrap();
        let stand_in = ring.shredded_stand_in().unwrap();
        assert_eq!(KeyRing::sealed_key_version(&stand_in), Some(1));
        assert_eq!(
            ring.open(&context("p1", "i1", "title", 0), &stand_in)
                .unwrap_err(),
            OpenError::Shredded
        );
    }
}
