//! XML signatures as SAML uses them, verified on aws-lc-rs: Exclusive XML
//! Canonicalization 1.0 (without comments) and an enveloped XML-DSig signature over the
//! element that holds it. Deliberately narrow — what SAML 2.0 identity providers send,
//! and nothing that signature-wrapping attacks need:
//!
//! - Documents are parsed by `roxmltree` with DTDs refused (no entity expansion, no
//!   external entities: XXE and "billion laughs" fail at parsing).
//! - A signature is accepted only as an *enveloped* signature: a direct child of the
//!   element whose `ID` its one `Reference` names, with exactly the transforms
//!   enveloped-signature then exclusive canonicalisation. The caller gets that element
//!   back and reads claims from it alone (never "the first assertion in the document").
//! - IDs must be unique in the whole document (duplicate IDs are how a wrapped copy is
//!   made to look like the signed one).
//! - Algorithms are pinned: SHA-256/384/512 digests; RSA PKCS#1 v1.5 and ECDSA (P-256,
//!   P-384) with SHA-256/384/512. SHA-1 and HMAC are refused.
//! - The key is the identity provider's certificate from its metadata (never a key or
//!   certificate carried in the document's `KeyInfo`, which is ignored).

use std::collections::BTreeMap;

use base64::Engine;
use roxmltree::{Document, Node, NodeId, NodeType, ParsingOptions};

pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The largest document parsed (a SAML response is a few KiB).
pub const DOCUMENT_BYTES_MAX: usize = 256 * 1024;
/// The most nodes a document may have.
const NODES_MAX: u32 = 20_000;
/// The deepest element nesting accepted (a SAML response is about eight deep): the
/// canonicaliser recurses, and a deep document must not exhaust the stack.
pub const DEPTH_MAX: usize = 64;
/// The most namespace declarations a document may make: every element that declares
/// one copies all those in scope while parsing, so many of them cost quadratic work.
pub const NAMESPACE_DECLARATIONS_MAX: usize = 64;

/// Why a document or its signature was refused. The text is safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDsigError(pub String);

impl std::fmt::Display for XmlDsigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlDsigError {}

fn refused(reason: impl Into<String>) -> XmlDsigError {
    XmlDsigError(reason.into())
}

/// Parses `text` as XML with DTDs refused and a node limit, and checks that no two
/// elements share an ID.
pub fn parse(text: &str) -> Result<Document<'_>, XmlDsigError> {
    if text.len() > DOCUMENT_BYTES_MAX {
        return Err(refused("the XML document is too large"));
    }
    // Counted in the raw text, before the parser does the quadratic work (a mention of
    // "xmlns" in text content counts too: no SAML document has many).
    if text.matches("xmlns").count() > NAMESPACE_DECLARATIONS_MAX {
        return Err(refused("the XML document declares too many namespaces"));
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_MAX,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(text, options)
        .map_err(|error| refused(format!("the XML document does not parse: {error}")))?;
    let mut seen = std::collections::BTreeSet::new();
    let mut depths: std::collections::HashMap<NodeId, usize> = std::collections::HashMap::new();
    for node in document.descendants().filter(Node::is_element) {
        let depth = node
            .parent_element()
            .and_then(|parent| depths.get(&parent.id()))
            .map_or(1, |depth| depth + 1);
        if depth > DEPTH_MAX {
            return Err(refused("the XML document nests too deep"));
        }
        depths.insert(node.id(), depth);
        // The name as written must be the name the parser resolved: the canonical form
        // is written from the former, the reader matches the latter, and they must not
        // be able to differ.
        let qname = element_qname(node);
        let (prefix, local) = match qname.split_once(':') {
            Some((prefix, local)) => (Some(prefix), local),
            None => (None, qname),
        };
        if local != node.tag_name().name()
            || node.lookup_namespace_uri(prefix) != node.tag_name().namespace()
        {
            return Err(refused(
                "an element's name does not read the same way twice",
            ));
        }
        // Canonicalisers disagree on escaping these (libxml2 writes them raw); no
        // SAML namespace has them, so a document that does is refused.
        if node
            .namespaces()
            .any(|namespace| namespace.uri().contains(['&', '<', '"', '\t', '\n', '\r']))
        {
            return Err(refused(
                "a namespace name holds characters no SAML document uses",
            ));
        }
        for attribute in node.attributes() {
            if attribute.namespace().is_none()
                && matches!(attribute.name(), "ID" | "Id" | "AssertionID")
                && !seen.insert(attribute.value())
            {
                return Err(refused(format!(
                    "the ID {:?} appears twice in the document",
                    attribute.value()
                )));
            }
        }
    }
    Ok(document)
}

