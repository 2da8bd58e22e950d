//! The SAML 2.0 messages a service provider writes and the identity provider metadata it
//! reads (the response it receives is [`crate::saml`]'s): this service's metadata, an
//! `AuthnRequest` and a `LogoutRequest` encoded for the HTTP-Redirect binding (SAML
//! bindings §3.4: raw DEFLATE, base64, then the URL's query), the `LogoutResponse` that
//! comes back that way, and an identity provider's `EntityDescriptor` read for its entity
//! ID, its sign-in and logout locations and its signing certificates.
//!
//! Requests are not signed: they carry nothing secret, the response is bound to them by
//! `InResponseTo` and to the browser by a cookie, and a provider that insists on signed
//! requests is configured to accept these (noted in the README).

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use roxmltree::Node;

use rampart_domain::platform::sso::NAME_ID_UNSPECIFIED;

use crate::saml::{ASSERTION_NS, PROTOCOL_NS};
use crate::xmldsig::{self, DSIG_NS, XmlDsigError, element_text};

pub const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// The most signing certificates one provider's metadata may list (a rollover has two).
const CERTIFICATES_MAX: usize = 10;

fn refused(reason: impl Into<String>) -> XmlDsigError {
    XmlDsigError(reason.into())
}

/// Escapes text for an XML attribute value or element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// This service provider, as its metadata and its requests describe it.
#[derive(Clone, Debug)]
pub struct ServiceProvider<'a> {
    pub entity_id: &'a str,
    /// The assertion consumer service (HTTP-POST binding).
    pub acs_url: &'a str,
    /// The NameID format asked for ([`NAME_ID_UNSPECIFIED`]: the provider's choice).
    pub name_id_format: &'a str,
    /// Where the provider sends the browser back after single logout (HTTP-Redirect).
    pub slo_url: &'a str,
}

/// This service provider's metadata (`EntityDescriptor`), for the identity provider's
/// administrator to import.
pub fn sp_metadata(sp: &ServiceProvider<'_>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"{METADATA_NS}\" entityID=\"{entity}\">\n  \
         <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" \
         protocolSupportEnumeration=\"{PROTOCOL_NS}\">\n    \
         <md:SingleLogoutService Binding=\"{HTTP_REDIRECT}\" Location=\"{slo}\"/>\n    \
         <md:NameIDFormat>{format}</md:NameIDFormat>\n    \
         <md:AssertionConsumerService Binding=\"{HTTP_POST}\" Location=\"{acs}\" index=\"0\" \
         isDefault=\"true\"/>\n  \
         </md:SPSSODescriptor>\n\
         </md:EntityDescriptor>\n",
        entity = escape(sp.entity_id),
        format = escape(sp.name_id_format),
        acs = escape(sp.acs_url),
        slo = escape(sp.slo_url),
    )
}

/// What one sign-in asks of the identity provider.
#[derive(Clone, Debug)]
pub struct AuthnRequest<'a> {
    /// The request's ID (an XML name: starts with a letter or `_`), which the response's
    /// `InResponseTo` must repeat.
    pub id: &'a str,
    /// The provider's sign-in location (HTTP-Redirect binding).
    pub destination: &'a str,
    pub issued_at: Timestamp,
    /// Ask the provider to authenticate the person again, not to rely on a remembered
    /// sign-in (step-up).
    pub force_authn: bool,
}

/// The request's XML.
pub fn authn_request_xml(sp: &ServiceProvider<'_>, request: &AuthnRequest<'_>) -> String {
    let force = if request.force_authn {
        " ForceAuthn=\"true\""
    } else {
        ""
    };
    let format = if sp.name_id_format == NAME_ID_UNSPECIFIED {
        String::new()
    } else {
        format!(" Format=\"{}\"", escape(sp.name_id_format))
    };
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" \
         ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{destination}\" \
         AssertionConsumerServiceURL=\"{acs}\" ProtocolBinding=\"{HTTP_POST}\"{force}>\
         <saml:Issuer>{issuer}</saml:Issuer>\
         <samlp:NameIDPolicy{format} AllowCreate=\"true\"/>\
         </samlp:AuthnRequest>",
        id = escape(request.id),
        instant = request.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        destination = escape(request.destination),
        acs = escape(sp.acs_url),
        issuer = escape(sp.entity_id),
    )
}

