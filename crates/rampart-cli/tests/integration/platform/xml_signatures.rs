//! The SAML signature verifier (`rampart_crypto::xmldsig`) against independent
//! implementations, over generated documents (namespaces declared at random depths,
//! redundant and undeclared default namespaces, prefixed attributes, `xml:lang`,
//! character references, CDATA, comments, processing instructions): its exclusive
//! canonical form equals libxml2's (`xmllint --exc-c14n`), and what `xmlsec1` signs
//! (RSA and ECDSA, SHA-256 to SHA-512) verifies, while a changed document or another key
//! does not.

use rampart_crypto::xmldsig;
use tokio::process::Command;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const NAMESPACES: &[(&str, &str)] = &[
    ("saml", "urn:oasis:names:tc:SAML:2.0:assertion"),
    ("samlp", "urn:oasis:names:tc:SAML:2.0:protocol"),
    ("xs", "http://www.w3.org/2001/XMLSchema"),
    ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ("a", "urn:example:a"),
    ("b", "urn:example:b?x=1"),
];

fn text_piece(rng: &mut Rng) -> String {
    let pieces = [
        "plain",
        " spaced  out ",
        "&amp;",
        "&lt;",
        "&gt;",
        "&#13;",
        "&#x9;",
        "\n",
        "\"q\"",
        "'",
        "é✓",
        "<![CDATA[a<b&c]]>",
        "<!-- c -->",
        "<?pi data?>",
        "&#xD;&#xA;",
    ];
    let mut out = String::new();
    for _ in 0..(rng.next() % 4) {
        out.push_str(rng.pick::<&str>(&pieces[..]));
    }
    out
}

fn attr_value(rng: &mut Rng) -> String {
    let pieces = [
        "v",
        "a b",
        "&amp;",
        "&lt;",
        "&quot;",
        "&#9;",
        "&#10;",
        "&#13;",
        ">",
        "tab\there",
        "x\ny",
        "é",
    ];
    let mut out = String::new();
    for _ in 0..(rng.next() % 4) {
        out.push_str(rng.pick::<&str>(&pieces[..]));
    }
    out
}

/// An element with random namespaces, attributes and children. `declared` are the
/// prefixes declared by ancestors.
fn element(rng: &mut Rng, depth: u32, declared: &mut Vec<String>, id: &mut u32, out: &mut String) {
    let mut here = Vec::new();
    let mut decls = String::new();
    for (prefix, uri) in NAMESPACES {
        if rng.chance(15) {
            decls.push_str(&format!(
                " xmlns:{prefix}=\"{}\"",
                uri.replace('&', "&amp;")
            ));
            here.push(prefix.to_string());
        }
    }
    if rng.chance(15) {
        decls.push_str(" xmlns=\"urn:example:default\"");
    } else if rng.chance(8) {
        decls.push_str(" xmlns=\"\"");
    }
    declared.extend(here.iter().cloned());
    let prefix = if rng.chance(60) && !declared.is_empty() {
        Some(rng.pick(declared).clone())
    } else {
        None
    };
    let name = *rng.pick(&[
        "Assertion",
        "Subject",
        "NameID",
        "Attribute",
        "Value",
        "Item",
    ]);
    let qname = match &prefix {
        Some(prefix) => format!("{prefix}:{name}"),
        None => name.to_string(),
    };
    out.push('<');
    out.push_str(&qname);
    out.push_str(&decls);
    *id += 1;
    out.push_str(&format!(" ID=\"_id{id}\""));
    let mut used = std::collections::BTreeSet::new();
    for _ in 0..(rng.next() % 4) {
        let local = rng.pick(&["z", "a", "Name", "type", "m"][..]).to_string();
        let attr_prefix = if rng.chance(40) && !declared.is_empty() {
            Some(rng.pick(declared).clone())
        } else {
            None
        };
        let attr_qname = match attr_prefix {
            Some(p) => format!("{p}:{local}"),
            None => local,
        };
        // Distinct expanded names: skip a qname used already (prefixes may share a URI).
        if !used.insert(attr_qname.clone()) {
            continue;
        }
        out.push_str(&format!(" {attr_qname}=\"{}\"", attr_value(rng)));
    }
    if rng.chance(15) {
        out.push_str(" xml:lang=\"en\"");
    }
    if depth > 3 || rng.chance(20) {
        out.push_str("/>");
    } else {
        out.push('>');
        for _ in 0..(rng.next() % 4) {
            out.push_str(&text_piece(rng));
            element(rng, depth + 1, declared, id, out);
        }
        out.push_str(&text_piece(rng));
        out.push_str(&format!("</{qname}>"));
    }
    for _ in &here {
        declared.pop();
    }
}

