//! Installation bootstrap and operator recovery: `admin init` (account, default
//! organisation and project, owner, first token) and `admin reset-admin`. Both run on
//! the host with the root key, as the system actor.

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::{Pepper, RootKey, SecretToken};
use rampart_domain::ErrorCode;
use rampart_domain::limits::BOOTSTRAP_TOKEN_LIFETIME_DAYS;
use rampart_domain::platform::identity::{ApiToken, PrincipalId, TokenKind, User};
use rampart_domain::platform::tenancy::{Account, Organization, Project, Scope};
use rampart_domain::*;
use rampart_store::Store;
use serde_json::json;

use rampart_domain::platform::access::{BuiltinRole, Grantee};
use rampart_domain::platform::access::{RoleAssignmentRecord, RoleRef};

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::mint;
use crate::platform::audit_log::{SIGNING_KEY_PURPOSE, SIGNING_KEY_SECRET};
use crate::platform::delegates::{TASK_KEY_PURPOSE, TASK_KEY_SECRET};

const PEPPER_SECRET_NAME: &str = "token_pepper";
const DEFAULT_SLUG: &str = "default";

/// Whether the store holds an initialised installation.
pub async fn is_initialized(store: &Store) -> AppResult<bool> {
    Ok(store.account().await?.is_some())
}

/// The wrap purpose (associated data) of each server secret, for root-key rotation.
pub(crate) fn server_secret_purpose(name: &str) -> Option<&'static str> {
    match name {
        PEPPER_SECRET_NAME => Some(Pepper::WRAP_PURPOSE),
        SIGNING_KEY_SECRET => Some(SIGNING_KEY_PURPOSE),
        TASK_KEY_SECRET => Some(TASK_KEY_PURPOSE),
        _ => None,
    }
}

/// One of the installation's Ed25519 keys kept as a server secret (the audit log's
/// checkpoint key, the delegates' task-signing key): its secret's name, its wrap
/// purpose and how its creation is audited.
pub(crate) struct ServerKey {
    pub secret: &'static str,
    pub purpose: &'static str,
    pub audit_action: &'static str,
    pub resource_type: &'static str,
}