/// The qualified name an element was written with (`saml:Assertion`).
fn element_qname<'a>(node: Node<'a, '_>) -> &'a str {
    let text = node.document().input_text();
    let start = node.range().start + 1;
    let rest = text.get(start..).unwrap_or_default();
    // XML's whitespace only (`S`): Unicode's wider notion would end a name early.
    let end = rest
        .find([' ', '\t', '\r', '\n', '/', '>'])
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

fn prefix_of(qname: &str) -> Option<&str> {
    qname.split_once(':').map(|(prefix, _)| prefix)
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Namespace bindings rendered by the output ancestors: prefix (`""` for the default
/// namespace) → URI.
type Rendered = BTreeMap<String, String>;

/// Exclusive XML Canonicalization 1.0, without comments, of `node`'s subtree, leaving
/// out the subtree of `excluded` (an enveloped signature). `inclusive_prefixes` are the
/// `InclusiveNamespaces PrefixList` (`#default` for the default namespace).
pub fn canonicalize(
    node: Node<'_, '_>,
    excluded: Option<NodeId>,
    inclusive_prefixes: &[&str],
) -> String {
    let mut out = String::new();
    write_node(
        node,
        excluded,
        inclusive_prefixes,
        &Rendered::new(),
        &mut out,
    );
    out
}

fn write_node(
    node: Node<'_, '_>,
    excluded: Option<NodeId>,
    inclusive: &[&str],
    rendered: &Rendered,
    out: &mut String,
) {
    if Some(node.id()) == excluded {
        return;
    }
    match node.node_type() {
        NodeType::Text => escape_text(node.text().unwrap_or_default(), out),
        NodeType::PI => {
            if let Some(pi) = node.pi() {
                out.push_str("<?");
                out.push_str(pi.target);
                if let Some(value) = pi.value.filter(|value| !value.is_empty()) {
                    out.push(' ');
                    out.push_str(value);
                }
                out.push_str("?>");
            }
        }
        NodeType::Element => write_element(node, excluded, inclusive, rendered, out),
        NodeType::Comment | NodeType::Root => {}
    }
}

fn write_element(
    node: Node<'_, '_>,
    excluded: Option<NodeId>,
    inclusive: &[&str],
    rendered: &Rendered,
    out: &mut String,
) {
    let qname = element_qname(node);
    // The prefixes this element visibly uses: its own (the default namespace when it
    // has none) and its prefixed attributes'; and the inclusive ones in scope.
    let mut wanted: Vec<Option<&str>> = vec![prefix_of(qname)];
    let text = node.document().input_text();
    for attribute in node.attributes() {
        let attribute_qname = text.get(attribute.range_qname()).unwrap_or_default();
        if let Some(prefix) = prefix_of(attribute_qname) {
            wanted.push(Some(prefix));
        }
    }
    for prefix in inclusive {
        wanted.push(if *prefix == "#default" {
            None
        } else {
            Some(prefix)
        });
    }
    let mut declarations: BTreeMap<String, String> = BTreeMap::new();
    for prefix in wanted {
        if prefix == Some("xml") {
            continue;
        }
        let uri = node.lookup_namespace_uri(prefix).unwrap_or_default();
        let key = prefix.unwrap_or_default().to_owned();
        let before = rendered.get(&key).map(String::as_str).unwrap_or_default();
        // A prefixed binding is rendered when it is in scope and differs from what the
        // output ancestors rendered; the default namespace also when it is undeclared
        // (`xmlns=""`) below an ancestor that rendered one.
        let in_scope = prefix.is_none() || !uri.is_empty();
        if in_scope && before != uri && !(prefix.is_none() && uri.is_empty() && before.is_empty()) {
            declarations.insert(key, uri.to_owned());
        }
    }
    out.push('<');
    out.push_str(qname);
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
    }
    let mut attributes: Vec<(&str, &str, &str, &str)> = node
        .attributes()
        .map(|attribute| {
            (
                attribute.namespace().unwrap_or_default(),
                attribute.name(),
                text.get(attribute.range_qname()).unwrap_or_default(),
                attribute.value(),
            )
        })
        .collect();
    attributes.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, qname, value) in attributes {
        out.push(' ');
        out.push_str(qname);
        out.push_str("=\"");
        escape_attribute(value, out);
        out.push('"');
    }
    out.push('>');
    let mut inner = rendered.clone();
    inner.extend(declarations);
    for child in node.children() {
        write_node(child, excluded, inclusive, &inner, out);
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

/// A digest algorithm a reference may use.
fn digest_algorithm(uri: &str) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => Some(&aws_lc_rs::digest::SHA256),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Some(&aws_lc_rs::digest::SHA384),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Some(&aws_lc_rs::digest::SHA512),
        _ => None,
    }
}

type Verifiers = &'static [&'static dyn rustls_pki_types::SignatureVerificationAlgorithm];

