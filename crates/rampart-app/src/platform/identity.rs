//! Users, service accounts and API tokens.

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::{PasswordVerdict, SecretToken};
use rampart_domain::ErrorCode;
use rampart_domain::platform::identity::{ApiToken, PrincipalId, ServiceAccount, User};
use rampart_domain::platform::tenancy::{Organization, Project, Scope};
use rampart_domain::{Description, DisplayName, Email, Name, ServiceAccountId, TokenId, UserId};
use rampart_store::{Page, StoreError};
use serde_json::json;

use rampart_domain::platform::access::Grantee;

use crate::bootstrap::personal_token;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::{App, mint};

#[derive(Debug, Clone)]
pub struct NewUserInput {
    pub email: String,
    pub display_name: String,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewServiceAccountInput {
    pub name: String,
    pub description: Option<String>,
}

/// When a new token expires: a number of days from now, or an instant.
#[derive(Debug, Clone, Copy)]
pub enum TokenExpiry {
    InDays(u32),
    At(Timestamp),
}

#[derive(Debug, Clone)]
pub struct NewTokenInput {
    pub name: String,
    pub expiry: TokenExpiry,
    /// Narrow the token to this project.
    pub project: Option<Project>,
    /// Source networks (CIDR or single address) the token may be used from.
    pub allowed_cidrs: Vec<String>,
}

/// Most source networks one token may list.
pub const TOKEN_CIDRS_MAX: usize = 32;

/// A freshly created token: its metadata and the secret, shown once.
#[derive(Debug)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: SecretToken,
}

impl App {
    fn check_password(&self, password: &str, email: &Email) -> AppResult<()> {
        self.settings()
            .password_policy
            .check(password, email.as_str())
            .map_err(AppError::Invalid)
    }

    pub async fn user(&self, id: UserId) -> AppResult<User> {
        self.store()
            .user_by_id(id)
            .await?
            .ok_or(AppError::NotFound { what: "user" })
    }

    /// The users `ids` name (user ids as text), by id. An id that names nobody (the user
    /// was deleted) is left out; callers show the id instead.
    pub async fn people(
        &self,
        ids: &[&str],
    ) -> AppResult<std::collections::BTreeMap<String, User>> {
        let mut people = std::collections::BTreeMap::new();
        for &id in ids {
            if people.contains_key(id) {
                continue;
            }
            let Ok(user_id) = id.parse::<UserId>() else {
                continue;
            };
            if let Some(user) = self.store().user_by_id(user_id).await? {
                people.insert(id.to_owned(), user);
            }
        }
        Ok(people)
    }

    /// How people are named to others (who is on call, calendars): each user id of
    /// `ids` with the user's display name, else their email. An id that names nobody
    /// is left out; callers show the id instead.
    pub async fn person_names(
        &self,
        ids: &[&str],
    ) -> AppResult<std::collections::BTreeMap<String, String>> {
        Ok(self
            .people(ids)
            .await?
            .into_iter()
            .map(|(id, user)| {
                // `DisplayName` refuses blank names; the email is the guard should a
                // stored one ever be blank.
                let display = user.display_name.as_str().trim();
                let name = if display.is_empty() {
                    user.email.as_str().to_owned()
                } else {
                    display.to_owned()
                };
                (id, name)
            })
            .collect())
    }

    /// The current principal, for `/me`.
    pub async fn me(&self, ctx: &Ctx) -> AppResult<Me> {
        match ctx.actor.principal {
            PrincipalId::User(id) => Ok(Me::User(self.user(id).await?)),
            PrincipalId::ServiceAccount(id) => {
                Ok(Me::ServiceAccount(self.service_account(id).await?))
            }
        }
    }

