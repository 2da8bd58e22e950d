//! Throttling, per server process: request rates per client address and per principal,
//! and failed authentications per address, per (account, address) and per account — the
//! rules are the domain's (`rampart_domain::platform::throttle`). Buckets live in memory:
//! with several replicas each holds its own, so the effective limit is the configured one
//! times the number of replicas (README, "Rate limits").
//!
//! Refusals are not audited one row each (an unauthenticated client could otherwise grow
//! the audit log as fast as it can send): they are counted per (kind, key) and written
//! as one `auth.throttled` event per key by [`App::flush_throttle_audit`], which the
//! maintenance loop runs; the first refusal of a key is logged at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use rampart_domain::ErrorCode;
use rampart_domain::limits::{LOGIN_KNOWN_ADDRESS_DAYS, THROTTLE_BUCKETS_MAX};
use rampart_domain::platform::throttle::{Bucket, BucketRule, ThrottleRules, client_key};
use serde_json::json;

use crate::App;
use crate::audit::{Outcome, anonymous};
use crate::context::{Actor, RequestMeta};
use crate::error::{AppError, AppResult};

/// What a throttle counts against; named in the `auth.throttled` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    RequestsPerIp,
    RequestsPerPrincipal,
    AuthFailuresPerIp,
    LoginFailuresPerAccountAndIp,
    LoginFailuresPerAccount,
}

impl Kind {
    const fn as_str(self) -> &'static str {
        match self {
            Kind::RequestsPerIp => "requests_per_ip",
            Kind::RequestsPerPrincipal => "requests_per_principal",
            Kind::AuthFailuresPerIp => "auth_failures_per_ip",
            Kind::LoginFailuresPerAccountAndIp => "login_failures_per_account_and_ip",
            Kind::LoginFailuresPerAccount => "login_failures_per_account",
        }
    }
}

/// Buckets of one kind by key.
#[derive(Default)]
struct Buckets {
    map: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    fn with<T>(
        &self,
        rule: BucketRule,
        key: &str,
        now_ms: i64,
        f: impl FnOnce(&mut Bucket) -> T,
    ) -> T {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= THROTTLE_BUCKETS_MAX && !map.contains_key(key) {
            // Full buckets are the same as new ones: forgetting them changes nothing.
            map.retain(|_, bucket| !bucket.is_full(rule, now_ms));
            if map.len() >= THROTTLE_BUCKETS_MAX {
                tracing::warn!(
                    kept = map.len(),
                    "throttle buckets at their limit; forgetting all of one kind"
                );
                map.clear();
            }
        }
        let bucket = map
            .entry(key.to_owned())
            .or_insert_with(|| Bucket::full(rule, now_ms));
        f(bucket)
    }
}

/// The throttles of one server process.
#[derive(Default)]
pub(crate) struct Throttle {
    rules: ThrottleRules,
    requests_per_ip: Buckets,
    requests_per_principal: Buckets,
    auth_failures_per_ip: Buckets,
    login_failures_per_account_and_ip: Buckets,
    login_failures_per_account: Buckets,
    /// Refusals not yet written to the audit log, per (kind, key): count and the client
    /// address of the last one.
    refused: Mutex<HashMap<(Kind, String), (u64, String)>>,
}

impl Throttle {
    pub(crate) fn new(rules: ThrottleRules) -> Self {
        Self {
            rules,
            ..Self::default()
        }
    }

    fn buckets(&self, kind: Kind) -> (&Buckets, Option<BucketRule>) {
        match kind {
            Kind::RequestsPerIp => (&self.requests_per_ip, self.rules.requests_per_ip),
            Kind::RequestsPerPrincipal => (
                &self.requests_per_principal,
                self.rules.requests_per_principal,
            ),
            Kind::AuthFailuresPerIp => {
                (&self.auth_failures_per_ip, self.rules.auth_failures_per_ip)
            }
            Kind::LoginFailuresPerAccountAndIp => (
                &self.login_failures_per_account_and_ip,
                self.rules.login_failures_per_account_and_ip,
            ),
            Kind::LoginFailuresPerAccount => (
                &self.login_failures_per_account,
                self.rules.login_failures_per_account,
            ),
        }
    }

    /// Takes a token (request rates).
    fn take(&self, kind: Kind, key: &str, now_ms: i64) -> Result<(), u64> {
        let (buckets, Some(rule)) = self.buckets(kind) else {
            return Ok(());
        };
        buckets.with(rule, key, now_ms, |bucket| bucket.take(rule, now_ms))
    }

