//! The self-signed certificate made on first start: `<data-dir>/tls/server.crt` and
//! `server.key` (0600), with subject alternative names `localhost` and `127.0.0.1`, so a
//! client can trust the certificate file as its CA.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rampart_http::server::TlsFiles;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Returns the certificate files to serve, creating the self-signed pair if needed.
pub fn ensure_self_signed(data_dir: &Path) -> Result<TlsFiles> {
    let dir = data_dir.join("tls");
    let files = TlsFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .context("generating the self-signed certificate")?;
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut key_file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&files.key)
            .with_context(|| format!("writing {}", files.key.display()))?;
        key_file.write_all(generated.signing_key.serialize_pem().as_bytes())?;
    }
    std::fs::write(&files.cert, generated.cert.pem())
        .with_context(|| format!("writing {}", files.cert.display()))?;
    Ok(files)
}

/// SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex.
pub fn fingerprint(cert_file: &Path) -> Result<String> {
    let cert = CertificateDer::pem_file_iter(cert_file)?
        .next()
        .context("no certificate in the file")??;
    let digest = rampart_crypto::digest::sha256(cert.as_ref());
    Ok(digest
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}
