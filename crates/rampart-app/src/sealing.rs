//! Encryption at rest for the rest of the code: [`App::seal_value`] and [`App::open_sealed`] are the
//! one API every feature uses for a field or blob, naming where the value lives
//! ([`SealContext`]) so that a value moved elsewhere does not open. Features declare
//! the sealed values they store as [`SealedPlace`]s; the rewrap job walks them.
//!
//! A value that must be found by equality but not held in clear (an alert's dedup or
//! group key) is kept as a blind index: HMAC-SHA256 under the ring's blind-index key
//! (`KeyRing::blind_index_key`, derived from the ring's oldest live version), with
//! the [`BlindIndex`]'s domain. Rotation keeps that key, so indexes need no rewrap;
//! crypto-shredding destroys it with the ring. Features declare their [`BlindIndex`]es
//! like their sealed places.
//!
//! Key hierarchy: the root key wraps each owner's (organisation's or project's) key ring
//! versions, stored in `key_versions`; `rampart_crypto::envelope` derives a fresh data
//! key per value. This module also owns the key operations: rotation (a new primary
//! version; the rewrap job then moves data off older versions, online), crypto-shredding
//! (destroying every version: reads answer `data_shredded`), root-key rotation (rewrap
//! every ring and server secret: offline from the CLI, or online through
//! [`App::rotate_root_key`]) and the status view. Every key operation is audited.
//!
//! Rings are read from the store on every use (one indexed query and an unwrap per
//! version, microseconds): no cache, so a shred or rotation on one replica holds on
//! every replica at once.

use rampart_domain::ErrorCode;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rampart_crypto::BlindIndexKey;
use rampart_crypto::RootKey;
use rampart_crypto::envelope::{KeyRing, KeyStatus, OpenError};
use rampart_domain::Permission;
use rampart_domain::platform::tenancy::Scope;
use rampart_store::platform::keys::{KeyVersionRow, RootKeyIdLock};
use rampart_store::sealed::{BlindIndexColumn, SealedCell, SealedColumn};
use serde_json::json;
use zeroize::Zeroizing;

use crate::{Access, App, AppError, AppResult, Ctx, authorize};

/// Where a sealed value belongs: the key owner (an organisation or project id) and the
/// value's place (entity type, id, field, version). Every part is bound into the
/// ciphertext, so a value moved elsewhere does not open.
pub use rampart_crypto::envelope::SealContext;

/// One kind of sealed value that a feature stores: the store column it lives in and how
/// to reseal one stored value where it belongs. Each feature declares its own (next to
/// its seal contexts); the application is built with all of them, and the rewrap job
/// walks that list — so this module names no feature.
#[derive(Clone, Copy)]
pub struct SealedPlace {
    pub column: SealedColumn,
    /// Reseals one stored value of `column` owned by `owner` (see [`Resealer`]).
    pub reseal: ResealFn,
}

/// One kind of blind index that a feature stores: the HMAC domain that keeps it apart
/// from other kinds, and the columns holding it. Each feature declares its own and
/// computes them only through [`Sealer::blind_index`].
#[derive(Clone, Copy, Debug)]
pub struct BlindIndex {
    pub domain: &'static str,
    pub columns: &'static [BlindIndexColumn],
}

/// How a feature reseals one stored value: given the resealer, the ring's owner and the
/// cell read, the new ciphertext (`None`: nothing to move).
pub type ResealFn = fn(&Resealer<'_>, &str, &SealedCell) -> AppResult<Option<Vec<u8>>>;

impl std::fmt::Debug for SealedPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.column.table, self.column.sealed_column)
    }
}

/// A ring and its primary version, resealing values for the rewrap job.
pub struct Resealer<'r> {
    ring: &'r KeyRing,
    primary: u32,
}