/// The request encoded for the HTTP-Redirect binding: the `SAMLRequest` query value
/// (before URL encoding, which the caller's URL builder does).
pub fn redirect_encode(xml: &str) -> Result<String, XmlDsigError> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(xml.as_bytes())
        .and_then(|()| encoder.finish())
        .map(|deflated| BASE64.encode(deflated))
        .map_err(|error| refused(format!("compressing the request: {error}")))
}

/// What single logout asks the provider to end: the session the assertion that signed
/// the person in named.
#[derive(Clone, Debug)]
pub struct LogoutRequest<'a> {
    /// A fresh ID, which the provider's `LogoutResponse` repeats.
    pub id: &'a str,
    /// The provider's single logout location (HTTP-Redirect binding).
    pub destination: &'a str,
    pub issued_at: Timestamp,
    pub name_id: &'a str,
    pub name_id_format: Option<&'a str>,
    pub session_index: Option<&'a str>,
}

/// The logout request's XML.
pub fn logout_request_xml(sp_entity_id: &str, request: &LogoutRequest<'_>) -> String {
    let format = request
        .name_id_format
        .map(|format| format!(" Format=\"{}\"", escape(format)))
        .unwrap_or_default();
    let session_index = request
        .session_index
        .map(|index| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(index)))
        .unwrap_or_default();
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" \
         ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{destination}\">\
         <saml:Issuer>{issuer}</saml:Issuer>\
         <saml:NameID{format}>{name_id}</saml:NameID>{session_index}\
         </samlp:LogoutRequest>",
        id = escape(request.id),
        instant = request.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        destination = escape(request.destination),
        issuer = escape(sp_entity_id),
        name_id = escape(request.name_id),
    )
}

/// The XML a message carries by the HTTP-Redirect binding (the query value, URL-decoded):
/// base64, then raw DEFLATE, inflated to at most the XML reader's limit (a small message
/// that inflates without end is refused, not read).
pub fn redirect_decode(encoded: &str) -> Result<String, XmlDsigError> {
    use std::io::Read;
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let deflated = BASE64
        .decode(compact)
        .map_err(|_| refused("the message is not base64"))?;
    let mut xml = Vec::new();
    let limit = u64::try_from(xmldsig::DOCUMENT_BYTES_MAX).unwrap_or(u64::MAX);
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(limit + 1)
        .read_to_end(&mut xml)
        .map_err(|_| refused("the message is not DEFLATE-compressed"))?;
    if xml.len() > xmldsig::DOCUMENT_BYTES_MAX {
        return Err(refused("the message is too large"));
    }
    String::from_utf8(xml).map_err(|_| refused("the message is not UTF-8"))
}

/// A logout the identity provider asks for (IdP-initiated single logout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpLogoutRequest {
    pub id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// The sessions to end; none named means every session of the NameID.
    pub session_indexes: Vec<String>,
}

/// The bytes an HTTP-Redirect message's signature covers (SAML bindings §3.4.4.1):
/// `<message>=…&RelayState=…&SigAlg=…` with each value exactly as it came in the raw
/// query (still URL-encoded: re-encoding may differ from the sender's), RelayState only
/// when present. `None` when the message or SigAlg is missing or a parameter repeats.
pub fn signed_redirect_octets(raw_query: &str, message: &str) -> Option<String> {
    let raw_value = |name: &str| -> Option<Option<&str>> {
        let mut found = raw_query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value);
        match (found.next(), found.next()) {
            (one, None) => Some(one),
            (_, Some(_)) => None,
        }
    };
    let message_value = raw_value(message)??;
    let relay_state = raw_value("RelayState")?;
    let sig_alg = raw_value("SigAlg")??;
    let relay = relay_state
        .map(|value| format!("&RelayState={value}"))
        .unwrap_or_default();
    Some(format!("{message}={message_value}{relay}&SigAlg={sig_alg}"))
}