    /// Whether a token is there, without taking it (failures are charged afterwards).
    fn check(&self, kind: Kind, key: &str, now_ms: i64) -> Result<(), u64> {
        let (buckets, Some(rule)) = self.buckets(kind) else {
            return Ok(());
        };
        buckets.with(rule, key, now_ms, |bucket| {
            if bucket.has_token(rule, now_ms) {
                Ok(())
            } else {
                Err(bucket.retry_after_secs(rule))
            }
        })
    }

    /// Charges one failure (an empty bucket stays empty).
    fn charge(&self, kind: Kind, key: &str, now_ms: i64) {
        let (buckets, Some(rule)) = self.buckets(kind) else {
            return;
        };
        buckets.with(rule, key, now_ms, |bucket| {
            let _ = bucket.take(rule, now_ms);
        });
    }

    /// Counts a refusal for the audit summary; logs the first one of a key at once.
    fn note_refusal(&self, kind: Kind, key: &str, meta: &RequestMeta) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if refused.len() >= THROTTLE_BUCKETS_MAX {
            return;
        }
        let entry = refused
            .entry((kind, key.to_owned()))
            .or_insert((0, String::new()));
        if entry.0 == 0 {
            tracing::warn!(throttle = kind.as_str(), client_ip = %meta.client_ip, "throttling");
        }
        entry.0 += 1;
        entry.1.clone_from(&meta.client_ip);
    }

    /// Puts counts back that could not be written, so the next summary carries them.
    fn restore_refusals(&self, unwritten: Vec<((Kind, String), (u64, String))>) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (key, (count, client_ip)) in unwritten {
            let entry = refused.entry(key).or_insert((0, client_ip));
            entry.0 += count;
        }
    }

    fn drain_refusals(&self) -> Vec<((Kind, String), (u64, String))> {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        refused.drain().collect()
    }
}

fn refusal(kind: Kind, retry_after_secs: u64) -> AppError {
    let (code, message) = match kind {
        Kind::RequestsPerIp => (
            ErrorCode::RateLimited,
            "too many requests from this address",
        ),
        Kind::RequestsPerPrincipal => (
            ErrorCode::RateLimited,
            "too many requests with this identity",
        ),
        Kind::AuthFailuresPerIp
        | Kind::LoginFailuresPerAccountAndIp
        | Kind::LoginFailuresPerAccount => (
            ErrorCode::TooManyAuthFailures,
            "too many failed attempts; try again later",
        ),
    };
    AppError::RateLimited {
        code,
        message: format!("{message} (retry in {retry_after_secs} s)"),
        retry_after_secs,
    }
}

/// The key of a client address as the request metadata gives it.
fn ip_key(meta: &RequestMeta) -> String {
    meta.client_ip
        .parse::<IpAddr>()
        .map_or_else(|_| meta.client_ip.clone(), client_key)
}