/// A generated document (deterministic per seed).
fn document(seed: u64) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = String::new();
    let mut declared = Vec::new();
    let mut id = 0;
    element(&mut rng, 0, &mut declared, &mut id, &mut out);
    out
}

async fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|error| {
            panic!("{program} (installed by scripts/install-test-deps.sh): {error}")
        })
}

/// Exclusive canonicalisation without comments; xmllint's is with them, so they are
/// taken out of its output (a comment cannot occur in canonical attribute values, where
/// `<` is escaped).
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("-->").unwrap() + start + 3;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn canonical_form_matches_libxml2_on_generated_documents() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for seed in 1..400u64 {
        let text = document(seed);
        let path = dir.path().join(format!("{seed}.xml"));
        std::fs::write(&path, &text).unwrap();
        let output = run("xmllint", &["--exc-c14n", path.to_str().unwrap()]).await;
        if !output.status.success() {
            assert!(
                xmldsig::parse(&text).is_err(),
                "{seed}: libxml2 refused what we accept: {text}"
            );
            continue;
        }
        let expected = without_comments(&String::from_utf8(output.stdout).unwrap());
        let parsed =
            xmldsig::parse(&text).unwrap_or_else(|error| panic!("{seed}: {error}: {text}"));
        let ours = xmldsig::canonicalize(parsed.root_element(), None, &[]);
        assert_eq!(ours, expected, "seed {seed}: {text}");
        checked += 1;
    }
    assert!(checked > 300, "only {checked} documents were compared");
}

const TEMPLATE: &str = r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="SIGALG"/><ds:Reference URI="#_resp"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="DIGALG"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>"##;