impl Resealer<'_> {
    /// `sealed` resealed under the primary version, or `None` when it already is or
    /// does not open (shredded or unreadable: nothing to move; reads report it).
    pub fn reseal(&self, context: &SealContext<'_>, sealed: &[u8]) -> AppResult<Option<Vec<u8>>> {
        if KeyRing::sealed_key_version(sealed) == Some(self.primary) {
            return Ok(None);
        }
        let Ok(plaintext) = self.ring.open(context, sealed) else {
            return Ok(None);
        };
        Ok(Some(self.ring.seal(context, &plaintext)?))
    }
}

/// The id whose ring seals data at `scope`: the project, else the organisation.
pub fn key_owner(scope: Scope) -> Option<String> {
    match scope {
        Scope::Account => None,
        Scope::Org(org) => Some(org.to_string()),
        Scope::Project(_, project) => Some(project.to_string()),
    }
}

/// The ring owner at `scope`, refusing the account (it has no ring).
fn ring_owner(scope: Scope) -> AppResult<String> {
    key_owner(scope).ok_or_else(|| {
        AppError::bad_request(
            ErrorCode::InvalidScope,
            "key rings belong to organisations and projects",
        )
    })
}

fn wrap_purpose(owner: &str, version: u32) -> String {
    format!("rampart/key-ring/v1/{owner}/{version}")
}

fn status_of(row: &KeyVersionRow) -> KeyStatus {
    match row.status.as_str() {
        "enabled" => KeyStatus::Enabled,
        "destroyed" => KeyStatus::Destroyed,
        // disabled (rotated out, data being moved) and retired (moved) both still open.
        _ => KeyStatus::Disabled,
    }
}

/// One key version, for the status view (never the material).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyVersionView {
    pub version: u32,
    pub status: String,
    pub primary: bool,
    pub created_at: Timestamp,
    pub destroyed_at: Option<Timestamp>,
}

/// A loaded ring that seals and blind-indexes synchronously (see [`App::sealer`]).
pub(crate) struct Sealer {
    owner: String,
    ring: KeyRing,
    index_key: BlindIndexKey,
}

impl Sealer {
    /// The ring's owner (an organisation or project id).
    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    /// The blind index of `value` (hex), as `index`'s columns keep it.
    pub(crate) fn blind_index(&self, index: &BlindIndex, value: &str) -> String {
        rampart_crypto::digest::hex(&self.index_key.blind_index(index.domain, value.as_bytes()))
    }

    pub(crate) fn seal(&self, place: &SealContext<'_>, plaintext: &[u8]) -> AppResult<Vec<u8>> {
        if place.owner != self.owner {
            return Err(AppError::Internal(
                "a sealer used for another owner's value".into(),
            ));
        }
        Ok(self.ring.seal(place, plaintext)?)
    }

    /// Opens a value of the same owner with the loaded ring (a value read back inside
    /// the transaction that seals, where loading a ring must not run).
    pub(crate) fn open(
        &self,
        place: &SealContext<'_>,
        sealed: &[u8],
    ) -> AppResult<Zeroizing<Vec<u8>>> {
        open_with(&self.ring, place, sealed)
    }
}

/// Opens a value sealed for `place` with `ring`. A destroyed key answers
/// `data_shredded` (410); a value that does not open (moved, edited) is an integrity
/// failure, never garbage.
fn open_with(
    ring: &KeyRing,
    place: &SealContext<'_>,
    sealed: &[u8],
) -> AppResult<Zeroizing<Vec<u8>>> {
    ring.open(place, sealed).map_err(|error| match error {
        OpenError::Shredded => AppError::Gone {
            code: ErrorCode::DataShredded,
            message: "this data was crypto-shredded: its keys were destroyed and it can never \
                      be read again"
                .into(),
        },
        OpenError::Invalid => AppError::Integrity(format!(
            "a sealed {} {} of {} does not open",
            place.entity_type, place.field, place.entity_id
        )),
    })
}

/// A loaded ring that opens synchronously: several values of one request, one ring read
/// (see [`App::opener`]).
pub(crate) struct Opener {
    ring: KeyRing,
}

