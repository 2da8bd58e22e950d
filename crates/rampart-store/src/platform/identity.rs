//! Users, service accounts, API tokens, sessions and installation secrets.

use jiff::Timestamp;
use rampart_domain::platform::identity::{
    ApiToken, PrincipalId, RunBinding, ServiceAccount, Session, TokenKind, User,
};
use rampart_domain::{
    Description, DisplayName, Email, Name, OrgId, ProjectId, RunId, ServiceAccountId, TokenId,
    UserId,
};
use sqlx::any::AnyRow;

use super::{Page, PageRequest};
use crate::rows::{
    get, get_flag, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, parsed,
};
use crate::{Store, StoreError, StoreResult, WriteTx};

const USER_COLUMNS: &str = "id, email, display_name, password_hash, is_account_owner, disabled, \
                            created_at, updated_at";

/// A user with the stored password hash, for login only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
}

fn user_from(row: &AnyRow) -> StoreResult<UserCredentials> {
    let password_hash: Option<String> = get(row, "password_hash")?;
    Ok(UserCredentials {
        user: User {
            id: get_id(row, "id")?,
            email: Email::from_stored(get(row, "email")?),
            display_name: parsed(
                DisplayName::parse(&get::<String>(row, "display_name")?),
                "display_name",
            )?,
            is_account_owner: get_flag(row, "is_account_owner")?,
            has_password: password_hash.is_some(),
            disabled: get_flag(row, "disabled")?,
            created_at: get_timestamp(row, "created_at")?,
            updated_at: get_timestamp(row, "updated_at")?,
        },
        password_hash,
    })
}

const SERVICE_ACCOUNT_COLUMNS: &str =
    "id, org_id, project_id, name, description, created_at, updated_at";

