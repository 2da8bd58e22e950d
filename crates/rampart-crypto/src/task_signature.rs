//! Signed task envelopes: every task the server hands a delegate (SECURITY.md "Runbooks
//! and delegates") carries an Ed25519 signature by the installation's task-signing key
//! over its envelope — the task's id, kind, the SHA-256 of its arguments, the delegate it
//! is meant for, when it expires, and a random nonce. A delegate pins the public key when
//! it registers and runs a task only when [`check_task`] passes: the signature verifies
//! (nothing was changed on the way), the task names this delegate, it has not expired,
//! its arguments are the ones signed, and its nonce was never seen (no replay).
//!
//! The signed bytes are unambiguous: a fixed domain string, then each field as a 4-byte
//! big-endian length and its bytes, so no choice of field values makes two envelopes
//! sign the same message.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::CryptoError;
use crate::digest::{constant_time_eq, from_hex, hex, sha256};
use crate::ed25519::{SIGNATURE_BYTES, SigningKey};

/// What every signed message starts with (a signature made for anything else never
/// verifies as a task).
const DOMAIN: &[u8] = b"rampart-task/v1";
/// Bytes of randomness in a nonce (hex in the envelope).
const NONCE_BYTES: usize = 16;

/// The installation's task-signing key (stored as PKCS#8, wrapped by the root key).
#[derive(Debug)]
pub struct TaskSigningKey {
    key: SigningKey,
}

impl TaskSigningKey {
    /// A new key, returned with its PKCS#8 document (to be stored wrapped).
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let (key, pkcs8) = SigningKey::generate()?;
        Ok((Self { key }, pkcs8))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        SigningKey::from_pkcs8(pkcs8).map(|key| Self { key })
    }

    /// The public key a delegate pins.
    pub fn public_key(&self) -> [u8; crate::ed25519::PUBLIC_KEY_BYTES] {
        self.key.public_key()
    }

    /// Signs `envelope` (refused when a field is out of shape, see
    /// [`TaskEnvelope::signed_bytes`]).
    pub fn sign(&self, envelope: TaskEnvelope) -> Result<SignedTask, TaskRefusal> {
        let signature = hex(&self.key.sign(&envelope.signed_bytes()?));
        Ok(SignedTask {
            envelope,
            signature,
        })
    }
}

/// What the server signs about a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskEnvelope {
    pub task_id: String,
    /// The task kind (`webhook`, `script`, …).
    pub kind: String,
    /// Hex SHA-256 of the task's arguments as sent.
    pub arguments_sha256: String,
    /// The delegate the task is for.
    pub delegate_id: String,
    /// Unix seconds after which no delegate runs it.
    pub expires_at: i64,
    /// Hex random bytes: a delegate runs each nonce once.
    pub nonce: String,
}

impl TaskEnvelope {
    /// An envelope for `arguments`, with a fresh nonce.
    pub fn new(
        task_id: &str,
        kind: &str,
        arguments: &[u8],
        delegate_id: &str,
        expires_at: i64,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            task_id: task_id.to_owned(),
            kind: kind.to_owned(),
            arguments_sha256: hex(&sha256(arguments)),
            delegate_id: delegate_id.to_owned(),
            expires_at,
            nonce: hex(&crate::random::bytes::<NONCE_BYTES>()?),
        })
    }

    /// The bytes the signature covers. Every text field must be non-empty and at most
    /// 256 bytes; the digest and the nonce must be hex of the right length.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, TaskRefusal> {
        let texts = [
            self.task_id.as_str(),
            self.kind.as_str(),
            self.delegate_id.as_str(),
        ];
        if texts.iter().any(|text| text.is_empty() || text.len() > 256)
            || from_hex(&self.arguments_sha256).is_none_or(|digest| digest.len() != 32)
            || from_hex(&self.nonce).is_none_or(|nonce| nonce.len() != NONCE_BYTES)
        {
            return Err(TaskRefusal::Malformed);
        }
        let expires_at = self.expires_at.to_be_bytes();
        let fields: [&[u8]; 6] = [
            self.task_id.as_bytes(),
            self.kind.as_bytes(),
            self.arguments_sha256.as_bytes(),
            self.delegate_id.as_bytes(),
            &expires_at,
            self.nonce.as_bytes(),
        ];
        let mut message = Vec::with_capacity(DOMAIN.len() + 400);
        message.extend_from_slice(DOMAIN);
        for field in fields {
            // Lengths are bounded above (≤ 256), so they fit.
            message.extend_from_slice(&(field.len() as u32).to_be_bytes());
            message.extend_from_slice(field);
        }
        Ok(message)
    }
}

/// A task envelope with the server's signature (hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTask {
    pub envelope: TaskEnvelope,
    pub signature: String,
}

