//! A SAML 2.0 response, as a service provider receives it at its assertion consumer
//! service (HTTP-POST binding), checked and read: the signature (on the response, the
//! assertion, or both — at least one, each that is present verified), then everything
//! the Web Browser SSO profile asks of a bearer assertion. What a caller gets back was
//! read only from the element a signature covers.
//!
//! Signature wrapping has nowhere to hide: the document must hold exactly one
//! `Assertion` (anywhere, so a signed one tucked inside `Extensions`, an `Object` or
//! another assertion counts), it must be a direct child of the `Response` root, a
//! signature is accepted only as a direct child of the element it signs
//! ([`crate::xmldsig::verify_enveloped`]), and signatures anywhere else are refused.

use std::collections::BTreeMap;

use jiff::Timestamp;
use roxmltree::Node;

use crate::xmldsig::{self, DSIG_NS, XmlDsigError, element_text};

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Clock skew allowed on every time in the response.
pub const SAML_CLOCK_SKEW_SECS: i64 = 120;
/// How old a response or assertion may be (its `IssueInstant`): a captured one is not
/// usable for as long as the identity provider's `NotOnOrAfter` would allow.
pub const SAML_ISSUE_AGE_MAX_SECS: i64 = 300;

/// XML's whitespace (`S`), the only whitespace trimmed from values.
const XML_WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// The text of `node` without surrounding XML whitespace (pretty-printed documents).
fn value(node: Node<'_, '_>) -> String {
    element_text(node).trim_matches(XML_WHITESPACE).to_owned()
}

/// Characters refused in a NameID: controls, whitespace other than a space, and the
/// invisible format characters (zero-width, bidirectional) that make two names look
/// alike.
fn unsafe_in_name(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// An element's `IssueInstant`: present, not in the future, not older than
/// [`SAML_ISSUE_AGE_MAX_SECS`] (both with skew).
pub(crate) fn check_issued(
    node: Node<'_, '_>,
    what: &str,
    now: Timestamp,
) -> Result<(), XmlDsigError> {
    let issued = time(node, "IssueInstant")?
        .ok_or_else(|| refused(format!("the {what} has no IssueInstant")))?
        .as_second();
    let now = now.as_second();
    if issued.saturating_sub(SAML_CLOCK_SKEW_SECS) > now {
        return Err(refused(format!(
            "the {what} was issued in the future (IssueInstant)"
        )));
    }
    if issued.saturating_add(SAML_ISSUE_AGE_MAX_SECS + SAML_CLOCK_SKEW_SECS) < now {
        return Err(refused(format!(
            "the {what} was issued too long ago (IssueInstant)"
        )));
    }
    Ok(())
}

/// What this service provider expects of a response.
#[derive(Clone, Debug)]
pub struct SamlExpectations<'a> {
    /// The identity provider's entity ID (the `Issuer`).
    pub idp_entity_id: &'a str,
    /// The identity provider's signing certificates (DER), from its metadata.
    pub idp_certificates: &'a [Vec<u8>],
    /// This service provider's entity ID (the `Audience`).
    pub sp_entity_id: &'a str,
    /// The assertion consumer service URL (`Destination`, `Recipient`).
    pub acs_url: &'a str,
    /// The ID of the request this answers; `None` for an IdP-initiated (unsolicited)
    /// response, which the caller allows only when configured to.
    pub in_response_to: Option<&'a str>,
    pub now: Timestamp,
}

/// What a verified assertion says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlAssertion {
    /// The assertion's ID, remembered until `expires_at` so it is used once.
    pub id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// The NameID's `NameQualifier` and `SPNameQualifier`, when given (the IdP's and
    /// this service's entity IDs, when they mean anything).
    pub name_qualifier: Option<String>,
    pub sp_name_qualifier: Option<String>,
    pub session_index: Option<String>,
    /// When the person authenticated at the identity provider.
    pub authn_instant: Option<Timestamp>,
    /// Attribute name → values.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// The earliest of the assertion's limits plus the clock skew: after it, the
    /// assertion is refused anyway
    /// (and need not be remembered any more).
    pub expires_at: Timestamp,
}

fn refused(reason: impl Into<String>) -> XmlDsigError {
    XmlDsigError(reason.into())
}

fn is(node: Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == name
}