/// The PKCS#8 document of `key` (wrapped by the root key), created on first start; a
/// replica that loses the race to create it reads the winner's.
pub(crate) async fn load_or_create_server_key(
    store: &Store,
    root_key: &RootKey,
    now: Timestamp,
    key: ServerKey,
) -> AppResult<zeroize::Zeroizing<Vec<u8>>> {
    for _attempt in 0..2 {
        if let Some(wrapped) = store.server_secret(key.secret).await? {
            return Ok(root_key.unwrap_key(key.purpose, &wrapped)?);
        }
        let (signing_key, pkcs8) = rampart_crypto::ed25519::SigningKey::generate()?;
        let wrapped = root_key.wrap(key.purpose, &pkcs8)?;
        let mut tx = store.write().await?;
        tx.insert_server_secret(key.secret, &wrapped, now).await?;
        let event = Ctx::system()
            .audit(now, key.audit_action, key.resource_type)
            .details(json!({
                "public_key": rampart_crypto::digest::hex(&signing_key.public_key())
            }))
            .build();
        match tx.commit(event).await {
            Ok(()) => return Ok(pkcs8),
            // Another replica created it first: read theirs.
            Err(error) if error.is_unique_violation() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(format!(
        "the installation's {} could not be loaded",
        key.resource_type
    )))
}

/// The installation's pepper, unwrapped with `root_key` (which it also proves right).
pub async fn load_pepper(store: &Store, root_key: &RootKey) -> AppResult<Pepper> {
    let wrapped = store
        .server_secret(PEPPER_SECRET_NAME)
        .await?
        .ok_or_else(|| {
            AppError::Internal(
                "the installation is not initialised (run `rampart admin init`)".into(),
            )
        })?;
    let bytes = root_key
        .unwrap_key(Pepper::WRAP_PURPOSE, &wrapped)
        .map_err(|_| {
            AppError::Integrity(
                "the root key does not open this installation's secrets (wrong root key?)".into(),
            )
        })?;
    Ok(Pepper::from_bytes(&bytes)?)
}

fn system_ctx() -> Ctx {
    Ctx::system()
}

/// The owner's Account Admin assignment.
fn owner_assignment(now: Timestamp, owner: UserId) -> AppResult<RoleAssignmentRecord> {
    Ok(RoleAssignmentRecord {
        id: mint(now, |millis, random| {
            uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
        })?,
        scope: Scope::Account,
        grantee: Grantee::Principal(PrincipalId::User(owner)),
        role: RoleRef::Builtin(BuiltinRole::AccountAdmin),
        resource_group_id: None,
        created_at: now,
        created_by: "system".into(),
    })
}

/// Mints a personal token for `user` and its row; the caller inserts it.
pub(crate) fn personal_token(
    pepper: &Pepper,
    owner: PrincipalId,
    name: &str,
    now: Timestamp,
    lifetime: SignedDuration,
    project_id: Option<ProjectId>,
) -> AppResult<(SecretToken, ApiToken, [u8; 32])> {
    let kind = match owner {
        PrincipalId::User(_) => TokenKind::Personal,
        PrincipalId::ServiceAccount(_) => TokenKind::ServiceAccount,
    };
    let secret = rampart_crypto::token::mint(kind)?;
    let token = ApiToken {
        id: mint(now, TokenId::mint)?,
        kind,
        owner,
        name: Name::parse(name)?,
        last_four: secret.last_four(),
        project_id,
        created_at: now,
        expires_at: now.checked_add(lifetime).map_err(|_| {
            AppError::bad_request(ErrorCode::InvalidExpiry, "the expiry is out of range")
        })?,
        revoked_at: None,
        last_used_at: None,
        last_used_ip: None,
        allowed_cidrs: Vec::new(),
        run: None,
    };
    let secret_hmac = token_hmac(pepper, &secret);
    Ok((secret, token, secret_hmac))
}

pub(crate) fn token_hmac(pepper: &Pepper, secret: &SecretToken) -> [u8; 32] {
    pepper.blind_index("api-token", secret.expose().as_bytes())
}

/// A new account owner: no password (the owner starts with the printed token).
fn new_owner(now: Timestamp, email: Email) -> AppResult<User> {
    Ok(User {
        id: mint(now, UserId::mint)?,
        email,
        display_name: DisplayName::parse("Administrator")?,
        is_account_owner: true,
        has_password: false,
        disabled: false,
        created_at: now,
        updated_at: now,
    })
}

/// The bootstrap token's lifetime: the default, or the configured maximum if lower.
fn bootstrap_lifetime(token_lifetime_days_max: u32) -> SignedDuration {
    let days = BOOTSTRAP_TOKEN_LIFETIME_DAYS.min(token_lifetime_days_max);
    SignedDuration::from_hours(24 * i64::from(days))
}

/// Initialises a new installation and returns the owner's one-time token. Refuses an
/// installation that is already initialised.
pub async fn initialize(
    store: &Store,
    root_key: &RootKey,
    now: Timestamp,
    admin_email: &str,
    token_lifetime_days_max: u32,
) -> AppResult<SecretToken> {
    let email = Email::parse(admin_email)?;
    if is_initialized(store).await? {
        return Err(AppError::conflict(
            ErrorCode::AlreadyInitialized,
            "this installation is already initialised",
        ));
    }
    let pepper_bytes = zeroize::Zeroizing::new(rampart_crypto::random::bytes::<32>()?);
    let wrapped_pepper = root_key.wrap(Pepper::WRAP_PURPOSE, pepper_bytes.as_slice())?;
    let pepper = Pepper::from_bytes(pepper_bytes.as_slice())?;

    let account = Account {
        id: mint(now, AccountId::mint)?,
        name: Name::parse("Rampart")?,
        created_at: now,
    };
    let org = Organization {
        id: mint(now, OrgId::mint)?,
        identifier: Slug::parse(DEFAULT_SLUG)?,
        name: Name::parse("Default")?,
        description: Description::parse("")?,
        created_at: now,
        updated_at: now,
    };
    let project = Project {
        id: mint(now, ProjectId::mint)?,
        org_id: org.id,
        identifier: Slug::parse(DEFAULT_SLUG)?,
        name: Name::parse("Default")?,
        description: Description::parse("")?,
        created_at: now,
        updated_at: now,
    };
    let owner = new_owner(now, email)?;
    let (secret, token, secret_hmac) = personal_token(
        &pepper,
        PrincipalId::User(owner.id),
        "bootstrap",
        now,
        bootstrap_lifetime(token_lifetime_days_max),
        None,
    )?;

    let mut tx = store.write().await?;
    tx.insert_server_secret(PEPPER_SECRET_NAME, &wrapped_pepper, now)
        .await
        .map_err(|error| match error {
            rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                ErrorCode::AlreadyInitialized,
                "this installation is already initialised",
            ),
            other => other.into(),
        })?;
    tx.insert_account(&account).await?;
    tx.insert_org(&org).await?;
    tx.insert_project(&project).await?;
    tx.insert_user(&owner, None).await?;
    tx.insert_role_assignment(&owner_assignment(now, owner.id)?)
        .await?;
    tx.insert_token(&token, &secret_hmac).await?;
    let ctx = system_ctx();
    tx.commit(
        ctx.audit(now, "account.initialize", "account")
            .resource_id(account.id)
            .scope(Scope::Project(org.id, project.id))
            .details(json!({
                "owner": owner.id.to_string(),
                "token_id": token.id.to_string(),
            }))
            .build(),
    )
    .await?;
    Ok(secret)
}

