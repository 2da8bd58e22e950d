//! The HTTP edge. Only this crate knows axum and HTTP.
//!
//! It owns: the route table ([`routes`]) in which every route declares its permission
//! where it is registered; the handlers ([`handlers`]), one module per resource in
//! `platform/`, `sre/` and `iacm/`, each registering its own routes; the extractors
//! ([`extract`]: JSON, query and typed path parameters in the API's error format); the
//! one enforcement point ([`enforce`]) that authenticates, resolves the scope and
//! authorises before any handler runs; the edge middleware ([`edge`]: request ids,
//! client IP, security headers, timeouts, logs, metrics); error rendering ([`error`]);
//! the OpenAPI document generated from the route table ([`openapi`]); the TLS 1.3
//! listener with certificate hot reload ([`server`]); and the draining of request bodies
//! a route left unread, so that every client reads its answer ([`unread_body`]).

pub mod convert;
pub mod edge;
pub mod enforce;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod unread_body;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use rampart_app::App;

/// Edge settings (validated by the configuration loader).
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Peers whose `X-Forwarded-For` is believed. Everyone else's is ignored.
    pub trusted_proxies: Vec<IpNet>,
    pub request_timeout: Duration,
    /// Serve `/metrics` without a token.
    pub metrics_public: bool,
    /// Serve `/readyz` without a token (for load balancers' health checks).
    pub readyz_public: bool,
    /// Default body limit of API routes.
    pub body_bytes_max: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            metrics_public: false,
            readyz_public: false,
            body_bytes_max: rampart_domain::limits::API_BODY_BYTES_MAX,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub settings: Arc<HttpSettings>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(app: App, settings: HttpSettings) -> Self {
        Self {
            app,
            settings: Arc::new(settings),
            metrics: Arc::new(metrics::Metrics::default()),
        }
    }
}