impl Opener {
    /// Opens a value sealed for `place`. A destroyed key answers `data_shredded` (410);
    /// a value that does not open (moved, edited) is an integrity failure, never garbage.
    pub(crate) fn open(
        &self,
        place: &SealContext<'_>,
        sealed: &[u8],
    ) -> AppResult<Zeroizing<Vec<u8>>> {
        open_with(&self.ring, place, sealed)
    }

    /// A stand-in for a value sealed under the ring's newest destroyed version: it
    /// opens as shredded (see `KeyRing::shredded_stand_in`). `None` when the ring was
    /// never shredded.
    pub(crate) fn shredded_stand_in(&self) -> Option<Vec<u8>> {
        self.ring.shredded_stand_in()
    }

    /// Opens a sealed text (see [`Opener::open`]).
    pub(crate) fn open_text(&self, place: &SealContext<'_>, sealed: &[u8]) -> AppResult<String> {
        String::from_utf8(self.open(place, sealed)?.to_vec()).map_err(|_| {
            AppError::Integrity(format!(
                "a sealed {} {} of {} is not text",
                place.entity_type, place.field, place.entity_id
            ))
        })
    }
}

/// Rows the rewrap job reseals per store read.
const REWRAP_BATCH: u32 = 500;

/// The root keys a running server holds: the one it serves with, one staged for a
/// coming rotation, and the one it served with before the last rotation. Unwrapping
/// tries all three, so a ring read just before or after a rotation committed (here or
/// on another replica) still opens. Wrapping uses the one whose id the database records
/// (read in the wrapping transaction), so no replica ever wraps under a key that the
/// database has moved away from.
pub(crate) struct RootKeys {
    keys: std::sync::RwLock<RootKeySet>,
    /// Held shared by every transaction that wraps with the root key, exclusively by an
    /// online rotation, so that this replica starts no wrap behind a rotation's back.
    pub(crate) wrapping: tokio::sync::RwLock<()>,
    /// Where the root key lives, when it is a file the server may replace (`None` when
    /// it came from `RAMPART_ROOT_KEY`: online rotation is then refused).
    file: Option<PathBuf>,
}

/// See [`RootKeys`].
#[derive(Clone)]
pub(crate) struct RootKeySet {
    pub(crate) current: RootKey,
    pub(crate) staged: Option<RootKey>,
    pub(crate) previous: Option<RootKey>,
}

impl RootKeySet {
    /// The key whose id is `database_key_id` (`None`: an installation that has not
    /// recorded one yet wraps with the current key).
    fn for_wrapping(&self, database_key_id: Option<&str>) -> Option<&RootKey> {
        let Some(wanted) = database_key_id else {
            return Some(&self.current);
        };
        [Some(&self.current), self.staged.as_ref()]
            .into_iter()
            .flatten()
            .find(|key| key.key_id() == wanted)
    }

    fn holds(&self, key_id: &str) -> bool {
        [
            Some(&self.current),
            self.staged.as_ref(),
            self.previous.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|key| key.key_id() == key_id)
    }

    fn unwrap_key(&self, purpose: &str, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        [
            Some(&self.current),
            self.staged.as_ref(),
            self.previous.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find_map(|key| key.unwrap_key(purpose, wrapped).ok())
    }
}

impl RootKeys {
    pub(crate) fn new(root_key: RootKey, file: Option<PathBuf>) -> Self {
        Self {
            keys: std::sync::RwLock::new(RootKeySet {
                current: root_key,
                staged: None,
                previous: None,
            }),
            wrapping: tokio::sync::RwLock::new(()),
            file,
        }
    }

