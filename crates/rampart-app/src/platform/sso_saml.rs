//! Single sign-on through SAML 2.0, this server the service provider (the Web Browser
//! SSO profile): the SP metadata an identity provider imports, the `AuthnRequest` a
//! sign-in start redirects to (HTTP-Redirect binding), and the assertion consumer
//! service that receives the provider's response (HTTP-POST binding) and signs in
//! through the same user matching, group mapping and session opening as OpenID Connect
//! (`sso::sign_in_sso`).
//!
//! What makes a forged, replayed or misdirected response fail:
//! - the response is verified by `rampart_crypto::saml::verify_response` against the
//!   metadata's signing certificates only (signature wrapping, comments, DTDs, SHA-1,
//!   audience, recipient, destination, times — see that module);
//! - a sign-in started here (`RelayState` = the login's state) is taken once, must come
//!   back to the browser that started it (the binder cookie), and the response must
//!   answer its request (`InResponseTo` = an ID derived from the state under the
//!   pepper, never stored);
//! - a response nobody asked for (IdP-initiated) is refused unless the provider's
//!   configuration allows it;
//! - each assertion is used once: its ID's digest is remembered (on the database, so on
//!   every replica) until it would be refused anyway, in the sign-in's own transaction.

use base64::Engine;
use rampart_crypto::saml::{SAML_CLOCK_SKEW_SECS, SamlExpectations, verify_response};
use rampart_crypto::saml_messages::{
    AuthnRequest, IdpMetadata, LogoutRequest, ServiceProvider, authn_request_xml,
    logout_request_xml, logout_response_xml, parse_idp_metadata, read_logout_request,
    read_logout_response, redirect_decode, redirect_encode, signed_redirect_octets, sp_metadata,
};
use rampart_crypto::xmldsig::DOCUMENT_BYTES_MAX;
use rampart_crypto::xmldsig::verify_detached;
use rampart_domain::ErrorCode;
use rampart_domain::platform::sso::{
    ProviderConfig, SamlConfig, SsoProvider, read_saml_identity, saml_subject,
};
use rampart_domain::platform::tenancy::Scope;
use serde_json::json;
use url::Url;

use super::sso::{
    SsoFinished, UsedAssertion, check_login_binding, check_redirect, login_failed, session_method,
    state_invalid,
};
use crate::context::RequestMeta;
use crate::{App, AppError, AppResult};
use rampart_store::platform::sso::SamlSession;

/// The most of a posted `SAMLResponse`: the base64 of the largest document the XML
/// reader takes, with room for line breaks.
pub const SAML_RESPONSE_BASE64_MAX: usize = DOCUMENT_BYTES_MAX / 3 * 4 + 16 * 1024;
/// The longest `RelayState` the binding allows (SAML bindings §3.4.3, §3.5.3).
const RELAY_STATE_BYTES_MAX: usize = 80;

/// What the provider sent to this service's single logout location (HTTP-Redirect
/// binding): a response to this service's logout, or its own request.
#[derive(Clone, Debug, Default)]
pub struct SamlLogoutMessage {
    pub saml_response: Option<String>,
    pub saml_request: Option<String>,
    pub relay_state: Option<String>,
    pub sig_alg: Option<String>,
    pub signature: Option<String>,
    /// The query as it came, for the bytes its signature covers.
    pub raw_query: String,
}

fn logout_refused(why: &str) -> AppError {
    AppError::bad_request(
        ErrorCode::InvalidValue,
        format!("the single logout message was refused: {why}"),
    )
}

/// What the identity provider's page posted to the assertion consumer service. Not
/// `Debug`: the response is a credential until used.
#[derive(Clone, Default)]
pub struct SamlPost {
    pub saml_response: Option<String>,
    pub relay_state: Option<String>,
}

/// This server as one provider's SAML service provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlServiceProvider {
    /// The audience the provider's assertions must name.
    pub entity_id: String,
    /// The assertion consumer service (HTTP-POST), to register at the provider.
    pub acs_url: String,
    /// This service provider's metadata, for the provider to import.
    pub metadata_url: String,
    /// Where the provider sends the browser back after single logout.
    pub slo_url: String,
}