/// Recovers a locked-out owner: re-enables them, ends their sessions and prints a new
/// token. With `email`, that user (created if missing) becomes an account owner.
pub async fn reset_admin(
    store: &Store,
    root_key: &RootKey,
    now: Timestamp,
    email: Option<&str>,
    token_lifetime_days_max: u32,
) -> AppResult<SecretToken> {
    let pepper = load_pepper(store, root_key).await?;
    let mut tx_user = match email {
        Some(text) => {
            let email = Email::parse(text)?;
            match store.user_credentials_by_email(&email).await? {
                Some(found) => (found.user, false),
                None => (new_owner(now, email)?, true),
            }
        }
        None => (
            store.account_owner().await?.ok_or_else(|| {
                AppError::Internal("no account owner exists; pass --email".into())
            })?,
            false,
        ),
    };
    let (user, is_new) = (&mut tx_user.0, tx_user.1);
    user.is_account_owner = true;
    user.disabled = false;
    user.updated_at = now;
    let (secret, token, secret_hmac) = personal_token(
        &pepper,
        PrincipalId::User(user.id),
        "reset-admin",
        now,
        bootstrap_lifetime(token_lifetime_days_max),
        None,
    )?;
    let mut tx = store.write().await?;
    // Account Admin again, whatever was changed since (kept as it is when the user
    // still holds it).
    if is_new {
        tx.insert_user(user, None).await?;
    } else {
        tx.update_user(user).await?;
        tx.make_account_owner(user.id).await?;
        tx.revoke_sessions_of(user.id, now).await?;
    }
    tx.insert_role_assignment_unless_held(&owner_assignment(now, user.id)?)
        .await?;
    tx.insert_token(&token, &secret_hmac).await?;
    tx.commit(
        system_ctx()
            .audit(now, "account.reset_admin", "user")
            .resource_id(user.id)
            .details(json!({ "token_id": token.id.to_string(), "created": is_new }))
            .build(),
    )
    .await?;
    Ok(secret)
}