    pub async fn create_user(&self, ctx: &Ctx, input: NewUserInput) -> AppResult<User> {
        let now = self.now();
        let email = Email::parse(&input.email)?;
        let display_name = DisplayName::parse(&input.display_name)?;
        let password_hash = match &input.password {
            Some(password) => {
                self.check_password(password, &email)?;
                Some(self.hash_password(password).await?)
            }
            None => None,
        };
        let user = User {
            id: mint(now, UserId::mint)?,
            email,
            display_name,
            is_account_owner: false,
            has_password: password_hash.is_some(),
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_user(&user, password_hash.as_deref())
            .await
            .map_err(|error| match error {
                StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::EmailTaken,
                    "a user with this email already exists",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "user.create", "user")
                .scope(Scope::Account)
                .resource_id(user.id)
                .details(json!({ "has_password": user.has_password }))
                .build(),
        )
        .await?;
        Ok(user)
    }

    pub async fn list_users(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<User>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_users(&page).await?)
    }

    pub async fn update_user(&self, ctx: &Ctx, id: UserId, patch: UserPatch) -> AppResult<User> {
        let mut user = self.user(id).await?;
        self.check_can_act_for(ctx, Grantee::Principal(PrincipalId::User(user.id)))
            .await?;
        let now = self.now();
        // Only what really changes is written and audited; a patch that changes nothing
        // writes nothing.
        let mut changed = Vec::new();
        if let Some(name) = &patch.display_name {
            let name = DisplayName::parse(name)?;
            if name != user.display_name {
                user.display_name = name;
                changed.push("display_name");
            }
        }
        let mut disabling = false;
        if let Some(disabled) = patch.disabled {
            if disabled && user.is_account_owner {
                return Err(AppError::conflict(
                    ErrorCode::CannotDisableOwner,
                    "the account owner cannot be disabled; use `rampart admin reset-admin` to recover access instead",
                ));
            }
            if disabled != user.disabled {
                disabling = disabled;
                user.disabled = disabled;
                changed.push("disabled");
            }
        }
        if changed.is_empty() {
            return Ok(user);
        }
        user.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.lock_account_admins().await?;
        tx.update_user(&user).await?;
        if disabling {
            tx.revoke_sessions_of(user.id, now).await?;
            super::access::ensure_an_account_admin_remains(&mut tx).await?;
        }
        tx.commit(
            ctx.audit(now, "user.update", "user")
                .scope(Scope::Account)
                .resource_id(user.id)
                .details(json!({ "changed": changed }))
                .build(),
        )
        .await?;
        Ok(user)
    }

