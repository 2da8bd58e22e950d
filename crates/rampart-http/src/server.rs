//! Serving: the assembled router, the TLS 1.3 listener (rustls on aws-lc-rs, provider
//! passed explicitly), certificate hot reload, the optional loopback plain-HTTP listener,
//! and graceful shutdown.
//!
//! A client that speaks plain HTTP to the TLS port gets a one-off `400` JSON answer
//! (`https_required`) instead of a failed handshake, so the mistake is obvious.

use rampart_domain::ErrorCode;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::AppState;
use crate::edge::edge;
use crate::error::ApiError;
use crate::handlers::platform::health::OpenApiJson;
use crate::routes::{RouteSpec, RouteTable};

/// Time a client gets to send its first bytes and finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client gets to send request headers (slow-loris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 connections are pinged this often and closed if the ping is not answered in
/// `HTTP2_KEEP_ALIVE_TIMEOUT`.
const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Open connections per listener; further clients wait in the kernel's accept queue.
const CONNECTIONS_MAX: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Builds the whole router: every route behind its enforcement, fallbacks that answer
/// in the API's error format, and the edge middleware around everything.
pub fn build_router(state: AppState) -> (Router, Vec<RouteSpec>) {
    let mut table = RouteTable::new();
    crate::handlers::register_all(&mut table, &state.settings);
    let (router, specs) = table.into_parts(&state);
    let document = OpenApiJson(Arc::new(crate::openapi::document_json_for(&specs)));
    // The Terraform state backend and incoming webhooks: their own methods, auth and
    // body limits.
    // The web UI under `/`, each page held to the access of the API route it stands for.
    let router = crate::web::mount(router, &specs);
    let router = crate::handlers::mount_outside_table(router)
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route").into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this route does not accept that method",
            )
            .into_response()
        })
        .layer(axum::Extension(document))
        .layer(from_fn_with_state(state.clone(), edge))
        .with_state(state);
    (router, specs)
}

/// Files of the server certificate and key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn load_certified_key(
    files: &TlsFiles,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, ServeError> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| ServeError::Tls(format!("{}: {e}", files.cert.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServeError::Tls(format!("{}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "{}: no certificate found",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| ServeError::Tls(format!("{}: {e}", files.key.display())))?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| ServeError::Tls(format!("{}: {e}", files.key.display())))?;
    let certified = CertifiedKey::new(certs, signing_key);
    certified
        .keys_match()
        .map_err(|e| ServeError::Tls(format!("certificate and key do not match: {e}")))?;
    Ok(certified)
}

fn modified(path: &Path) -> FileStamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Serves the current certificate, and swaps it when the files change on disk.
/// A file's modification time and size, to notice that it changed.
type FileStamp = Option<(SystemTime, u64)>;

#[derive(Debug)]
pub struct ReloadingCertResolver {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<(Arc<CertifiedKey>, FileStamp, FileStamp)>,
}

impl ReloadingCertResolver {
    pub fn new(files: TlsFiles, provider: Arc<CryptoProvider>) -> Result<Self, ServeError> {
        let key = load_certified_key(&files, &provider)?;
        let stamps = (modified(&files.cert), modified(&files.key));
        Ok(Self {
            current: RwLock::new((Arc::new(key), stamps.0, stamps.1)),
            files,
            provider,
        })
    }

    /// Reloads when either file changed; keeps the old certificate if the new files do
    /// not load (a half-written pair during a renewal, for instance).
    pub fn reload_if_changed(&self) {
        let stamps = (modified(&self.files.cert), modified(&self.files.key));
        let unchanged = self
            .current
            .read()
            .map(|current| (current.1, current.2) == stamps)
            .unwrap_or(true);
        if unchanged {
            return;
        }
        match load_certified_key(&self.files, &self.provider) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = (Arc::new(key), stamps.0, stamps.1);
                }
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(error) => {
                tracing::warn!(%error, "TLS certificate changed but does not load; keeping the previous one");
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| current.0.clone())
    }
}

/// The rustls server configuration: TLS 1.3 only, aws-lc-rs, HTTP/2 and HTTP/1.1.
pub fn tls_config(
    resolver: Arc<ReloadingCertResolver>,
) -> Result<rustls::ServerConfig, ServeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Starts the background task that polls the certificate files.
pub fn spawn_cert_reloader(
    resolver: Arc<ReloadingCertResolver>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => resolver.reload_if_changed(),
                _ = shutdown.changed() => return,
            }
        }
    });
}

async fn refuse_plain_http(mut stream: TcpStream) {
    let body = serde_json::to_string(
        &ApiError::new(
            ErrorCode::HttpsRequired,
            "this port speaks HTTPS (TLS 1.3) only",
        )
        .body(),
    )
    .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    // Read what the client sent before closing, so the kernel does not answer unread
    // data with a reset that could discard our reply.
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(read) = tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await {
            if read == 0 {
                break;
            }
        }
    })
    .await;
}

fn connection_builder() -> ConnectionBuilder<TokioExecutor> {
    let mut builder = ConnectionBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(HTTP2_KEEP_ALIVE_INTERVAL))
        .keep_alive_timeout(HTTP2_KEEP_ALIVE_TIMEOUT);
    builder
}

fn peer_service(
    router: Router,
    peer: SocketAddr,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
        axum::http::Request<hyper::body::Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    let service = tower::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        },
    );
    hyper_util::service::TowerToHyperService::new(service)
}

/// Accepts connections on `listener` until `shutdown` turns true, then lets open
/// connections finish. With `tls`, every connection must complete a TLS 1.3 handshake.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    let connection_slots = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS_MAX));
    loop {
        let slot = tokio::select! {
            slot = connection_slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = connection_builder();
        match &acceptor {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _slot = slot;
                    // One deadline for the first bytes and the whole handshake.
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
                        let mut first = [0u8; 1];
                        match stream.peek(&mut first).await {
                            Ok(1) if first[0] != 0x16 => {
                                // Not a TLS handshake record: most likely plain HTTP.
                                refuse_plain_http(stream).await;
                                None
                            }
                            Ok(1) => match acceptor.accept(stream).await {
                                Ok(tls_stream) => Some(tls_stream),
                                Err(error) => {
                                    tracing::debug!(%error, %peer, "TLS handshake failed");
                                    None
                                }
                            },
                            _ => None,
                        }
                    })
                    .await;
                    let Ok(Some(tls_stream)) = handshake else {
                        return;
                    };
                    let connection = builder.serve_connection_with_upgrades(
                        TokioIo::new(tls_stream),
                        peer_service(router, peer),
                    );
                    let _ = watcher.watch(connection.into_owned()).await;
                });
            }
            None => {
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _slot = slot;
                    let connection = builder.serve_connection_with_upgrades(
                        TokioIo::new(stream),
                        peer_service(router, peer),
                    );
                    let _ = watcher.watch(connection.into_owned()).await;
                });
            }
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing");
        }
    }
    Ok(())
}
