//! Incident response over HTTPS, one module per slice, named as in every crate: services,
//! integrations, alerts (and the real Alertmanager; the PagerDuty-compatible route with
//! PagerDuty's client and Alertmanager's `pagerduty_configs`), alert rules, incidents,
//! schedules (and `schedules_oracle`: on-call times at daylight-saving changes against an
//! independent oracle), escalation policies, escalations, notifications and the contact methods delegates
//! deliver them to. Here: what they
//! share — a service, an integration with its credential, sending a webhook, a generic
//! event, reading an incident, a user with a token.

mod alert_rules;
mod alerts;
mod alerts_alertmanager;
mod alerts_pagerduty;
mod contact_methods;
mod escalation_policies;
mod escalations;
mod incidents;
mod integrations;
mod notifications;
mod runbook_executions;
mod runbooks;
mod schedules;
mod schedules_oracle;
mod services;
pub(crate) mod slo_openslo;
mod slo_pulls;
pub(crate) mod slo_remote_write;
mod slo_windows_oracle;
mod slos;

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

pub(crate) const PROJECT: &str = "/api/v1/orgs/default/projects/default";

pub(crate) struct Hook {
    pub(crate) path: String,
    pub(crate) token: Option<String>,
    pub(crate) basic: Option<(String, String)>,
    pub(crate) secret: Option<String>,
}

pub(crate) struct HookReply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl HookReply {
    pub(crate) fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub(crate) async fn service(server: &TestServer, identifier: &str) {
    service_in(server, PROJECT, identifier).await;
}

/// A service in the project at `project` (an API path).
pub(crate) async fn service_in(server: &TestServer, project: &str, identifier: &str) {
    let created = server
        .post(
            &format!("{project}/services"),
            &server.admin_token,
            json!({"identifier": identifier, "name": identifier}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

pub(crate) async fn integration(server: &TestServer, service: &str, body: Value) -> Hook {
    integration_in(server, PROJECT, service, body).await
}

/// An integration of a service of the project at `project` (an API path).
pub(crate) async fn integration_in(
    server: &TestServer,
    project: &str,
    service: &str,
    body: Value,
) -> Hook {
    let created = server
        .post(
            &format!("{project}/services/{service}/integrations"),
            &server.admin_token,
            body,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let text = |key: &str| created.body[key].as_str().map(str::to_owned);
    for secret in [text("token"), text("password"), text("secret")]
        .into_iter()
        .flatten()
    {
        rampart_testkit::remember_secret(&secret);
    }
    Hook {
        path: created.body["integration"]["url_path"]
            .as_str()
            .unwrap()
            .to_owned(),
        token: text("token"),
        basic: text("username").zip(text("password")),
        secret: text("secret"),
    }
}

pub(crate) async fn send(
    server: &TestServer,
    hook: &Hook,
    body: &[u8],
    extra: &[(&str, String)],
) -> HookReply {
    let mut request = server
        .client
        .post(format!("{}{}", server.url, hook.path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(token) = &hook.token {
        request = request.bearer_auth(token);
    }
    if let Some((user, password)) = &hook.basic {
        request = request.basic_auth(user, Some(password));
    }
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    HookReply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub(crate) fn generic(key: &str, action: &str, summary: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"dedup_key": key, "action": action, "summary": summary,
                               "severity": "critical", "labels": {"team": "web"}}),
    )
    .unwrap()
}

pub(crate) async fn incident(server: &TestServer, number: u64) -> Value {
    let reply = server
        .get(
            &format!("{PROJECT}/incidents/{number}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

async fn user(server: &TestServer, email: &str) -> (String, String) {
    crate::platform::access::user_with_token(server, email).await
}

/// Grants the user `id` the role `role` on the project.
async fn grant_role(server: &TestServer, id: &str, role: &str) {
    let granted = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            &server.admin_token,
            json!({"principal": format!("user:{id}"), "role": role}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
}

/// A new user holding `role` on the project: (id, token).
async fn user_with_role(server: &TestServer, email: &str, role: &str) -> (String, String) {
    let (id, token) = user(server, email).await;
    grant_role(server, &id, role).await;
    (id, token)
}

/// A real Prometheus (Debian's `prometheus`) on a free loopback port with the
/// configuration `config` writes for that port, its data in `dir`; killed when dropped.
pub(crate) fn spawn_prometheus(
    dir: &std::path::Path,
    config: impl FnOnce(u16) -> String,
) -> (tokio::process::Child, u16) {
    let port = alerts_alertmanager::free_port();
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, config(port)).unwrap();
    let child = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus (scripts/install-test-deps.sh installs it)");
    (child, port)
}