    pub async fn delete_user(&self, ctx: &Ctx, id: UserId) -> AppResult<()> {
        let user = self.user(id).await?;
        if user.is_account_owner {
            return Err(AppError::conflict(
                ErrorCode::CannotDeleteOwner,
                "the account owner cannot be deleted",
            ));
        }
        self.check_can_act_for(ctx, Grantee::Principal(PrincipalId::User(user.id)))
            .await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_account_admins().await?;
        tx.delete_role_assignments_of(PrincipalId::User(user.id))
            .await?;
        tx.delete_user(user.id).await?;
        super::access::ensure_an_account_admin_remains(&mut tx).await?;
        tx.commit(
            ctx.audit(now, "user.delete", "user")
                .scope(Scope::Account)
                .resource_id(user.id)
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Changes the caller's own password. A user who has one must give it; every
    /// session of the user ends (ASVS V7.4.3).
    pub async fn change_own_password(
        &self,
        ctx: &Ctx,
        current_password: Option<&str>,
        new_password: &str,
    ) -> AppResult<()> {
        let PrincipalId::User(id) = ctx.actor.principal else {
            return Err(AppError::bad_request(
                ErrorCode::NotAUser,
                "service accounts have no password",
            ));
        };
        let user = self.user(id).await?;
        if user.has_password {
            let credentials = self
                .store()
                .user_credentials_by_email(&user.email)
                .await?
                .ok_or(AppError::NotFound { what: "user" })?;
            // Without a current password (or a stored hash) nothing can match; the
            // dummy verification keeps the timing the same.
            let stored = current_password.and(credentials.password_hash);
            let verdict = self
                .verify_password(current_password.unwrap_or_default(), stored)
                .await?;
            if verdict == PasswordVerdict::Mismatch {
                return Err(AppError::forbidden(
                    ErrorCode::CurrentPasswordWrong,
                    "the current password is not correct",
                ));
            }
        } else {
            // A first password (a user who signs in through SSO) proves nothing by
            // itself: a session needs a recent sign-in, as for any sensitive action,
            // or an unattended session could give itself a password and a fresh login.
            self.check_step_up(ctx, Scope::Account, "POST /api/v1/me/password")
                .await?;
        }
        self.check_password(new_password, &user.email)?;
        let phc = self.hash_password(new_password).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_password_hash(user.id, Some(&phc), now).await?;
        let ended = tx.revoke_sessions_of(user.id, now).await?;
        tx.commit(
            ctx.audit(now, "user.password_change", "user")
                .scope(Scope::Account)
                .resource_id(user.id)
                .details(json!({ "sessions_ended": ended }))
                .build(),
        )
        .await?;
        Ok(())
    }

    pub async fn service_account(&self, id: ServiceAccountId) -> AppResult<ServiceAccount> {
        self.store()
            .service_account_by_id(id)
            .await?
            .ok_or(AppError::NotFound {
                what: "service account",
            })
    }

    /// Finds a service account by id inside the given scope (404 when it lives elsewhere).
    pub async fn service_account_in(
        &self,
        id: ServiceAccountId,
        org: &Organization,
        project: Option<&Project>,
    ) -> AppResult<ServiceAccount> {
        let found = self.service_account(id).await?;
        if found.org_id != org.id || found.project_id != project.map(|p| p.id) {
            return Err(AppError::NotFound {
                what: "service account",
            });
        }
        Ok(found)
    }

    pub async fn create_service_account(
        &self,
        ctx: &Ctx,
        org: &Organization,
        project: Option<&Project>,
        input: NewServiceAccountInput,
    ) -> AppResult<ServiceAccount> {
        let now = self.now();
        let account = ServiceAccount {
            id: mint(now, ServiceAccountId::mint)?,
            org_id: org.id,
            project_id: project.map(|p| p.id),
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            created_at: now,
            updated_at: now,
        };
        let scope = match project {
            Some(p) => Scope::Project(org.id, p.id),
            None => Scope::Org(org.id),
        };
        let mut tx = self.store().write().await?;
        tx.insert_service_account(&account).await?;
        tx.commit(
            ctx.audit(now, "service_account.create", "service_account")
                .scope(scope)
                .resource_id(account.id)
                .build(),
        )
        .await?;
        Ok(account)
    }

    pub async fn list_service_accounts(
        &self,
        org: &Organization,
        project: Option<&Project>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<ServiceAccount>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self
            .store()
            .list_service_accounts(org.id, project.map(|p| p.id), &page)
            .await?)
    }

    pub async fn delete_service_account(
        &self,
        ctx: &Ctx,
        account: &ServiceAccount,
    ) -> AppResult<()> {
        let now = self.now();
        let scope = match account.project_id {
            Some(project) => Scope::Project(account.org_id, project),
            None => Scope::Org(account.org_id),
        };
        let mut tx = self.store().write().await?;
        tx.delete_role_assignments_of(PrincipalId::ServiceAccount(account.id))
            .await?;
        tx.delete_service_account(account.id).await?;
        tx.commit(
            ctx.audit(now, "service_account.delete", "service_account")
                .scope(scope)
                .resource_id(account.id)
                .build(),
        )
        .await?;
        Ok(())
    }

    fn token_lifetime(&self, now: Timestamp, expiry: TokenExpiry) -> AppResult<SignedDuration> {
        let max_days = self.settings().token_lifetime_days_max;
        let max = SignedDuration::from_hours(24 * i64::from(max_days));
        let lifetime = match expiry {
            TokenExpiry::InDays(days) => SignedDuration::from_hours(24 * i64::from(days)),
            TokenExpiry::At(at) => at.duration_since(now),
        };
        if lifetime <= SignedDuration::ZERO {
            return Err(AppError::bad_request(
                ErrorCode::InvalidExpiry,
                "the token must expire in the future",
            ));
        }
        if lifetime > max {
            return Err(AppError::bad_request(
                ErrorCode::TokenLifetimeTooLong,
                format!("tokens may live at most {max_days} days"),
            ));
        }
        Ok(lifetime)
    }

    /// Creates a token for `owner` (the caller's own personal token, or a service
    /// account's token). The secret is returned once and never stored.
    pub async fn create_token(
        &self,
        ctx: &Ctx,
        owner: PrincipalId,
        input: NewTokenInput,
    ) -> AppResult<CreatedToken> {
        self.check_token_creation(&ctx.actor).await?;
        let now = self.now();
        let lifetime = self.token_lifetime(now, input.expiry)?;
        if owner == ctx.actor.principal {
            if let PrincipalId::ServiceAccount(_) = owner {
                // Otherwise a leaked service account token could mint its own successor
                // that survives the leaked one's revocation.
                return Err(AppError::forbidden(
                    ErrorCode::ServiceAccountCannotSelfIssue,
                    "a service account's tokens are issued by an administrator",
                ));
            }
            if let Some(caller_expires_at) = ctx.actor.token_expires_at
                && now
                    .checked_add(lifetime)
                    .is_ok_and(|expiry| expiry > caller_expires_at)
            {
                return Err(AppError::bad_request(
                    ErrorCode::TokenOutlivesCreator,
                    format!(
                        "a token cannot outlive the token that creates it (which expires at {caller_expires_at})"
                    ),
                ));
            }
        }
        if let (PrincipalId::ServiceAccount(_), false) = (owner, owner == ctx.actor.principal) {
            // A token carries the service account's rights: issuing one is granting them.
            self.check_can_act_for(ctx, Grantee::Principal(owner))
                .await?;
        }
        if let (PrincipalId::ServiceAccount(id), Some(project)) = (owner, &input.project) {
            // A service account's token can only be narrowed inside the account's own
            // organisation, and for a project service account only to its project.
            let account = self.service_account(id).await?;
            let outside = project.org_id != account.org_id
                || account.project_id.is_some_and(|own| own != project.id);
            if outside {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidProject,
                    "a service account's token can only be narrowed to a project it belongs to",
                ));
            }
        }
        let allowed_cidrs =
            super::network::parse_cidrs(&input.allowed_cidrs, TOKEN_CIDRS_MAX, "a token")?;
        let (secret, mut token, secret_hmac) = personal_token(
            self.pepper(),
            owner,
            &input.name,
            now,
            lifetime,
            input.project.as_ref().map(|p| p.id),
        )?;
        token.allowed_cidrs = allowed_cidrs;
        let scope = match &input.project {
            Some(project) => Scope::Project(project.org_id, project.id),
            None => Scope::Account,
        };
        let mut tx = self.store().write().await?;
        tx.insert_token(&token, &secret_hmac).await?;
        tx.commit(
            ctx.audit(now, "token.create", "token")
                .scope(scope)
                .resource_id(token.id)
                .details(json!({
                    "owner": owner.to_text(),
                    "kind": token.kind.prefix_code(),
                    "expires_at": token.expires_at.to_string(),
                    "narrowed_to_project": token.project_id.map(|id| id.to_string()),
                }))
                .build(),
        )
        .await?;
        Ok(CreatedToken { token, secret })
    }

    pub async fn list_tokens(
        &self,
        owner: PrincipalId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<ApiToken>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_tokens_of(owner, &page).await?)
    }

    /// Revokes a token of `owner`; a token of anyone else is "not found". Revocation
    /// takes effect on the next request (tokens are checked against the store on use).
    pub async fn revoke_token(
        &self,
        ctx: &Ctx,
        owner: PrincipalId,
        id: TokenId,
    ) -> AppResult<ApiToken> {
        let mut token = self
            .store()
            .token_by_id(id)
            .await?
            .filter(|token| token.owner == owner)
            .ok_or(AppError::NotFound { what: "token" })?;
        let now = self.now();
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        let mut tx = self.store().write().await?;
        tx.revoke_token(token.id, now).await?;
        tx.commit(
            ctx.audit(now, "token.revoke", "token")
                .scope(Scope::Account)
                .resource_id(token.id)
                .details(json!({ "owner": owner.to_text() }))
                .build(),
        )
        .await?;
        token.revoked_at = Some(now);
        Ok(token)
    }
}

/// The current principal.
#[derive(Debug, Clone)]
pub enum Me {
    User(User),
    ServiceAccount(ServiceAccount),
}