/// What the provider's metadata says (checked when configured; read again at each use,
/// which costs a parse of a few kilobytes).
pub(crate) fn idp_metadata(config: &SamlConfig) -> Result<IdpMetadata, String> {
    parse_idp_metadata(&config.idp_metadata_xml).map_err(|error| error.0)
}

/// What an administrator checks of the identity provider their metadata names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlIdentityProvider {
    pub entity_id: String,
    pub sso_url: String,
    /// SHA-256 fingerprints (hex) of the signing certificates.
    pub certificates_sha256: Vec<String>,
}

/// The identity provider the configuration's metadata names (`None` when it does not
/// read, which configuring refuses).
pub fn saml_identity_provider(config: &SamlConfig) -> Option<SamlIdentityProvider> {
    let idp = idp_metadata(config).ok()?;
    Some(SamlIdentityProvider {
        certificates_sha256: idp
            .signing_certificates
            .iter()
            .map(|der| rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(der)))
            .collect(),
        entity_id: idp.entity_id,
        sso_url: idp.sso_url,
    })
}

/// A provider's SAML configuration; an OpenID Connect provider has no SAML endpoints
/// (404, as for a provider that does not exist).
fn saml_config(provider: &SsoProvider) -> AppResult<&SamlConfig> {
    match &provider.config {
        ProviderConfig::Saml(config) => Ok(config),
        ProviderConfig::Oidc(_) => Err(AppError::NotFound {
            what: "SAML provider",
        }),
    }
}

fn metadata_unusable(problem: String) -> AppError {
    AppError::Upstream {
        code: ErrorCode::SsoProviderError,
        message: format!("the provider's SAML metadata: {problem}"),
    }
}

impl App {
    /// This server's service provider addresses for `provider`.
    pub fn saml_service_provider(
        &self,
        provider: &SsoProvider,
        config: &SamlConfig,
    ) -> AppResult<SamlServiceProvider> {
        let base = self.sso_base_url(&provider.name)?;
        let metadata_url = format!("{base}/metadata");
        Ok(SamlServiceProvider {
            entity_id: config
                .sp_entity_id
                .clone()
                .unwrap_or_else(|| metadata_url.clone()),
            acs_url: format!("{base}/acs"),
            slo_url: format!("{base}/slo"),
            metadata_url,
        })
    }

