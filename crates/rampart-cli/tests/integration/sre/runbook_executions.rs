//! Runbook executions with the real delegate agent (the `rampart` binary): a runbook
//! run on an incident runs a script in the sandbox and an HTTP step against a loopback
//! receiver, then notes and moves the incident — each step's output on the timeline,
//! secrets only where the steps use them and masked in what comes back. Who may start
//! one (`runbook:execute`, and the roles an input's value is restricted to), a
//! sensitive runbook waiting for a second person, a failing step ending the execution,
//! and bad requests refused with nothing started. Both engines.

use std::time::Duration;

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::contact_methods::{manual_clock, quiet_engine, received, sinks};
use super::{PROJECT, incident, user};
use crate::platform::delegates::running_agent;

const SECRET_VALUE: &str = "zq9-s3cr3t-deploy-token";

fn restart(http: u16) -> Value {
    json!({
        "description": "Restart the web tier",
        "inputs": [
            {"name": "ENV", "allowed": ["staging", "prod"], "default": "staging",
             "restricted": {"prod": ["production-operator"]}},
            {"name": "REPLICAS", "type": "integer", "default": 2}
        ],
        "secrets": [{"name": "DEPLOY_TOKEN", "secret": "deploy-token"}],
        "steps": [
            {"kind": "script", "name": "drain",
             "script": "echo \"draining $ENV to $REPLICAS with $DEPLOY_TOKEN\"; echo \"home=$HOME\"",
             "secrets": ["DEPLOY_TOKEN"], "limits": {"wall_seconds": 30}},
            {"kind": "http_request", "name": "restart", "method": "POST",
             "url": format!("http://127.0.0.1:{http}/hooks/{{{{inputs.ENV}}}}"),
             "headers": {"Authorization": "Bearer {{secrets.DEPLOY_TOKEN}}"},
             "body": "restart {{inputs.ENV}} with {{secrets.DEPLOY_TOKEN}}"},
            {"kind": "add_note", "name": "tell", "text": "web restarted in {{inputs.ENV}}"},
            {"kind": "set_status", "name": "watch", "status": "acknowledged"}
        ]
    })
}