/// An account's key: the address as typed, normalised, whether or not an account has it
/// (a refusal must not tell which addresses exist).
fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl App {
    fn now_ms(&self) -> i64 {
        self.now().as_millisecond()
    }

    fn refuse(&self, kind: Kind, key: &str, meta: &RequestMeta, retry_after: u64) -> AppError {
        self.inner.throttle.note_refusal(kind, key, meta);
        refusal(kind, retry_after)
    }

    /// Admits one request from the client address (every route but health checks and
    /// webhooks, whose integrations have their own limits).
    pub fn admit_client(&self, meta: &RequestMeta) -> AppResult<()> {
        let key = ip_key(meta);
        self.inner
            .throttle
            .take(Kind::RequestsPerIp, &key, self.now_ms())
            .map_err(|retry| self.refuse(Kind::RequestsPerIp, &key, meta, retry))
    }

    /// Admits one request by an authenticated principal.
    pub fn admit_principal(&self, actor: &Actor, meta: &RequestMeta) -> AppResult<()> {
        let key = actor.actor_text();
        self.inner
            .throttle
            .take(Kind::RequestsPerPrincipal, &key, self.now_ms())
            .map_err(|retry| self.refuse(Kind::RequestsPerPrincipal, &key, meta, retry))
    }

    /// Refuses, before any credential is checked, a client address that failed to
    /// authenticate too often.
    pub(crate) fn check_auth_failures(&self, meta: &RequestMeta) -> AppResult<()> {
        let key = ip_key(meta);
        self.inner
            .throttle
            .check(Kind::AuthFailuresPerIp, &key, self.now_ms())
            .map_err(|retry| self.refuse(Kind::AuthFailuresPerIp, &key, meta, retry))
    }

    /// Counts a failed authentication against the client address.
    pub(crate) fn charge_auth_failure(&self, meta: &RequestMeta) {
        self.inner
            .throttle
            .charge(Kind::AuthFailuresPerIp, &ip_key(meta), self.now_ms());
    }

    /// Refuses a login attempt before the password is checked when the address, the
    /// (account, address) pair or the account failed too often — the account's own limit
    /// only for addresses the account has not signed in from within
    /// `LOGIN_KNOWN_ADDRESS_DAYS`, so that guesses from elsewhere cannot lock its owner
    /// out.
    pub(crate) async fn check_login_failures(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.check_auth_failures(meta)?;
        let now_ms = self.now_ms();
        let throttle = &self.inner.throttle;
        let pair = format!("{}|{}", account_key(email), ip_key(meta));
        throttle
            .check(Kind::LoginFailuresPerAccountAndIp, &pair, now_ms)
            .map_err(|retry| self.refuse(Kind::LoginFailuresPerAccountAndIp, &pair, meta, retry))?;
        let account = account_key(email);
        if let Err(retry) = throttle.check(Kind::LoginFailuresPerAccount, &account, now_ms)
            && !self.known_address(email, meta).await?
        {
            return Err(self.refuse(Kind::LoginFailuresPerAccount, &account, meta, retry));
        }
        Ok(())
    }

    /// Whether the account with `email` signed in from the request's address recently.
    async fn known_address(&self, email: &str, meta: &RequestMeta) -> AppResult<bool> {
        let Ok(email) = rampart_domain::Email::parse(email) else {
            return Ok(false);
        };
        let Some(credentials) = self.store().user_credentials_by_email(&email).await? else {
            return Ok(false);
        };
        let since = self
            .now()
            .checked_sub(SignedDuration::from_hours(24 * LOGIN_KNOWN_ADDRESS_DAYS))
            .unwrap_or(Timestamp::MIN);
        Ok(self
            .store()
            .user_signed_in_from(credentials.user.id, &meta.client_ip, since)
            .await?)
    }

    /// Counts a failed login against the (account, address) pair and the account (the
    /// address itself is charged by [`App::charge_auth_failure`]).
    pub(crate) fn charge_login_failure(&self, email: &str, meta: &RequestMeta) {
        let now_ms = self.now_ms();
        let throttle = &self.inner.throttle;
        throttle.charge(
            Kind::LoginFailuresPerAccountAndIp,
            &format!("{}|{}", account_key(email), ip_key(meta)),
            now_ms,
        );
        throttle.charge(Kind::LoginFailuresPerAccount, &account_key(email), now_ms);
    }

    /// Writes one counted `auth.throttled` audit event per throttled key since the last
    /// call (run by the maintenance loop). Returns how many events it wrote.
    /// Counts that cannot be written now are kept for the next call.
    pub async fn flush_throttle_audit(&self) -> AppResult<usize> {
        let mut refusals = self.inner.throttle.drain_refusals();
        let mut written = 0;
        while let Some(((kind, key), (refused, client_ip))) = refusals.pop() {
            let meta = RequestMeta {
                client_ip: client_ip.clone(),
                request_id: String::new(),
            };
            // Account keys are email addresses someone typed: named by digest only.
            let subject = match kind {
                Kind::LoginFailuresPerAccount | Kind::LoginFailuresPerAccountAndIp => format!(
                    "sha256:{}",
                    rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(key.as_bytes()))
                ),
                _ => key.clone(),
            };
            let record = anonymous(self.now(), &meta, "auth.throttled", "client", "none")
                .outcome(Outcome::Denied)
                .details(json!({"throttle": kind.as_str(), "key": subject, "refused": refused}))
                .build();
            if let Err(error) = self.inner.audit_queue.append(record).await {
                refusals.push(((kind, key), (refused, client_ip)));
                self.inner.throttle.restore_refusals(refusals);
                return Err(error);
            }
            written += 1;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ip: &str) -> RequestMeta {
        RequestMeta {
            client_ip: ip.into(),
            request_id: String::new(),
        }
    }

    /// A summary that could not be written is not lost: its counts come back and add up
    /// with the refusals counted meanwhile.
    #[test]
    fn unwritten_refusal_counts_are_kept_for_the_next_summary() {
        let throttle = Throttle::new(ThrottleRules::default());
        for _ in 0..3 {
            throttle.note_refusal(Kind::AuthFailuresPerIp, "192.0.2.7", &meta("192.0.2.7"));
        }
        let unwritten = throttle.drain_refusals();
        assert!(throttle.drain_refusals().is_empty());
        throttle.note_refusal(Kind::AuthFailuresPerIp, "192.0.2.7", &meta("192.0.2.7"));
        throttle.restore_refusals(unwritten);
        let summary = throttle.drain_refusals();
        assert_eq!(
            summary,
            vec![(
                (Kind::AuthFailuresPerIp, "192.0.2.7".to_owned()),
                (4, "192.0.2.7".to_owned())
            )]
        );
    }
}
