//! Single sign-on: identity providers, logins in flight, the links from a provider's
//! subject to a user, and the SAML assertions already used.

use jiff::Timestamp;
use rampart_domain::platform::sso::{
    OidcConfig, ProviderConfig, SamlConfig, SsoPolicy, SsoProvider,
};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{DisplayName, Slug, UserId};
use sqlx::any::AnyRow;

use crate::rows::{get, get_flag, get_id, get_optional_id, get_timestamp, micros, parsed};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str = "id, name, display_name, kind, config, enabled, created_at, updated_at";

fn provider_from(row: &AnyRow) -> StoreResult<SsoProvider> {
    let kind: String = get(row, "kind")?;
    let config: String = get(row, "config")?;
    let config = match kind.as_str() {
        "oidc" => ProviderConfig::Oidc(parsed(
            serde_json::from_str::<OidcConfig>(&config),
            "config",
        )?),
        "saml" => ProviderConfig::Saml(parsed(
            serde_json::from_str::<SamlConfig>(&config),
            "config",
        )?),
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown SSO provider kind {other}"
            )));
        }
    };
    Ok(SsoProvider {
        id: get_id(row, "id")?,
        name: parsed(Slug::parse(&get::<String>(row, "name")?), "name")?,
        display_name: parsed(
            DisplayName::parse(&get::<String>(row, "display_name")?),
            "display_name",
        )?,
        config,
        enabled: get_flag(row, "enabled")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn config_text(provider: &SsoProvider) -> StoreResult<String> {
    match &provider.config {
        ProviderConfig::Oidc(config) => serde_json::to_string(config),
        ProviderConfig::Saml(config) => serde_json::to_string(config),
    }
    .map_err(|error| StoreError::Corrupt(format!("SSO configuration: {error}")))
}

/// A login in flight, as the callback finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoLogin {
    pub provider_id: uuid::Uuid,
    pub binder_hash: Vec<u8>,
    pub redirect_to: String,
    /// When the login started (an `auth_time` before it is not this login's).
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The session this round trip re-authenticates (step-up), instead of opening one.
    pub reauthenticates: Option<rampart_domain::SessionId>,
}

/// What a SAML session's single logout names at the identity provider: the NameID and
/// SessionIndex of the assertion that signed it in (or last re-authenticated it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlSession {
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
}

/// The key of the policy that `scope` itself sets: the account's, or its organisation's.
fn policy_key(scope: Scope) -> String {
    match scope {
        Scope::Account => "account".to_owned(),
        Scope::Org(org) | Scope::Project(org, _) => org.to_string(),
    }
}

fn policy_from(row: &AnyRow) -> StoreResult<SsoPolicy> {
    let break_glass: String = get(row, "break_glass")?;
    Ok(SsoPolicy {
        required: get_flag(row, "required")?,
        break_glass: break_glass
            .split_whitespace()
            .map(|id| parsed(id.parse::<UserId>(), "break_glass"))
            .collect::<StoreResult<_>>()?,
    })
}

impl Store {
    /// The SSO policies that apply at `scope`: the account's, then its organisation's
    /// (when inside one). Policies that require nothing are left out.
    pub async fn sso_policies_for(&self, scope: Scope) -> StoreResult<Vec<(String, SsoPolicy)>> {
        let org_key = scope
            .org_id()
            .map(|org| org.to_string())
            .unwrap_or_default();
        let rows = sqlx::query(
            "SELECT scope_key, required, break_glass FROM sso_policies \
             WHERE (scope_key = 'account' OR scope_key = $1) AND required <> 0 \
             ORDER BY scope_key",
        )
        .bind(org_key)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((get(row, "scope_key")?, policy_from(row)?)))
            .collect()
    }

    /// Whether any policy (the account's or an organisation's) requires SSO.
    pub async fn sso_policies_required(&self) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sso_policies WHERE required <> 0")
            .fetch_one(self.pool())
            .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    /// Every policy that requires SSO (a handful of rows: one per organisation at most).
    pub async fn all_required_sso_policies(&self) -> StoreResult<Vec<SsoPolicy>> {
        sqlx::query("SELECT required, break_glass FROM sso_policies WHERE required <> 0")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(policy_from)
            .collect()
    }

    /// The policy `scope` itself sets (the account's, or the organisation's).
    pub async fn sso_policy(&self, scope: Scope) -> StoreResult<SsoPolicy> {
        let row =
            sqlx::query("SELECT required, break_glass FROM sso_policies WHERE scope_key = $1")
                .bind(policy_key(scope))
                .fetch_optional(self.pool())
                .await?;
        row.as_ref()
            .map(policy_from)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    pub async fn list_sso_providers(&self) -> StoreResult<Vec<SsoProvider>> {
        let sql = format!("SELECT {COLUMNS} FROM sso_providers ORDER BY name");
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(provider_from)
            .collect()
    }

    pub async fn sso_provider_by_name(&self, name: &Slug) -> StoreResult<Option<SsoProvider>> {
        let sql = format!("SELECT {COLUMNS} FROM sso_providers WHERE name = $1");
        sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(provider_from)
            .transpose()
    }

    /// The user a provider's subject is linked to.
    pub async fn sso_identity_user(
        &self,
        provider_id: uuid::Uuid,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        let row = sqlx::query(
            "SELECT user_id FROM sso_identities WHERE provider_id = $1 AND subject = $2",
        )
        .bind(provider_id.to_string())
        .bind(subject)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|row| get_id(row, "user_id")).transpose()
    }
}