/// The DER form of the PEM certificate `pem` (as metadata carries it, base64 aside).
async fn certificate_der(pem: &std::path::Path) -> Vec<u8> {
    let der = pem.with_extension("der");
    let output = run(
        "openssl",
        &[
            "x509",
            "-in",
            pem.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(der).unwrap()
}

async fn self_signed(
    dir: &std::path::Path,
    name: &str,
    key_args: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    let mut args = vec![
        "req",
        "-x509",
        "-nodes",
        "-subj",
        "/CN=idp.example.com",
        "-days",
        "2",
    ];
    args.extend_from_slice(key_args);
    let (key_text, cert_text) = (
        key.to_str().unwrap().to_owned(),
        cert.to_str().unwrap().to_owned(),
    );
    args.extend_from_slice(&["-keyout", &key_text, "-out", &cert_text]);
    let output = run("openssl", &args).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (key, cert)
}

/// Signs `text` with xmlsec1 (the element `id_node`'s `ID` names what the template's
/// reference points at); `None` when xmlsec1 refuses the document — which must then be
/// one the verifier refuses to parse too.
async fn xmlsec1_sign(
    dir: &std::path::Path,
    seed: u64,
    text: &str,
    (key, cert): (&std::path::Path, &std::path::Path),
    id_node: &str,
) -> Option<String> {
    let unsigned = dir.join(format!("{seed}.xml"));
    let signed_path = dir.join(format!("{seed}.signed.xml"));
    std::fs::write(&unsigned, text).unwrap();
    let keys = format!("{},{}", key.display(), cert.display());
    let output = run(
        "xmlsec1",
        &[
            "--sign",
            "--privkey-pem",
            &keys,
            "--id-attr:ID",
            id_node,
            "--output",
            signed_path.to_str().unwrap(),
            unsigned.to_str().unwrap(),
        ],
    )
    .await;
    if !output.status.success() {
        assert!(
            xmldsig::parse(text).is_err(),
            "{seed}: xmlsec1 refused what we accept: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    Some(std::fs::read_to_string(&signed_path).unwrap())
}

#[tokio::test]
async fn what_xmlsec1_signs_verifies_and_a_change_or_another_key_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (rsa_key, rsa_cert) = self_signed(dir.path(), "rsa", &["-newkey", "rsa:2048"]).await;
    let (ec_key, ec_cert) = self_signed(
        dir.path(),
        "ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    )
    .await;
    let (rsa_der, ec_der) = (
        certificate_der(&rsa_cert).await,
        certificate_der(&ec_cert).await,
    );
    let suites = [
        (
            &rsa_key,
            &rsa_cert,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ),
        (
            &rsa_key,
            &rsa_cert,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
        ),
        (
            &ec_key,
            &ec_cert,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha512",
        ),
    ];
    let mut verified = 0;
    for seed in 1..120u64 {
        let (key, cert, signature_method, digest_method) = suites[(seed % 3) as usize];
        let template = TEMPLATE
            .replace("SIGALG", signature_method)
            .replace("DIGALG", digest_method);
        let text = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_resp\" Version=\"2.0\">{template}{}</samlp:Response>",
            document(seed)
        );
        let keys = (key.as_path(), cert.as_path());
        let Some(signed) = xmlsec1_sign(
            dir.path(),
            seed,
            &text,
            keys,
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        )
        .await
        else {
            continue;
        };
        let parsed = xmldsig::parse(&signed).unwrap();
        let signature = parsed
            .descendants()
            .find(|node| {
                node.tag_name().name() == "Signature"
                    && node.tag_name().namespace() == Some(xmldsig::DSIG_NS)
            })
            .unwrap();
        let (der, other) = if cert == &rsa_cert {
            (&rsa_der, &ec_der)
        } else {
            (&ec_der, &rsa_der)
        };
        let element = xmldsig::verify_enveloped(signature, der)
            .unwrap_or_else(|error| panic!("{seed}: {error}\n{signed}"));
        assert_eq!(element.attribute("ID"), Some("_resp"));
        verified += 1;
        assert!(
            xmldsig::verify_enveloped(signature, other).is_err(),
            "{seed}: another key"
        );
        // Renaming an ID inside the signed element is caught.
        if let Some(at) = signed.find("_id1\"") {
            let tampered = format!("{}_zz1{}", &signed[..at], &signed[at + 4..]);
            let parsed = xmldsig::parse(&tampered).unwrap();
            let signature = parsed
                .descendants()
                .find(|node| node.tag_name().name() == "Signature")
                .unwrap();
            let error = xmldsig::verify_enveloped(signature, der).unwrap_err();
            assert!(error.0.contains("digest mismatch"), "{seed}: {error}");
        }
    }
    assert!(verified > 100, "only {verified} documents were verified");
}

/// The shape identity providers send most: a signed `Assertion` inside a `Response`
/// that declares the assertion's prefixes (and a default namespace), with an
/// `InclusiveNamespaces PrefixList` (`xs` for `xsi:type` values, `#default`) and tags
/// spanning lines — signed by xmlsec1, verified here.
#[tokio::test]
async fn an_assertion_xmlsec1_signs_inside_a_response_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = self_signed(dir.path(), "rsa", &["-newkey", "rsa:2048"]).await;
    let der = certificate_der(&cert).await;
    let template = TEMPLATE
        .replace("#_resp", "#_a")
        .replace(
            "SIGALG",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        )
        .replace("DIGALG", "http://www.w3.org/2001/04/xmlenc#sha256")
        .replace(
            "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">\
             <ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" \
             PrefixList=\"xs #default\"/></ds:Transform>",
        );
    let mut verified = 0;
    for seed in 1..60u64 {
        let text = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
             xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" \
             xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns=\"urn:example:default\" ID=\"_r\">\n<saml:Assertion\n  ID=\"_a\"\n  \
             Version=\"2.0\">{template}<saml:AttributeValue xsi:type=\"xs:string\">v\
             </saml:AttributeValue>{}</saml:Assertion></samlp:Response>",
            document(seed)
        );
        let keys = (key.as_path(), cert.as_path());
        let Some(signed) = xmlsec1_sign(
            dir.path(),
            seed,
            &text,
            keys,
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        )
        .await
        else {
            continue;
        };
        let parsed = xmldsig::parse(&signed).unwrap();
        let signature = parsed
            .descendants()
            .find(|node| node.tag_name().name() == "Signature")
            .unwrap();
        let element = xmldsig::verify_enveloped(signature, &der)
            .unwrap_or_else(|error| panic!("{seed}: {error}\n{signed}"));
        assert_eq!(element.attribute("ID"), Some("_a"));
        verified += 1;
    }
    assert!(verified > 50, "only {verified} documents were verified");
}