static RSA_SHA256: Verifiers = &[webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256];
static RSA_SHA384: Verifiers = &[webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384];
static RSA_SHA512: Verifiers = &[webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512];
static ECDSA_SHA256: Verifiers = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
];
static ECDSA_SHA384: Verifiers = &[
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
];
static ECDSA_SHA512: Verifiers = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA512,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
];

/// A signature algorithm: how to verify with a certificate's key, and whether the
/// signature value is ECDSA's `r || s` (XML-DSig's form, RFC 6931 §2.3.6), which the
/// certificate verifier takes in DER.
fn signature_algorithm(uri: &str) -> Option<(Verifiers, bool)> {
    let found = match uri {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => (RSA_SHA256, false),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => (RSA_SHA384, false),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => (RSA_SHA512, false),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => (ECDSA_SHA256, true),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => (ECDSA_SHA384, true),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => (ECDSA_SHA512, true),
        _ => return None,
    };
    Some(found)
}

/// One DER INTEGER of an unsigned big-endian number (at most 66 bytes: P-521).
fn der_integer(bytes: &[u8]) -> Option<Vec<u8>> {
    let first = bytes.iter().position(|byte| *byte != 0);
    let trimmed = first.and_then(|first| bytes.get(first..)).unwrap_or(&[0]);
    let pad = trimmed.first().is_some_and(|byte| byte & 0x80 != 0);
    let len = u8::try_from(trimmed.len() + usize::from(pad)).ok()?;
    let mut out = vec![0x02, len];
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
    Some(out)
}

/// ECDSA `r || s` as the DER `SEQUENCE { r, s }` the verifier takes.
fn ecdsa_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 132 {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [der_integer(r)?, der_integer(s)?].concat();
    let len = u8::try_from(body.len()).ok()?;
    let mut out = vec![0x30];
    if len >= 0x80 {
        out.push(0x81);
    }
    out.push(len);
    out.extend(body);
    Some(out)
}

fn base64_text(node: Node<'_, '_>, what: &str) -> Result<Vec<u8>, XmlDsigError> {
    let text: String = element_text(node)
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| refused(format!("the {what} is not base64")))
}

/// The one child element of `node` named `name` in the XML-DSig namespace.
fn only_child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>, XmlDsigError> {
    let mut found = node.children().filter(|child| {
        child.is_element()
            && child.tag_name().namespace() == Some(DSIG_NS)
            && child.tag_name().name() == name
    });
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(refused(format!("the signature lacks its {name}"))),
        (Some(_), Some(_)) => Err(refused(format!("the signature has more than one {name}"))),
    }
}

/// The text of an element as a reader must take it: every text node below it, in
/// order. Canonicalisation leaves comments out, so `ana@example.com<!---->.evil.com`
/// verifies as signed; a reader that took only the first text node would see
/// `ana@example.com` (comment injection). This one sees the whole value.
pub fn element_text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|text| text.text())
        .collect()
}