fn service_account_from(row: &AnyRow) -> StoreResult<ServiceAccount> {
    Ok(ServiceAccount {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_optional_id(row, "project_id")?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

const TOKEN_COLUMNS: &str = "id, kind, owner_user_id, owner_service_account_id, name, last_four, \
                             project_id, created_at, expires_at, revoked_at, last_used_at, \
                             last_used_ip, allowed_cidrs, run_id, run_workspace_id, \
                             run_parent_token_id, run_parent_session_id";

fn token_from(row: &AnyRow) -> StoreResult<ApiToken> {
    let owner = match (
        get_optional_id::<UserId>(row, "owner_user_id")?,
        get_optional_id::<ServiceAccountId>(row, "owner_service_account_id")?,
    ) {
        (Some(user), None) => PrincipalId::User(user),
        (None, Some(service_account)) => PrincipalId::ServiceAccount(service_account),
        _ => {
            return Err(StoreError::Corrupt(
                "a token must have exactly one owner".into(),
            ));
        }
    };
    Ok(ApiToken {
        id: get_id(row, "id")?,
        kind: parsed(get::<String>(row, "kind")?.parse::<TokenKind>(), "kind")?,
        owner,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        last_four: get(row, "last_four")?,
        project_id: get_optional_id(row, "project_id")?,
        created_at: get_timestamp(row, "created_at")?,
        expires_at: get_timestamp(row, "expires_at")?,
        revoked_at: get_optional_timestamp(row, "revoked_at")?,
        last_used_at: get_optional_timestamp(row, "last_used_at")?,
        last_used_ip: get(row, "last_used_ip")?,
        allowed_cidrs: get::<String>(row, "allowed_cidrs")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        run: match (
            get_optional_id(row, "run_id")?,
            get_optional_id(row, "run_workspace_id")?,
        ) {
            (Some(run_id), Some(workspace_id)) => Some(RunBinding {
                run_id,
                workspace_id,
                parent_token_id: get_optional_id(row, "run_parent_token_id")?,
                parent_session_id: get_optional_id(row, "run_parent_session_id")?,
            }),
            (None, None) => None,
            _ => {
                return Err(StoreError::Corrupt(
                    "a run credential names both its run and its workspace".into(),
                ));
            }
        },
    })
}

fn owner_columns(owner: PrincipalId) -> (Option<String>, Option<String>) {
    match owner {
        PrincipalId::User(id) => (Some(id.to_string()), None),
        PrincipalId::ServiceAccount(id) => (None, Some(id.to_string())),
    }
}

const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_seen_at, absolute_expires_at, revoked_at, authenticated_at";

fn session_from(row: &AnyRow) -> StoreResult<Session> {
    Ok(Session {
        id: get_id(row, "id")?,
        user_id: get_id(row, "user_id")?,
        created_at: get_timestamp(row, "created_at")?,
        last_seen_at: get_timestamp(row, "last_seen_at")?,
        absolute_expires_at: get_timestamp(row, "absolute_expires_at")?,
        revoked_at: get_optional_timestamp(row, "revoked_at")?,
        authenticated_at: get_timestamp(row, "authenticated_at")?,
    })
}

/// A live session together with the hash of its CSRF token.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub session: Session,
    pub csrf_hash: Vec<u8>,
    /// How the session was authenticated: `password` or `oidc:<provider>`.
    pub auth_method: String,
}

impl Store {
    pub async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| user_from(row).map(|found| found.user))
            .transpose()
    }

    /// Looks a user up by the normalised (lowercase) email, with the password hash.
    pub async fn user_credentials_by_email(
        &self,
        email: &Email,
    ) -> StoreResult<Option<UserCredentials>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_normalized = $1");
        sqlx::query(&sql)
            .bind(email.normalized())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    /// Whether `user` started a session from `client_ip` at or after `since` (the login
    /// throttle's "known address").
    pub async fn user_signed_in_from(
        &self,
        user: UserId,
        client_ip: &str,
        since: Timestamp,
    ) -> StoreResult<bool> {
        let found = sqlx::query(
            "SELECT 1 FROM sessions WHERE user_id = $1 AND client_ip = $2 AND created_at >= $3 \
             LIMIT 1",
        )
        .bind(user.to_string())
        .bind(client_ip)
        .bind(micros(since))
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    pub async fn account_owner(&self) -> StoreResult<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE is_account_owner = 1 ORDER BY id LIMIT 1"
        );
        sqlx::query(&sql)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| user_from(row).map(|found| found.user))
            .transpose()
    }

    pub async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(|row| user_from(row).map(|found| found.user))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |user| {
            user.id.to_string()
        }))
    }

    pub async fn service_account_by_id(
        &self,
        id: ServiceAccountId,
    ) -> StoreResult<Option<ServiceAccount>> {
        let sql = format!("SELECT {SERVICE_ACCOUNT_COLUMNS} FROM service_accounts WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(service_account_from)
            .transpose()
    }

    /// Service accounts directly in a scope: an organisation (`project` = `None`) or one
    /// of its projects.
    pub async fn list_service_accounts(
        &self,
        org_id: OrgId,
        project_id: Option<ProjectId>,
        page: &PageRequest,
    ) -> StoreResult<Page<ServiceAccount>> {
        let project_filter = if project_id.is_some() {
            "project_id = $2"
        } else {
            "project_id IS NULL AND $2 = ''"
        };
        let sql = format!(
            "SELECT {SERVICE_ACCOUNT_COLUMNS} FROM service_accounts \
             WHERE org_id = $1 AND {project_filter} AND id > $3 ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id.to_string())
            .bind(project_id.map(|id| id.to_string()).unwrap_or_default())
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(service_account_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |sa| {
            sa.id.to_string()
        }))
    }

    /// Finds a token by the peppered HMAC of its secret.
    pub async fn token_by_secret_hmac(&self, secret_hmac: &[u8]) -> StoreResult<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hmac = $1");
        sqlx::query(&sql)
            .bind(secret_hmac.to_vec())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(token_from)
            .transpose()
    }

    pub async fn token_by_id(&self, id: TokenId) -> StoreResult<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(token_from)
            .transpose()
    }

    pub async fn list_tokens_of(
        &self,
        owner: PrincipalId,
        page: &PageRequest,
    ) -> StoreResult<Page<ApiToken>> {
        let (user, service_account) = owner_columns(owner);
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens \
             WHERE (owner_user_id = $1 OR owner_service_account_id = $2) AND id > $3 \
             ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(user)
            .bind(service_account)
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(token_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |token| {
            token.id.to_string()
        }))
    }

    /// Records a token's last use. This is bookkeeping, not an action, so it is written
    /// outside an audited transaction (the request it served is audited on its own).
    pub async fn touch_token(&self, id: TokenId, at: Timestamp, ip: &str) -> StoreResult<()> {
        let _writer = self.writer_guard().await;
        sqlx::query("UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(micros(at))
            .bind(ip)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn session_by_secret_hash(
        &self,
        secret_hash: &[u8],
    ) -> StoreResult<Option<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, csrf_hash, auth_method FROM sessions WHERE secret_hash = $1"
        );
        sqlx::query(&sql)
            .bind(secret_hash.to_vec())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| {
                Ok(SessionRecord {
                    session: session_from(row)?,
                    csrf_hash: get(row, "csrf_hash")?,
                    auth_method: get(row, "auth_method")?,
                })
            })
            .transpose()
    }

    /// Slides a session's idle timeout forward (bookkeeping, like `touch_token`).
    pub async fn touch_session(
        &self,
        id: rampart_domain::SessionId,
        at: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer_guard().await;
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(micros(at))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn server_secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT wrapped FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref()
            .map(|row| get::<Vec<u8>>(row, "wrapped"))
            .transpose()
    }
}