fn children<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |child| is(*child, namespace, name))
}

fn one<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'a str,
    name: &'a str,
) -> Result<Node<'a, 'i>, XmlDsigError> {
    let mut found = children(node, namespace, name);
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(refused(format!("the response lacks {name}"))),
        (Some(_), Some(_)) => Err(refused(format!("the response has more than one {name}"))),
    }
}

fn optional<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &'a str,
    name: &'a str,
) -> Result<Option<Node<'a, 'i>>, XmlDsigError> {
    let mut found = children(node, namespace, name);
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(one), None) => Ok(Some(one)),
        (Some(_), Some(_)) => Err(refused(format!("the response has more than one {name}"))),
    }
}

pub(crate) fn time(node: Node<'_, '_>, attribute: &str) -> Result<Option<Timestamp>, XmlDsigError> {
    node.attribute(attribute)
        .map(|text| {
            text.parse::<Timestamp>()
                .map_err(|_| refused(format!("{attribute} is not a time")))
        })
        .transpose()
}

/// `not_before` must not be after `now` (with skew); `not_on_or_after` must be after it.
pub(crate) fn check_window(
    what: &str,
    not_before: Option<Timestamp>,
    not_on_or_after: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), XmlDsigError> {
    let now = now.as_second();
    if not_before.is_some_and(|at| at.as_second().saturating_sub(SAML_CLOCK_SKEW_SECS) > now) {
        return Err(refused(format!("the {what} is not valid yet (NotBefore)")));
    }
    if not_on_or_after.is_some_and(|at| at.as_second().saturating_add(SAML_CLOCK_SKEW_SECS) <= now)
    {
        return Err(refused(format!("the {what} has expired (NotOnOrAfter)")));
    }
    Ok(())
}