impl Store {
    /// The subject `user` is linked to at a provider, if any.
    pub async fn sso_subject_of(
        &self,
        provider_id: uuid::Uuid,
        user: UserId,
    ) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT subject FROM sso_identities WHERE provider_id = $1 AND user_id = $2",
        )
        .bind(provider_id.to_string())
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|row| get(row, "subject")).transpose()
    }

    /// Records a started login (outside any transaction: nothing else changes, and a
    /// start is not an audited act — its callback is); also forgets logins that expired
    /// before `now`, so the table holds only what may still finish.
    pub async fn insert_sso_login(
        &self,
        state_hash: &[u8],
        login: &SsoLogin,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM sso_logins WHERE expires_at < $1")
            .bind(micros(now))
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO sso_logins (state_hash, provider_id, binder_hash, redirect_to, \
             created_at, expires_at, reauthenticates) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(state_hash.to_vec())
        .bind(login.provider_id.to_string())
        .bind(login.binder_hash.clone())
        .bind(login.redirect_to.as_str())
        .bind(micros(login.created_at))
        .bind(micros(login.expires_at))
        .bind(login.reauthenticates.map(|id| id.to_string()))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

impl WriteTx {
    /// Replaces the policy `scope` itself sets.
    pub async fn set_sso_policy(
        &mut self,
        scope: Scope,
        policy: &SsoPolicy,
        at: Timestamp,
    ) -> StoreResult<()> {
        let break_glass = policy
            .break_glass
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        sqlx::query(
            "INSERT INTO sso_policies (scope_key, required, break_glass, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (scope_key) DO UPDATE SET \
             required = $2, break_glass = $3, updated_at = $4",
        )
        .bind(policy_key(scope))
        .bind(i64::from(policy.required))
        .bind(break_glass)
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_sso_provider(&mut self, provider: &SsoProvider) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sso_providers (id, name, display_name, kind, config, enabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(provider.id.to_string())
        .bind(provider.name.as_str())
        .bind(provider.display_name.as_str())
        .bind(provider.config.kind())
        .bind(config_text(provider)?)
        .bind(i64::from(provider.enabled))
        .bind(micros(provider.created_at))
        .bind(micros(provider.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes a provider's display name, configuration, enabled flag and updated_at.
    pub async fn update_sso_provider(&mut self, provider: &SsoProvider) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sso_providers SET display_name = $2, config = $3, enabled = $4, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(provider.id.to_string())
        .bind(provider.display_name.as_str())
        .bind(config_text(provider)?)
        .bind(i64::from(provider.enabled))
        .bind(micros(provider.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes a provider with its logins in flight and its identity links.
    pub async fn delete_sso_provider(&mut self, id: uuid::Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM sso_providers WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Takes the login `state_hash` names: deletes it and returns it, once. A second
    /// callback with the same state (a replay, or a race of two) finds nothing.
    pub async fn take_sso_login(&mut self, state_hash: &[u8]) -> StoreResult<Option<SsoLogin>> {
        let row = sqlx::query(
            "DELETE FROM sso_logins WHERE state_hash = $1 \
             RETURNING provider_id, binder_hash, redirect_to, created_at, expires_at, \
             reauthenticates",
        )
        .bind(state_hash.to_vec())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref()
            .map(|row| {
                Ok(SsoLogin {
                    provider_id: get_id(row, "provider_id")?,
                    binder_hash: get(row, "binder_hash")?,
                    redirect_to: get(row, "redirect_to")?,
                    created_at: get_timestamp(row, "created_at")?,
                    expires_at: get_timestamp(row, "expires_at")?,
                    reauthenticates: get_optional_id(row, "reauthenticates")?,
                })
            })
            .transpose()
    }

    /// Links a provider's subject to a user (first login), or notes another login.
    pub async fn upsert_sso_identity(
        &mut self,
        provider_id: uuid::Uuid,
        subject: &str,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sso_identities (provider_id, subject, user_id, created_at, \
             last_login_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (provider_id, subject) DO UPDATE SET last_login_at = $4",
        )
        .bind(provider_id.to_string())
        .bind(subject)
        .bind(user.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Forgets the used assertions that expired before `now` (they would be refused
    /// anyway): outside any sign-in's transaction, so sign-ins do not wait on each
    /// other's deletions.
    pub async fn forget_expired_saml_assertions(&self, now: Timestamp) -> StoreResult<()> {
        // A clock-skew's margin: another replica's clock may be behind this one's.
        let margin = jiff::SignedDuration::from_secs(
            rampart_domain::platform::sso::ID_TOKEN_CLOCK_SKEW_SECS,
        );
        sqlx::query("DELETE FROM saml_assertions WHERE expires_at < $1")
            .bind(micros(now.checked_sub(margin).unwrap_or(now)))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Notes the LogoutRequest sent at a SAML session's logout; `false` when the session
    /// has no SAML sign-in on record.
    pub async fn mark_saml_logout(
        &self,
        session: rampart_domain::SessionId,
        request_id: &str,
    ) -> StoreResult<bool> {
        let updated =
            sqlx::query("UPDATE saml_sessions SET logout_request_id = $2 WHERE session_id = $1")
                .bind(session.to_string())
                .bind(request_id)
                .execute(self.pool())
                .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// The open sessions `user` signed in to with `method` (`saml:<provider>`), each with
    /// the SessionIndex it signed in with, if known.
    pub async fn saml_sessions_of(
        &self,
        user: UserId,
        method: &str,
    ) -> StoreResult<Vec<(rampart_domain::SessionId, Option<String>)>> {
        sqlx::query(
            "SELECT s.id AS id, ss.session_index AS session_index FROM sessions s \
             LEFT JOIN saml_sessions ss ON ss.session_id = s.id \
             WHERE s.user_id = $1 AND s.auth_method = $2 AND s.revoked_at IS NULL",
        )
        .bind(user.to_string())
        .bind(method)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| Ok((get_id(row, "id")?, get(row, "session_index")?)))
        .collect()
    }

    /// The NameID and SessionIndex a SAML session signed in with.
    pub async fn saml_session(
        &self,
        session: rampart_domain::SessionId,
    ) -> StoreResult<Option<SamlSession>> {
        let row = sqlx::query(
            "SELECT name_id, name_id_format, session_index FROM saml_sessions \
             WHERE session_id = $1",
        )
        .bind(session.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(|row| {
                Ok(SamlSession {
                    name_id: get(row, "name_id")?,
                    name_id_format: get(row, "name_id_format")?,
                    session_index: get(row, "session_index")?,
                })
            })
            .transpose()
    }
}

impl WriteTx {
    /// Takes the SAML session whose logout request `request_id` was (deleting its row,
    /// once): the session a LogoutResponse answers for.
    pub async fn take_saml_logout(
        &mut self,
        request_id: &str,
    ) -> StoreResult<Option<rampart_domain::SessionId>> {
        let row = sqlx::query(
            "DELETE FROM saml_sessions WHERE logout_request_id = $1 RETURNING session_id",
        )
        .bind(request_id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref()
            .map(|row| get_id(row, "session_id"))
            .transpose()
    }

    /// Records (or, after a re-authentication, replaces) what a SAML session's single
    /// logout will name.
    pub async fn upsert_saml_session(
        &mut self,
        session: rampart_domain::SessionId,
        signed_in: &SamlSession,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO saml_sessions (session_id, name_id, name_id_format, session_index) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO UPDATE SET \
             name_id = $2, name_id_format = $3, session_index = $4",
        )
        .bind(session.to_string())
        .bind(signed_in.name_id.as_str())
        .bind(signed_in.name_id_format.as_deref())
        .bind(signed_in.session_index.as_deref())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Remembers that the assertion `assertion_hash` (a digest of its ID) of a provider
    /// was used, until `expires_at`; `false` when it was used already (a replay, or the
    /// same response posted twice at once: one of the two wins).
    pub async fn remember_saml_assertion(
        &mut self,
        provider_id: uuid::Uuid,
        assertion_hash: &[u8],
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO saml_assertions (provider_id, assertion_hash, expires_at) \
             VALUES ($1, $2, $3) ON CONFLICT (provider_id, assertion_hash) DO NOTHING",
        )
        .bind(provider_id.to_string())
        .bind(assertion_hash.to_vec())
        .bind(micros(expires_at))
        .execute(self.conn())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}