impl WriteTx {
    pub async fn insert_server_secret(
        &mut self,
        name: &str,
        wrapped: &[u8],
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO server_secrets (name, wrapped, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(wrapped.to_vec())
            .bind(micros(at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_user(
        &mut self,
        user: &User,
        password_hash: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, email_normalized, display_name, password_hash, \
             is_account_owner, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_str())
        .bind(user.email.normalized())
        .bind(user.display_name.as_str())
        .bind(password_hash)
        .bind(i64::from(user.is_account_owner))
        .bind(i64::from(user.disabled))
        .bind(micros(user.created_at))
        .bind(micros(user.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Updates display name, disabled flag and updated_at.
    pub async fn update_user(&mut self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET display_name = $2, disabled = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(user.id.to_string())
        .bind(user.display_name.as_str())
        .bind(i64::from(user.disabled))
        .bind(micros(user.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_password_hash(
        &mut self,
        id: UserId,
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(password_hash)
            .bind(micros(at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn delete_user(&mut self, id: UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_service_account(&mut self, account: &ServiceAccount) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO service_accounts (id, org_id, project_id, name, description, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(account.id.to_string())
        .bind(account.org_id.to_string())
        .bind(account.project_id.map(|id| id.to_string()))
        .bind(account.name.as_str())
        .bind(account.description.as_str())
        .bind(micros(account.created_at))
        .bind(micros(account.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_service_account(&mut self, id: ServiceAccountId) -> StoreResult<()> {
        sqlx::query("DELETE FROM service_accounts WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_token(&mut self, token: &ApiToken, secret_hmac: &[u8]) -> StoreResult<()> {
        let (user, service_account) = owner_columns(token.owner);
        sqlx::query(
            "INSERT INTO api_tokens (id, kind, owner_user_id, owner_service_account_id, name, \
             secret_hmac, last_four, project_id, created_at, expires_at, allowed_cidrs, run_id, \
             run_workspace_id, run_parent_token_id, run_parent_session_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(token.id.to_string())
        .bind(token.kind.prefix_code())
        .bind(user)
        .bind(service_account)
        .bind(token.name.as_str())
        .bind(secret_hmac.to_vec())
        .bind(&token.last_four)
        .bind(token.project_id.map(|id| id.to_string()))
        .bind(micros(token.created_at))
        .bind(micros(token.expires_at))
        .bind(token.allowed_cidrs.join(" "))
        .bind(token.run.map(|run| run.run_id.to_string()))
        .bind(token.run.map(|run| run.workspace_id.to_string()))
        .bind(
            token
                .run
                .and_then(|run| run.parent_token_id)
                .map(|id| id.to_string()),
        )
        .bind(
            token
                .run
                .and_then(|run| run.parent_session_id)
                .map(|id| id.to_string()),
        )
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Revokes a token, and the run credentials it started.
    pub async fn revoke_token(&mut self, id: TokenId, at: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 \
             WHERE (id = $1 OR run_parent_token_id = $1) AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Revokes every live token of an owner (user deleted or disabled, admin reset).
    pub async fn revoke_tokens_of(
        &mut self,
        owner: PrincipalId,
        at: Timestamp,
    ) -> StoreResult<u64> {
        let (user, service_account) = owner_columns(owner);
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE (owner_user_id = $1 OR owner_service_account_id = $2) AND revoked_at IS NULL",
        )
        .bind(user)
        .bind(service_account)
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes the live credentials of a run (its apply ended, one way or another).
    pub async fn revoke_run_credentials(&mut self, run: RunId, at: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE run_id = $1 AND revoked_at IS NULL",
        )
        .bind(run.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn insert_session(
        &mut self,
        session: &Session,
        secret_hash: &[u8],
        csrf_hash: &[u8],
        client_ip: &str,
        auth_method: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, secret_hash, csrf_hash, client_ip, created_at, \
             last_seen_at, absolute_expires_at, auth_method, authenticated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(session.id.to_string())
        .bind(session.user_id.to_string())
        .bind(secret_hash.to_vec())
        .bind(csrf_hash.to_vec())
        .bind(client_ip)
        .bind(micros(session.created_at))
        .bind(micros(session.last_seen_at))
        .bind(micros(session.absolute_expires_at))
        .bind(auth_method)
        .bind(micros(session.authenticated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Notes that the user of a live session proved who they are again at `at`
    /// (step-up). `false` when the session has ended meanwhile.
    pub async fn reauthenticate_session(
        &mut self,
        id: rampart_domain::SessionId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET authenticated_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// As [`Self::reauthenticate_session`], only when the session is `user`'s (the one
    /// an identity provider authenticated again).
    pub async fn reauthenticate_session_of(
        &mut self,
        id: rampart_domain::SessionId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET authenticated_at = $2 \
             WHERE id = $1 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .bind(user.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_session(
        &mut self,
        id: rampart_domain::SessionId,
        at: Timestamp,
    ) -> StoreResult<()> {
        // What a SAML session's single logout would name goes too, unless a logout
        // request awaits the provider's answer (which takes it).
        sqlx::query(
            "DELETE FROM saml_sessions WHERE session_id = $1 AND logout_request_id IS NULL",
        )
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        // The run credentials it started go with it.
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 \
             WHERE run_parent_session_id = $1 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.to_string())
            .bind(micros(at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn revoke_sessions_of(&mut self, user: UserId, at: Timestamp) -> StoreResult<u64> {
        // The run credentials they started go with them.
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND \
             run_parent_session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        )
        .bind(user.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Ends every open password session except those of `keep` (the account now
    /// requires single sign-on; `keep` are its break-glass users), with the run
    /// credentials they started. Returns how many sessions ended.
    pub async fn revoke_password_sessions_except(
        &mut self,
        keep: &[UserId],
        at: Timestamp,
    ) -> StoreResult<u64> {
        // `$2`, `$3`, … for the users kept (at most a policy's break-glass users).
        let kept = if keep.is_empty() {
            String::new()
        } else {
            let placeholders: Vec<String> =
                (0..keep.len()).map(|n| format!("${}", n + 2)).collect();
            format!(" AND user_id NOT IN ({})", placeholders.join(", "))
        };
        let refused = format!(
            "SELECT id FROM sessions WHERE auth_method = 'password' AND revoked_at IS NULL{kept}"
        );
        let tokens = format!(
            "UPDATE api_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND \
             run_parent_session_id IN ({refused})"
        );
        let mut query = sqlx::query(&tokens).bind(micros(at));
        for user in keep {
            query = query.bind(user.to_string());
        }
        query.execute(self.conn()).await?;
        let sessions = format!("UPDATE sessions SET revoked_at = $1 WHERE id IN ({refused})");
        let mut query = sqlx::query(&sessions).bind(micros(at));
        for user in keep {
            query = query.bind(user.to_string());
        }
        Ok(query.execute(self.conn()).await?.rows_affected())
    }

    pub async fn make_account_owner(&mut self, id: UserId) -> StoreResult<()> {
        sqlx::query("UPDATE users SET is_account_owner = 1 WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn account_owner_count(&mut self) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE is_account_owner = 1 AND disabled = 0",
        )
        .fetch_one(self.conn())
        .await?;
        get::<i64>(&row, "n")
    }
}