/// Why a delegate refuses a task; said in the task's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskRefusal {
    #[error("the task's envelope is malformed")]
    Malformed,
    #[error("the task's signature does not verify with the pinned key (tampered or forged)")]
    BadSignature,
    #[error("the task is meant for another delegate")]
    OtherDelegate,
    #[error("the task has expired")]
    Expired,
    #[error("the task's arguments are not the ones signed")]
    ArgumentsChanged,
    #[error("the task was run before (replayed)")]
    Replayed,
}

impl TaskRefusal {
    /// A stable code for results and logs.
    pub const fn code(self) -> &'static str {
        match self {
            TaskRefusal::Malformed => "task_malformed",
            TaskRefusal::BadSignature => "task_bad_signature",
            TaskRefusal::OtherDelegate => "task_other_delegate",
            TaskRefusal::Expired => "task_expired",
            TaskRefusal::ArgumentsChanged => "task_arguments_changed",
            TaskRefusal::Replayed => "task_replayed",
        }
    }
}

/// The nonces a delegate has run, each kept until its task expires (after that, the
/// expiry check refuses the task anyway), so memory stays bounded by the tasks that
/// are still valid.
#[derive(Debug, Default)]
pub struct SeenNonces {
    expiry_by_nonce: HashMap<String, i64>,
}

impl SeenNonces {
    /// Records `nonce` (valid until `expires_at`); false when it was seen already.
    fn first_use(&mut self, nonce: &str, expires_at: i64, now: i64) -> bool {
        self.expiry_by_nonce.retain(|_, expiry| *expiry >= now);
        if self.expiry_by_nonce.contains_key(nonce) {
            return false;
        }
        self.expiry_by_nonce.insert(nonce.to_owned(), expires_at);
        true
    }

    /// The nonces remembered with their expiries, to keep across restarts (a delegate
    /// that forgot them could be made to run a replayed task again before it expires).
    pub fn entries(&self) -> Vec<(String, i64)> {
        let mut entries: Vec<(String, i64)> = self
            .expiry_by_nonce
            .iter()
            .map(|(nonce, expiry)| (nonce.clone(), *expiry))
            .collect();
        entries.sort();
        entries
    }

