//! The trust of TLS connections made as a client (the CLI to the server, a delegate to
//! receivers, the server to an identity provider): a rustls configuration on aws-lc-rs
//! that trusts the PEM certificates given — the system's bundle, or a private CA.

use std::sync::Arc;

/// The system's trusted roots (Debian's bundle).
pub const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A rustls client configuration trusting exactly the certificates in `pem`, speaking
/// `versions`. The error says what is wrong, in words for an operator.
pub fn client_config(
    pem: &[u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|_| "the trusted certificates do not parse as PEM".to_owned())?;
        roots
            .add(cert)
            .map_err(|error| format!("a trusted certificate is not usable: {error}"))?;
    }
    if roots.is_empty() {
        return Err("no trusted certificate was given".into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
