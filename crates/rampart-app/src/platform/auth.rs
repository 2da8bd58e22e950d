//! Authentication: API tokens (checksum before lookup, peppered HMAC lookup, expiry,
//! revocation, owner still enabled), password login into a session, session checks with
//! idle and absolute timeouts, logout, and step-up: sensitive routes need a session
//! whose user proved who they are recently, which re-authentication renews. Failed
//! attempts are audited.

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::PasswordVerdict;
use rampart_crypto::session::{mint_session_id, session_id_hash};
use rampart_crypto::token::TokenFormatError;
use rampart_domain::ErrorCode;
use rampart_domain::limits::TOKEN_LAST_USED_WRITE_INTERVAL_SECS;
use rampart_domain::platform::identity::{
    PrincipalId, Session, TokenKind, TokenUnusable, User, authenticated_within,
};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Email, SessionId};
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::{Outcome, anonymous};
use crate::bootstrap::token_hmac;
use crate::context::{Actor, AuthMethod, Ctx, RequestMeta, RunCredential};
use crate::error::{AppError, AppResult};
use crate::{App, mint};

/// The session method of a password login (SSO logins are `oidc:<provider>`).
pub const SESSION_METHOD_PASSWORD: &str = "password";

/// What a successful login hands back: the session cookie value and the CSRF token, both
/// shown once, and when the session ends at the latest. Not `Debug` with its secrets.
pub struct LoginOutcome {
    pub session_id: SessionId,
    pub session_secret: Zeroizing<String>,
    pub csrf_token: Zeroizing<String>,
    pub absolute_expires_at: Timestamp,
    pub idle_timeout_secs: u64,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOutcome")
            .field("session_id", &self.session_id)
            .field("absolute_expires_at", &self.absolute_expires_at)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Records a failed authentication (`auth.failure`, anonymous: nobody was
    /// recognised) and counts it against the client address (see `throttle`); a failure
    /// to record it is logged, and the request is refused anyway.
    pub(crate) async fn record_auth_failure(&self, meta: &RequestMeta, method: &str, reason: &str) {
        self.charge_auth_failure(meta);
        self.audit_auth_failure(meta, method, reason).await;
    }

    /// Records a failed authentication without counting it against the address (a
    /// failure that was not the client's doing, such as an identity provider's outage).
    pub(crate) async fn audit_auth_failure(&self, meta: &RequestMeta, method: &str, reason: &str) {
        self.audit_auth_failure_details(meta, method, json!({ "reason": reason }))
            .await;
    }

    /// [`Self::audit_auth_failure`] with details beyond the reason (never a secret).
    pub(crate) async fn audit_auth_failure_details(
        &self,
        meta: &RequestMeta,
        method: &str,
        details: serde_json::Value,
    ) {
        let record = anonymous(self.now(), meta, "auth.failure", "credential", method)
            .outcome(Outcome::Failure)
            .details(details)
            .build();
        if let Err(error) = self.inner.audit_queue.append(record).await {
            tracing::error!(%error, "could not record an authentication failure");
        }
    }

    /// Records a successful authentication; if it cannot be recorded, the request
    /// fails (nothing proceeds unaudited).
    async fn record_auth_success(&self, meta: &RequestMeta, actor: &Actor) -> AppResult<()> {
        let record = Ctx::new(actor.clone(), meta.clone(), std::sync::Arc::default())
            .audit(self.now(), "auth.success", "credential")
            .build();
        self.inner.audit_queue.append(record).await
    }

    /// Authenticates an API token presented on the REST API (personal and service
    /// account tokens only).
    pub async fn authenticate_token(
        &self,
        presented: &str,
        meta: &RequestMeta,
    ) -> AppResult<Actor> {
        self.check_auth_failures(meta)?;
        let outcome = self.check_token(presented, meta).await;
        match &outcome {
            Err(AppError::Unauthenticated { code, .. }) => {
                self.record_auth_failure(meta, "token", code.as_str()).await;
            }
            Ok(actor) => {
                self.admit_principal(actor, meta)?;
                self.record_auth_success(meta, actor).await?;
            }
            Err(_) => {}
        }
        outcome
    }

    async fn check_token(&self, presented: &str, meta: &RequestMeta) -> AppResult<Actor> {
        let parsed = rampart_crypto::token::parse(presented).map_err(|error| match error {
            TokenFormatError::Checksum => AppError::unauthenticated(
                ErrorCode::TokenChecksumMismatch,
                "the token's checksum does not match; it was mistyped or truncated",
            ),
            TokenFormatError::Shape | TokenFormatError::Kind => AppError::unauthenticated(
                ErrorCode::TokenMalformed,
                "the credential is not a Rampart API token",
            ),
        })?;
        if !matches!(parsed.kind, TokenKind::Personal | TokenKind::ServiceAccount) {
            return Err(AppError::unauthenticated(
                ErrorCode::TokenKindNotAccepted,
                "this kind of token cannot be used on the API",
            ));
        }
        let hmac = token_hmac(self.pepper(), &parsed.secret);
        let token = self
            .store()
            .token_by_secret_hmac(&hmac)
            .await?
            .ok_or_else(|| {
                AppError::unauthenticated(ErrorCode::TokenInvalid, "the token is not valid")
            })?;
        let now = self.now();
        token.usable_at(now).map_err(|why| match why {
            TokenUnusable::Expired => {
                AppError::unauthenticated(ErrorCode::TokenExpired, "the token has expired")
            }
            TokenUnusable::Revoked => {
                AppError::unauthenticated(ErrorCode::TokenRevoked, "the token has been revoked")
            }
        })?;
        if !token.allowed_cidrs.is_empty() {
            let allowed = super::network::address_allowed(&token.allowed_cidrs, &meta.client_ip);
            if !allowed {
                self.record_auth_failure(meta, "token", "ip_not_allowed")
                    .await;
                return Err(AppError::forbidden(
                    ErrorCode::IpNotAllowed,
                    "this token may not be used from this address",
                ));
            }
        }
        let is_account_owner = match token.owner {
            PrincipalId::User(user_id) => {
                let user = self.store().user_by_id(user_id).await?.ok_or_else(|| {
                    AppError::unauthenticated(ErrorCode::TokenInvalid, "the token is not valid")
                })?;
                if user.disabled {
                    return Err(AppError::unauthenticated(
                        ErrorCode::PrincipalDisabled,
                        "the token's owner is disabled",
                    ));
                }
                user.is_account_owner
            }
            PrincipalId::ServiceAccount(id) => {
                self.store()
                    .service_account_by_id(id)
                    .await?
                    .ok_or_else(|| {
                        AppError::unauthenticated(ErrorCode::TokenInvalid, "the token is not valid")
                    })?;
                false
            }
        };
        let stale = token.last_used_at.is_none_or(|last| {
            now.as_second() - last.as_second() >= TOKEN_LAST_USED_WRITE_INTERVAL_SECS
        }) || token.last_used_ip.as_deref() != Some(meta.client_ip.as_str());
        if stale
            && let Err(error) = self
                .store()
                .touch_token(token.id, now, &meta.client_ip)
                .await
        {
            tracing::warn!(%error, token_id = %token.id, "could not record token use");
        }
        let narrowed_to = match token.project_id {
            Some(project_id) => {
                let project = self
                    .store()
                    .project_by_id(project_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::unauthenticated(ErrorCode::TokenInvalid, "the token is not valid")
                    })?;
                Some((project.org_id, project.id))
            }
            None => None,
        };
        let run_credential = match token.run {
            Some(binding) => {
                // Bound to a workspace that is gone: the credential is of no use.
                let workspace = self
                    .store()
                    .workspace_by_id(binding.workspace_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::unauthenticated(ErrorCode::TokenInvalid, "the token is not valid")
                    })?;
                Some(RunCredential {
                    run_id: binding.run_id,
                    workspace_id: binding.workspace_id,
                    workspace: workspace.identifier.as_str().to_owned(),
                })
            }
            None => None,
        };
        Ok(Actor::from_token(
            &token,
            narrowed_to,
            is_account_owner,
            run_credential,
        ))
    }

    /// Password login. Every failure answers the same `invalid_credentials` (no hint
    /// whether the email exists) after the same amount of work.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let invalid = || {
            AppError::unauthenticated(
                ErrorCode::InvalidCredentials,
                "the email or password is not correct",
            )
        };
        self.check_ip_allowlists(meta, Scope::Account).await?;
        self.check_login_failures(email, meta).await?;
        let found = match Email::parse(email) {
            Ok(email) => self.store().user_credentials_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(credentials) = found else {
            self.verify_password(password, None).await?;
            self.charge_login_failure(email, meta);
            self.record_auth_failure(meta, "password", "unknown_user")
                .await;
            return Err(invalid());
        };
        let verdict = self
            .verify_password(password, credentials.password_hash.clone())
            .await?;
        let user = credentials.user;
        let rehash = match verdict {
            PasswordVerdict::Match { rehash } if !user.disabled => rehash,
            _ => {
                let record = anonymous(self.now(), meta, "auth.login", "user", "password")
                    .resource_id(user.id)
                    .outcome(Outcome::Failure)
                    .details(json!({ "reason": if user.disabled { "disabled" } else { "wrong_password" } }))
                    .build();
                self.charge_auth_failure(meta);
                self.charge_login_failure(email, meta);
                self.store().append_audit(&record).await?;
                return Err(invalid());
            }
        };

        // The account may require single sign-on: a correct password then opens a
        // session only for a named break-glass user. Anyone else gets the same answer
        // as a wrong password (a login page learns of the requirement from
        // `GET /api/v1/auth/sso`), so the refusal confirms no password.
        let break_glass = match self.password_login_allowed(user.id).await {
            Ok(break_glass) => break_glass,
            Err(_) => {
                let record = anonymous(self.now(), meta, "auth.login", "user", "password")
                    .resource_id(user.id)
                    .outcome(Outcome::Failure)
                    .details(json!({ "reason": "sso_required" }))
                    .build();
                self.charge_auth_failure(meta);
                self.charge_login_failure(email, meta);
                self.store().append_audit(&record).await?;
                return Err(invalid());
            }
        };
        let new_hash = if rehash {
            Some(self.hash_password(password).await?)
        } else {
            None
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (outcome, ctx) = self
            .open_session(&mut tx, &user, SESSION_METHOD_PASSWORD, now, meta)
            .await?;
        if let Some(phc) = &new_hash {
            tx.set_password_hash(user.id, Some(phc), now).await?;
        }
        let mut records = vec![
            ctx.audit(now, "auth.login", "session")
                .resource_id(outcome.session_id)
                .details(json!({
                    "method": SESSION_METHOD_PASSWORD,
                    "password_rehashed": rehash,
                    "break_glass": break_glass,
                }))
                .build(),
        ];
        if break_glass {
            // Loud on purpose: a break-glass login bypasses the SSO requirement.
            tracing::warn!(user = %user.id, "break-glass password login while SSO is required");
            records.push(
                ctx.audit(now, "auth.break_glass", "session")
                    .resource_id(outcome.session_id)
                    .outcome(Outcome::Success)
                    .details(json!({ "user": user.id.to_string(), "email": user.email.as_str() }))
                    .build(),
            );
        }
        tx.commit_all(&records).await?;
        Ok(outcome)
    }

    /// Opens a session for `user` in `tx` (signed in by `method`: `password` or
    /// `oidc:<provider>`, at `authenticated_at` — for single sign-on, when the provider
    /// says the person authenticated, which may be long before): mints its secret and
    /// CSRF token and returns them with the session's own context, for the caller's
    /// `auth.login` record in the same transaction.
    pub(crate) async fn open_session(
        &self,
        tx: &mut rampart_store::WriteTx,
        user: &User,
        method: &str,
        authenticated_at: Timestamp,
        meta: &RequestMeta,
    ) -> AppResult<(LoginOutcome, Ctx)> {
        let now = self.now();
        let timeouts = self.settings().session_timeouts;
        let session_secret = mint_session_id()?;
        let csrf_token = self.csrf_token_of_session(&session_secret);
        let absolute_secs = i64::try_from(timeouts.absolute_secs).unwrap_or(i64::MAX);
        let session = Session {
            id: mint(now, SessionId::mint)?,
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            absolute_expires_at: now
                .checked_add(SignedDuration::from_secs(absolute_secs))
                .unwrap_or(Timestamp::MAX),
            revoked_at: None,
            authenticated_at,
        };
        tx.insert_session(
            &session,
            &session_id_hash(&session_secret),
            &session_id_hash(&csrf_token),
            &meta.client_ip,
            method,
        )
        .await?;
        let ctx = Ctx::new(
            Actor {
                principal: PrincipalId::User(user.id),
                auth_method: AuthMethod::Session,
                token_id: None,
                narrowed_to: None,
                token_expires_at: None,
                is_account_owner: user.is_account_owner,
                session_id: Some(session.id),
                run_credential: None,
                session_method: Some(method.to_owned()),
                authenticated_at: Some(authenticated_at),
            },
            meta.clone(),
            std::sync::Arc::default(),
        );
        let outcome = LoginOutcome {
            session_id: session.id,
            session_secret,
            csrf_token,
            absolute_expires_at: session.absolute_expires_at,
            idle_timeout_secs: timeouts.idle_secs,
        };
        Ok((outcome, ctx))
    }

    /// The CSRF token of the session whose cookie holds `session_secret`: an HMAC of the
    /// secret under the pepper, so that a page rendered for the session can put it in
    /// its forms without storing it anywhere (OWASP's HMAC-based token pattern), while
    /// only someone who can read this server's pages or the login answer learns it. The
    /// session row keeps only its hash, checked by `authenticate_session`.
    pub fn csrf_token_of_session(&self, session_secret: &str) -> Zeroizing<String> {
        use base64::Engine;
        let mac = Zeroizing::new(
            self.pepper()
                .blind_index("session-csrf", session_secret.as_bytes()),
        );
        Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.as_slice()))
    }

    /// Authenticates a session cookie. For a state-changing request, `csrf_token` must
    /// be the session's (handed out at login, and put in the forms of its pages). The
    /// request counts as the person's activity: it slides the idle timeout.
    pub async fn authenticate_session(
        &self,
        session_secret: &str,
        csrf_token: Option<&str>,
        state_changing: bool,
        meta: &RequestMeta,
    ) -> AppResult<Actor> {
        self.session_actor(session_secret, csrf_token, state_changing, meta, true)
            .await
    }

    /// Authenticates a session cookie for a read a page makes by itself (the web UI's
    /// live updates): like [`App::authenticate_session`], except that it is not the
    /// person's activity, so an unattended open page does not keep the session alive.
    pub async fn authenticate_session_unattended(
        &self,
        session_secret: &str,
        meta: &RequestMeta,
    ) -> AppResult<Actor> {
        self.session_actor(session_secret, None, false, meta, false)
            .await
    }

    async fn session_actor(
        &self,
        session_secret: &str,
        csrf_token: Option<&str>,
        state_changing: bool,
        meta: &RequestMeta,
        slide_idle_timeout: bool,
    ) -> AppResult<Actor> {
        self.check_auth_failures(meta)?;
        let expired = || {
            AppError::unauthenticated(
                ErrorCode::SessionInvalid,
                "the session is not valid or has expired",
            )
        };
        let record = self
            .store()
            .session_by_secret_hash(&session_id_hash(session_secret))
            .await?
            .ok_or_else(expired)?;
        let now = self.now();
        if !record
            .session
            .alive_at(now, self.settings().session_timeouts)
        {
            return Err(expired());
        }
        if state_changing {
            let presented = csrf_token.map(session_id_hash);
            let matches = presented.is_some_and(|hash| {
                rampart_crypto::digest::constant_time_eq(&hash, &record.csrf_hash)
            });
            if !matches {
                self.record_auth_failure(meta, "session", "csrf_mismatch")
                    .await;
                return Err(AppError::forbidden(
                    ErrorCode::CsrfTokenInvalid,
                    "a state-changing request with a session needs the X-CSRF-Token header",
                ));
            }
        }
        let user = self
            .store()
            .user_by_id(record.session.user_id)
            .await?
            .ok_or_else(expired)?;
        if user.disabled {
            return Err(expired());
        }
        if slide_idle_timeout
            && now.as_second() - record.session.last_seen_at.as_second()
                >= TOKEN_LAST_USED_WRITE_INTERVAL_SECS
            && let Err(error) = self.store().touch_session(record.session.id, now).await
        {
            tracing::warn!(%error, "could not slide the session's idle timeout");
        }
        let actor = Actor {
            principal: PrincipalId::User(user.id),
            auth_method: AuthMethod::Session,
            token_id: None,
            narrowed_to: None,
            token_expires_at: None,
            is_account_owner: user.is_account_owner,
            session_id: Some(record.session.id),
            run_credential: None,
            session_method: Some(record.auth_method),
            authenticated_at: Some(record.session.authenticated_at),
        };
        self.admit_principal(&actor, meta)?;
        self.record_auth_success(meta, &actor).await?;
        Ok(actor)
    }

    /// Step-up: a session whose user has not proved who they are within
    /// `auth.reauthentication_minutes` is refused a sensitive route (401
    /// `reauthentication_required`, the message saying how to re-authenticate; audited).
    /// API tokens pass: automation holds them, and creating one is itself a step-up
    /// route, so a stolen session cannot mint its way around this.
    pub async fn check_step_up(&self, ctx: &Ctx, scope: Scope, route: &str) -> AppResult<()> {
        let actor = &ctx.actor;
        if actor.auth_method != AuthMethod::Session {
            return Ok(());
        }
        // A session whose sign-in time is unknown is as good as an old one.
        let authenticated_at = actor.authenticated_at.unwrap_or(Timestamp::UNIX_EPOCH);
        let now = self.now();
        if authenticated_within(
            authenticated_at,
            now,
            self.settings().reauthentication_window_secs,
        ) {
            return Ok(());
        }
        let record = ctx
            .audit(now, "access.denied", "route")
            .scope(scope)
            .outcome(Outcome::Denied)
            .details(json!({
                "reason": "reauthentication_required",
                "route": route,
                "authenticated_at": authenticated_at.to_string(),
            }))
            .build();
        if let Err(error) = self.store().append_audit(&record).await {
            tracing::error!(%error, "could not record a step-up refusal");
        }
        let how = match actor.session_method.as_deref() {
            Some(method) if method != SESSION_METHOD_PASSWORD => {
                let provider = super::sso::session_provider(method).unwrap_or(method);
                format!(
                    "sign in again at your identity provider: GET \
                     /api/v1/auth/sso/{provider}/start?reauthenticate=true&redirect_to=<this page>"
                )
            }
            _ => "POST /api/v1/auth/reauthenticate with your password".to_owned(),
        };
        let minutes = self.settings().reauthentication_window_secs / 60;
        Err(AppError::unauthenticated(
            ErrorCode::ReauthenticationRequired,
            format!(
                "this action needs a sign-in from the last {minutes} minutes; re-authenticate \
                 ({how}) and retry"
            ),
        ))
    }

    /// Re-authenticates the caller's password session with its password (step-up):
    /// sensitive routes accept it for `auth.reauthentication_minutes` from now. A wrong
    /// password answers 401 `invalid_credentials` and counts towards the same lockout as
    /// a failed login; an SSO session re-authenticates at its provider instead.
    pub async fn reauthenticate(&self, ctx: &Ctx, password: &str) -> AppResult<()> {
        let (Some(session_id), PrincipalId::User(user_id)) =
            (ctx.actor.session_id, ctx.actor.principal)
        else {
            return Err(AppError::bad_request(
                ErrorCode::NotASession,
                "re-authentication renews a session's sign-in; an API token needs none",
            ));
        };
        if let Some(method) = ctx
            .actor
            .session_method
            .as_deref()
            .filter(|method| *method != SESSION_METHOD_PASSWORD)
        {
            let provider = super::sso::session_provider(method).unwrap_or(method);
            return Err(AppError::bad_request(
                ErrorCode::ReauthenticationMethodMismatch,
                format!(
                    "this session signed in through {provider}: re-authenticate there (GET \
                     /api/v1/auth/sso/{provider}/start?reauthenticate=true)"
                ),
            ));
        }
        let meta = &ctx.meta;
        let user = self.store().user_by_id(user_id).await?.ok_or_else(|| {
            AppError::unauthenticated(ErrorCode::SessionInvalid, "the session's user is gone")
        })?;
        let email = user.email.as_str();
        self.check_login_failures(email, meta).await?;
        let stored = self
            .store()
            .user_credentials_by_email(&user.email)
            .await?
            .and_then(|credentials| credentials.password_hash);
        let now = self.now();
        if !matches!(
            self.verify_password(password, stored).await?,
            PasswordVerdict::Match { .. }
        ) {
            self.charge_auth_failure(meta);
            self.charge_login_failure(email, meta);
            self.store()
                .append_audit(
                    &ctx.audit(now, "auth.reauthenticate", "session")
                        .resource_id(session_id)
                        .outcome(Outcome::Failure)
                        .details(json!({ "method": SESSION_METHOD_PASSWORD, "reason": "wrong_password" }))
                        .build(),
                )
                .await?;
            return Err(AppError::unauthenticated(
                ErrorCode::InvalidCredentials,
                "the password is not correct",
            ));
        }
        let mut tx = self.store().write().await?;
        if !tx.reauthenticate_session(session_id, now).await? {
            return Err(AppError::unauthenticated(
                ErrorCode::SessionInvalid,
                "the session is not valid or has expired",
            ));
        }
        tx.commit(
            ctx.audit(now, "auth.reauthenticate", "session")
                .resource_id(session_id)
                .details(json!({ "method": SESSION_METHOD_PASSWORD }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Ends the caller's session.
    pub async fn logout(&self, ctx: &Ctx) -> AppResult<()> {
        let Some(session_id) = ctx.actor.session_id else {
            return Err(AppError::bad_request(
                ErrorCode::NotASession,
                "logout ends a session; API tokens are revoked instead",
            ));
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.revoke_session(session_id, now).await?;
        tx.commit(
            ctx.audit(now, "auth.logout", "session")
                .resource_id(session_id)
                .scope(Scope::Account)
                .build(),
        )
        .await?;
        Ok(())
    }
}