/// Refuses a single logout message `what` not from `idp_entity_id` (its `Issuer`) or
/// not for `slo_url` (its `Destination`, when it names one).
fn check_sender(
    root: Node<'_, '_>,
    idp_entity_id: &str,
    slo_url: &str,
    what: &str,
) -> Result<(), XmlDsigError> {
    let issuer = root
        .children()
        .find(|child| is(*child, ASSERTION_NS, "Issuer"))
        .map(element_text);
    if issuer.as_deref().map(str::trim) != Some(idp_entity_id) {
        return Err(refused(format!("the {what} comes from another issuer")));
    }
    if root
        .attribute("Destination")
        .is_some_and(|destination| destination != slo_url)
    {
        return Err(refused(format!("the {what} is for another destination")));
    }
    Ok(())
}

/// Reads a `LogoutRequest` from `idp_entity_id` to `slo_url` (its query signature is the
/// caller's to check): issuer, destination, `IssueInstant` and `NotOnOrAfter` with skew,
/// a NameID (an encrypted one is not supported), the SessionIndexes.
pub fn read_logout_request(
    xml: &str,
    idp_entity_id: &str,
    slo_url: &str,
    now: Timestamp,
) -> Result<IdpLogoutRequest, XmlDsigError> {
    let document = xmldsig::parse(xml)?;
    let root = document.root_element();
    if !is(root, PROTOCOL_NS, "LogoutRequest") || root.attribute("Version") != Some("2.0") {
        return Err(refused("the message is not a SAML 2.0 LogoutRequest"));
    }
    let id = root
        .attribute("ID")
        .filter(|id| !id.is_empty() && id.len() <= 256)
        .ok_or_else(|| refused("the logout request has no ID"))?
        .to_owned();
    check_sender(root, idp_entity_id, slo_url, "logout request")?;
    crate::saml::check_issued(root, "logout request", now)?;
    crate::saml::check_window(
        "logout request",
        None,
        crate::saml::time(root, "NotOnOrAfter")?,
        now,
    )?;
    let mut name_ids = root
        .children()
        .filter(|child| is(*child, ASSERTION_NS, "NameID"));
    let name_id = match (name_ids.next(), name_ids.next()) {
        (Some(one), None) => one,
        _ => return Err(refused("the logout request must name one NameID")),
    };
    let value = element_text(name_id).trim().to_owned();
    if value.is_empty() || value.len() > 255 || value.contains(char::is_control) {
        return Err(refused("the logout request's NameID is empty or too long"));
    }
    Ok(IdpLogoutRequest {
        id,
        name_id: value,
        name_id_format: name_id.attribute("Format").map(str::to_owned),
        session_indexes: root
            .children()
            .filter(|child| is(*child, PROTOCOL_NS, "SessionIndex"))
            .map(|index| element_text(index).trim().to_owned())
            .collect(),
    })
}

/// This service's answer to the provider's logout request (HTTP-Redirect, unsigned).
pub fn logout_response_xml(
    sp_entity_id: &str,
    id: &str,
    in_response_to: &str,
    destination: &str,
    issued_at: Timestamp,
) -> String {
    format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" \
         ID=\"{id}\" InResponseTo=\"{in_response_to}\" Version=\"2.0\" \
         IssueInstant=\"{instant}\" Destination=\"{destination}\">\
         <saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode \
         Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>\
         </samlp:LogoutResponse>",
        id = escape(id),
        in_response_to = escape(in_response_to),
        instant = issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        destination = escape(destination),
        issuer = escape(sp_entity_id),
    )
}

/// What the provider's `LogoutResponse` says, once read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// The request it answers (`InResponseTo`).
    pub in_response_to: Option<String>,
    /// The provider ended its session (status Success).
    pub succeeded: bool,
}

/// Reads a `LogoutResponse` from `idp_entity_id` to `slo_url`. Its signature (by the
/// redirect binding, over the query) is not checked: the local session ended before
/// the browser went to the provider, so nothing here is trusted with anything — it only
/// tells the person whether the provider ended its session too.
pub fn read_logout_response(
    xml: &str,
    idp_entity_id: &str,
    slo_url: &str,
) -> Result<LogoutOutcome, XmlDsigError> {
    let document = xmldsig::parse(xml)?;
    let root = document.root_element();
    if is(root, PROTOCOL_NS, "LogoutRequest") {
        return Err(refused(
            "the message is a LogoutRequest sent as a response (SAMLResponse)",
        ));
    }
    if !is(root, PROTOCOL_NS, "LogoutResponse") {
        return Err(refused("the message is not a SAML LogoutResponse"));
    }
    check_sender(root, idp_entity_id, slo_url, "logout response")?;
    let status = root
        .children()
        .find(|child| is(*child, PROTOCOL_NS, "Status"))
        .and_then(|status| {
            status
                .children()
                .find(|child| is(*child, PROTOCOL_NS, "StatusCode"))
        })
        .and_then(|code| code.attribute("Value"));
    Ok(LogoutOutcome {
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
        succeeded: status == Some("urn:oasis:names:tc:SAML:2.0:status:Success"),
    })
}