fn verify_signature_of<'a, 'i>(
    element: Node<'a, 'i>,
    certificates: &[Vec<u8>],
) -> Result<bool, XmlDsigError> {
    let Some(signature) = optional(element, DSIG_NS, "Signature")? else {
        return Ok(false);
    };
    let mut last = refused("the identity provider has no signing certificate");
    for certificate in certificates {
        match xmldsig::verify_enveloped(signature, certificate) {
            Ok(signed) if signed == element => return Ok(true),
            Ok(_) => return Err(refused("the signature covers another element")),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// The most of the provider's status message repeated.
const STATUS_MESSAGE_CHARS_KEPT: usize = 200;

/// Refuses a response whose status is not Success, naming the provider's status codes
/// (top level and second level) and its message, bounded and without control characters.
fn check_status(response: Node<'_, '_>) -> Result<(), XmlDsigError> {
    let status = one(response, PROTOCOL_NS, "Status")?;
    let code = one(status, PROTOCOL_NS, "StatusCode")?;
    if code.attribute("Value") == Some(SUCCESS) {
        return Ok(());
    }
    let short = |value: Option<&str>| {
        value
            .map(|value| value.rsplit(':').next().unwrap_or(value))
            .unwrap_or("no status")
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect::<String>()
    };
    let second = children(code, PROTOCOL_NS, "StatusCode")
        .next()
        .map(|inner| format!(" / {}", short(inner.attribute("Value"))))
        .unwrap_or_default();
    let message = children(status, PROTOCOL_NS, "StatusMessage")
        .next()
        .map(|message| {
            let text: String = value(message)
                .chars()
                .filter(|c| !c.is_control())
                .take(STATUS_MESSAGE_CHARS_KEPT)
                .collect();
            format!(": {text}")
        })
        .unwrap_or_default();
    // Read before any signature is checked: it is what the response says, which may
    // not be the provider (it only ever refuses).
    Err(refused(format!(
        "the response says the identity provider refused the sign-in ({}{second}){message}",
        short(code.attribute("Value"))
    )))
}

/// Checks a SAML response (the XML text, base64-decoded from `SAMLResponse`) against
/// `expected` and reads its one assertion.
pub fn verify_response(
    xml: &str,
    expected: &SamlExpectations<'_>,
) -> Result<SamlAssertion, XmlDsigError> {
    let document = xmldsig::parse(xml)?;
    let response = document.root_element();
    if !is(response, PROTOCOL_NS, "Response") {
        return Err(refused("the document is not a SAML response"));
    }
    if response.attribute("Version") != Some("2.0") {
        return Err(refused("the response is not SAML 2.0"));
    }
    // The provider's refusal first ("not assigned to this application"): such a
    // response has no assertion, and saying so would hide what the provider said. Read
    // before any signature check, which is harmless: it only ever refuses.
    check_status(response)?;
    // Exactly one assertion in the whole document, a direct child of the response:
    // there is no second one for a wrapped signature to vouch for.
    let everywhere = document
        .descendants()
        .filter(|node| is(*node, ASSERTION_NS, "Assertion"))
        .count();
    if document
        .descendants()
        .any(|node| is(node, ASSERTION_NS, "EncryptedAssertion"))
    {
        return Err(refused("encrypted assertions are not supported"));
    }
    let assertion = one(response, ASSERTION_NS, "Assertion")?;
    if everywhere != 1 {
        return Err(refused("the response holds more than one assertion"));
    }
    // Signatures only where a signature belongs.
    for signature in document
        .descendants()
        .filter(|node| is(*node, DSIG_NS, "Signature"))
    {
        if signature.parent_element() != Some(response)
            && signature.parent_element() != Some(assertion)
        {
            return Err(refused(
                "the response holds a signature outside the response and the assertion",
            ));
        }
    }
    let response_signed = verify_signature_of(response, expected.idp_certificates)?;
    let assertion_signed = verify_signature_of(assertion, expected.idp_certificates)?;
    if !response_signed && !assertion_signed {
        return Err(refused("neither the response nor the assertion is signed"));
    }

    match response.attribute("Destination") {
        Some(destination) if destination != expected.acs_url => {
            return Err(refused("the response is for another destination"));
        }
        None if response_signed => {
            return Err(refused("a signed response must name its destination"));
        }
        _ => {}
    }
    check_issued(response, "response", expected.now)?;
    if let Some(issuer) = optional(response, ASSERTION_NS, "Issuer")?
        && value(issuer) != expected.idp_entity_id
    {
        return Err(refused("the response comes from another issuer"));
    }
    if response.attribute("InResponseTo") != expected.in_response_to {
        return Err(refused(match expected.in_response_to {
            Some(_) => "the response does not answer this login's request (InResponseTo)",
            None => "the response answers a request this login did not make (InResponseTo)",
        }));
    }

    // The assertion: read from the verified element only.
    if assertion.attribute("Version") != Some("2.0") {
        return Err(refused("the assertion is not SAML 2.0"));
    }
    check_issued(assertion, "assertion", expected.now)?;
    if value(one(assertion, ASSERTION_NS, "Issuer")?) != expected.idp_entity_id {
        return Err(refused("the assertion comes from another issuer"));
    }
    let id = assertion
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| refused("the assertion has no ID"))?
        .to_owned();
    let subject = one(assertion, ASSERTION_NS, "Subject")?;
    let name_id_node = one(subject, ASSERTION_NS, "NameID")?;
    let name_id = value(name_id_node);
    if name_id.is_empty() || name_id.len() > 255 || name_id.chars().any(unsafe_in_name) {
        return Err(refused(
            "the assertion's NameID is empty, too long, or holds control, invisible or \
             unusual whitespace characters",
        ));
    }
    // A bearer confirmation for this service, for this request, still valid.
    let mut confirmed_until = None;
    for confirmation in children(subject, ASSERTION_NS, "SubjectConfirmation") {
        if confirmation.attribute("Method") != Some(BEARER) {
            continue;
        }
        let Some(data) = optional(confirmation, ASSERTION_NS, "SubjectConfirmationData")? else {
            continue;
        };
        let until = time(data, "NotOnOrAfter")?;
        if data.attribute("Recipient") != Some(expected.acs_url)
            || data.attribute("InResponseTo") != expected.in_response_to
            || data.attribute("NotBefore").is_some()
            || until.is_none()
            || check_window("subject confirmation", None, until, expected.now).is_err()
        {
            continue;
        }
        confirmed_until = until;
        break;
    }
    let confirmed_until = confirmed_until.ok_or_else(|| {
        refused("no bearer subject confirmation for this service and request is still valid (Recipient, InResponseTo, NotOnOrAfter)")
    })?;
    let conditions = one(assertion, ASSERTION_NS, "Conditions")?;
    let conditions_until = time(conditions, "NotOnOrAfter")?;
    check_window(
        "assertion",
        time(conditions, "NotBefore")?,
        conditions_until,
        expected.now,
    )?;
    // A condition this reader does not know cannot be judged: refused (SAML core
    // §2.5.1.1 makes the assertion Indeterminate). OneTimeUse is what the replay store
    // does; ProxyRestriction limits re-issuing, which this service never does.
    if let Some(unknown) = conditions
        .children()
        .filter(Node::is_element)
        .find(|child| {
            !(is(*child, ASSERTION_NS, "AudienceRestriction")
                || is(*child, ASSERTION_NS, "OneTimeUse")
                || is(*child, ASSERTION_NS, "ProxyRestriction"))
        })
    {
        return Err(refused(format!(
            "the assertion has a condition this service cannot judge ({})",
            unknown.tag_name().name()
        )));
    }
    let restrictions: Vec<_> = children(conditions, ASSERTION_NS, "AudienceRestriction").collect();
    if restrictions.is_empty() {
        return Err(refused("the assertion names no audience"));
    }
    // Each restriction must include this service (they are ANDed).
    for restriction in restrictions {
        if !children(restriction, ASSERTION_NS, "Audience")
            .any(|audience| value(audience) == expected.sp_entity_id)
        {
            return Err(refused("the assertion is for another audience"));
        }
    }
    let authn = one(assertion, ASSERTION_NS, "AuthnStatement")?;
    check_window(
        "session",
        None,
        time(authn, "SessionNotOnOrAfter")?,
        expected.now,
    )?;
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in children(assertion, ASSERTION_NS, "AttributeStatement") {
        for attribute in children(statement, ASSERTION_NS, "Attribute") {
            let Some(name) = attribute.attribute("Name") else {
                continue;
            };
            let values = attributes.entry(name.to_owned()).or_default();
            for attribute_value in children(attribute, ASSERTION_NS, "AttributeValue") {
                // Trimmed as the NameID is: a pretty-printed value must still match a
                // group mapping or read as an email.
                values.push(value(attribute_value));
            }
        }
    }
    // Remembered for as long as it would be accepted: its limits, and no longer than
    // its IssueInstant is young enough (an AD FS assertion valid for an hour is refused
    // after five minutes anyway), plus the skew.
    // In whole seconds, rounded up, as `check_issued` compares: the row must outlive
    // the last instant the assertion is accepted.
    let issued_limit = time(assertion, "IssueInstant")?.and_then(|issued| {
        Timestamp::from_second(
            issued
                .as_second()
                .saturating_add(SAML_ISSUE_AGE_MAX_SECS + 1),
        )
        .ok()
    });
    let expires_at = [conditions_until, issued_limit]
        .into_iter()
        .flatten()
        .fold(confirmed_until, Timestamp::min)
        .checked_add(jiff::SignedDuration::from_secs(SAML_CLOCK_SKEW_SECS))
        .unwrap_or(Timestamp::MAX);
    let authn_instant = time(authn, "AuthnInstant")?;
    if authn_instant.is_some_and(|at| {
        at.as_second().saturating_sub(SAML_CLOCK_SKEW_SECS) > expected.now.as_second()
    }) {
        return Err(refused(
            "the authentication happened in the future (AuthnInstant)",
        ));
    }
    Ok(SamlAssertion {
        id,
        name_id,
        name_id_format: name_id_node.attribute("Format").map(str::to_owned),
        name_qualifier: name_id_node.attribute("NameQualifier").map(str::to_owned),
        sp_name_qualifier: name_id_node.attribute("SPNameQualifier").map(str::to_owned),
        session_index: authn.attribute("SessionIndex").map(str::to_owned),
        authn_instant,
        attributes,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmldsig::test_idp::idp;
    use aws_lc_rs::signature::EcdsaKeyPair;

    const ACS: &str = "https://rampart.example.com/api/v1/auth/saml/corp/acs";
    const SP: &str = "https://rampart.example.com/saml/corp";
    const IDP: &str = "https://idp.example.com/saml";
    const NOW: &str = "2026-12-05T10:00:00Z";

    /// Fills the placeholder `SIG:<id>` in `text` with a signature over the element
    /// with that ID (placeholders of other elements stay for a later call).
    fn sign(key: &EcdsaKeyPair, text: &str, id: &str) -> String {
        let others: Vec<&str> = ["SIG:_r1", "SIG:_a1"]
            .into_iter()
            .filter(|mark| *mark != format!("SIG:{id}"))
            .collect();
        crate::xmldsig::test_idp::sign(key, text, &format!("SIG:{id}"), id, &others)
    }

    fn assertion(extra: &str) -> String {
        format!(
            "<saml:Assertion xmlns:saml=\"{ASSERTION_NS}\" ID=\"_a1\" Version=\"2.0\" IssueInstant=\"{NOW}\">\
             <saml:Issuer>{IDP}</saml:Issuer>SIG:_a1\
             <saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">ana@example.com</saml:NameID>\
             <saml:SubjectConfirmation Method=\"{BEARER}\"><saml:SubjectConfirmationData \
             InResponseTo=\"_req1\" NotOnOrAfter=\"2026-12-05T10:05:00Z\" Recipient=\"{ACS}\"/>\
             </saml:SubjectConfirmation></saml:Subject>\
             <saml:Conditions NotBefore=\"2026-12-05T09:59:00Z\" NotOnOrAfter=\"2026-12-05T10:05:00Z\">\
             <saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{NOW}\" SessionIndex=\"_s1\"/>\
             <saml:AttributeStatement><saml:Attribute Name=\"groups\">\
             <saml:AttributeValue>sre</saml:AttributeValue><saml:AttributeValue>dba</saml:AttributeValue>\
             </saml:Attribute></saml:AttributeStatement>{extra}</saml:Assertion>"
        )
    }

    fn response(body: &str) -> String {
        format!(
            "<samlp:Response xmlns:samlp=\"{PROTOCOL_NS}\" ID=\"_r1\" Version=\"2.0\" IssueInstant=\"{NOW}\" \
             Destination=\"{ACS}\" InResponseTo=\"_req1\"><saml:Issuer xmlns:saml=\"{ASSERTION_NS}\">{IDP}</saml:Issuer>SIG:_r1\
             <samlp:Status><samlp:StatusCode Value=\"{SUCCESS}\"/></samlp:Status>{body}</samlp:Response>"
        )
    }

    fn check(text: &str, certificate: &[u8]) -> Result<SamlAssertion, XmlDsigError> {
        let certificates = [certificate.to_vec()];
        verify_response(
            text,
            &SamlExpectations {
                idp_entity_id: IDP,
                idp_certificates: &certificates,
                sp_entity_id: SP,
                acs_url: ACS,
                in_response_to: Some("_req1"),
                now: NOW.parse().unwrap(),
            },
        )
    }

    #[test]
    fn signed_assertions_and_responses_are_read() {
        let (key, certificate) = idp();
        let by_assertion = sign(&key, &response(&assertion("")), "_a1").replace("SIG:_r1", "");
        let read = check(&by_assertion, &certificate).unwrap();
        assert_eq!(read.name_id, "ana@example.com");
        assert_eq!(read.id, "_a1");
        assert_eq!(read.session_index.as_deref(), Some("_s1"));
        assert_eq!(read.attributes["groups"], ["sre", "dba"]);
        assert_eq!(
            read.expires_at,
            "2026-12-05T10:07:00Z".parse().unwrap(),
            "limits + skew"
        );
        let by_response = sign(
            &key,
            &response(&assertion("")).replace("SIG:_a1", ""),
            "_r1",
        );
        assert_eq!(
            check(&by_response, &certificate).unwrap().name_id,
            "ana@example.com"
        );
        let both = sign(&key, &sign(&key, &response(&assertion("")), "_a1"), "_r1");
        assert_eq!(
            check(&both, &certificate).unwrap().name_id,
            "ana@example.com"
        );
        let unsigned = response(&assertion(""))
            .replace("SIG:_a1", "")
            .replace("SIG:_r1", "");
        assert!(
            check(&unsigned, &certificate)
                .unwrap_err()
                .0
                .contains("neither")
        );
    }

    #[test]
    fn wrapped_and_out_of_place_responses_are_refused() {
        let (key, certificate) = idp();
        let signed_assertion = sign(&key, &assertion(""), "_a1").replace("SIG:_r1", "");
        let evil = assertion("")
            .replace("SIG:_a1", "")
            .replace("ana@example.com", "eve@example.com")
            .replace("_a1", "_evil");
        let signed_response = sign(
            &key,
            &response(&assertion("")).replace("SIG:_a1", ""),
            "_r1",
        );
        let cases: Vec<(&str, String, &str)> = vec![
            // XSW3/4: an unsigned assertion beside (or around) the signed one.
            (
                "evil assertion before the signed one",
                response(&format!("{evil}{signed_assertion}")).replace("SIG:_r1", ""),
                "more than one",
            ),
            (
                "signed assertion inside the evil one",
                response(&evil.replace(
                    "</saml:Assertion>",
                    &format!("{signed_assertion}</saml:Assertion>"),
                ))
                .replace("SIG:_r1", ""),
                "more than one",
            ),
            // XSW5-8: the signed assertion hidden in Extensions.
            (
                "signed assertion in Extensions",
                response(&evil).replace(
                    "SIG:_r1",
                    &format!("<samlp:Extensions>{signed_assertion}</samlp:Extensions>"),
                ),
                "more than one",
            ),
            // XSW1/2: a new unsigned response around the signed one's signature.
            (
                "response signature moved into a new response",
                signed_response
                    .replace("ID=\"_r1\"", "ID=\"_r2\"")
                    .replacen("ana@example.com", "eve@example.com", 1),
                "not to the element that holds it",
            ),
            (
                "an assertion with the signed one's ID",
                response(&signed_assertion).replace("SIG:_r1", &evil.replace("_evil", "_a1")),
                "appears twice",
            ),
            (
                "no signature at all",
                response(&evil).replace("SIG:_r1", ""),
                "neither",
            ),
        ];
        for (name, forged, reason) in cases {
            let error = check(&forged, &certificate).expect_err(name);
            assert!(error.0.contains(reason), "{name}: {}", error.0);
        }
    }

    #[test]
    fn the_profile_rules_are_checked() {
        let (key, certificate) = idp();
        let build = |assertion_text: String, response_changes: &[(&str, &str)]| {
            let mut outer = response(&assertion_text);
            for (from, to) in response_changes {
                assert!(outer.contains(from), "{from}");
                outer = outer.replacen(from, to, 1);
            }
            sign(&key, &outer, "_a1").replace("SIG:_r1", "")
        };
        let a = |from: &str, to: &str| {
            let text = assertion("");
            assert!(text.contains(from), "{from}");
            text.replacen(from, to, 1)
        };
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "wrong audience",
                build(a(SP, "https://other.example.com"), &[]),
                "audience",
            ),
            (
                "no audience",
                build(
                    a(
                        &format!(
                            "<saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction>"
                        ),
                        "",
                    ),
                    &[],
                ),
                "no audience",
            ),
            (
                "wrong recipient",
                build(
                    a(
                        &format!("Recipient=\"{ACS}\""),
                        "Recipient=\"https://evil.example.com/acs\"",
                    ),
                    &[],
                ),
                "subject confirmation",
            ),
            (
                "wrong destination",
                build(
                    assertion(""),
                    &[(
                        &format!("Destination=\"{ACS}\""),
                        "Destination=\"https://evil.example.com/acs\"",
                    )],
                ),
                "destination",
            ),
            (
                "expired",
                build(
                    a(
                        "NotOnOrAfter=\"2026-12-05T10:05:00Z\">",
                        "NotOnOrAfter=\"2026-12-05T09:57:00Z\">",
                    ),
                    &[],
                ),
                "expired",
            ),
            (
                "not yet valid",
                build(
                    a(
                        "NotBefore=\"2026-12-05T09:59:00Z\"",
                        "NotBefore=\"2026-12-05T10:03:00Z\"",
                    ),
                    &[],
                ),
                "not valid yet",
            ),
            (
                "confirmation expired",
                build(
                    a(
                        "InResponseTo=\"_req1\" NotOnOrAfter=\"2026-12-05T10:05:00Z\"",
                        "InResponseTo=\"_req1\" NotOnOrAfter=\"2026-12-05T09:57:00Z\"",
                    ),
                    &[],
                ),
                "subject confirmation",
            ),
            (
                "answers another request",
                build(
                    assertion(""),
                    &[("InResponseTo=\"_req1\">", "InResponseTo=\"_req2\">")],
                ),
                "InResponseTo",
            ),
            (
                "confirmation for another request",
                build(a("InResponseTo=\"_req1\"", "InResponseTo=\"_req2\""), &[]),
                "subject confirmation",
            ),
            (
                "another issuer",
                build(
                    a(
                        &format!("<saml:Issuer>{IDP}</saml:Issuer>"),
                        "<saml:Issuer>https://evil.example.com</saml:Issuer>",
                    ),
                    &[],
                ),
                "another issuer",
            ),
            (
                "a failed status",
                build(
                    assertion(""),
                    &[(SUCCESS, "urn:oasis:names:tc:SAML:2.0:status:Requester")],
                ),
                "Requester",
            ),
            (
                "not a bearer confirmation",
                build(
                    a(BEARER, "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"),
                    &[],
                ),
                "subject confirmation",
            ),
            (
                "an old assertion",
                build(
                    a(
                        &format!("IssueInstant=\"{NOW}\""),
                        "IssueInstant=\"2026-12-05T09:50:00Z\"",
                    ),
                    &[],
                ),
                "too long ago",
            ),
            (
                "an old response",
                build(
                    assertion(""),
                    &[(
                        &format!("IssueInstant=\"{NOW}\" Destination"),
                        "IssueInstant=\"2026-12-05T09:50:00Z\" Destination",
                    )],
                ),
                "too long ago",
            ),
            (
                "from the future",
                build(
                    a(
                        &format!("IssueInstant=\"{NOW}\""),
                        "IssueInstant=\"2026-12-05T10:10:00Z\"",
                    ),
                    &[],
                ),
                "future",
            ),
            (
                "an unknown condition",
                build(
                    a(
                        "</saml:AudienceRestriction>",
                        "</saml:AudienceRestriction><saml:Condition/>",
                    ),
                    &[],
                ),
                "cannot judge",
            ),
            (
                "a NameID with a no-break space",
                build(a("ana@example.com", "ana@example.com\u{00A0}"), &[]),
                "NameID",
            ),
            (
                "a NameID with a zero-width space",
                build(a("ana@example.com", "ana\u{200B}@example.com"), &[]),
                "NameID",
            ),
            (
                "SAML 1.x assertion version",
                build(a("Version=\"2.0\"", "Version=\"1.1\""), &[]),
                "not SAML 2.0",
            ),
        ];
        for (name, forged, reason) in cases {
            let error = check(&forged, &certificate).expect_err(name);
            assert!(error.0.contains(reason), "{name}: {}", error.0);
        }
        // Unsolicited: a response without InResponseTo is read only when none is expected.
        let unsolicited = build(
            a(" InResponseTo=\"_req1\"", ""),
            &[(" InResponseTo=\"_req1\"", "")],
        );
        assert!(
            check(&unsolicited, &certificate)
                .unwrap_err()
                .0
                .contains("InResponseTo")
        );
        let certificates = [certificate.clone()];
        let read = verify_response(
            &unsolicited,
            &SamlExpectations {
                idp_entity_id: IDP,
                idp_certificates: &certificates,
                sp_entity_id: SP,
                acs_url: ACS,
                in_response_to: None,
                now: NOW.parse().unwrap(),
            },
        );
        assert_eq!(read.unwrap().name_id, "ana@example.com");
        // Pretty-printed values are read without their XML whitespace.
        let pretty = build(
            a(
                "ana@example.com</saml:NameID>",
                "\n  ana@example.com\n</saml:NameID>",
            )
            .replace(
                &format!("<saml:Audience>{SP}"),
                &format!("<saml:Audience>\n {SP}"),
            ),
            &[],
        );
        assert_eq!(
            check(&pretty, &certificate).unwrap().name_id,
            "ana@example.com"
        );
        // A comment inside the signed NameID does not cut it short.
        let signed = build(a("ana@example.com", "ana@example.com.evil.example"), &[]);
        let injected = signed.replacen(
            "ana@example.com.evil.example",
            "ana@example.com<!---->.evil.example",
            1,
        );
        assert_eq!(
            check(&injected, &certificate).unwrap().name_id,
            "ana@example.com.evil.example"
        );
    }
}
