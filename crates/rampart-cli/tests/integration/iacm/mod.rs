//! Infrastructure as code over HTTPS, one module per slice, named as in every crate:
//! workspaces, state versions, the Terraform protocol adapter (`tf_backend`, raw HTTP) and
//! the stock Terraform CLI against it (`terraform`); the offline `rampart cost estimate`
//! (`cost_estimates`) and the policy engine against the real OPA (`policy_engine`). Here:
//! what they share — a raw backend request with Basic auth, a state body, a lock body,
//! the workspace paths.

mod cost_estimates;
mod drift_checks;
mod plans;
mod policy_engine;
mod policy_sets;
pub(crate) mod runs;
mod state_versions;
mod terraform;
mod tf_backend;
mod variables;
mod workspaces;

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

pub(crate) const WS: &str = "/tf/v1/default/default/prod";

/// One raw backend request with Basic auth (username ignored, password = token).
pub(crate) struct Tf<'a> {
    pub(crate) server: &'a TestServer,
}

pub(crate) struct TfReply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl TfReply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Tf<'_> {
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> TfReply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .server
            .client
            .request(method, format!("{}{path}", self.server.url))
            .body(body.to_vec());
        if let Some(token) = token {
            request = request.basic_auth("terraform", Some(token));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        TfReply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }
}

pub(crate) fn state(serial: u64, lineage: &str, resources: usize) -> Vec<u8> {
    let resources: Vec<Value> = (0..resources)
        .map(|n| {
            json!({"mode": "managed", "type": "terraform_data", "name": format!("r{n}"),
                   "provider": "provider[\"terraform.io/builtin/terraform\"]",
                   "instances": [{"schema_version": 0, "attributes": {"id": format!("id-{n}")}}]})
        })
        .collect();
    serde_json::to_vec_pretty(&json!({
        "version": 4, "terraform_version": "1.15.5", "serial": serial, "lineage": lineage,
        "outputs": {}, "resources": resources, "check_results": null,
    }))
    .unwrap()
}

pub(crate) fn lock(id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "", "Who": "ci@runner",
        "Version": "1.15.5", "Created": "2026-11-23T10:00:00Z", "Path": ""
    }))
    .unwrap()
}

const API: &str = "/api/v1/orgs/default/projects/default/workspaces";