    pub(crate) fn get(&self) -> RootKeySet {
        // A poisoned lock still holds a consistent set: it is only ever replaced whole.
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set(&self, keys: RootKeySet) {
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
    }

    /// The key file, when the server may replace it.
    pub(crate) fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// The refusal of a replica whose root key is not the database's: a configuration
/// problem on this replica (503, so a load balancer sends the request elsewhere),
/// never reported as tampering.
pub(crate) fn root_key_mismatch(database_key_id: &str) -> AppError {
    AppError::Misconfigured {
        code: ErrorCode::RootKeyMismatch,
        message: format!(
            "this server's root key is not the one the database is wrapped under (key id \
             {database_key_id}); an operator must install the current root key on this \
             replica (see `rampart admin join`)"
        ),
    }
}

/// The key staged at `staged` (an operator's copy, or one left by a refused rotation),
/// else a fresh one written there (0600); and whether it was written here (a failed
/// rotation removes only a key it wrote).
pub fn stage_new_root_key(staged: &Path) -> AppResult<(RootKey, bool)> {
    let unusable = |error: rampart_crypto::CryptoError| {
        AppError::conflict(
            ErrorCode::RootKeyRotationPending,
            format!(
                "{} exists but does not hold a usable root key ({error}): remove it, or \
                 replace it with the new key",
                staged.display()
            ),
        )
    };
    if staged.exists() {
        return Ok((RootKey::read_file(staged).map_err(unusable)?, false));
    }
    let new = RootKey::generate()?;
    new.write_new_file(staged).map_err(unusable)?;
    Ok((new, true))
}

/// Records `root_key`'s id as the database's when it has none (an installation from
/// before migration 17, or a new one). The caller has checked that the key opens the
/// installation's secrets.
pub async fn record_root_key_id(
    store: &rampart_store::Store,
    root_key: &RootKey,
    now: Timestamp,
) -> AppResult<()> {
    if store.root_key_id().await?.is_some() {
        return Ok(());
    }
    let mut tx = store.write().await?;
    if tx.root_key_id(RootKeyIdLock::Exclusive).await?.is_some() {
        tx.rollback().await?;
        return Ok(());
    }
    let key_id = root_key.key_id();
    tx.set_root_key_id(&key_id, now).await?;
    tx.commit(
        Ctx::system()
            .audit(now, "keys.record_root_id", "root_key")
            .details(json!({ "key_id": key_id }))
            .build(),
    )
    .await?;
    Ok(())
}

/// How a starting server's root key relates to the database's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootKeyCheck {
    /// The key is the database's (or the database records none yet: opening its
    /// secrets decides).
    Matches,
    /// The staged key (`root.key.new`) is the database's: a rotation committed and its
    /// file was not moved into place; the caller installs it.
    StagedMatches,
}

/// Checks a starting server's root key (and staged key) against the id the database
/// records, so that a wrong key is a clear configuration error before anything is read.
pub async fn check_root_key(
    store: &rampart_store::Store,
    root_key: &RootKey,
    staged: Option<&RootKey>,
) -> AppResult<RootKeyCheck> {
    match store.root_key_id().await? {
        None => Ok(RootKeyCheck::Matches),
        Some(id) if id == root_key.key_id() => Ok(RootKeyCheck::Matches),
        Some(id) if staged.is_some_and(|key| key.key_id() == id) => Ok(RootKeyCheck::StagedMatches),
        Some(id) => Err(root_key_mismatch(&id)),
    }
}

/// Where a new root key is written before the database is rewrapped under it.
pub fn staged_root_key_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("key.new")
}

/// Moves the staged root key over the key file and syncs the directory, so that the
/// file the next start reads is the key the database is wrapped with.
pub fn install_staged_root_key(staged: &Path, key_file: &Path) -> std::io::Result<()> {
    std::fs::rename(staged, key_file)?;
    if let Some(directory) = key_file.parent() {
        std::fs::File::open(directory)?.sync_all()?;
    }
    Ok(())
}

impl App {
    /// Wraps `material` inside `tx` with the root key the database records, read under
    /// a shared lock so that a rotation (which locks it exclusively) either sees this
    /// wrap or is seen by it. A replica without that key refuses (`root_key_mismatch`).
    async fn wrap_with_root_key(
        &self,
        tx: &mut rampart_store::WriteTx,
        purpose: &str,
        material: &[u8],
    ) -> AppResult<Vec<u8>> {
        let database_key_id = tx.root_key_id(RootKeyIdLock::Shared).await?;
        let keys = self.inner.root_keys.get();
        let key = keys
            .for_wrapping(database_key_id.as_deref())
            .ok_or_else(|| root_key_mismatch(database_key_id.as_deref().unwrap_or("")))?;
        Ok(key.wrap(purpose, material)?)
    }

