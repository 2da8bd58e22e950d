//! Throttling rules: token buckets for request rates and for authentication failures, and
//! the client key they count against. Pure arithmetic on a clock reading in
//! milliseconds; the application keeps the buckets (per server process) and decides what
//! a refusal writes to the audit log.
//!
//! Two uses:
//! - request rates — every request takes a token from its client address's bucket and
//!   every authenticated request one from its principal's; an empty bucket answers 429;
//! - failures — only a failed authentication takes a token; when the bucket is empty the
//!   next attempt is refused before any password is checked. A login counts against the
//!   client address, the (account, address) pair and the account; the account's own
//!   bucket does not refuse an address the account has signed in from before, so an
//!   attacker spreading guesses over many addresses cannot lock the owner out.

use std::net::IpAddr;

use crate::limits::{
    AUTH_FAILURES_PER_IP_PER_MINUTE_DEFAULT, LOGIN_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR_DEFAULT,
    LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR_DEFAULT, REQUESTS_PER_SECOND_PER_IP_DEFAULT,
    REQUESTS_PER_SECOND_PER_PRINCIPAL_DEFAULT,
};

/// A bucket's shape: it holds at most `burst` tokens and gains `per_second` a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketRule {
    pub burst: u32,
    pub per_second: f64,
}

impl BucketRule {
    /// `count` a second, with a burst of `burst_seconds` seconds' worth.
    pub fn per_second(count: u32, burst_seconds: u32) -> Option<Self> {
        (count > 0).then(|| Self {
            burst: count.saturating_mul(burst_seconds.max(1)),
            per_second: f64::from(count),
        })
    }

    /// `count` in `window_secs`, all of which may be spent at once.
    pub fn per_window(count: u32, window_secs: u32) -> Option<Self> {
        (count > 0 && window_secs > 0).then(|| Self {
            burst: count,
            per_second: f64::from(count) / f64::from(window_secs),
        })
    }
}

/// One bucket's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

impl Bucket {
    pub fn full(rule: BucketRule, now_ms: i64) -> Self {
        Self {
            tokens: f64::from(rule.burst),
            updated_ms: now_ms,
        }
    }

    fn refill(&mut self, rule: BucketRule, now_ms: i64) {
        // A clock that steps back gains nothing and loses nothing.
        let elapsed_ms = (now_ms - self.updated_ms).max(0);
        #[allow(clippy::cast_precision_loss)]
        let gained = elapsed_ms as f64 / 1000.0 * rule.per_second;
        self.tokens = (self.tokens + gained).min(f64::from(rule.burst));
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// Whether a token is there now, without taking it.
    pub fn has_token(&mut self, rule: BucketRule, now_ms: i64) -> bool {
        self.refill(rule, now_ms);
        self.tokens >= 1.0
    }

    /// Takes a token, or says in how many whole seconds one will be there.
    pub fn take(&mut self, rule: BucketRule, now_ms: i64) -> Result<(), u64> {
        if self.has_token(rule, now_ms) {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.retry_after_secs(rule))
        }
    }

    /// Whole seconds until a token is there (at least 1).
    pub fn retry_after_secs(&self, rule: BucketRule) -> u64 {
        let missing = (1.0 - self.tokens).max(0.0);
        let secs = (missing / rule.per_second).ceil();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = if secs.is_finite() {
            secs as u64
        } else {
            u64::MAX
        };
        secs.max(1)
    }

    /// Whether the bucket is back to full (it can be forgotten: a new one is the same).
    pub fn is_full(&mut self, rule: BucketRule, now_ms: i64) -> bool {
        self.refill(rule, now_ms);
        self.tokens >= f64::from(rule.burst)
    }
}

/// The key a client address counts under: the address itself for IPv4, its /64 network
/// for IPv6 (one subscriber usually holds a whole /64, so counting single addresses would
/// let one client rotate through 2^64 of them).
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The rules in force; a `None` rule is switched off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThrottleRules {
    pub requests_per_ip: Option<BucketRule>,
    pub requests_per_principal: Option<BucketRule>,
    pub auth_failures_per_ip: Option<BucketRule>,
    pub login_failures_per_account_and_ip: Option<BucketRule>,
    pub login_failures_per_account: Option<BucketRule>,
}

impl ThrottleRules {
    /// The rules from the operator's numbers (`[rate_limits]`; 0 switches one off):
    /// request bursts of two seconds' worth per address and five per principal, failure
    /// limits spendable at once and regained over their window.
    pub fn new(
        requests_per_second_per_ip: u32,
        requests_per_second_per_principal: u32,
        auth_failures_per_minute_per_ip: u32,
        login_failures_per_hour_per_account_and_ip: u32,
        login_failures_per_hour_per_account: u32,
    ) -> Self {
        Self {
            requests_per_ip: BucketRule::per_second(requests_per_second_per_ip, 2),
            requests_per_principal: BucketRule::per_second(requests_per_second_per_principal, 5),
            auth_failures_per_ip: BucketRule::per_window(auth_failures_per_minute_per_ip, 60),
            login_failures_per_account_and_ip: BucketRule::per_window(
                login_failures_per_hour_per_account_and_ip,
                3600,
            ),
            login_failures_per_account: BucketRule::per_window(
                login_failures_per_hour_per_account,
                3600,
            ),
        }
    }
}

impl Default for ThrottleRules {
    fn default() -> Self {
        Self::new(
            REQUESTS_PER_SECOND_PER_IP_DEFAULT,
            REQUESTS_PER_SECOND_PER_PRINCIPAL_DEFAULT,
            AUTH_FAILURES_PER_IP_PER_MINUTE_DEFAULT,
            LOGIN_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR_DEFAULT,
            LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR_DEFAULT,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_spends_its_burst_then_refills_at_its_rate() {
        let rule = BucketRule::per_window(5, 60).unwrap();
        let mut bucket = Bucket::full(rule, 0);
        for _ in 0..5 {
            assert_eq!(bucket.take(rule, 0), Ok(()));
        }
        assert_eq!(bucket.take(rule, 0), Err(12), "one token every 12 s");
        assert_eq!(bucket.take(rule, 11_999), Err(1));
        assert_eq!(bucket.take(rule, 12_000), Ok(()));
        assert!(!bucket.is_full(rule, 12_000));
        assert!(bucket.is_full(rule, 12_000 + 60_000));
        // Refilling stops at the burst.
        for _ in 0..5 {
            assert_eq!(bucket.take(rule, 10_000_000), Ok(()));
        }
        assert!(bucket.take(rule, 10_000_000).is_err());
    }

    #[test]
    fn a_clock_stepping_back_gains_nothing() {
        let rule = BucketRule::per_second(1, 1).unwrap();
        let mut bucket = Bucket::full(rule, 10_000);
        assert_eq!(bucket.take(rule, 10_000), Ok(()));
        assert!(bucket.take(rule, 5_000).is_err());
        assert!(bucket.take(rule, 10_500).is_err());
        assert_eq!(bucket.take(rule, 11_000), Ok(()));
    }

    #[test]
    fn zero_switches_a_rule_off() {
        assert_eq!(BucketRule::per_second(0, 2), None);
        assert_eq!(BucketRule::per_window(0, 60), None);
        assert_eq!(BucketRule::per_second(10, 2).unwrap().burst, 20);
    }

    #[test]
    fn ipv6_clients_count_per_slash_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(client_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
