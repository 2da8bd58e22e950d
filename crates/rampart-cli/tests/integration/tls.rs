//! TLS 1.3 only, certificate hot reload, plain HTTP refused on the TLS port, and the
//! loopback-only plain listener.

use std::sync::Arc;
use std::time::Duration;

use rampart_testkit::{Options, StatusCode, TestServer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn client_config(
    ca: &std::path::Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth()
}

async fn handshake(
    server: &TestServer,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(client_config(&server.ca_cert, versions)));
    let stream = TcpStream::connect(server.server().https_addr).await?;
    connector
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
}

#[tokio::test]
async fn only_tls_1_3_is_accepted() {
    let server = TestServer::start().await;
    let tls13 = handshake(&server, &[&rustls::version::TLS13])
        .await
        .unwrap();
    assert_eq!(
        tls13.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let tls12 = handshake(&server, &[&rustls::version::TLS12]).await;
    assert!(
        tls12.is_err(),
        "a TLS 1.2-only client must fail the handshake"
    );
    // The server still serves after refusing it.
    assert_eq!(
        server
            .request(reqwest::Method::GET, "/healthz", None, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn plain_http_to_the_tls_port_gets_a_clear_error() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.server().https_addr)
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"https_required\""), "{answer}");
}

fn peer_fingerprint(stream: &tokio_rustls::client::TlsStream<TcpStream>) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0]
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn a_configured_certificate_is_reloaded_when_it_changes_on_disk() {
    let certs = tempfile::tempdir().unwrap();
    let first = rampart_cli::tls_files::ensure_self_signed(&certs.path().join("a")).unwrap();
    let second = rampart_cli::tls_files::ensure_self_signed(&certs.path().join("b")).unwrap();
    let live_cert = certs.path().join("live.crt");
    let live_key = certs.path().join("live.key");
    std::fs::copy(&first.cert, &live_cert).unwrap();
    std::fs::copy(&first.key, &live_key).unwrap();
    let (cert, key) = (live_cert.clone(), live_key.clone());
    let mut server = TestServer::start_with(Options {
        configure: Some(Box::new(move |config| {
            config.tls.cert_file = Some(cert);
            config.tls.key_file = Some(key);
        })),
        ..Options::default()
    })
    .await;
    // Trust both certificates, as a client would during a rotation.
    let bundle = certs.path().join("bundle.pem");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&first.cert).unwrap(),
        std::fs::read_to_string(&second.cert).unwrap()
    );
    std::fs::write(&bundle, both).unwrap();
    server.ca_cert = bundle;
    let before = peer_fingerprint(
        &handshake(&server, &[&rustls::version::TLS13])
            .await
            .unwrap(),
    );
    assert_eq!(
        before,
        std::fs::read(&first.cert)
            .map(|pem| {
                CertificateDer::from_pem_slice(&pem)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            })
            .unwrap()
    );

    std::fs::copy(&second.key, &live_key).unwrap();
    std::fs::copy(&second.cert, &live_cert).unwrap();
    let expected = CertificateDer::from_pem_file(&second.cert)
        .unwrap()
        .as_ref()
        .to_vec();
    let mut reloaded = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(stream) = handshake(&server, &[&rustls::version::TLS13]).await
            && peer_fingerprint(&stream) == expected
        {
            reloaded = true;
            break;
        }
    }
    assert!(reloaded, "the new certificate was not picked up");
    server.restart().await;
}

#[tokio::test]
async fn the_plain_http_listener_serves_on_loopback() {
    let server = TestServer::start_with(Options {
        configure: Some(Box::new(|config| {
            config.server.plain_http_listen = Some("127.0.0.1:0".into())
        })),
        ..Options::default()
    })
    .await;
    let addr = server.server().plain_http_addr.unwrap();
    let reply = reqwest::Client::builder()
        .use_preconfigured_tls(
            rampart_cli::client::tls_client_config(Some(&server.ca_cert)).unwrap(),
        )
        .build()
        .unwrap()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}