    /// Why a wrapped key did not open: this replica lacks the database's root key (a
    /// configuration problem, 503), or the stored key was altered (an integrity failure).
    async fn unwrap_failure(&self, detail: String) -> AppError {
        match self.store().root_key_id().await {
            Ok(Some(database_key_id)) if !self.inner.root_keys.get().holds(&database_key_id) => {
                root_key_mismatch(&database_key_id)
            }
            Err(error) => error.into(),
            Ok(_) => AppError::Integrity(detail),
        }
    }

    /// Online root-key rotation (account administration). The new key is the one an
    /// operator staged beside the key file (`root.key.new`), else a fresh one staged
    /// there. Every other live replica must report that key staged (they pick the file
    /// up on their heartbeat); otherwise the rotation is refused naming them, and the
    /// staged file stays for the operator to copy. Then every ring version and server
    /// secret is rewrapped under it in one audited transaction that also records its id,
    /// and the staged file replaces the key file; the other replicas switch on their
    /// next heartbeat, and wrap with the new key at once (they read its id in each
    /// wrapping transaction). Requests are served throughout. Refused when the root key
    /// comes from the environment (the server cannot replace it there): use `rampart
    /// admin keys rotate --new-key-file` with the servers stopped.
    pub async fn rotate_root_key(&self, ctx: &Ctx) -> AppResult<u64> {
        self.require_key_admin(ctx)?;
        let root_keys = &self.inner.root_keys;
        let Some(key_file) = root_keys.file.clone() else {
            return Err(AppError::conflict(
                ErrorCode::RootKeyFromEnvironment,
                "the root key comes from RAMPART_ROOT_KEY, which the server cannot replace: \
                 stop the servers and run `rampart admin keys rotate --new-key-file FILE`",
            ));
        };
        let _exclusive = root_keys.wrapping.write().await;
        let old = root_keys.get();
        let staged = staged_root_key_path(&key_file);
        let (new, staged_here) = stage_new_root_key(&staged)?;
        let unready = self.replicas_without_staged_key(&new.key_id()).await?;
        if !unready.is_empty() {
            return Err(AppError::conflict(
                ErrorCode::ReplicasNotReady,
                format!(
                    "{} other running replica(s) do not hold the new root key yet: {}. Copy {} \
                     to each one's data directory as root.key.new (mode 0600); each picks it up \
                     within {} s. Then rotate again",
                    unready.len(),
                    unready.join(", "),
                    staged.display(),
                    self.settings().replica_heartbeat_secs
                ),
            ));
        }
        root_keys.set(RootKeySet {
            staged: Some(new.clone()),
            ..old.clone()
        });
        let rewrapped = match rewrap_under_new_root_key(
            self.store(),
            ctx,
            &old.current,
            &new,
            self.now(),
        )
        .await
        {
            Ok(count) => count,
            Err(error) => {
                // Nothing committed: the database still uses the old key.
                root_keys.set(old);
                if staged_here {
                    let _ = std::fs::remove_file(&staged);
                }
                return Err(error);
            }
        };
        root_keys.set(RootKeySet {
            current: new,
            staged: None,
            previous: Some(old.current),
        });
        install_staged_root_key(&staged, &key_file).map_err(|error| {
            AppError::Internal(format!(
                "the database is rewrapped under the root key in {}, which could not replace \
                 {}: the next start installs it ({error})",
                staged.display(),
                key_file.display()
            ))
        })?;
        Ok(rewrapped)
    }