fn algorithm_of<'a>(node: Node<'a, '_>) -> &'a str {
    node.attribute("Algorithm").unwrap_or_default()
}

/// The `InclusiveNamespaces PrefixList` of an exclusive canonicalisation method.
fn inclusive_prefixes<'a>(method: Node<'a, '_>) -> Vec<&'a str> {
    method
        .children()
        .find(|child| {
            child.is_element()
                && child.tag_name().name() == "InclusiveNamespaces"
                && child.tag_name().namespace() == Some(EXC_C14N)
        })
        .and_then(|child| child.attribute("PrefixList"))
        .map(|list| list.split_whitespace().collect())
        .unwrap_or_default()
}

/// Verifies the enveloped signature `signature` (a `ds:Signature` element) with the
/// identity provider's certificate (DER) and returns the element it signs: its parent,
/// whose `ID` the one `Reference` names. Everything a wrapping attack varies is
/// pinned: one reference, to the parent, with exactly the enveloped-signature and
/// exclusive canonicalisation transforms, and allowed algorithms only.
pub fn verify_enveloped<'a, 'i>(
    signature: Node<'a, 'i>,
    certificate_der: &[u8],
) -> Result<Node<'a, 'i>, XmlDsigError> {
    if signature.tag_name().namespace() != Some(DSIG_NS)
        || signature.tag_name().name() != "Signature"
    {
        return Err(refused("not an XML signature"));
    }
    let signed = signature
        .parent_element()
        .ok_or_else(|| refused("the signature is not inside the element it signs"))?;
    let id = signed
        .attribute("ID")
        .ok_or_else(|| refused("the signed element has no ID"))?;
    let signed_info = only_child(signature, "SignedInfo")?;
    let c14n = only_child(signed_info, "CanonicalizationMethod")?;
    if algorithm_of(c14n) != EXC_C14N {
        return Err(refused(
            "the signature's canonicalisation is not exclusive XML canonicalisation (without comments)",
        ));
    }
    let method = only_child(signed_info, "SignatureMethod")?;
    let (verifiers, raw_ecdsa) = signature_algorithm(algorithm_of(method)).ok_or_else(|| {
        refused(format!(
            "the signature algorithm {} is not allowed (SHA-256 or stronger, RSA or ECDSA)",
            algorithm_of(method)
        ))
    })?;
    let reference = only_child(signed_info, "Reference")?;
    if reference.attribute("URI") != Some(format!("#{id}").as_str()) {
        return Err(refused(
            "the signature's reference is not to the element that holds it",
        ));
    }
    let transforms: Vec<Node<'_, '_>> = only_child(reference, "Transforms")?
        .children()
        .filter(Node::is_element)
        .collect();
    let [enveloped, exclusive] = transforms.as_slice() else {
        return Err(refused(
            "the reference's transforms are not enveloped-signature then exclusive canonicalisation",
        ));
    };
    if algorithm_of(*enveloped) != ENVELOPED_SIGNATURE || algorithm_of(*exclusive) != EXC_C14N {
        return Err(refused(
            "the reference's transforms are not enveloped-signature then exclusive canonicalisation",
        ));
    }
    let digest_method = only_child(reference, "DigestMethod")?;
    let digest = digest_algorithm(algorithm_of(digest_method)).ok_or_else(|| {
        refused(format!(
            "the digest algorithm {} is not allowed (SHA-256 or stronger)",
            algorithm_of(digest_method)
        ))
    })?;
    let expected = base64_text(only_child(reference, "DigestValue")?, "digest value")?;
    let canonical = canonicalize(
        signed,
        Some(signature.id()),
        &inclusive_prefixes(*exclusive),
    );
    let actual = aws_lc_rs::digest::digest(digest, canonical.as_bytes());
    if actual.as_ref() != expected.as_slice() {
        return Err(refused(
            "the signed element was changed after it was signed (digest mismatch)",
        ));
    }
    let mut value = base64_text(only_child(signature, "SignatureValue")?, "signature value")?;
    if raw_ecdsa {
        value =
            ecdsa_der(&value).ok_or_else(|| refused("the ECDSA signature value is malformed"))?;
    }
    let canonical_info = canonicalize(signed_info, None, &inclusive_prefixes(c14n));
    let certificate = rustls_pki_types::CertificateDer::from(certificate_der);
    let certificate = webpki::EndEntityCert::try_from(&certificate)
        .map_err(|_| refused("the identity provider's certificate does not parse"))?;
    let verified = verifiers.iter().any(|algorithm| {
        certificate
            .verify_signature(*algorithm, canonical_info.as_bytes(), &value)
            .is_ok()
    });
    if !verified {
        return Err(refused(
            "the signature does not verify with the identity provider's certificate",
        ));
    }
    Ok(signed)
}