    /// The nonces kept by [`Self::entries`], dropping those expired at `now`.
    pub fn from_entries(entries: Vec<(String, i64)>, now: i64) -> Self {
        Self {
            expiry_by_nonce: entries
                .into_iter()
                .filter(|(_, expiry)| *expiry >= now)
                .collect(),
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.expiry_by_nonce.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expiry_by_nonce.is_empty()
    }
}

/// Whether delegate `delegate_id` may run `task` with `arguments` at `now` (unix
/// seconds), given the pinned `public_key`. The nonce is recorded only for a task that
/// passes every other check, so nothing forged or stale uses up a nonce.
pub fn check_task(
    task: &SignedTask,
    arguments: &[u8],
    public_key: &[u8],
    delegate_id: &str,
    now: i64,
    seen: &mut SeenNonces,
) -> Result<(), TaskRefusal> {
    let message = task.envelope.signed_bytes()?;
    let signature = from_hex(&task.signature)
        .filter(|signature| signature.len() == SIGNATURE_BYTES)
        .ok_or(TaskRefusal::BadSignature)?;
    if !crate::ed25519::verify(public_key, &message, &signature) {
        return Err(TaskRefusal::BadSignature);
    }
    let envelope = &task.envelope;
    if envelope.delegate_id != delegate_id {
        return Err(TaskRefusal::OtherDelegate);
    }
    if now > envelope.expires_at {
        return Err(TaskRefusal::Expired);
    }
    if !constant_time_eq(
        hex(&sha256(arguments)).as_bytes(),
        envelope.arguments_sha256.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(TaskRefusal::ArgumentsChanged);
    }
    if !seen.first_use(&envelope.nonce, envelope.expires_at, now) {
        return Err(TaskRefusal::Replayed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn signed(key: &TaskSigningKey, arguments: &[u8]) -> SignedTask {
        key.sign(TaskEnvelope::new("task-1", "webhook", arguments, "dlg-a", NOW + 60).unwrap())
            .unwrap()
    }

    #[test]
    fn remembered_nonces_survive_a_restart_until_they_expire() {
        let key = TaskSigningKey::generate().unwrap().0;
        let task = signed(&key, b"{}");
        let mut seen = SeenNonces::default();
        let check = |seen: &mut SeenNonces, now| {
            check_task(&task, b"{}", &key.public_key(), "dlg-a", now, seen)
        };
        assert_eq!(check(&mut seen, NOW), Ok(()));
        let mut restarted = SeenNonces::from_entries(seen.entries(), NOW);
        assert_eq!(check(&mut restarted, NOW + 1), Err(TaskRefusal::Replayed));
        // Expired entries are dropped when loaded: the expiry check refuses those tasks.
        assert!(SeenNonces::from_entries(seen.entries(), NOW + 61).is_empty());
    }

    #[test]
    fn a_genuine_task_runs_once() {
        let key = TaskSigningKey::generate().unwrap().0;
        let task = signed(&key, b"{\"url\":\"https://example.com\"}");
        let mut seen = SeenNonces::default();
        let check = |seen: &mut SeenNonces, now| {
            check_task(
                &task,
                b"{\"url\":\"https://example.com\"}",
                &key.public_key(),
                "dlg-a",
                now,
                seen,
            )
        };
        assert_eq!(check(&mut seen, NOW), Ok(()));
        assert_eq!(check(&mut seen, NOW + 1), Err(TaskRefusal::Replayed));
        // Remembered until it expires; then the expiry check refuses it and the
        // memory lets it go.
        assert_eq!(check(&mut seen, NOW + 61), Err(TaskRefusal::Expired));
        assert_eq!(seen.len(), 1);
        let other = signed(&key, b"{}");
        check_task(
            &other,
            b"{}",
            &key.public_key(),
            "dlg-a",
            NOW + 61 - 60,
            &mut seen,
        )
        .unwrap();
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn every_change_on_the_way_is_refused() {
        let key = TaskSigningKey::generate().unwrap().0;
        let arguments = b"echo hello".as_slice();
        let task = signed(&key, arguments);
        let public = key.public_key();
        type Tamper = fn(&mut SignedTask);
        let cases: [(&str, Tamper, TaskRefusal); 8] = [
            (
                "kind",
                |t| t.envelope.kind = "script".into(),
                TaskRefusal::BadSignature,
            ),
            (
                "id",
                |t| t.envelope.task_id = "task-2".into(),
                TaskRefusal::BadSignature,
            ),
            (
                "delegate",
                |t| t.envelope.delegate_id = "dlg-b".into(),
                TaskRefusal::BadSignature,
            ),
            (
                "expiry",
                |t| t.envelope.expires_at += 3600,
                TaskRefusal::BadSignature,
            ),
            (
                "nonce",
                |t| t.envelope.nonce = "00".repeat(NONCE_BYTES),
                TaskRefusal::BadSignature,
            ),
            (
                "digest",
                |t| t.envelope.arguments_sha256 = hex(&sha256(b"rm -rf /")),
                TaskRefusal::BadSignature,
            ),
            (
                "signature bit",
                |t| {
                    let mut bytes = from_hex(&t.signature).unwrap();
                    bytes[0] ^= 1;
                    t.signature = hex(&bytes);
                },
                TaskRefusal::BadSignature,
            ),
            (
                "envelope shape",
                |t| t.envelope.nonce = "zz".into(),
                TaskRefusal::Malformed,
            ),
        ];
        for (what, tamper, refusal) in cases {
            let mut changed = task.clone();
            tamper(&mut changed);
            let mut seen = SeenNonces::default();
            assert_eq!(
                check_task(&changed, arguments, &public, "dlg-a", NOW, &mut seen),
                Err(refusal),
                "{what}"
            );
            assert!(seen.is_empty(), "{what}: a refused task uses up no nonce");
        }
        let mut seen = SeenNonces::default();
        // Arguments swapped under a genuine envelope.
        assert_eq!(
            check_task(&task, b"rm -rf /", &public, "dlg-a", NOW, &mut seen),
            Err(TaskRefusal::ArgumentsChanged)
        );
        // Meant for someone else, signed by another key, expired.
        assert_eq!(
            check_task(&task, arguments, &public, "dlg-b", NOW, &mut seen),
            Err(TaskRefusal::OtherDelegate)
        );
        let stranger = TaskSigningKey::generate().unwrap().0;
        assert_eq!(
            check_task(
                &task,
                arguments,
                &stranger.public_key(),
                "dlg-a",
                NOW,
                &mut seen
            ),
            Err(TaskRefusal::BadSignature)
        );
        assert_eq!(
            check_task(&task, arguments, &public, "dlg-a", NOW + 61, &mut seen),
            Err(TaskRefusal::Expired)
        );
        assert!(seen.is_empty());
        // The untouched task still runs.
        check_task(&task, arguments, &public, "dlg-a", NOW, &mut seen).unwrap();
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        // Without length prefixes "ab"+"c" and "a"+"bc" would sign the same bytes.
        let envelope = |id: &str, kind: &str| TaskEnvelope {
            task_id: id.into(),
            kind: kind.into(),
            arguments_sha256: hex(&sha256(b"")),
            delegate_id: "d".into(),
            expires_at: NOW,
            nonce: "11".repeat(NONCE_BYTES),
        };
        assert_ne!(
            envelope("ab", "c").signed_bytes().unwrap(),
            envelope("a", "bc").signed_bytes().unwrap()
        );
    }
}