    fn ring_from(&self, owner: &str, rows: &[KeyVersionRow]) -> AppResult<KeyRing> {
        let root_keys = self.inner.root_keys.get();
        let mut ring = KeyRing::default();
        for row in rows {
            let status = status_of(row);
            let material = match (&row.wrapped, status) {
                (Some(wrapped), KeyStatus::Enabled | KeyStatus::Disabled) => {
                    let bytes = root_keys
                        .unwrap_key(&wrap_purpose(owner, row.version), wrapped)
                        .ok_or_else(|| {
                            AppError::Integrity(format!(
                                "key version {} of {owner} does not unwrap with the root key",
                                row.version
                            ))
                        })?;
                    let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                        AppError::Integrity(format!("key version {} of {owner}", row.version))
                    })?;
                    Zeroizing::new(array)
                }
                _ => Zeroizing::new([0u8; 32]),
            };
            ring.insert(row.version, material, status);
            if row.is_primary && status == KeyStatus::Enabled {
                ring.set_primary(row.version);
            }
        }
        Ok(ring)
    }

    async fn load_ring(&self, owner: &str) -> AppResult<KeyRing> {
        let rows = self.store().key_versions(owner).await?;
        match self.ring_from(owner, &rows) {
            Err(AppError::Integrity(detail)) => Err(self.unwrap_failure(detail).await),
            other => other,
        }
    }

    /// Adds a new primary version to `owner`'s ring inside a locked transaction and
    /// returns its number. The caller commits with its audit event, holding the shared
    /// side of `root_keys.wrapping` from before this call until the commit.
    async fn add_version(&self, tx: &mut rampart_store::WriteTx, owner: &str) -> AppResult<u32> {
        tx.lock_key_ring(owner).await?;
        let rows = tx.key_versions(owner).await?;
        let version = rows.last().map_or(1, |row| row.version + 1);
        let material = Zeroizing::new(rampart_crypto::random::bytes::<32>()?);
        let wrapped = self
            .wrap_with_root_key(tx, &wrap_purpose(owner, version), material.as_slice())
            .await?;
        tx.add_primary_key_version(owner, version, &wrapped, self.now())
            .await?;
        Ok(version)
    }

    /// A ring with a primary version, creating the first version (or the first after a
    /// shred) when there is none.
    async fn ring_for_sealing(&self, owner: &str) -> AppResult<KeyRing> {
        let ring = self.load_ring(owner).await?;
        if ring.primary().is_some() {
            return Ok(ring);
        }
        let _wrapping = self.inner.root_keys.wrapping.read().await;
        let mut tx = self.store().write().await?;
        tx.lock_key_ring(owner).await?;
        // Another request may have created it while this one waited for the lock.
        let rows = tx.key_versions(owner).await?;
        if rows
            .iter()
            .any(|row| row.is_primary && row.status == "enabled")
        {
            tx.rollback().await?;
            return self.load_ring(owner).await;
        }
        let version = self.add_version(&mut tx, owner).await?;
        tx.commit(
            Ctx::system()
                .audit(self.now(), "keys.create", "key_ring")
                .resource_id(owner)
                .details(json!({ "version": version }))
                .build(),
        )
        .await?;
        self.load_ring(owner).await
    }

    /// Seals `plaintext` for `place` with the owner's primary key version.
    pub async fn seal_value(
        &self,
        place: &SealContext<'_>,
        plaintext: &[u8],
    ) -> AppResult<Vec<u8>> {
        self.sealer(place.owner).await?.seal(place, plaintext)
    }

    /// `owner`'s ring loaded once, to seal several values of one request — also inside
    /// a write transaction, where loading (which may have to create the ring in a write
    /// of its own) must not run.
    pub(crate) async fn sealer(&self, owner: &str) -> AppResult<Sealer> {
        let ring = self.ring_for_sealing(owner).await?;
        let index_key = ring.blind_index_key().ok_or_else(|| {
            AppError::Internal(format!("the key ring of {owner} has no live version"))
        })?;
        Ok(Sealer {
            owner: owner.to_owned(),
            ring,
            index_key,
        })
    }

    /// `owner`'s ring loaded once, to open several values of one request.
    pub(crate) async fn opener(&self, owner: &str) -> AppResult<Opener> {
        Ok(Opener {
            ring: self.load_ring(owner).await?,
        })
    }

    /// Opens a value sealed for `place`. A destroyed key answers `data_shredded` (410);
    /// a value that does not open (moved, edited) is an integrity failure, never garbage.
    pub async fn open_sealed(
        &self,
        place: &SealContext<'_>,
        sealed: &[u8],
    ) -> AppResult<Zeroizing<Vec<u8>>> {
        self.opener(place.owner).await?.open(place, sealed)
    }

    fn require_key_admin(&self, ctx: &Ctx) -> AppResult<()> {
        authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(Permission::AccountManage),
            Scope::Account,
        )
    }

    /// The versions of the ring at `scope` (an organisation or a project).
    pub async fn key_versions(&self, ctx: &Ctx, scope: Scope) -> AppResult<Vec<KeyVersionView>> {
        self.require_key_admin(ctx)?;
        let owner = ring_owner(scope)?;
        Ok(self
            .store()
            .key_versions(&owner)
            .await?
            .into_iter()
            .map(|row| KeyVersionView {
                version: row.version,
                status: row.status,
                primary: row.is_primary,
                created_at: row.created_at,
                destroyed_at: row.destroyed_at,
            })
            .collect())
    }

    /// Makes a new key version primary at `scope`. Data sealed with older versions stays
    /// readable and is moved by [`App::rewrap_rotated_data`].
    pub async fn rotate_keys(&self, ctx: &Ctx, scope: Scope) -> AppResult<u32> {
        self.require_key_admin(ctx)?;
        let owner = ring_owner(scope)?;
        let _wrapping = self.inner.root_keys.wrapping.read().await;
        let mut tx = self.store().write().await?;
        let version = self.add_version(&mut tx, &owner).await?;
        tx.commit(
            ctx.audit(self.now(), "keys.rotate", "key_ring")
                .scope(scope)
                .resource_id(&owner)
                .details(json!({ "version": version }))
                .build(),
        )
        .await?;
        Ok(version)
    }

    /// Destroys every key version at `scope` (crypto-shredding): what they sealed can
    /// never be read again. `confirm` must repeat the scope as `org` or `org/project`.
    pub async fn destroy_keys(
        &self,
        ctx: &Ctx,
        scope: Scope,
        scope_text: &str,
        confirm: &str,
    ) -> AppResult<u64> {
        self.require_key_admin(ctx)?;
        let owner = ring_owner(scope)?;
        if confirm != scope_text {
            return Err(AppError::bad_request(
                ErrorCode::ConfirmationMismatch,
                format!("to destroy these keys, confirm must be exactly \"{scope_text}\""),
            ));
        }
        let mut tx = self.store().write().await?;
        tx.lock_key_ring(&owner).await?;
        let destroyed = tx.destroy_key_versions(&owner, self.now()).await?;
        tx.commit(
            ctx.audit(self.now(), "keys.destroy", "key_ring")
                .scope(scope)
                .resource_id(&owner)
                .details(json!({ "versions_destroyed": destroyed }))
                .build(),
        )
        .await?;
        Ok(destroyed)
    }

    /// Reseals, with the primary version, every value still under a rotated-out version,
    /// then marks those versions retired (they keep opening: a request that read the
    /// ring just before a rotation may still write under them). Returns how many values
    /// moved. Safe to run while requests are served and from several replicas.
    pub async fn rewrap_rotated_data(&self) -> AppResult<u64> {
        let mut moved = 0;
        for owner in self.store().key_owners_with_disabled_versions().await? {
            let ring = self.load_ring(&owner).await?;
            let Some(primary) = ring.primary() else {
                continue;
            };
            let resealer = Resealer {
                ring: &ring,
                primary,
            };
            let mut owner_moved = 0u64;
            for place in &self.inner.sealed_places {
                owner_moved += rewrap_cells(self.store(), &owner, &place.column, |cell| {
                    (place.reseal)(&resealer, &owner, cell)
                })
                .await?;
            }
            let mut tx = self.store().write().await?;
            tx.lock_key_ring(&owner).await?;
            tx.mark_key_versions_retired(&owner, primary).await?;
            tx.commit(
                Ctx::system()
                    .audit(self.now(), "keys.rewrap", "key_ring")
                    .resource_id(&owner)
                    .details(json!({ "primary": primary, "values_moved": owner_moved }))
                    .build(),
            )
            .await?;
            moved += owner_moved;
        }
        Ok(moved)
    }
}

