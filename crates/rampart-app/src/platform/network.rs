//! Source-address rules: parsing CIDR lists, and the allowlists of the account and of
//! organisations, enforced on login and on every authenticated request (per-token lists
//! are checked where tokens are authenticated). A request refused here is audited.

use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::Scope;
use serde_json::json;

use crate::audit::{Outcome, anonymous};
use crate::{App, AppError, AppResult, Ctx, RequestMeta};

/// Most networks the account or one organisation may list.
pub const ALLOWLIST_CIDRS_MAX: usize = 200;

/// Parses and normalises source networks (`10.1.2.3/8` → `10.0.0.0/8`; a plain address
/// is a /32 or /128), at most `max` of them; `owner` names the list in the error.
pub(crate) fn parse_cidrs(items: &[String], max: usize, owner: &str) -> AppResult<Vec<String>> {
    if items.len() > max {
        return Err(AppError::bad_request(
            ErrorCode::TooManyCidrs,
            format!("{owner} may list at most {max} networks"),
        ));
    }
    items
        .iter()
        .map(|item| {
            let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    AppError::bad_request(
                        ErrorCode::InvalidCidr,
                        format!("'{item}' is not a CIDR or an IP address"),
                    )
                })?;
            Ok(net.trunc().to_string())
        })
        .collect()
}

/// Whether `client_ip` is inside one of `cidrs` (an unparsable address is not).
pub(crate) fn address_allowed(cidrs: &[String], client_ip: &str) -> bool {
    let Ok(ip) = client_ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    cidrs
        .iter()
        .filter_map(|cidr| cidr.parse::<ipnet::IpNet>().ok())
        .any(|net| net.contains(&ip))
}

fn list_scope(scope: Scope) -> Scope {
    match scope {
        Scope::Project(org, _) => Scope::Org(org),
        other => other,
    }
}

impl App {
    /// Refuses a request from an address outside the account's allowlist or, for a
    /// request inside an organisation, outside the organisation's. Audits the refusal.
    pub async fn check_ip_allowlists(&self, meta: &RequestMeta, scope: Scope) -> AppResult<()> {
        for (list, cidrs) in self.store().ip_allowlists_for(scope).await? {
            if !address_allowed(&cidrs, &meta.client_ip) {
                let record = anonymous(self.now(), meta, "access.denied", "ip_allowlist", "any")
                    .scope(scope)
                    .outcome(Outcome::Denied)
                    .details(json!({ "reason": "ip_not_allowed", "allowlist": if list == "account" { "account" } else { "organization" } }))
                    .build();
                if let Err(error) = self.store().append_audit(&record).await {
                    tracing::error!(%error, "could not record an address refusal");
                }
                return Err(AppError::forbidden(
                    ErrorCode::IpNotAllowed,
                    "requests from this address are not allowed here",
                ));
            }
        }
        Ok(())
    }

    /// Whether a request from `meta` may reach `scope` at all — its allowlists and SSO
    /// policies, as the enforcement point checks them — without recording anything: for
    /// a page that shows several scopes at once (the web UI's home page), which leaves a
    /// refused scope out instead of refusing the page.
    pub async fn scope_reachable(
        &self,
        actor: &crate::Actor,
        meta: &RequestMeta,
        scope: Scope,
    ) -> AppResult<bool> {
        for (_, cidrs) in self.store().ip_allowlists_for(scope).await? {
            if !address_allowed(&cidrs, &meta.client_ip) {
                return Ok(false);
            }
        }
        self.sso_policies_allow(actor, scope).await
    }

    /// The account's (scope `Account`) or an organisation's own allowlist.
    pub async fn ip_allowlist(&self, scope: Scope) -> AppResult<Vec<String>> {
        Ok(self.store().ip_allowlist(list_scope(scope)).await?)
    }

    /// Replaces the allowlist of the account or an organisation; an empty list allows
    /// every address. Refuses a list that would shut out the caller's own address, so
    /// nobody locks themselves out by mistake.
    pub async fn set_ip_allowlist(
        &self,
        ctx: &Ctx,
        scope: Scope,
        cidrs: &[String],
    ) -> AppResult<Vec<String>> {
        let scope = list_scope(scope);
        let cidrs = parse_cidrs(cidrs, ALLOWLIST_CIDRS_MAX, "an allowlist")?;
        if !cidrs.is_empty() && !address_allowed(&cidrs, &ctx.meta.client_ip) {
            return Err(AppError::conflict(
                ErrorCode::AllowlistExcludesYou,
                format!(
                    "this list does not include your own address {}; add it, or set the \
                     list from an address it allows",
                    ctx.meta.client_ip
                ),
            ));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_ip_allowlist(scope, &cidrs, now).await?;
        tx.commit(
            ctx.audit(now, "ip_allowlist.update", "ip_allowlist")
                .scope(scope)
                .details(json!({ "cidrs": cidrs }))
                .build(),
        )
        .await?;
        Ok(cidrs)
    }
}