/// What an identity provider's metadata says that this service provider uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// Where browsers are sent to sign in (HTTP-Redirect binding); `https` only.
    pub sso_url: String,
    /// Where a browser ends its session at the provider (HTTP-Redirect), if offered.
    pub slo_url: Option<String>,
    /// The signing certificates (DER), each one that parses as X.509.
    pub signing_certificates: Vec<Vec<u8>>,
}

fn idp_descriptor<'a, 'i>(entity: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    entity
        .children()
        .find(|child| is(*child, METADATA_NS, "IDPSSODescriptor"))
}

fn is(node: Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == name
}

/// The `https` location of the first service of `name` with the HTTP-Redirect binding.
fn redirect_location(descriptor: Node<'_, '_>, name: &str) -> Result<Option<String>, XmlDsigError> {
    let Some(service) = descriptor
        .children()
        .filter(|child| is(*child, METADATA_NS, name))
        .find(|service| service.attribute("Binding") == Some(HTTP_REDIRECT))
    else {
        return Ok(None);
    };
    let location = service.attribute("Location").unwrap_or_default().trim();
    let well_formed = location
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !location.contains(|c: char| c.is_whitespace() || c.is_control() || c == '#');
    if !well_formed {
        return Err(refused(format!(
            "the {name} location must be an https:// URL"
        )));
    }
    Ok(Some(location.to_owned()))
}