/// Walks `owner`'s values of `column` a batch at a time and stores what `reseal_cell`
/// returns for each, if the value is still the one read. Returns how many moved.
async fn rewrap_cells(
    store: &rampart_store::Store,
    owner: &str,
    column: &SealedColumn,
    reseal_cell: impl Fn(&SealedCell) -> AppResult<Option<Vec<u8>>>,
) -> AppResult<u64> {
    let mut moved = 0;
    let mut after = None;
    loop {
        let batch = store
            .sealed_cells(column, owner, after, REWRAP_BATCH)
            .await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some((last.id.clone(), last.version));
        for cell in &batch {
            if let Some(resealed) = reseal_cell(cell)?
                && store.replace_sealed_cell(cell, &resealed).await?
            {
                moved += 1;
            }
        }
    }
    Ok(moved)
}

/// Root-key rotation (offline from `rampart admin keys rotate`, online from
/// [`App::rotate_root_key`]): rewraps every key ring version and every server secret
/// from `old` to `new` in one transaction, audited as `ctx`. Returns how many wrapped
/// keys changed.
pub async fn rewrap_under_new_root_key(
    store: &rampart_store::Store,
    ctx: &Ctx,
    old: &RootKey,
    new: &RootKey,
    now: Timestamp,
) -> AppResult<u64> {
    let mut tx = store.write().await?;
    // Waits for wrapping transactions in flight, and makes later ones wait for this one
    // (then they read the new id).
    if let Some(database_key_id) = tx.root_key_id(RootKeyIdLock::Exclusive).await?
        && database_key_id != old.key_id()
    {
        tx.rollback().await?;
        return Err(root_key_mismatch(&database_key_id));
    }
    let mut count = 0u64;
    for (name, wrapped) in tx.server_secrets().await? {
        let purpose = crate::bootstrap::server_secret_purpose(&name).ok_or_else(|| {
            AppError::Internal(format!("server secret {name} has no known wrap purpose"))
        })?;
        let plaintext = old.unwrap_key(purpose, &wrapped).map_err(|_| {
            AppError::Integrity(format!(
                "server secret {name} does not unwrap with the old root key"
            ))
        })?;
        tx.rewrap_server_secret(&name, &new.wrap(purpose, &plaintext)?)
            .await?;
        count += 1;
    }
    for row in tx.all_key_versions().await? {
        let Some(wrapped) = &row.wrapped else {
            continue;
        };
        let purpose = wrap_purpose(&row.owner_id, row.version);
        let plaintext = old.unwrap_key(&purpose, wrapped).map_err(|_| {
            AppError::Integrity(format!(
                "key version {} of {} does not unwrap with the old root key",
                row.version, row.owner_id
            ))
        })?;
        tx.rewrap_key_version(&row.owner_id, row.version, &new.wrap(&purpose, &plaintext)?)
            .await?;
        count += 1;
    }
    tx.set_root_key_id(&new.key_id(), now).await?;
    tx.commit(
        ctx.audit(now, "keys.rotate_root", "root_key")
            .details(json!({ "wrapped_keys": count }))
            .build(),
    )
    .await?;
    Ok(count)
}