/// Verifies a detached signature (SAML's HTTP-Redirect binding signs the query string,
/// not the XML): `signature` over `message` by one of `certificates`, with the algorithm
/// `algorithm` names — SHA-256 or stronger only, as for enveloped signatures.
pub fn verify_detached(
    algorithm: &str,
    certificates: &[Vec<u8>],
    message: &[u8],
    signature: &[u8],
) -> Result<(), XmlDsigError> {
    let (verifiers, raw_ecdsa) = signature_algorithm(algorithm).ok_or_else(|| {
        refused(format!(
            "the signature algorithm {} is not allowed (SHA-256 or stronger)",
            algorithm
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        ))
    })?;
    let value = if raw_ecdsa {
        ecdsa_der(signature).ok_or_else(|| refused("the ECDSA signature value is malformed"))?
    } else {
        signature.to_vec()
    };
    for der in certificates {
        let certificate = rustls_pki_types::CertificateDer::from(der.as_slice());
        let Ok(certificate) = webpki::EndEntityCert::try_from(&certificate) else {
            continue;
        };
        if verifiers.iter().any(|verifier| {
            certificate
                .verify_signature(*verifier, message, &value)
                .is_ok()
        }) {
            return Ok(());
        }
    }
    Err(refused(
        "the signature does not verify with the identity provider's certificate",
    ))
}

/// A test identity provider: an ECDSA P-256 key with a self-signed certificate, and a
/// signer that fills a placeholder with an enveloped signature (ECDSA-SHA256 over a
/// SHA-256 digest) as an identity provider would. Shared by this module's and `saml`'s
/// tests.
#[cfg(test)]
pub(crate) mod test_idp {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

    pub(crate) const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
    pub(crate) const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