async fn execution(server: &TestServer, id: &str) -> Value {
    let shown = server
        .get(
            &format!("{PROJECT}/runbook-executions/{id}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    shown.body
}

async fn ended(server: &TestServer, id: &str) -> Value {
    for _ in 0..300 {
        let shown = execution(server, id).await;
        if !matches!(
            shown["status"].as_str(),
            Some("running" | "awaiting_approval")
        ) {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "execution {id} never ended: {}",
        execution(server, id).await
    );
}

fn timeline_of(incident: &Value, kind: &str) -> Vec<Value> {
    incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == kind)
        .cloned()
        .collect()
}

async fn runbooks_run_on_a_delegate(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let (_sinks, _, http) = sinks(dir.path()).await;
    let admin = server.admin_token.clone();
    let (operator_id, operator) = user(&server, "operator@example.com").await;
    super::grant_role(&server, &operator_id, "_user").await;
    let (lead_id, lead) = user(&server, "lead@example.com").await;
    super::grant_role(&server, &lead_id, "_user").await;
    // The production operators: a custom role of the organisation.
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            &admin,
            json!({"identifier": "production-operator", "name": "Production operator",
                   "permissions": ["project:view", "runbook:view", "runbook:execute"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    super::grant_role(&server, &lead_id, role.body["id"].as_str().unwrap()).await;

    let secret = server
        .post(
            &format!("{PROJECT}/secrets"),
            &admin,
            json!({"identifier": "deploy-token", "name": "Deploy token", "value": SECRET_VALUE}),
        )
        .await;
    assert_eq!(secret.status, StatusCode::CREATED, "{}", secret.text);
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Checkout errors", "severity": "SEV2"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "restart-web", "name": "Restart web", "definition": restart(http)}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let executions = format!("{PROJECT}/runbooks/restart-web/executions");

    // Refused, and nothing started: no runbook:execute, bad inputs, a restricted
    // value, a runbook that acts on an incident run without one.
    let (viewer_only, viewer_only_token) = user(&server, "reader@example.com").await;
    super::grant_role(&server, &viewer_only, "_viewer").await;
    let refused = server
        .post(&executions, &viewer_only_token, json!({"incident": 1}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    for (body, status, code) in [
        (
            json!({"incident": 1, "inputs": {"COLOR": "red"}}),
            400,
            "invalid_inputs",
        ),
        (
            json!({"incident": 1, "inputs": {"ENV": "qa"}}),
            400,
            "invalid_inputs",
        ),
        (
            json!({"incident": 1, "inputs": {"REPLICAS": "3"}}),
            400,
            "invalid_inputs",
        ),
        (
            json!({"inputs": {"ENV": "staging"}}),
            400,
            "incident_required",
        ),
        (json!({"incident": 99}), 404, "not_found"),
        (
            json!({"incident": 1, "inputs": {"ENV": "prod"}}),
            403,
            "input_value_restricted",
        ),
        (
            json!({"incident": 1, "inputs": {"ENV": "st\u{0}aging"}}),
            400,
            "nul_character",
        ),
        (json!({"incident": 1, "extra": true}), 400, "invalid_body"),
    ] {
        let refused = server.post(&executions, &operator, body.clone()).await;
        assert_eq!(refused.status.as_u16(), status, "{body}: {}", refused.text);
        assert_eq!(refused.code(), code, "{body}: {}", refused.text);
    }
    // Holding only runbook:execute is not enough to act on an incident's timeline.
    let (runner_id, runner) = user(&server, "runner@example.com").await;
    super::grant_role(&server, &runner_id, role.body["id"].as_str().unwrap()).await;
    let refused = server
        .post(&executions, &runner, json!({"incident": 1}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let listed = server
        .get(&format!("{PROJECT}/runbook-executions"), &admin)
        .await;
    assert_eq!(listed.body["items"], json!([]), "{}", listed.text);

    // Authors: using the project's secrets needs secret:access; a trigger may choose a
    // restricted value only when its author holds the role.
    let author_role = server
        .post(
            "/api/v1/orgs/default/roles",
            &admin,
            json!({"identifier": "runbook-author", "name": "Runbook author",
                   "permissions": ["project:view", "runbook:view", "runbook:create"]}),
        )
        .await;
    let (author_id, author) = user(&server, "author@example.com").await;
    super::grant_role(
        &server,
        &author_id,
        author_role.body["id"].as_str().unwrap(),
    )
    .await;
    let refused = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &author,
            json!({"identifier": "leaky", "name": "Leaky", "definition": restart(http)}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let account = server
        .post(
            &format!("{PROJECT}/service-accounts"),
            &admin,
            json!({"name": "responder", "description": "runs triggered runbooks"}),
        )
        .await;
    assert_eq!(account.status, StatusCode::CREATED, "{}", account.text);
    let account = account.body["id"].as_str().unwrap();
    let refused = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &operator,
            json!({"identifier": "sneaky", "name": "Sneaky", "definition": {
                "inputs": [{"name": "ENV", "default": "staging",
                            "restricted": {"prod": ["production-operator"]}}],
                "steps": [{"kind": "add_note", "name": "n", "text": "{{inputs.ENV}}"}],
                "triggers": [{"on": ["incident.opened"], "inputs": {"ENV": "prod"}}],
                "run_as": account
            }}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.code(), "input_value_restricted");
    // A production operator may choose prod (the sink answers any environment).
    let prod = server
        .post(
            &executions,
            &lead,
            json!({"incident": 1, "inputs": {"ENV": "prod"}}),
        )
        .await;
    assert_eq!(prod.status, StatusCode::CREATED, "{}", prod.text);
    let canceled = server
        .post(
            &format!(
                "{PROJECT}/runbook-executions/{}/cancel",
                prod.body["id"].as_str().unwrap()
            ),
            &lead,
            json!({}),
        )
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    assert_eq!(canceled.body["status"], "canceled");
    // Its first step's task was waiting for a delegate: withdrawn, it never runs.
    assert_eq!(
        canceled.body["steps"][0]["status"], "skipped",
        "{}",
        canceled.text
    );
    assert_eq!(
        canceled.body["steps"][0]["error_code"],
        "execution_canceled"
    );
    assert_eq!(canceled.body["steps"][1]["status"], "skipped");

    // The operator runs it on the incident; a delegate picks its steps up.
    let started = server
        .post(
            &executions,
            &operator,
            json!({"incident": 1, "inputs": {"REPLICAS": 3}}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.body["status"], "running");
    assert_eq!(
        started.body["inputs"],
        json!({"ENV": "staging", "REPLICAS": "3"})
    );
    assert_eq!(started.body["steps"][0]["status"], "running");
    assert_eq!(started.body["steps"][1]["status"], "pending");
    let id = started.body["id"].as_str().unwrap().to_owned();

    let hooks = format!("http://127.0.0.1:{http}/hooks/");
    let mut running = running_agent(&server, "runner", dir.path(), &[&hooks]).await;

    let done = ended(&server, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let steps = done["steps"].as_array().unwrap();
    assert!(
        steps.iter().all(|step| step["status"] == "succeeded"),
        "{done}"
    );
    // The script ran in the sandbox with its inputs and secret, masked in its output.
    let script = &steps[0]["output"];
    assert_eq!(script["ended"], "exited", "{script}");
    assert_eq!(script["exit_code"], 0);
    let output = script["output"].as_str().unwrap();
    assert!(
        output.contains("draining staging to 3 with ***"),
        "{output}"
    );
    assert!(!done.to_string().contains(SECRET_VALUE), "{done}");
    assert!(script["sandbox"].as_str().unwrap().starts_with("full"));
    // The HTTP step reached the receiver with the secret, which the answer masks.
    let answer = &steps[1]["output"];
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"], "done: restart staging with ***");
    let got = received(dir.path());
    let hook = got
        .iter()
        .find(|entry| entry["path"] == "/hooks/staging")
        .unwrap_or_else(|| panic!("no hook: {got:?}"));
    assert_eq!(hook["authorization"], format!("Bearer {SECRET_VALUE}"));
    assert!(
        got.iter().all(|entry| entry["path"] != "/hooks/prod"),
        "the canceled execution ran: {got:?}"
    );
    assert_eq!(hook["body"], format!("restart staging with {SECRET_VALUE}"));

    // The incident tells the story: started, each step with its output, the note, the
    // status change, the end — by the execution.
    let shown = incident(&server, 1).await;
    assert_eq!(shown["status"], "acknowledged", "{shown}");
    assert_eq!(timeline_of(&shown, "runbook.started").len(), 2);
    let step_entries = timeline_of(&shown, "runbook.step");
    let ours: Vec<&Value> = step_entries
        .iter()
        .filter(|entry| entry["body"]["execution"] == id.as_str())
        .collect();
    assert_eq!(ours.len(), 4, "{step_entries:?}");
    assert!(
        ours[0]["body"]["output"]["output"]
            .as_str()
            .unwrap()
            .contains("draining staging")
    );
    assert_eq!(ours[1]["body"]["output"]["status"], 200);
    let note = timeline_of(&shown, "note");
    assert_eq!(note[0]["body"]["text"], "web restarted in staging");
    assert_eq!(note[0]["actor"], format!("runbook_execution:{id}"));
    let finished = timeline_of(&shown, "runbook.finished");
    assert!(
        finished
            .iter()
            .any(|entry| entry["body"]["execution"] == id.as_str()
                && entry["body"]["status"] == "succeeded")
    );
    assert!(!shown.to_string().contains(SECRET_VALUE));

    // A failing step ends the execution; the steps after it never run.
    let mut failing = restart(http);
    failing["steps"][0]["script"] = json!("echo about to fail; exit 3");
    let updated = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/runbooks/restart-web"),
            Some(&admin),
            Some(&json!({"definition": failing})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let started = server
        .post(&executions, &operator, json!({"incident": 1}))
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let failed = ended(&server, started.body["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["runbook_version"], 2);
    assert_eq!(failed["steps"][0]["status"], "failed");
    assert_eq!(failed["steps"][0]["output"]["exit_code"], 3);
    assert!(failed["error_code"].is_string(), "{failed}");
    for step in &failed["steps"].as_array().unwrap()[1..] {
        assert_eq!(step["status"], "skipped", "{failed}");
    }

    // A notification step: the delegate delivers to a Slack-compatible webhook whose
    // address is a secret (never shown back).
    let slack_url = format!("http://127.0.0.1:{http}/hooks/slack-T0-B0-{SECRET_VALUE}");
    let secret = server
        .post(
            &format!("{PROJECT}/secrets"),
            &admin,
            json!({"identifier": "slack-url", "name": "Slack URL", "value": slack_url}),
        )
        .await;
    assert_eq!(secret.status, StatusCode::CREATED, "{}", secret.text);
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "announce", "name": "Announce", "definition": {
                "inputs": [{"name": "ENV", "allowed": ["staging", "prod"], "default": "staging"}],
                "secrets": [{"name": "SLACK", "secret": "slack-url"}],
                "steps": [{"kind": "notification", "name": "tell-slack", "channel": "slack",
                           "to": "{{secrets.SLACK}}", "text": "web restarted in {{inputs.ENV}}"}]
            }}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let started = server
        .post(
            &format!("{PROJECT}/runbooks/announce/executions"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let told = ended(&server, started.body["id"].as_str().unwrap()).await;
    assert_eq!(told["status"], "succeeded", "{told}");
    assert_eq!(told["steps"][0]["kind"], "notification");
    assert!(!told.to_string().contains(SECRET_VALUE), "{told}");
    let got = received(dir.path());
    let slack = got
        .iter()
        .find(|entry| {
            entry["path"]
                .as_str()
                .unwrap()
                .starts_with("/hooks/slack-T0")
        })
        .unwrap_or_else(|| panic!("nothing reached Slack: {got:?}"));
    let body: Value = serde_json::from_str(slack["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"text": "web restarted in staging"}));
    running.kill().await.unwrap();

    // Every execution is audited with each of its steps.
    let audit = server
        .get(
            "/api/v1/audit-events?action=runbook_execution.step&limit=100",
            &admin,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let steps_audited = audit.body["items"].as_array().unwrap().len();
    assert!(steps_audited >= 5, "{}", audit.text);
    let listed = server.get(&executions, &viewer_only_token).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        3,
        "{}",
        listed.text
    );
    assert_eq!(listed.body["items"][0]["status"], "failed");
}

#[tokio::test]
async fn runbooks_run_on_a_delegate_on_sqlite() {
    runbooks_run_on_a_delegate(TestServer::start().await).await;
}

#[tokio::test]
async fn runbooks_run_on_a_delegate_on_postgres() {
    if let Some(server) = TestServer::start_postgres().await {
        runbooks_run_on_a_delegate(server).await;
    }
}

/// A sensitive runbook's execution waits until someone other than its starter
/// approves; it can be canceled while it waits, and a finished one cannot be.
async fn sensitive_runbooks_wait_for_a_second_person(server: TestServer) {
    let admin = server.admin_token.clone();
    let (ann_id, ann) = user(&server, "ann@example.com").await;
    super::grant_role(&server, &ann_id, "_user").await;
    let (bob_id, bob) = user(&server, "bob@example.com").await;
    super::grant_role(&server, &bob_id, "_user").await;
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Disk full", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "purge", "name": "Purge", "definition": {
                "sensitive": true,
                "steps": [{"kind": "add_note", "name": "tell", "text": "purged"}]
            }}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let executions = format!("{PROJECT}/runbooks/purge/executions");
    let started = server.post(&executions, &ann, json!({"incident": 1})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.body["status"], "awaiting_approval");
    assert_eq!(started.body["steps"][0]["status"], "pending");
    let id = started.body["id"].as_str().unwrap().to_owned();
    let path = format!("{PROJECT}/runbook-executions/{id}");
    // Not by who started it; nothing ran.
    let own = server
        .post(&format!("{path}/approve"), &ann, json!({}))
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text);
    assert_eq!(own.code(), "second_person_required");
    let shown = incident(&server, 1).await;
    assert!(timeline_of(&shown, "note").is_empty());
    assert_eq!(timeline_of(&shown, "runbook.awaiting_approval").len(), 1);

    let approved = server
        .post(&format!("{path}/approve"), &bob, json!({}))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["status"], "succeeded", "{}", approved.text);
    assert_eq!(approved.body["approved_by"], format!("user:{bob_id}"));
    let shown = incident(&server, 1).await;
    assert_eq!(timeline_of(&shown, "note")[0]["body"]["text"], "purged");
    assert_eq!(timeline_of(&shown, "runbook.approved").len(), 1);
    // Once is enough; a finished execution cannot be canceled.
    let again = server
        .post(&format!("{path}/approve"), &bob, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.code(), "execution_state_conflict");
    let cancel = server
        .post(&format!("{path}/cancel"), &bob, json!({}))
        .await;
    assert_eq!(cancel.code(), "execution_state_conflict");

    // One waiting is canceled instead: it never runs.
    let started = server.post(&executions, &ann, json!({"incident": 1})).await;
    let other = format!(
        "{PROJECT}/runbook-executions/{}",
        started.body["id"].as_str().unwrap()
    );
    let canceled = server
        .post(&format!("{other}/cancel"), &ann, json!({}))
        .await;
    assert_eq!(canceled.body["status"], "canceled", "{}", canceled.text);
    assert_eq!(canceled.body["canceled_by"], format!("user:{ann_id}"));
    let late = server
        .post(&format!("{other}/approve"), &bob, json!({}))
        .await;
    assert_eq!(late.code(), "execution_state_conflict");
    assert_eq!(timeline_of(&incident(&server, 1).await, "note").len(), 1);

    // From the command line: `run --wait` follows the steps and prints the result;
    // `--input` values are typed as the runbook's inputs are.
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "tell", "name": "Tell", "definition": {
                "inputs": [{"name": "TIMES", "type": "integer", "default": 1}],
                "steps": [{"kind": "add_note", "name": "tell", "text": "told {{inputs.TIMES}} times"}]
            }}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let cli = crate::cli::Cli::new(&server, &bob);
    let ran = cli.output(
        &crate::cli::in_default_project(&[
            "runbook",
            "run",
            "tell",
            "--incident",
            "1",
            "--input",
            "TIMES=3",
            "--wait",
            "--output",
            "json",
        ]),
        None,
    );
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{stderr}");
    assert!(
        stderr.contains("step 1/1 tell (add_note): succeeded"),
        "{stderr}"
    );
    let shown: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(shown["status"], "succeeded");
    assert_eq!(shown["inputs"]["TIMES"], "3");
    let refused = cli.fails(&crate::cli::in_default_project(&[
        "runbook",
        "run",
        "tell",
        "--incident",
        "1",
        "--input",
        "TIMES=many",
    ]));
    assert!(
        refused.contains("invalid_inputs") || refused.contains("integer"),
        "{refused}"
    );
    let listed = cli.json(&crate::cli::in_default_project(&[
        "runbook",
        "executions",
        "tell",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // An execution of another project, or none, looks missing.
    for missing in ["not-an-id", "0192f0c0-0000-7000-8000-000000000000"] {
        let shown = server
            .get(&format!("{PROJECT}/runbook-executions/{missing}"), &admin)
            .await;
        assert_eq!(shown.status, StatusCode::NOT_FOUND, "{}", shown.text);
    }
}

// Multi-threaded: the command-line client blocks this thread while the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_runbooks_wait_for_a_second_person_on_sqlite() {
    sensitive_runbooks_wait_for_a_second_person(TestServer::start().await).await;
}

// Multi-threaded: the command-line client blocks this thread while the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_runbooks_wait_for_a_second_person_on_postgres() {
    if let Some(server) = TestServer::start_postgres().await {
        sensitive_runbooks_wait_for_a_second_person(server).await;
    }
}

/// Triggers: an incident opened from a webhook starts the runbooks whose triggers
/// match its service and severity (as the runbook's service account, with the
/// trigger's inputs), once however often the triggers are looked at; a person's change
/// starts the `incident.changed` ones; a runbook's own change starts nothing. The
/// service account must be one its author could grant all it holds, and it needs the
/// rights a person would: taken away, the trigger starts nothing.
async fn incidents_trigger_runbooks(server: TestServer) {
    let admin = server.admin_token.clone();
    super::service(&server, "web").await;
    super::service(&server, "db").await;
    let account = server
        .post(
            &format!("{PROJECT}/service-accounts"),
            &admin,
            json!({"name": "responder", "description": "runs triggered runbooks"}),
        )
        .await;
    assert_eq!(account.status, StatusCode::CREATED, "{}", account.text);
    let account = account.body["id"].as_str().unwrap().to_owned();
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            &admin,
            json!({"identifier": "responder", "name": "Responder",
                   "permissions": ["project:view", "runbook:view", "runbook:execute",
                                   "runbook:delete", "incident:view", "incident:edit",
                                   "incident:status_update"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let granted = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            &admin,
            json!({"principal": format!("service_account:{account}"),
                   "role": role.body["id"].as_str().unwrap()}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let grant = granted.body["id"].as_str().unwrap().to_owned();
    let definition = |on: &str, services: Value, severities: Value, step: Value| {
        json!({
            "inputs": [{"name": "WHO", "default": "nobody"}],
            "steps": [step],
            "triggers": [{"on": [on], "services": services, "severities": severities,
                          "inputs": {"WHO": "the trigger"}}],
            "run_as": account
        })
    };
    // Naming a service account: one of this project's, and only by an author who
    // could grant it everything it holds (an operator, who may not delete runbooks,
    // cannot borrow the account's right to).
    let (operator_id, operator) = user(&server, "operator@example.com").await;
    super::grant_role(&server, &operator_id, "_user").await;
    let note = json!({"kind": "add_note", "name": "note", "text": "x"});
    let borrowed = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &operator,
            json!({"identifier": "borrowed", "name": "Borrowed",
                   "definition": definition("incident.opened", json!([]), json!([]), note.clone())}),
        )
        .await;
    assert_eq!(borrowed.status, StatusCode::FORBIDDEN, "{}", borrowed.text);
    let mut nobody = definition("incident.opened", json!([]), json!([]), note.clone());
    nobody["run_as"] = json!("0190c2a4-7a00-7000-8000-000000000001");
    let missing = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "nobody", "name": "Nobody", "definition": nobody}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(missing.code(), "invalid_definition");
    assert!(missing.text.contains("run_as"), "{}", missing.text);
    let mut unnamed = definition("incident.opened", json!([]), json!([]), note);
    unnamed.as_object_mut().unwrap().remove("run_as");
    let unnamed = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "unnamed", "name": "Unnamed", "definition": unnamed}),
        )
        .await;
    assert_eq!(unnamed.status, StatusCode::BAD_REQUEST, "{}", unnamed.text);

    for (identifier, body) in [
        (
            "triage",
            definition(
                "incident.opened",
                json!(["web"]),
                json!(["SEV1"]),
                json!({"kind": "add_note", "name": "note", "text": "triaged by {{inputs.WHO}}"}),
            ),
        ),
        (
            "minor",
            definition(
                "incident.opened",
                json!([]),
                json!(["SEV4"]),
                json!({"kind": "add_note", "name": "note", "text": "minor"}),
            ),
        ),
        (
            "watch",
            definition(
                "incident.changed",
                json!([]),
                json!([]),
                json!({"kind": "set_status", "name": "watch", "status": "monitoring"}),
            ),
        ),
    ] {
        let created = server
            .post(
                &format!("{PROJECT}/runbooks"),
                &admin,
                json!({"identifier": identifier, "name": identifier, "definition": body}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    // Label conditions: an alert of the incident must carry them (the webhook's alerts
    // are labelled team=web).
    for (identifier, team) in [("web-team", "web"), ("db-team", "db")] {
        let mut body = definition(
            "incident.opened",
            json!([]),
            json!([]),
            json!({"kind": "add_note", "name": "note", "text": format!("{team} team paged")}),
        );
        body["triggers"][0]["labels"] = json!({"team": team});
        let created = server
            .post(
                &format!("{PROJECT}/runbooks"),
                &admin,
                json!({"identifier": identifier, "name": identifier, "definition": body}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    // An incident no trigger matches starts nothing, and is looked at once.
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Slow pages", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    assert_eq!(server.app().run_runbook_triggers().await.unwrap(), 0);
    let unmatched = server
        .get(
            "/api/v1/audit-events?action=runbook_trigger.unmatched",
            &admin,
        )
        .await;
    assert_eq!(
        unmatched.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        unmatched.text
    );
    let hook = super::integration(
        &server,
        "web",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let sent = super::send(&server, &hook, &super::generic("k1", "trigger", "5xx"), &[]).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{:?}", sent.body);
    // A critical alert of web labelled team=web: SEV1, which triage and web-team match.
    assert_eq!(server.app().run_runbook_triggers().await.unwrap(), 2);
    assert_eq!(server.app().run_runbook_triggers().await.unwrap(), 0);
    let listed = server
        .get(&format!("{PROJECT}/runbook-executions"), &admin)
        .await;
    let mut started: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["runbook"].as_str().unwrap())
        .collect();
    started.sort_unstable();
    assert_eq!(started, ["triage", "web-team"], "{}", listed.text);
    let listed = server
        .get(&format!("{PROJECT}/runbooks/triage/executions"), &admin)
        .await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items[0]["trigger"], "incident.opened");
    assert_eq!(items[0]["started_by"], format!("service_account:{account}"));
    assert_eq!(items[0]["status"], "succeeded");
    let shown = incident(&server, 2).await;
    let notes = timeline_of(&shown, "note");
    let mut notes: Vec<&str> = notes
        .iter()
        .map(|note| note["body"]["text"].as_str().unwrap())
        .collect();
    notes.sort_unstable();
    assert_eq!(notes, ["triaged by the trigger", "web team paged"]);
    assert_eq!(shown["status"], "triggered");

    // A person acknowledges: watch starts and moves it to monitoring; that move of its
    // own starts nothing more.
    let acked = server
        .post(
            &format!("{PROJECT}/incidents/2/status"),
            &admin,
            json!({"status": "acknowledged"}),
        )
        .await;
    assert_eq!(acked.status, StatusCode::NO_CONTENT, "{}", acked.text);
    assert_eq!(server.app().run_runbook_triggers().await.unwrap(), 1);
    assert_eq!(server.app().run_runbook_triggers().await.unwrap(), 0);
    let shown = incident(&server, 2).await;
    assert_eq!(shown["status"], "monitoring", "{shown}");
    let moved = timeline_of(&shown, "status.monitoring");
    assert_eq!(moved.len(), 1);
    assert!(
        moved[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("runbook_execution:")
    );
    let listed = server
        .get(&format!("{PROJECT}/runbooks/watch/executions"), &admin)
        .await;
    assert_eq!(listed.body["items"][0]["trigger"], "incident.changed");

    // A change to `status` that would start watch starts nothing, and the audit log
    // then holds `failures` refused triggers; watch still ran only once.
    let starts_nothing = async |status: &str, failures: usize| {
        let changed = server
            .post(
                &format!("{PROJECT}/incidents/2/status"),
                &admin,
                json!({ "status": status }),
            )
            .await;
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
        assert_eq!(server.app().run_runbook_triggers().await.unwrap(), 0);
        let failed = server
            .get("/api/v1/audit-events?action=runbook_trigger.failed", &admin)
            .await;
        assert_eq!(
            failed.body["items"].as_array().unwrap().len(),
            failures,
            "{}",
            failed.text
        );
        let listed = server
            .get(&format!("{PROJECT}/runbooks/watch/executions"), &admin)
            .await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    };
    // The account loses its role.
    let revoked = server
        .delete(&format!("{PROJECT}/role-assignments/{grant}"), &admin)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text);
    starts_nothing("resolved", 1).await;
    // The account is deleted after the runbook named it; the runbook stays readable.
    let deleted = server
        .delete(&format!("{PROJECT}/service-accounts/{account}"), &admin)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    starts_nothing("investigating", 2).await;
    let shown = server
        .get(&format!("{PROJECT}/runbooks/watch"), &admin)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
}

#[tokio::test]
async fn incidents_trigger_runbooks_on_sqlite() {
    incidents_trigger_runbooks(TestServer::start().await).await;
}

#[tokio::test]
async fn incidents_trigger_runbooks_on_postgres() {
    if let Some(server) = TestServer::start_postgres().await {
        incidents_trigger_runbooks(server).await;
    }
}

/// A long script's output shows on its step while it runs (the delegate passes it on
/// every couple of seconds, secrets masked), and its final report replaces it.
async fn script_output_shows_while_it_runs(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let admin = server.admin_token.clone();
    let secret = server
        .post(
            &format!("{PROJECT}/secrets"),
            &admin,
            json!({"identifier": "deploy-token", "name": "Deploy token", "value": SECRET_VALUE}),
        )
        .await;
    assert_eq!(secret.status, StatusCode::CREATED, "{}", secret.text);
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "slow", "name": "Slow", "definition": {
                "secrets": [{"name": "TOKEN", "secret": "deploy-token"}],
                "steps": [{"kind": "script", "name": "migrate", "secrets": ["TOKEN"],
                           "script": "echo \"phase one with $TOKEN\"; sleep 6; echo phase two",
                           "limits": {"wall_seconds": 60}}]
            }}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let _running = running_agent(&server, "runner", dir.path(), &[]).await;
    let started = server
        .post(
            &format!("{PROJECT}/runbooks/slow/executions"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    let mut seen_running = None;
    for _ in 0..100 {
        let shown = execution(&server, &id).await;
        if shown["steps"][0]["status"] == "running"
            && shown["steps"][0]["output"]["ended"] == "running"
        {
            seen_running = Some(shown["steps"][0]["output"].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let so_far = seen_running.expect("no output while the script ran");
    let text = so_far["output"].as_str().unwrap();
    assert!(text.starts_with("phase one with ***"), "{so_far}");
    assert!(!text.contains("phase two"), "{so_far}");
    let done = ended(&server, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"][0]["output"]["ended"], "exited");
    assert_eq!(
        done["steps"][0]["output"]["output"],
        "phase one with ***\nphase two\n"
    );
    assert!(!done.to_string().contains(SECRET_VALUE));
}

#[tokio::test]
async fn script_output_shows_while_it_runs_on_sqlite() {
    script_output_shows_while_it_runs(TestServer::start().await).await;
}

#[tokio::test]
async fn script_output_shows_while_it_runs_on_postgres() {
    if let Some(server) = TestServer::start_postgres().await {
        script_output_shows_while_it_runs(server).await;
    }
}

/// Page steps: people named by email are paged about the incident (an in-app page
/// with its outbound deliveries, like an escalation's); someone who cannot see the
/// project's incidents, and an address with no account, fail the step alike.
async fn runbooks_page_people_about_their_incident(server: TestServer) {
    let admin = server.admin_token.clone();
    let (responder_id, responder) = user(&server, "dba@example.com").await;
    super::grant_role(&server, &responder_id, "_user").await;
    let (_, outsider) = user(&server, "outsider@example.com").await;
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Replication lag", "severity": "SEV2"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    for (identifier, email) in [
        ("wake-dba", "DBA@example.com"),
        ("wake-outsider", "outsider@example.com"),
        ("wake-nobody", "nobody@example.com"),
    ] {
        let created = server
            .post(
                &format!("{PROJECT}/runbooks"),
                &admin,
                json!({"identifier": identifier, "name": identifier, "definition": {
                    "steps": [{"kind": "page", "name": "wake", "users": [email]},
                              {"kind": "add_note", "name": "tell", "text": "paged"}]
                }}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let start = async |runbook: &str, body: Value| {
        server
            .post(
                &format!("{PROJECT}/runbooks/{runbook}/executions"),
                &admin,
                body,
            )
            .await
    };
    let refused = start("wake-dba", json!({})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.code(), "incident_required");

    let started = start("wake-dba", json!({"incident": 1})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let done = ended(&server, started.body["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"][0]["kind"], "page");
    let shown = incident(&server, 1).await;
    let paged = timeline_of(&shown, "runbook.step");
    assert_eq!(paged[0]["body"]["kind"], "page", "{shown}");
    assert_eq!(
        paged[0]["body"]["output"]["paged"],
        json!(["dba@example.com"])
    );
    let inbox = server.get("/api/v1/me/notifications", &responder).await;
    let items = inbox.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", inbox.text);
    assert_eq!(items[0]["kind"], "page", "{}", inbox.text);
    assert_eq!(items[0]["incident_number"], 1, "{}", inbox.text);
    let nothing = server.get("/api/v1/me/notifications", &outsider).await;
    assert_eq!(nothing.body["items"], json!([]), "{}", nothing.text);

    for runbook in ["wake-outsider", "wake-nobody"] {
        let started = start(runbook, json!({"incident": 1})).await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
        let failed = ended(&server, started.body["id"].as_str().unwrap()).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert_eq!(failed["steps"][0]["error_code"], "page_recipient_unknown");
        assert_eq!(failed["steps"][1]["status"], "skipped");
    }
    let nothing = server.get("/api/v1/me/notifications", &outsider).await;
    assert_eq!(nothing.body["items"], json!([]), "{}", nothing.text);
}

#[tokio::test]
async fn runbooks_page_people_about_their_incident_on_sqlite() {
    runbooks_page_people_about_their_incident(TestServer::start().await).await;
}

#[tokio::test]
async fn runbooks_page_people_about_their_incident_on_postgres() {
    if let Some(server) = TestServer::start_postgres().await {
        runbooks_page_people_about_their_incident(server).await;
    }
}

/// A real Prometheus (Debian's `prometheus`) on loopback, scraping itself every second,
/// ready once its own `up` series has a few samples. Returns its port.
async fn prometheus(dir: &std::path::Path) -> (tokio::process::Child, u16) {
    use super::alerts_alertmanager::eventually;
    let (child, port) = super::spawn_prometheus(dir, |port| {
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      \
             - targets: ['127.0.0.1:{port}']\n"
        )
    });
    let scraped = eventually(Duration::from_secs(60), async || {
        let answer = direct_query(port, "count_over_time(up[1m]) > 2").await?;
        (!answer["data"]["result"].as_array()?.is_empty()).then_some(())
    })
    .await;
    assert!(scraped.is_some(), "Prometheus never scraped itself");
    (child, port)
}

/// An instant query straight to Prometheus (the oracle the delegate's answer is
/// compared with).
async fn direct_query(port: u16, query: &str) -> Option<Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let encoded: String = query
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(
            format!("GET /api/v1/query?query={encoded} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .as_bytes(),
        )
        .await
        .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let answer = String::from_utf8(answer).ok()?;
    serde_json::from_str(answer.split_once("\r\n\r\n")?.1).ok()
}

/// Query steps: a runbook asks the customer's Prometheus through a delegate — an
/// instant query with an input in its PromQL and a bearer token from a secret, a range
/// query — and gets Prometheus's own answer; PromQL Prometheus refuses fails the step at
/// once with Prometheus's reason, and a Prometheus the delegate may not reach is never
/// asked.
async fn runbooks_query_prometheus_through_a_delegate(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let (_prometheus, port) = prometheus(dir.path()).await;
    let admin = server.admin_token.clone();
    let secret = server
        .post(
            &format!("{PROJECT}/secrets"),
            &admin,
            json!({"identifier": "prom-token", "name": "Prometheus token", "value": SECRET_VALUE}),
        )
        .await;
    assert_eq!(secret.status, StatusCode::CREATED, "{}", secret.text);
    let base = format!("http://127.0.0.1:{port}");
    let definition = |query: &str, url: &str| {
        json!({
            "inputs": [{"name": "JOB", "allowed": ["prometheus", "node"], "default": "prometheus"}],
            "secrets": [{"name": "PROM_TOKEN", "secret": "prom-token"}],
            "steps": [
                {"kind": "prometheus_query", "name": "up", "url": url, "query": query,
                 "headers": {"Authorization": "Bearer {{secrets.PROM_TOKEN}}"}},
                {"kind": "prometheus_query", "name": "samples", "url": url,
                 "query": "prometheus_build_info{job=\"{{inputs.JOB}}\"}",
                 "range_seconds": 120, "step_seconds": 1}
            ]
        })
    };
    for (identifier, query, url) in [
        ("health", "up{job=\"{{inputs.JOB}}\"}", base.clone()),
        ("broken", "sum(rate(up[5m]", base.clone()),
        ("elsewhere", "up", format!("http://127.0.0.1:{}/", port + 1)),
    ] {
        let created = server
            .post(
                &format!("{PROJECT}/runbooks"),
                &admin,
                json!({"identifier": identifier, "name": identifier,
                       "definition": definition(query, &url)}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let _running = running_agent(&server, "observer", dir.path(), &[&format!("{base}/")]).await;
    let start = async |runbook: &str| {
        let started = server
            .post(
                &format!("{PROJECT}/runbooks/{runbook}/executions"),
                &admin,
                json!({}),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
        ended(&server, started.body["id"].as_str().unwrap()).await
    };

    let done = start("health").await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let instant = &done["steps"][0]["output"];
    assert_eq!(instant["result_type"], "vector", "{instant}");
    assert_eq!(instant["series"], 1);
    assert_eq!(instant["truncated"], false);
    // The same series Prometheus gives when asked directly, with the same value.
    let oracle = direct_query(port, "up{job=\"prometheus\"}").await.unwrap();
    assert_eq!(
        instant["result"][0]["metric"], oracle["data"]["result"][0]["metric"],
        "{instant} vs {oracle}"
    );
    assert_eq!(instant["result"][0]["value"][1], "1");
    let range = &done["steps"][1]["output"];
    assert_eq!(range["result_type"], "matrix", "{range}");
    assert_eq!(
        range["end"].as_i64().unwrap() - range["start"].as_i64().unwrap(),
        120
    );
    let points = range["result"][0]["values"].as_array().unwrap();
    assert!(!points.is_empty(), "{range}");
    assert_eq!(range["result"][0]["metric"]["job"], "prometheus");
    assert!(!done.to_string().contains(SECRET_VALUE));

    // Bad PromQL: Prometheus's own reason, once (not retried).
    let broken = start("broken").await;
    assert_eq!(broken["status"], "failed", "{broken}");
    assert_eq!(
        broken["steps"][0]["error_code"], "prometheus_bad_data",
        "{broken}"
    );
    assert!(
        broken["steps"][0]["output"]
            .to_string()
            .contains("parse error"),
        "{broken}"
    );
    assert_eq!(broken["steps"][1]["status"], "skipped");
    let task = broken["steps"][0]["task_id"].as_str().unwrap();
    let shown = server
        .get(&format!("{PROJECT}/delegate-tasks/{task}"), &admin)
        .await;
    assert_eq!(shown.body["attempts"], 1, "{}", shown.text);

    // A Prometheus outside what the delegate's operator allows is not asked.
    let elsewhere = start("elsewhere").await;
    assert_eq!(elsewhere["status"], "failed", "{elsewhere}");
    assert_eq!(
        elsewhere["steps"][0]["error_code"], "destination_not_allowed",
        "{elsewhere}"
    );
}

#[tokio::test]
async fn runbooks_query_prometheus_through_a_delegate_on_sqlite() {
    runbooks_query_prometheus_through_a_delegate(TestServer::start().await).await;
}

#[tokio::test]
async fn runbooks_query_prometheus_through_a_delegate_on_postgres() {
    if let Some(server) = TestServer::start_postgres().await {
        runbooks_query_prometheus_through_a_delegate(server).await;
    }
}

/// What a script step's delegate reports, shaped like the real agent's report.
fn script_report(attempt: &Value, output: &str) -> Value {
    let report = json!({"ended": "exited", "exit_code": 0, "output": output,
                        "output_truncated": false, "sandbox": "test", "duration_ms": 3});
    json!({"attempt": attempt, "outcome": "succeeded", "output": report.to_string()})
}

/// Runbook step tasks at their edges, on a manual clock, the delegate driven through
/// its HTTP API: a step no delegate takes fails its execution when the task's time
/// runs out (`task_timed_out` on the step, the rest skipped, the timeline told); a
/// report arriving after its execution was canceled is kept on its step but moves
/// nothing; progress over 64 KiB is refused (400 `invalid_output`, the lease kept);
/// another project's delegate cannot report on or show progress of the task (404, as
/// if it were missing).
async fn step_tasks_at_their_edges(engine: Option<rampart_testkit::Engine>) {
    let clock = manual_clock();
    let server = quiet_engine(engine, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "two", "name": "Two", "definition": {"steps": [
                {"kind": "script", "name": "first", "script": "echo one"},
                {"kind": "script", "name": "second", "script": "echo two"}]}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Disk full", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let start = async || {
        let started = server
            .post(
                &format!("{PROJECT}/runbooks/two/executions"),
                &admin,
                json!({"incident": 1}),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
        started.body["id"].as_str().unwrap().to_owned()
    };

    // Nobody takes it: when the task's hour is over, the step and the execution fail.
    let lonely = start().await;
    clock.advance(jiff::SignedDuration::from_mins(59));
    server.app().dispatch_notifications().await.unwrap();
    assert_eq!(execution(&server, &lonely).await["status"], "running");
    clock.advance(jiff::SignedDuration::from_mins(2));
    server.app().dispatch_notifications().await.unwrap();
    let shown = execution(&server, &lonely).await;
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["steps"][0]["status"], "failed", "{shown}");
    assert_eq!(shown["steps"][0]["error_code"], "task_timed_out", "{shown}");
    assert_eq!(shown["steps"][1]["status"], "skipped", "{shown}");
    assert!(shown["steps"][1]["task_id"].is_null(), "{shown}");
    let timeline = incident(&server, 1).await;
    let finished = timeline_of(&timeline, "runbook.finished");
    assert_eq!(finished.len(), 1, "{timeline}");
    assert_eq!(finished[0]["body"]["status"], "failed", "{timeline}");

    // Taken, then canceled while it runs: its late report is kept, and nothing moves.
    let credential = crate::platform::delegates::registered(&server, "worker").await;
    let raced = start().await;
    let work = server
        .get("/api/v1/delegate/tasks/next?wait=0", &credential)
        .await;
    assert_eq!(work.status, StatusCode::OK, "{}", work.text);
    let task = work.body["envelope"]["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attempt = work.body["attempt"].clone();

    // Progress: too much is refused and keeps nothing; another project's delegate
    // finds no such task.
    let progress = format!("/api/v1/delegate/tasks/{task}/progress");
    let flood = server
        .post(
            &progress,
            &credential,
            json!({"attempt": attempt, "output": "x".repeat(64 * 1024 + 1)}),
        )
        .await;
    assert_eq!(flood.status, StatusCode::BAD_REQUEST, "{}", flood.text);
    assert_eq!(flood.code(), "invalid_output");
    let other = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let stranger = crate::platform::delegates::registered_in(
        &server,
        "/api/v1/orgs/default/projects/other",
        "stranger",
    )
    .await;
    let foreign = server
        .post(
            &progress,
            &stranger,
            json!({"attempt": attempt, "output": "mine now"}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.text);
    let foreign = server
        .post(
            &format!("/api/v1/delegate/tasks/{task}/result"),
            &stranger,
            script_report(&attempt, "mine now"),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.text);
    let missing = server
        .post(
            "/api/v1/delegate/tasks/0190c2a4-7a00-7000-8000-000000000001/progress",
            &credential,
            json!({"attempt": 1, "output": "?"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    assert_eq!(
        missing.body, foreign.body,
        "hidden looks exactly like missing"
    );

    let canceled = server
        .post(
            &format!("{PROJECT}/runbook-executions/{raced}/cancel"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    let late = server
        .post(
            &format!("/api/v1/delegate/tasks/{task}/result"),
            &credential,
            script_report(&attempt, "one"),
        )
        .await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.text);
    assert_eq!(late.body["status"], "succeeded", "{}", late.text);
    let shown = execution(&server, &raced).await;
    assert_eq!(shown["status"], "canceled", "{shown}");
    assert_eq!(shown["steps"][0]["status"], "succeeded", "{shown}");
    assert_eq!(shown["steps"][0]["output"]["output"], "one", "{shown}");
    assert_eq!(shown["steps"][1]["status"], "skipped", "{shown}");
    assert!(shown["steps"][1]["task_id"].is_null(), "{shown}");
    // No second step was queued for any delegate.
    let next = server
        .get("/api/v1/delegate/tasks/next?wait=0", &credential)
        .await;
    assert_eq!(next.status, StatusCode::NO_CONTENT, "{}", next.text);
    let timeline = incident(&server, 1).await;
    assert_eq!(
        timeline_of(&timeline, "runbook.canceled").len(),
        1,
        "{timeline}"
    );
    assert_eq!(
        timeline_of(&timeline, "runbook.finished").len(),
        1,
        "{timeline}"
    );
}

#[tokio::test]
async fn step_tasks_at_their_edges_on_sqlite() {
    step_tasks_at_their_edges(None).await;
}

#[tokio::test]
async fn step_tasks_at_their_edges_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        step_tasks_at_their_edges(Some(rampart_testkit::Engine::Postgres)).await;
    }
}