    /// Refuses a SAML configuration whose service provider entity ID another SAML
    /// provider has: the identity provider would take the two for one service (one set
    /// of access rules, one metadata). Only explicit `sp_entity_id`s can collide; the
    /// default is each provider's own metadata URL.
    pub(crate) async fn check_unique_sp_entity_id(
        &self,
        name: &rampart_domain::Slug,
        config: &ProviderConfig,
    ) -> AppResult<()> {
        let ProviderConfig::Saml(config) = config else {
            return Ok(());
        };
        let effective = |provider_name: &rampart_domain::Slug, config: &SamlConfig| {
            config.sp_entity_id.clone().or_else(|| {
                self.sso_base_url(provider_name)
                    .ok()
                    .map(|base| format!("{base}/metadata"))
            })
        };
        let Some(mine) = effective(name, config) else {
            return Ok(());
        };
        for other in self.store().list_sso_providers().await? {
            if let ProviderConfig::Saml(theirs) = &other.config
                && other.name != *name
                && effective(&other.name, theirs).as_deref() == Some(mine.as_str())
            {
                return Err(AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    format!(
                        "the SAML provider {} has this service provider entity ID \
                         (sp_entity_id): give each provider its own",
                        other.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The SP metadata of the SAML provider `name` (public: an identity provider's
    /// administrator, or the provider itself, fetches it).
    pub async fn saml_sp_metadata(&self, name: &str) -> AppResult<String> {
        let provider = self.sso_provider(name).await?;
        let config = saml_config(&provider)?;
        let sp = self.saml_service_provider(&provider, config)?;
        Ok(sp_metadata(&ServiceProvider {
            entity_id: &sp.entity_id,
            acs_url: &sp.acs_url,
            name_id_format: &config.name_id_format,
            slo_url: &sp.slo_url,
        }))
    }

    /// Where the browser of a SAML session ends its session at the identity provider
    /// too (SP-initiated single logout, HTTP-Redirect binding): the provider's single
    /// logout location with a `LogoutRequest` naming the NameID and SessionIndex of the
    /// assertion that signed the session in. `None` when the provider offers no single
    /// logout or the session's assertion is not known.
    pub(crate) async fn saml_logout_url(
        &self,
        provider: &SsoProvider,
        session: rampart_domain::SessionId,
    ) -> Option<String> {
        let config = saml_config(provider).ok()?;
        let idp = idp_metadata(config).ok()?;
        let slo_url = idp.slo_url?;
        let sp = self.saml_service_provider(provider, config).ok()?;
        let signed_in = match self.store().saml_session(session).await {
            Ok(found) => found?,
            Err(error) => {
                tracing::warn!(%error, "could not read a SAML session for its logout");
                return None;
            }
        };
        let id = format!(
            "_{}",
            rampart_crypto::session::mint_session_id().ok()?.as_str()
        );
        // Noted, so the provider's answer must answer this request.
        match self.store().mark_saml_logout(session, &id).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => {
                tracing::warn!(%error, "could not note a SAML logout request");
                return None;
            }
        }
        let xml = logout_request_xml(
            &sp.entity_id,
            &LogoutRequest {
                id: &id,
                destination: &slo_url,
                issued_at: self.now(),
                name_id: &signed_in.name_id,
                name_id_format: signed_in.name_id_format.as_deref(),
                session_index: signed_in.session_index.as_deref(),
            },
        );
        let mut url = Url::parse(&slo_url).ok()?;
        url.query_pairs_mut()
            .append_pair("SAMLRequest", &redirect_encode(&xml).ok()?);
        Some(url.into())
    }

    /// Receives what the provider sends to this service's single logout location
    /// (HTTP-Redirect binding) and answers where the browser goes next:
    /// - a `LogoutResponse`, after a logout here: it must answer the request this
    ///   session's logout sent (which it takes, once); audited `auth.sso_logout`; to `/`;
    /// - a `LogoutRequest` (IdP-initiated single logout, the person logged out at the
    ///   provider): only when signed (the binding's query signature) by the provider's
    ///   key, it ends the named person's sessions of this provider (those of the named
    ///   SessionIndexes, or all), audited; back to the provider with a `LogoutResponse`.
    ///
    /// Anyone can send a browser here: a refusal is 400 and counts against the address
    /// like a failed sign-in.
    pub async fn finish_saml_logout(
        &self,
        name: &str,
        message: SamlLogoutMessage,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        self.check_auth_failures(meta)?;
        let outcome = self.saml_logout(name, &message, meta).await;
        if matches!(
            outcome,
            Err(AppError::BadRequest { .. } | AppError::NotFound { .. })
        ) {
            self.charge_auth_failure(meta);
        }
        outcome
    }

    async fn saml_logout(
        &self,
        name: &str,
        message: &SamlLogoutMessage,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        let provider = self.enabled_provider(name).await?;
        if let Some(request) = message.saml_request.as_deref() {
            return self
                .idp_initiated_logout(&provider, request, message, meta)
                .await;
        }
        let config = saml_config(&provider)?;
        let idp = idp_metadata(config).map_err(metadata_unusable)?;
        let sp = self.saml_service_provider(&provider, config)?;
        let encoded = message
            .saml_response
            .as_deref()
            .filter(|text| !text.is_empty())
            .ok_or_else(|| logout_refused("it carries neither SAMLResponse nor SAMLRequest"))?;
        let outcome = redirect_decode(encoded)
            .and_then(|xml| read_logout_response(&xml, &idp.entity_id, &sp.slo_url))
            .map_err(|refusal| logout_refused(&refusal.0))?;
        let unknown = || logout_refused("it answers no logout started here");
        let in_response_to = outcome.in_response_to.ok_or_else(unknown)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let session = tx
            .take_saml_logout(&in_response_to)
            .await?
            .ok_or_else(unknown)?;
        tx.commit(
            crate::audit::anonymous(
                now,
                meta,
                "auth.sso_logout",
                "session",
                &session_method(&provider),
            )
            .resource_id(session)
            .outcome(if outcome.succeeded {
                crate::audit::Outcome::Success
            } else {
                crate::audit::Outcome::Failure
            })
            .details(json!({ "initiated_by": "service_provider" }))
            .build(),
        )
        .await?;
        Ok("/".into())
    }

    /// The provider asks this service to end a person's sessions (see
    /// [`Self::finish_saml_logout`]).
    async fn idp_initiated_logout(
        &self,
        provider: &SsoProvider,
        encoded: &str,
        message: &SamlLogoutMessage,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        let config = saml_config(provider)?;
        let idp = idp_metadata(config).map_err(metadata_unusable)?;
        let sp = self.saml_service_provider(provider, config)?;
        // Only a request the provider signed ends anything: anyone can send a browser
        // here, and an unsigned request would log anyone out.
        let octets = signed_redirect_octets(&message.raw_query, "SAMLRequest")
            .ok_or_else(|| logout_refused("a logout request must be signed (SigAlg, Signature)"))?;
        let signature = message
            .signature
            .as_deref()
            .map(|text| {
                text.chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect::<String>()
            })
            .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| logout_refused("a logout request must be signed (Signature)"))?;
        verify_detached(
            message.sig_alg.as_deref().unwrap_or_default(),
            &idp.signing_certificates,
            octets.as_bytes(),
            &signature,
        )
        .map_err(|refusal| logout_refused(&refusal.0))?;
        let now = self.now();
        let request = redirect_decode(encoded)
            .and_then(|xml| read_logout_request(&xml, &idp.entity_id, &sp.slo_url, now))
            .map_err(|refusal| logout_refused(&refusal.0))?;
        let subject = saml_subject(&request.name_id, request.name_id_format.as_deref(), config)
            .map_err(|refusal| logout_refused(&refusal.reason))?;
        let method = session_method(provider);
        let user = self
            .store()
            .sso_identity_user(provider.id, &subject)
            .await?;
        let ending: Vec<rampart_domain::SessionId> = match user {
            Some(user) => self
                .store()
                .saml_sessions_of(user, &method)
                .await?
                .into_iter()
                .filter(|(_, index)| {
                    request.session_indexes.is_empty()
                        || index
                            .as_ref()
                            .is_some_and(|index| request.session_indexes.contains(index))
                })
                .map(|(session, _)| session)
                .collect(),
            None => Vec::new(),
        };
        let mut tx = self.store().write().await?;
        for session in &ending {
            tx.revoke_session(*session, now).await?;
        }
        tx.commit(
            crate::audit::anonymous(now, meta, "auth.sso_logout", "sso_provider", &method)
                .resource_id(provider.id)
                .details(json!({
                    "initiated_by": "identity_provider",
                    "user": user.map(|user| user.to_string()),
                    "sessions_ended": ending.len(),
                }))
                .build(),
        )
        .await?;
        // The binding's way back: the provider's single logout location, answered.
        let Some(slo_url) = idp.slo_url else {
            return Ok("/".into());
        };
        let id = format!("_{}", rampart_crypto::session::mint_session_id()?.as_str());
        let xml = logout_response_xml(&sp.entity_id, &id, &request.id, &slo_url, now);
        let mut url = Url::parse(&slo_url)
            .map_err(|_| metadata_unusable("the single logout location is not a URL".into()))?;
        url.query_pairs_mut().append_pair(
            "SAMLResponse",
            &redirect_encode(&xml).map_err(|error| AppError::Internal(error.0))?,
        );
        if let Some(relay_state) = message
            .relay_state
            .as_deref()
            .filter(|text| !text.is_empty())
        {
            url.query_pairs_mut().append_pair("RelayState", relay_state);
        }
        Ok(url.into())
    }

    /// The ID of the request a login sends: derived from its state under the pepper, so
    /// nothing is stored and the browser sees it only inside the request.
    fn saml_request_id(&self, state: &str) -> String {
        // An XML name starts with a letter or `_`; base64url's other characters fit.
        format!("_{}", self.sso_derived("saml-request-id", state))
    }

    /// Where a SAML sign-in sends the browser: the provider's sign-in location with the
    /// `AuthnRequest` (HTTP-Redirect binding) and the login's state as `RelayState`.
    /// `force_authn` asks the provider to authenticate the person again (step-up).
    pub(crate) fn saml_authorization_url(
        &self,
        provider: &SsoProvider,
        config: &SamlConfig,
        state: &str,
        force_authn: bool,
        now: jiff::Timestamp,
    ) -> AppResult<String> {
        let idp = idp_metadata(config).map_err(metadata_unusable)?;
        let sp = self.saml_service_provider(provider, config)?;
        let id = self.saml_request_id(state);
        let xml = authn_request_xml(
            &ServiceProvider {
                entity_id: &sp.entity_id,
                acs_url: &sp.acs_url,
                name_id_format: &config.name_id_format,
                slo_url: &sp.slo_url,
            },
            &AuthnRequest {
                id: &id,
                destination: &idp.sso_url,
                issued_at: now,
                force_authn,
            },
        );
        let encoded = redirect_encode(&xml).map_err(|error| AppError::Internal(error.0))?;
        let mut url = Url::parse(&idp.sso_url)
            .map_err(|_| metadata_unusable("the sign-in location is not a URL".into()))?;
        url.query_pairs_mut()
            .append_pair("SAMLRequest", &encoded)
            .append_pair("RelayState", state);
        Ok(url.into())
    }

    /// Receives a SAML response at the assertion consumer service of provider `name`:
    /// signs in (or re-authenticates the session that asked), or refuses. Every refusal
    /// is audited (`auth.failure`, method `saml:<name>`) and counted like a wrong
    /// password when the sender got something wrong.
    pub async fn finish_saml_login(
        &self,
        name: &str,
        post: SamlPost,
        binder: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<SsoFinished> {
        self.check_auth_failures(meta)?;
        let outcome = self.finish_saml(name, post, binder, meta).await;
        self.account_sso_outcome("saml", name, outcome, meta).await
    }

    async fn finish_saml(
        &self,
        name: &str,
        post: SamlPost,
        binder: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<SsoFinished> {
        self.check_ip_allowlists(meta, Scope::Account).await?;
        let provider = self.enabled_provider(name).await?;
        let config = saml_config(&provider)?;
        let encoded = post
            .saml_response
            .as_deref()
            .filter(|text| !text.is_empty())
            .ok_or_else(|| {
                AppError::bad_request(ErrorCode::InvalidValue, "the post carries no SAMLResponse")
            })?;
        if encoded.len() > SAML_RESPONSE_BASE64_MAX {
            return Err(AppError::bad_request(
                ErrorCode::InvalidValue,
                format!("the SAMLResponse is larger than {SAML_RESPONSE_BASE64_MAX} bytes"),
            ));
        }
        let compact: String = encoded
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let xml = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| login_failed("the SAMLResponse is not base64 of UTF-8 XML"))?;

        // A sign-in started here names its login in RelayState; anything else (no
        // RelayState, a path to go to, a login that is not one) is a response nobody
        // here asked for.
        let relay_state = post.relay_state.as_deref().filter(|text| !text.is_empty());
        if relay_state.is_some_and(|text| text.len() > RELAY_STATE_BYTES_MAX) {
            return Err(state_invalid());
        }
        let named_login = relay_state.filter(|text| !text.starts_with('/'));
        let login = match named_login {
            Some(state) => self
                .take_sso_login(&provider, state, meta)
                .await?
                .map(|login| (state, login)),
            None => None,
        };
        let now = self.now();
        let (in_response_to, redirect_to, reauthenticates) = match login {
            Some((state, login)) => {
                check_login_binding(&login, &provider, binder, now)?;
                (
                    Some(self.saml_request_id(state)),
                    login.redirect_to,
                    login
                        .reauthenticates
                        .map(|session| (session, login.created_at)),
                )
            }
            // Unsolicited: its RelayState (if any) is the provider's, and may name
            // where to go — a path here only. A response that answers a request is
            // refused below (its InResponseTo is not expected).
            None if config.allow_idp_initiated => {
                let redirect_to = check_redirect(relay_state).unwrap_or_else(|_| "/".into());
                (None, redirect_to, None)
            }
            None if named_login.is_some() => return Err(state_invalid()),
            None => {
                return Err(AppError::bad_request(
                    ErrorCode::SsoStateInvalid,
                    "this response answers no sign-in started here, and this provider does \
                     not accept IdP-initiated sign-in: start from this server",
                ));
            }
        };

        let idp = idp_metadata(config).map_err(metadata_unusable)?;
        let sp = self.saml_service_provider(&provider, config)?;
        // Housekeeping: a failure here must not fail the sign-in.
        if let Err(error) = self.store().forget_expired_saml_assertions(now).await {
            tracing::warn!(%error, "could not forget expired SAML assertions");
        }
        let assertion = verify_response(
            &xml,
            &SamlExpectations {
                idp_entity_id: &idp.entity_id,
                idp_certificates: &idp.signing_certificates,
                sp_entity_id: &sp.entity_id,
                acs_url: &sp.acs_url,
                in_response_to: in_response_to.as_deref(),
                now,
            },
        )
        .map_err(|refusal| login_failed(format!("the SAML response was refused: {refusal}")))?;
        let used = UsedAssertion {
            id_hash: rampart_crypto::digest::sha256(assertion.id.as_bytes()),
            expires_at: assertion.expires_at,
            session: SamlSession {
                name_id: assertion.name_id.clone(),
                name_id_format: assertion.name_id_format.clone(),
                session_index: assertion.session_index.clone(),
            },
        };
        // A NameID qualified for another provider or service names someone else there.
        if assertion
            .name_qualifier
            .as_deref()
            .is_some_and(|qualifier| qualifier != idp.entity_id)
            || assertion
                .sp_name_qualifier
                .as_deref()
                .is_some_and(|qualifier| qualifier != sp.entity_id)
        {
            return Err(login_failed(
                "the NameID is qualified for another identity provider or service",
            ));
        }
        let identity = read_saml_identity(
            &assertion.name_id,
            assertion.name_id_format.as_deref(),
            &assertion.attributes,
            assertion.authn_instant,
            config,
        )
        .map_err(|refusal| login_failed(refusal.reason))?;

        if let Some((session, started)) = reauthenticates {
            // ForceAuthn was asked; the AuthnInstant shows whether the provider did
            // authenticate the person again rather than rely on a remembered sign-in.
            let fresh = assertion.authn_instant.is_some_and(|at| {
                at.as_second().saturating_add(SAML_CLOCK_SKEW_SECS) >= started.as_second()
            });
            if !fresh {
                return Err(login_failed(
                    "the identity provider did not authenticate the person again \
                     (AuthnInstant is before the re-authentication started)",
                ));
            }
            self.reauthenticate_sso(&provider, session, &identity.subject, Some(&used), meta)
                .await?;
            return Ok(SsoFinished {
                login: None,
                redirect_to,
            });
        }
        let session = self
            .sign_in_sso(&provider, &identity, Some(&used), meta)
            .await?;
        Ok(SsoFinished {
            login: Some(session),
            redirect_to,
        })
    }
}