    /// An identity provider's key and its self-signed certificate (DER).
    pub(crate) fn idp() -> (EcdsaKeyPair, Vec<u8>) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec());
        let rc_key =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ECDSA_P256_SHA256)
                .unwrap();
        let certificate = rcgen::CertificateParams::new(vec!["idp.example.com".into()])
            .unwrap()
            .self_signed(&rc_key)
            .unwrap();
        (key, certificate.der().to_vec())
    }

    fn template(id: &str, digest: &str, value: &str) -> String {
        format!(
            "<ds:Signature xmlns:ds=\"{DSIG_NS}\"><ds:SignedInfo>\
             <ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>\
             <ds:SignatureMethod Algorithm=\"{ECDSA_SHA256}\"/>\
             <ds:Reference URI=\"#{id}\"><ds:Transforms>\
             <ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/>\
             <ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms>\
             <ds:DigestMethod Algorithm=\"{SHA256}\"/>\
             <ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>\
             <ds:SignatureValue>{value}</ds:SignatureValue></ds:Signature>"
        )
    }

    /// Replaces `placeholder` in `text` with a signature over the element with ID `id`
    /// (the signature's parent). The `others` placeholders are left out while signing
    /// and kept in the result, for a later signature.
    pub(crate) fn sign(
        key: &EcdsaKeyPair,
        text: &str,
        placeholder: &str,
        id: &str,
        others: &[&str],
    ) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let filled = |signature: &str| {
            others
                .iter()
                .fold(text.replace(placeholder, signature), |text, other| {
                    text.replace(other, "")
                })
        };
        let unsigned = filled(&template(id, "", ""));
        let parsed = parse(&unsigned).unwrap();
        let element = parsed
            .descendants()
            .find(|n| n.attribute("ID") == Some(id))
            .unwrap();
        let signature = element
            .children()
            .find(|n| n.tag_name().name() == "Signature")
            .unwrap();
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonicalize(element, Some(signature.id()), &[]).as_bytes(),
        );
        let digest = b64(digest.as_ref());
        let with_digest = filled(&template(id, &digest, ""));
        let parsed = parse(&with_digest).unwrap();
        // This element's own SignedInfo (another element may be signed already).
        let info = parsed
            .descendants()
            .find(|n| n.attribute("ID") == Some(id))
            .and_then(|element| {
                element
                    .children()
                    .find(|n| n.tag_name().name() == "Signature")
            })
            .and_then(|signature| signature.first_element_child())
            .unwrap();
        let value = key
            .sign(
                &SystemRandom::new(),
                canonicalize(info, None, &[]).as_bytes(),
            )
            .unwrap();
        text.replace(placeholder, &template(id, &digest, &b64(value.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::test_idp::{ECDSA_SHA256, SHA256, idp};
    use super::*;
    use aws_lc_rs::signature::EcdsaKeyPair;

    const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
    const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

    /// Signs `document` (with `SIG` where the signature goes, inside the element with
    /// ID `id`) as an identity provider would.
    fn sign(key: &EcdsaKeyPair, document: &str, id: &str) -> String {
        super::test_idp::sign(key, document, "SIG", id, &[])
    }

    fn response(name_id: &str) -> String {
        format!(
            "<samlp:Response xmlns:samlp=\"{SAMLP}\" ID=\"_r1\" Version=\"2.0\">\
             <saml:Issuer xmlns:saml=\"{SAML}\">https://idp.example.com</saml:Issuer>SIG\
             <saml:Assertion xmlns:saml=\"{SAML}\" ID=\"_a1\"><saml:Subject>\
             <saml:NameID>{name_id}</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"
        )
    }

    fn verify_text(text: &str, certificate: &[u8]) -> Result<String, XmlDsigError> {
        let document = parse(text)?;
        let signature = document
            .descendants()
            .find(|n| {
                n.tag_name().name() == "Signature" && n.tag_name().namespace() == Some(DSIG_NS)
            })
            .ok_or_else(|| refused("no signature"))?;
        verify_enveloped(signature, certificate)
            .map(|node| node.attribute("ID").unwrap_or_default().to_owned())
    }

    #[test]
    fn a_genuine_signature_verifies_and_names_the_signed_element() {
        let (key, certificate) = idp();
        let signed = sign(&key, &response("ana@example.com"), "_r1");
        assert_eq!(verify_text(&signed, &certificate), Ok("_r1".to_owned()));
        let (_, other) = idp();
        assert!(
            verify_text(&signed, &other)
                .unwrap_err()
                .0
                .contains("does not verify")
        );
    }

    #[test]
    fn forged_and_wrapped_documents_are_refused() {
        let (key, certificate) = idp();
        let genuine = sign(&key, &response("ana@example.com"), "_r1");
        let swap = |from: &str, to: &str| {
            assert!(genuine.contains(from), "{from}");
            genuine.replacen(from, to, 1)
        };
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "changed content",
                swap("ana@example.com", "eve@example.com"),
                "digest mismatch",
            ),
            (
                "reference to another element (wrapping)",
                swap("URI=\"#_r1\"", "URI=\"#_a1\""),
                "not to the element that holds it",
            ),
            (
                "duplicate ID (a wrapped copy)",
                swap("ID=\"_a1\"", "ID=\"_r1\""),
                "appears twice",
            ),
            (
                "SHA-1 digest",
                swap(SHA256, "http://www.w3.org/2000/09/xmldsig#sha1"),
                "digest algorithm",
            ),
            (
                "RSA-SHA1 signature",
                swap(ECDSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
                "signature algorithm",
            ),
            (
                "HMAC signature",
                swap(ECDSA_SHA256, "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
                "signature algorithm",
            ),
            (
                "canonicalisation with comments",
                swap(
                    &format!("<ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>"),
                    "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#WithComments\"/>",
                ),
                "canonicalisation",
            ),
            (
                "no enveloped transform",
                swap(
                    &format!("<ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/>"),
                    "",
                ),
                "transforms",
            ),
            (
                "two references",
                swap(
                    "</ds:Reference>",
                    "</ds:Reference><ds:Reference URI=\"#_a1\"/>",
                ),
                "more than one Reference",
            ),
            (
                "DOCTYPE (XXE)",
                format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{genuine}"),
                "does not parse",
            ),
            ("not XML", "<samlp:Response".to_owned(), "does not parse"),
        ];
        for (name, forged, reason) in cases {
            let error = verify_text(&forged, &certificate).expect_err(name);
            assert!(error.0.contains(reason), "{name}: {}", error.0);
        }
        // The signature moved out of the element it signs (into the assertion).
        let document = parse(&genuine).unwrap();
        let signature = document
            .descendants()
            .find(|n| n.tag_name().name() == "Signature")
            .unwrap();
        let text = genuine.replace(&genuine[signature.range()], "");
        let moved = text.replacen(
            "<saml:Subject>",
            &format!("{}<saml:Subject>", &genuine[signature.range()]),
            1,
        );
        let error = verify_text(&moved, &certificate).unwrap_err();
        assert!(
            error.0.contains("not to the element that holds it"),
            "{}",
            error.0
        );
    }

    #[test]
    fn oversized_deep_and_namespace_heavy_documents_are_refused() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(DEPTH_MAX + 1),
            "</a>".repeat(DEPTH_MAX + 1)
        );
        assert!(parse(&deep).unwrap_err().0.contains("too deep"));
        let shallow = format!("{}{}", "<a>".repeat(DEPTH_MAX), "</a>".repeat(DEPTH_MAX));
        assert!(parse(&shallow).is_ok());
        let declarations: String = (0..=NAMESPACE_DECLARATIONS_MAX)
            .map(|n| format!(" xmlns:n{n}=\"urn:n{n}\""))
            .collect();
        assert!(
            parse(&format!("<a{declarations}/>"))
                .unwrap_err()
                .0
                .contains("namespaces")
        );
        let large = format!("<a>{}</a>", "x".repeat(DOCUMENT_BYTES_MAX));
        assert!(parse(&large).unwrap_err().0.contains("too large"));
    }

    #[test]
    fn a_name_is_written_as_the_parser_read_it() {
        // U+1680 is a name character to XML and whitespace to Unicode: a canonical form
        // written up to it would match a differently named element's.
        let ogham = "<r><saml:AttributeStatement\u{1680}x xmlns:saml=\"urn:x\"/></r>";
        let plain = "<r><saml:AttributeStatement xmlns:saml=\"urn:x\"/></r>";
        let (ogham, plain) = (parse(ogham).unwrap(), parse(plain).unwrap());
        assert_ne!(
            canonicalize(ogham.root_element(), None, &[]),
            canonicalize(plain.root_element(), None, &[]),
            "a renamed element changes the canonical form (and so the digest)"
        );
        assert!(parse("<r>\n<a\tb=\"1\"\n/></r>").is_ok());
    }

    #[test]
    fn a_comment_inside_a_signed_value_is_read_as_part_of_it() {
        let (key, certificate) = idp();
        let signed = sign(&key, &response("ana@example.com.evil.example"), "_r1");
        // A comment added after signing changes nothing canonical: still verified…
        let injected = signed.replacen(
            "ana@example.com.evil.example",
            "ana@example.com<!---->.evil.example",
            1,
        );
        assert_eq!(verify_text(&injected, &certificate), Ok("_r1".to_owned()));
        // …and the value read is the whole one, not the part before the comment.
        let document = parse(&injected).unwrap();
        let name_id = document
            .descendants()
            .find(|n| n.tag_name().name() == "NameID")
            .unwrap();
        assert_eq!(element_text(name_id), "ana@example.com.evil.example");
    }

    #[test]
    fn ecdsa_values_become_der() {
        assert_eq!(
            ecdsa_der(&[0, 1, 0x80, 2]),
            Some(vec![
                0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x03, 0x00, 0x80, 0x02
            ])
        );
        assert_eq!(
            ecdsa_der(&[0, 0]),
            Some(vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00])
        );
        assert_eq!(ecdsa_der(&[]), None);
        assert_eq!(ecdsa_der(&[1, 2, 3]), None);
    }
}
