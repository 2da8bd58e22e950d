//! Tests generated from the route table: every route is walked, none is forgotten.

use rampart_app::Access;
use rampart_http::routes::RouteSpec;
use rampart_http::{AppState, HttpSettings};
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

fn specs(server: &TestServer) -> Vec<RouteSpec> {
    rampart_http::server::build_router(AppState::new(server.app().clone(), HttpSettings::default()))
        .1
}

/// Fills path parameters with values that exist (org and project) or plausible ids.
fn concrete(path: &str) -> String {
    path.replace("{org}", "default")
        .replace("{project}", "default")
        .replace("{user_id}", "01a20000-0000-7000-8000-000000000001")
        .replace("{token_id}", "01a20000-0000-7000-8000-000000000002")
        .replace(
            "{service_account_id}",
            "01a20000-0000-7000-8000-000000000003",
        )
}

#[tokio::test]
async fn every_route_that_is_not_public_refuses_a_request_without_credentials() {
    let server = TestServer::start().await;
    let specs = specs(&server);
    assert!(specs.len() > 30, "the table holds every route");
    let mut public = Vec::new();
    for spec in &specs {
        let reply = server
            .request(
                spec.method.clone(),
                &concrete(spec.path),
                None,
                Some(&json!({})),
            )
            .await;
        if spec.access == Access::Public {
            public.push(format!("{} {}", spec.method, spec.path));
            continue;
        }
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "authentication_required"),
            "{} {}",
            spec.method,
            spec.path
        );
    }
    // Public routes are few and deliberate.
    assert_eq!(
        public,
        [
            "GET /healthz",
            "GET /readyz",
            "GET /api/v1/openapi.json",
            "POST /api/v1/auth/login"
        ]
    );
}

#[tokio::test]
async fn no_input_makes_any_route_answer_500() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let bodies = [
        json!(null),
        json!([]),
        json!("text"),
        json!({"name": 12}),
        json!({"identifier": "\u{0000}", "name": "\u{202e}"}),
        json!({"email": "a@b", "display_name": "x".repeat(10_000)}),
        json!({"expires_in_days": u64::MAX, "name": "x"}),
        json!({"expires_at": "9999-12-31T23:59:59Z", "name": "x"}),
    ];
    for spec in specs(&server) {
        if spec.path == "/api/v1/auth/logout" {
            continue; // would end nothing but is covered elsewhere
        }
        for body in &bodies {
            for path in [
                concrete(spec.path),
                spec.path.replace(['{', '}'], ""),
                concrete(spec.path).replace("default", "..%2F..%2Fetc"),
            ] {
                let reply = server
                    .request(spec.method.clone(), &path, Some(&admin), Some(body))
                    .await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{} {path} with {body} → {}: {}",
                    spec.method,
                    reply.status,
                    reply.text
                );
            }
        }
    }
}

#[tokio::test]
async fn the_checked_in_openapi_document_is_the_one_served() {
    let server = TestServer::start().await;
    let reply = server
        .request(reqwest::Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["openapi"], "3.1.0");
    let served = reply.text;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var("RAMPART_UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == checked_in,
        "docs/openapi.json is stale: run `RAMPART_UPDATE_OPENAPI=1 cargo test -p rampart-cli --test integration openapi`"
    );
    // Each operation names its permission.
    let document: serde_json::Value = serde_json::from_str(&served).unwrap();
    let create_org = &document["paths"]["/api/v1/orgs"]["post"];
    assert_eq!(create_org["x-rampart-permission"], "org:create");
}