/// Reads an identity provider's metadata: one `EntityDescriptor` (alone, or the one
/// with an `IDPSSODescriptor` in an `EntitiesDescriptor`) whose `IDPSSODescriptor`
/// supports SAML 2.0, has an HTTP-Redirect `SingleSignOnService`, and lists at least one
/// signing certificate (a `KeyDescriptor` for signing, or for any use).
pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, XmlDsigError> {
    let document = xmldsig::parse(xml)?;
    let root = document.root_element();
    let entity = if is(root, METADATA_NS, "EntityDescriptor") {
        root
    } else if is(root, METADATA_NS, "EntitiesDescriptor") {
        let mut idps = root
            .children()
            .filter(|child| is(*child, METADATA_NS, "EntityDescriptor"))
            .filter(|entity| idp_descriptor(*entity).is_some());
        match (idps.next(), idps.next()) {
            (Some(one), None) => one,
            (None, _) => return Err(refused("the metadata describes no identity provider")),
            (Some(_), Some(_)) => {
                return Err(refused(
                    "the metadata describes several identity providers: give the one to use",
                ));
            }
        }
    } else {
        return Err(refused(
            "the document is not SAML metadata (an EntityDescriptor)",
        ));
    };
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 1024 && !id.contains(char::is_control))
        .ok_or_else(|| refused("the metadata names no entityID"))?
        .to_owned();
    let descriptor = idp_descriptor(entity)
        .ok_or_else(|| refused("the metadata has no IDPSSODescriptor (identity provider)"))?;
    if !descriptor
        .attribute("protocolSupportEnumeration")
        .unwrap_or_default()
        .split_whitespace()
        .any(|protocol| protocol == PROTOCOL_NS)
    {
        return Err(refused("the identity provider does not support SAML 2.0"));
    }
    let sso_url = redirect_location(descriptor, "SingleSignOnService")?.ok_or_else(|| {
        refused("the identity provider has no SingleSignOnService with the HTTP-Redirect binding")
    })?;
    let slo_url = redirect_location(descriptor, "SingleLogoutService")?;
    let mut signing_certificates = Vec::new();
    for key in descriptor
        .children()
        .filter(|child| is(*child, METADATA_NS, "KeyDescriptor"))
        .filter(|key| key.attribute("use").is_none_or(|usage| usage == "signing"))
    {
        for certificate in key
            .descendants()
            .filter(|node| is(*node, DSIG_NS, "X509Certificate"))
        {
            let text: String = element_text(certificate)
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let der = BASE64
                .decode(text)
                .map_err(|_| refused("a signing certificate is not base64"))?;
            let parsed = rustls_pki_types::CertificateDer::from(der.as_slice());
            webpki::EndEntityCert::try_from(&parsed)
                .map_err(|_| refused("a signing certificate is not an X.509 certificate"))?;
            if !signing_certificates.contains(&der) {
                signing_certificates.push(der);
            }
        }
    }
    if signing_certificates.is_empty() {
        return Err(refused(
            "the identity provider's metadata has no signing certificate: nothing it sends \
             could be verified",
        ));
    }
    if signing_certificates.len() > CERTIFICATES_MAX {
        return Err(refused(format!(
            "the metadata lists more than {CERTIFICATES_MAX} signing certificates"
        )));
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        slo_url,
        signing_certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn certificate_base64() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = rcgen::CertificateParams::new(vec!["idp.example.com".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        BASE64.encode(certificate.der())
    }

    fn metadata(key_descriptors: &str, services: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="{METADATA_NS}" xmlns:ds="{DSIG_NS}" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol {PROTOCOL_NS}">
    {key_descriptors}
    {services}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn key(usage: &str, certificate: &str) -> String {
        format!(
            "<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n{certificate}\n\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )
    }

    const SERVICES: &str = r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/slo"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso?tenant=1"/>"#;

    #[test]
    fn identity_provider_metadata_is_read() {
        let signing = certificate_base64();
        let encryption = certificate_base64();
        let xml = metadata(
            &format!(
                "{}{}{}",
                key(" use=\"signing\"", &signing),
                key(" use=\"encryption\"", &encryption),
                key("", &signing)
            ),
            SERVICES,
        );
        let read = parse_idp_metadata(&xml).unwrap();
        assert_eq!(read.entity_id, "https://idp.example.com/saml");
        assert_eq!(read.sso_url, "https://idp.example.com/sso?tenant=1");
        assert_eq!(read.slo_url.as_deref(), Some("https://idp.example.com/slo"));
        assert_eq!(
            read.signing_certificates,
            vec![BASE64.decode(&signing).unwrap()],
            "the encryption key is not a signing key; duplicates count once"
        );
        // Inside an EntitiesDescriptor, with a service provider beside it.
        let wrapped = format!(
            "<md:EntitiesDescriptor xmlns:md=\"{METADATA_NS}\"><md:EntityDescriptor \
             entityID=\"https://sp.example.com\"><md:SPSSODescriptor/></md:EntityDescriptor>{}\
             </md:EntitiesDescriptor>",
            xml.trim_start_matches("<?xml version=\"1.0\"?>\n")
        );
        assert_eq!(parse_idp_metadata(&wrapped).unwrap(), read);
    }

    #[test]
    fn unusable_metadata_is_refused() {
        let signing = key(" use=\"signing\"", &certificate_base64());
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "no signing certificate",
                metadata(&key(" use=\"encryption\"", &certificate_base64()), SERVICES),
                "no signing certificate",
            ),
            (
                "a certificate that is not one",
                metadata(&key("", "bm90IGEgY2VydGlmaWNhdGU="), SERVICES),
                "not an X.509",
            ),
            (
                "no redirect binding",
                metadata(
                    &signing,
                    r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/>"#,
                ),
                "HTTP-Redirect",
            ),
            (
                "plain http",
                metadata(
                    &signing,
                    r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://idp.example.com/sso"/>"#,
                ),
                "https",
            ),
            (
                "a DOCTYPE",
                format!(
                    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
                    metadata(&signing, SERVICES).trim_start_matches("<?xml version=\"1.0\"?>\n")
                ),
                "",
            ),
            (
                "a service provider's metadata",
                format!(
                    "<md:EntityDescriptor xmlns:md=\"{METADATA_NS}\" entityID=\"x\">\
                     <md:SPSSODescriptor/></md:EntityDescriptor>"
                ),
                "IDPSSODescriptor",
            ),
            ("not metadata", "<html/>".to_owned(), "not SAML metadata"),
            (
                "SAML 1.1 only",
                metadata(&signing, SERVICES).replace(&format!(" {PROTOCOL_NS}"), ""),
                "SAML 2.0",
            ),
        ];
        for (name, xml, fragment) in cases {
            let error = parse_idp_metadata(&xml).expect_err(name);
            assert!(error.0.contains(fragment), "{name}: {error}");
        }
    }

    #[test]
    fn requests_and_sp_metadata_are_well_formed() {
        let sp = ServiceProvider {
            entity_id: "https://rampart.example.com/api/v1/auth/sso/corp/metadata",
            acs_url: "https://rampart.example.com/api/v1/auth/sso/corp/acs?a=1&b=\"2\"",
            name_id_format: rampart_domain::platform::sso::NAME_ID_PERSISTENT,
            slo_url: "https://rampart.example.com/api/v1/auth/sso/corp/slo",
        };
        let xml = authn_request_xml(
            &sp,
            &AuthnRequest {
                id: "_abc",
                destination: "https://idp.example.com/sso",
                issued_at: "2026-12-05T10:00:00.123Z".parse().unwrap(),
                force_authn: true,
            },
        );
        let document = roxmltree::Document::parse(&xml).unwrap();
        let root = document.root_element();
        assert!(is(root, PROTOCOL_NS, "AuthnRequest"));
        assert_eq!(root.attribute("ID"), Some("_abc"));
        assert_eq!(root.attribute("IssueInstant"), Some("2026-12-05T10:00:00Z"));
        assert_eq!(root.attribute("ForceAuthn"), Some("true"));
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some(sp.acs_url)
        );
        // The redirect encoding inflates back to the same text.
        let encoded = redirect_encode(&xml).unwrap();
        let mut inflated = String::new();
        flate2::read::DeflateDecoder::new(BASE64.decode(encoded).unwrap().as_slice())
            .read_to_string(&mut inflated)
            .unwrap();
        assert_eq!(inflated, xml);
        let unspecified = authn_request_xml(
            &ServiceProvider {
                name_id_format: NAME_ID_UNSPECIFIED,
                ..sp.clone()
            },
            &AuthnRequest {
                id: "_abc",
                destination: "https://idp.example.com/sso",
                issued_at: Timestamp::UNIX_EPOCH,
                force_authn: false,
            },
        );
        assert!(!unspecified.contains("Format=") && !unspecified.contains("ForceAuthn"));
        let metadata = sp_metadata(&sp);
        let document = roxmltree::Document::parse(&metadata).unwrap();
        let acs = document
            .descendants()
            .find(|node| is(*node, METADATA_NS, "AssertionConsumerService"))
            .unwrap();
        assert_eq!(acs.attribute("Location"), Some(sp.acs_url));
        assert_eq!(acs.attribute("Binding"), Some(HTTP_POST));
        let slo = document
            .descendants()
            .find(|node| is(*node, METADATA_NS, "SingleLogoutService"))
            .unwrap();
        assert_eq!(slo.attribute("Location"), Some(sp.slo_url));
    }

    #[test]
    fn redirect_signatures_cover_the_raw_query() {
        assert_eq!(
            signed_redirect_octets(
                "SAMLRequest=a%2Bb&RelayState=x+y&SigAlg=s%3A1&Signature=zz",
                "SAMLRequest"
            )
            .as_deref(),
            Some("SAMLRequest=a%2Bb&RelayState=x+y&SigAlg=s%3A1")
        );
        assert_eq!(
            signed_redirect_octets("Signature=zz&SigAlg=s&SAMLRequest=a", "SAMLRequest").as_deref(),
            Some("SAMLRequest=a&SigAlg=s"),
            "in the binding's order, whatever the query's"
        );
        for refused in [
            "SAMLRequest=a&Signature=zz",
            "SigAlg=s&Signature=zz",
            "SAMLRequest=a&SAMLRequest=b&SigAlg=s",
            "SAMLRequest=a&RelayState=1&RelayState=2&SigAlg=s",
        ] {
            assert_eq!(
                signed_redirect_octets(refused, "SAMLRequest"),
                None,
                "{refused}"
            );
        }
        let now: Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        let request = |extra: &str, issuer: &str| {
            format!(
                "<samlp:LogoutRequest xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" \
                 ID=\"_q\" Version=\"2.0\" IssueInstant=\"2026-12-05T09:59:00Z\" {extra}>\
                 <saml:Issuer>{issuer}</saml:Issuer><saml:NameID Format=\"f\"> p-1 </saml:NameID>\
                 <samlp:SessionIndex>s1</samlp:SessionIndex></samlp:LogoutRequest>"
            )
        };
        let read = read_logout_request(
            &request("", "https://idp"),
            "https://idp",
            "https://sp/slo",
            now,
        )
        .unwrap();
        assert_eq!(
            read,
            IdpLogoutRequest {
                id: "_q".into(),
                name_id: "p-1".into(),
                name_id_format: Some("f".into()),
                session_indexes: vec!["s1".into()],
            }
        );
        for (xml, why) in [
            (request("", "https://other"), "issuer"),
            (
                request("Destination=\"https://sp/other\"", "https://idp"),
                "destination",
            ),
            (
                request("NotOnOrAfter=\"2026-12-05T09:50:00Z\"", "https://idp"),
                "expired",
            ),
        ] {
            let error =
                read_logout_request(&xml, "https://idp", "https://sp/slo", now).unwrap_err();
            assert!(error.0.contains(why), "{why}: {error}");
        }
        let answer = logout_response_xml("https://sp", "_a", "_q", "https://idp/slo", now);
        assert!(
            read_logout_response(&answer, "https://sp", "https://idp/slo")
                .unwrap()
                .succeeded
        );
    }

    #[test]
    fn logout_messages() {
        let xml = logout_request_xml(
            "https://sp.example.com",
            &LogoutRequest {
                id: "_l1",
                destination: "https://idp.example.com/slo",
                issued_at: Timestamp::UNIX_EPOCH,
                name_id: "p-<1>",
                name_id_format: Some(rampart_domain::platform::sso::NAME_ID_PERSISTENT),
                session_index: Some("s1"),
            },
        );
        let decoded = redirect_decode(&redirect_encode(&xml).unwrap()).unwrap();
        assert_eq!(decoded, xml);
        let document = roxmltree::Document::parse(&xml).unwrap();
        let name_id = document
            .descendants()
            .find(|node| is(*node, ASSERTION_NS, "NameID"))
            .unwrap();
        assert_eq!(name_id.text(), Some("p-<1>"));
        // A bomb: a few bytes that inflate past the limit are refused.
        let bomb = redirect_encode(&" ".repeat(xmldsig::DOCUMENT_BYTES_MAX + 1)).unwrap();
        assert!(bomb.len() < 2048);
        assert!(redirect_decode(&bomb).is_err());
        let response = |issuer: &str, status: &str| {
            format!(
                "<samlp:LogoutResponse xmlns:samlp=\"{PROTOCOL_NS}\" xmlns:saml=\"{ASSERTION_NS}\" \
                 ID=\"_r\" InResponseTo=\"_l1\" Version=\"2.0\" Destination=\"https://sp/slo\">\
                 <saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode \
                 Value=\"urn:oasis:names:tc:SAML:2.0:status:{status}\"/></samlp:Status>\
                 </samlp:LogoutResponse>"
            )
        };
        let read = read_logout_response(
            &response("https://idp", "Success"),
            "https://idp",
            "https://sp/slo",
        )
        .unwrap();
        assert_eq!(
            read,
            LogoutOutcome {
                in_response_to: Some("_l1".into()),
                succeeded: true
            }
        );
        assert!(
            !read_logout_response(
                &response("https://idp", "Responder"),
                "https://idp",
                "https://sp/slo"
            )
            .unwrap()
            .succeeded
        );
        for (xml, slo) in [
            (response("https://other", "Success"), "https://sp/slo"),
            (response("https://idp", "Success"), "https://sp/other"),
            (xml.clone(), "https://sp/slo"),
        ] {
            assert!(
                read_logout_response(&xml, "https://idp", slo).is_err(),
                "{xml}"
            );
        }
    }
}
