//! `/api/v1/…` of the platform: one module per slice, named as in every crate (tenancy,
//! identity, auth, throttle, access, network, secrets, keys, delegates and their script sandbox, audit log; single sign-on, OpenID Connect in `sso` and SAML in `saml`). What the secrets and keys
//! tests share (a project's scope, creating a secret) is here.

pub mod access;
mod audit_log;
pub mod auth;
mod delegate_sandbox;
pub(crate) mod delegates;
mod identity;
mod keys;
mod network;
mod replicas;
mod saml;
mod secrets;
mod sso;
mod tenancy;
mod throttle;
mod xml_signatures;

use rampart_domain::platform::tenancy::Scope;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

const BASE: &str = "/api/v1/orgs/default/projects/default";

async fn project_scope(server: &TestServer, org: &str, project: &str) -> Scope {
    server
        .app()
        .resolve_scope(Some(org), Some(project))
        .await
        .unwrap()
        .scope()
}

async fn create_secret(server: &TestServer, base: &str, identifier: &str, value: &str) {
    let reply = server
        .post(
            &format!("{base}/secrets"),
            &server.admin_token,
            json!({"identifier": identifier, "name": identifier, "value": value}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}
