//! The outermost middleware, run for every request (matched or not): request id, client
//! IP, timeout, draining a body the route left unread (`unread_body`), security headers,
//! the access log line and metrics.

use rampart_domain::ErrorCode;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use rampart_app::RequestMeta;

use crate::AppState;
use crate::error::ApiError;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Headers set on every response (SECURITY.md "Network").
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cache-control", "no-store"),
];

/// A client-supplied request id is kept only if it is short and plain (it ends up in
/// logs); otherwise a fresh one is made.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty()
                && value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The socket peer, unless the peer is a trusted proxy: then the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

pub async fn edge(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    #[allow(clippy::disallowed_methods)] // measuring latency for metrics, not reading time
    let started = std::time::Instant::now();
    let request_id = request_id(request.headers());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |info| info.0.ip());
    let client = client_ip(peer, request.headers(), &state.settings.trusted_proxies);
    let meta = RequestMeta {
        client_ip: client.to_string(),
        request_id: request_id.clone(),
    };
    let watched = crate::unread_body::watch(&mut request, state.settings.body_bytes_max);
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    // Health checks stay cheap and always answer; webhooks are limited per integration.
    let client_limited = !(route == "/healthz" || route.starts_with("/hooks/"));
    let admitted = if client_limited {
        state.app.admit_client(&meta)
    } else {
        Ok(())
    };
    request.extensions_mut().insert(meta);

    let mut response = match admitted {
        Err(refused) => ApiError::from(refused).into_response(),
        Ok(()) => {
            match tokio::time::timeout(state.settings.request_timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::new(
                    ErrorCode::RequestTimeout,
                    "the server did not finish the request in time",
                )
                .into_response(),
            }
        }
    };
    // What the route left unread of the body is drained before the answer goes out, so
    // that a client still writing it gets to read the answer.
    crate::unread_body::settle(watched, &mut response, state.settings.request_timeout).await;

    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        // A page may ask for a narrower relaxation of its own (the web UI's
        // `Referrer-Policy: same-origin`); every other response gets these.
        headers
            .entry(HeaderName::from_static(name))
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    if !headers.contains_key(header::CONTENT_TYPE) && response.status() != StatusCode::NO_CONTENT {
        // Nothing without a type, so nothing is sniffed.
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .record(method.as_str(), &route, status, elapsed);
    // The path template only: concrete paths and query strings may carry identifiers
    // that do not belong in logs.
    tracing::info!(
        target: "rampart::http",
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %request_id,
        client_ip = %client,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.2"),
        );
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let untrusted_peer: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            client_ip(untrusted_peer, &headers, &proxies),
            untrusted_peer
        );
        let proxy_peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(proxy_peer, &headers, &proxies),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy_peer, &HeaderMap::new(), &proxies),
            proxy_peer
        );
    }

    #[test]
    fn hostile_request_ids_are_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("a\"b{}"));
        assert_ne!(request_id(&headers), "a\"b{}");
    }
}
