//! Variables and run logs: a workspace's variables and variable sets (write-only
//! sensitive values, precedence, attachments, permissions, bad input) on both engines;
//! a run's variables handed only to its executor; logs uploaded once a phase, masked and
//! sealed; and, end to end with the stock Terraform CLI through `rampart tf`, variables
//! that reach Terraform while no sensitive value appears in the wrapper's output, the
//! run's logs, the plan's view or any answer.

use rampart_testkit::terraform::Terraform;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::API;
use super::runs::{
    act, create_workspace, exited, expect, id_of, new_run, rampart, raw, runs_of, wrap,
};
use crate::platform::access::user_with_role;

const PROJECT: &str = "/api/v1/orgs/default/projects/default";
const ORG: &str = "/api/v1/orgs/default";

fn variable_path(workspace: &str, category: &str, key: &str) -> String {
    format!("{API}/{workspace}/variables/{category}/{key}")
}

async fn put(server: &TestServer, token: &str, path: &str, body: Value) -> rampart_testkit::Reply {
    server
        .request(reqwest::Method::PUT, path, Some(token), Some(&body))
        .await
}

/// A value no other test uses, recorded so the log check looks for it.
fn secret(label: &str) -> String {
    let random = rampart_crypto::random::bytes::<12>().unwrap();
    let value = format!("{label}-{}", rampart_crypto::digest::hex(&random));
    rampart_testkit::remember_secret(&value);
    value
}

fn items(reply: &rampart_testkit::Reply) -> Vec<(String, String, Value, String)> {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["category"].as_str().unwrap().to_owned(),
                item["key"].as_str().unwrap().to_owned(),
                item["value"].clone(),
                item["source"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn variables_hold_their_rules(server: TestServer) {
    let admin = server.admin_token.clone();
    let created = server
        .post(
            API,
            &admin,
            json!({"identifier": "app", "name": "app", "tags": ["team-a"]}),
        )
        .await;
    expect(&created, StatusCode::CREATED, "");
    let password = secret("api-token");

    // A workspace variable: created (201), changed (200) keeping what is not given.
    let region = variable_path("app", "terraform", "region");
    let made = put(&server, &admin, &region, json!({"value": "ws-region"})).await;
    expect(&made, StatusCode::CREATED, "");
    assert_eq!(made.body["value"], "ws-region");
    let described = put(&server, &admin, &region, json!({"description": "where"})).await;
    expect(&described, StatusCode::OK, "");
    assert_eq!(described.body["value"], "ws-region");
    assert_eq!(described.body["description"], "where");

    // A sensitive one is write-only: no answer carries its value again.
    let token_path = variable_path("app", "env", "API_TOKEN");
    let sensitive = put(
        &server,
        &admin,
        &token_path,
        json!({"value": password, "sensitive": true}),
    )
    .await;
    expect(&sensitive, StatusCode::CREATED, "");
    assert!(sensitive.body.get("value").is_none(), "{}", sensitive.text);
    let listed = server.get(&format!("{API}/app/variables"), &admin).await;
    expect(&listed, StatusCode::OK, "");
    assert!(!listed.text.contains(&password), "{}", listed.text);
    assert_eq!(
        items(&listed),
        vec![
            (
                "terraform".into(),
                "region".into(),
                json!("ws-region"),
                String::new()
            ),
            ("env".into(), "API_TOKEN".into(), Value::Null, String::new()),
        ]
    );
    // It stays sensitive; changing its description keeps the value.
    let unmark = put(&server, &admin, &token_path, json!({"sensitive": false})).await;
    expect(&unmark, StatusCode::BAD_REQUEST, "invalid_sensitive");
    let keep = put(&server, &admin, &token_path, json!({"description": "CI"})).await;
    expect(&keep, StatusCode::OK, "");

    // Bad input: a specific 400 or 404, nothing changed.
    for (path, body, status, code) in [
        (
            variable_path("app", "env", "TF_HTTP_PASSWORD"),
            json!({"value": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_key",
        ),
        (
            variable_path("app", "env", "TF_CLI_ARGS_apply"),
            json!({"value": "-lock=false"}),
            StatusCode::BAD_REQUEST,
            "invalid_key",
        ),
        (
            variable_path("app", "terraform", "9lives"),
            json!({"value": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_key",
        ),
        (
            variable_path("app", "secret", "region"),
            json!({"value": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_category",
        ),
        (
            variable_path("app", "terraform", "fresh"),
            json!({"description": "no value"}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
        ),
        (
            variable_path("app", "terraform", "fresh"),
            json!({"value": "a\u{0}b"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            variable_path("app", "terraform", "fresh"),
            json!({"value": "x".repeat(65 * 1024)}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
        ),
        (
            variable_path("app", "terraform", "fresh"),
            json!({"value": "x", "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            variable_path("nope", "terraform", "fresh"),
            json!({"value": "x"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let refused = put(&server, &admin, &path, body).await;
        expect(&refused, status, code);
    }
    let after = server.get(&format!("{API}/app/variables"), &admin).await;
    assert_eq!(
        after.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        after.text
    );

    // Sets: the organisation's for all, the project's by tag, one for another workspace.
    for (base, identifier, attach, variables) in [
        (
            ORG,
            "org-defaults",
            json!({"kind": "all"}),
            vec![("region", "org-region"), ("size", "org-size")],
        ),
        (
            PROJECT,
            "team-a",
            json!({"kind": "tags", "values": ["team-a"]}),
            vec![("size", "team-size"), ("zone", "team-zone")],
        ),
        (
            PROJECT,
            "elsewhere",
            json!({"kind": "workspaces", "values": ["other"]}),
            vec![("zone", "other-zone")],
        ),
    ] {
        let made = server
            .post(
                &format!("{base}/variable-sets"),
                &admin,
                json!({"identifier": identifier, "name": identifier, "attach": attach}),
            )
            .await;
        expect(&made, StatusCode::CREATED, "");
        for (key, value) in variables {
            let path = format!("{base}/variable-sets/{identifier}/variables/terraform/{key}");
            expect(
                &put(&server, &admin, &path, json!({"value": value})).await,
                StatusCode::CREATED,
                "",
            );
        }
    }
    let twice = server
        .post(
            &format!("{ORG}/variable-sets"),
            &admin,
            json!({"identifier": "org-defaults", "name": "again"}),
        )
        .await;
    expect(&twice, StatusCode::CONFLICT, "identifier_taken");
    let shown = server
        .get(&format!("{ORG}/variable-sets/org-defaults"), &admin)
        .await;
    expect(&shown, StatusCode::OK, "");
    assert_eq!(shown.body["variable_count"], 2);
    assert_eq!(shown.body["version"], 3);

    // What the workspace's runs receive: the workspace over the project's sets over
    // the organisation's.
    let effective = server
        .get(&format!("{API}/app/variables/effective"), &admin)
        .await;
    expect(&effective, StatusCode::OK, "");
    assert!(!effective.text.contains(&password));
    assert_eq!(
        items(&effective),
        vec![
            (
                "terraform".into(),
                "region".into(),
                json!("ws-region"),
                "workspace".into()
            ),
            (
                "terraform".into(),
                "size".into(),
                json!("team-size"),
                "project set team-a".into()
            ),
            (
                "terraform".into(),
                "zone".into(),
                json!("team-zone"),
                "project set team-a".into()
            ),
            (
                "env".into(),
                "API_TOKEN".into(),
                Value::Null,
                "workspace".into()
            ),
        ]
    );
    assert_eq!(
        effective.body["items"][0]["overrides"],
        json!(["organisation set org-defaults"])
    );

    // Permissions: a viewer reads, and changes nothing.
    let user = user_with_role(&server, "reader@example.com", "_viewer").await;
    expect(
        &server.get(&format!("{API}/app/variables"), &user).await,
        StatusCode::OK,
        "",
    );
    expect(
        &put(&server, &user, &region, json!({"value": "mine"})).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );
    expect(
        &server
            .post(
                &format!("{PROJECT}/variable-sets"),
                &user,
                json!({"identifier": "mine", "name": "mine"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );

    // A run's executor receives the values; nobody else does.
    let (run, _) = new_run(&server, &admin, "app", false).await;
    let run_variables = format!("{}/{run}/variables", runs_of("app"));
    let handed = server.get(&run_variables, &admin).await;
    expect(&handed, StatusCode::OK, "");
    let handed: Vec<(String, String)> = handed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["environment_name"].as_str().unwrap().to_owned(),
                item["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        handed,
        vec![
            ("TF_VAR_region".into(), "ws-region".into()),
            ("TF_VAR_size".into(), "team-size".into()),
            ("TF_VAR_zone".into(), "team-zone".into()),
            ("API_TOKEN".into(), password.clone()),
        ]
    );
    let approver = user_with_role(&server, "approver@example.com", "_project_admin").await;
    expect(
        &server.get(&run_variables, &approver).await,
        StatusCode::FORBIDDEN,
        "not_run_executor",
    );
    expect(
        &server.get(&run_variables, &user).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );

    // Its plan log: once, from the executor, masked and sealed; read by viewers.
    let logs = format!("{}/{run}/logs", runs_of("app"));
    let text = format!("Plan: 1 to add\ninput = \"{password}\"\n");
    let uploaded = raw(
        &server,
        reqwest::Method::PUT,
        &format!("{logs}/plan"),
        &admin,
        text.clone().into_bytes(),
    )
    .await;
    expect(&uploaded, StatusCode::CREATED, "");
    let again = raw(
        &server,
        reqwest::Method::PUT,
        &format!("{logs}/plan"),
        &admin,
        text.clone().into_bytes(),
    )
    .await;
    expect(&again, StatusCode::CONFLICT, "run_log_exists");
    let early = raw(
        &server,
        reqwest::Method::PUT,
        &format!("{logs}/apply"),
        &admin,
        b"apply".to_vec(),
    )
    .await;
    expect(&early, StatusCode::CONFLICT, "run_state_conflict");
    let other = raw(
        &server,
        reqwest::Method::PUT,
        &format!("{logs}/plan"),
        &approver,
        b"x".to_vec(),
    )
    .await;
    expect(&other, StatusCode::FORBIDDEN, "not_run_executor");
    let read = server.get(&format!("{logs}/plan"), &user).await;
    expect(&read, StatusCode::OK, "");
    assert_eq!(read.text, "Plan: 1 to add\ninput = \"***\"\n");
    let listed = server.get(&logs, &user).await;
    expect(&listed, StatusCode::OK, "");
    assert_eq!(listed.body["items"][0]["phase"], "plan");
    expect(
        &server.get(&format!("{logs}/apply"), &user).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect(
        &server.get(&format!("{logs}/debug"), &user).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect(
        &server
            .get(
                &format!(
                    "{}/01890000-0000-7000-8000-000000000000/logs/plan",
                    runs_of("app")
                ),
                &user,
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Once the run stops planning, its variables go to nobody.
    expect(
        &act(&server, &admin, "app", &run, "plan-failed", json!({})).await,
        StatusCode::OK,
        "",
    );
    expect(
        &server.get(&run_variables, &admin).await,
        StatusCode::CONFLICT,
        "run_state_conflict",
    );

    // Parallel writers of one workspace's variables (as Terraform's `tfe` provider
    // writes them) all succeed, and nothing is lost.
    let created = server
        .post(API, &admin, json!({"identifier": "busy", "name": "busy"}))
        .await;
    expect(&created, StatusCode::CREATED, "");
    let keys: Vec<String> = (0..12).map(|n| format!("key_{n}")).collect();
    let writers = keys.iter().map(|key| {
        let path = variable_path("busy", "terraform", key);
        let server = &server;
        let admin = &admin;
        async move { put(server, admin, &path, json!({"value": key})).await }
    });
    for reply in futures_util::future::join_all(writers).await {
        expect(&reply, StatusCode::CREATED, "");
    }
    let stored = server.get(&format!("{API}/busy/variables"), &admin).await;
    let mut stored_keys: Vec<String> = items(&stored).into_iter().map(|(_, key, ..)| key).collect();
    stored_keys.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(stored_keys, expected, "{}", stored.text);

    // Deleting: a variable once (then 404), a set with its variables.
    expect(
        &server.delete(&region, &admin).await,
        StatusCode::NO_CONTENT,
        "",
    );
    expect(
        &server.delete(&region, &admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect(
        &server
            .delete(&format!("{PROJECT}/variable-sets/team-a"), &admin)
            .await,
        StatusCode::NO_CONTENT,
        "",
    );
    let effective = server
        .get(&format!("{API}/app/variables/effective"), &admin)
        .await;
    assert_eq!(
        items(&effective)
            .into_iter()
            .map(|(_, key, value, _)| (key, value))
            .collect::<Vec<_>>(),
        vec![
            ("region".into(), json!("org-region")),
            ("size".into(), json!("org-size")),
            ("API_TOKEN".into(), Value::Null),
        ]
    );
}

#[tokio::test]
async fn variables_hold_their_rules_on_sqlite() {
    variables_hold_their_rules(TestServer::start().await).await;
}

#[tokio::test]
async fn variables_hold_their_rules_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    variables_hold_their_rules(server).await;
}

// Terraform runs as a child process while the server runs in this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_reach_terraform_and_sensitive_values_reach_nothing_else() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    create_workspace(&server, "app", json!({})).await;
    let approver = user_with_role(&server, "approver@example.com", "_project_admin").await;
    let password = secret("db-password");
    expect(
        &put(
            &server,
            &admin,
            &variable_path("app", "terraform", "greeting"),
            json!({"value": "hello"}),
        )
        .await,
        StatusCode::CREATED,
        "",
    );
    expect(
        &put(
            &server,
            &admin,
            &variable_path("app", "terraform", "password"),
            json!({"value": password, "sensitive": true}),
        )
        .await,
        StatusCode::CREATED,
        "",
    );
    // The configuration does not declare the variable sensitive: Terraform itself
    // would print it. Only Rampart's masking keeps it out.
    let tf = Terraform::new(
        "variable \"greeting\" {\n  type = string\n}\n\
         variable \"password\" {\n  type = string\n}\n\
         resource \"terraform_data\" \"r\" {\n  input = \"${var.greeting}:${var.password}\"\n}\n",
    );

    let planned = wrap(&server, &tf, &admin, &["plan"]).await;
    let detail = exited(&planned, 2);
    let run = id_of(&detail);
    assert!(planned.stderr.contains("hello:***"), "{planned}");
    assert!(!planned.stderr.contains(&password), "{planned}");
    assert!(!planned.stdout.contains(&password), "{planned}");

    expect(
        &act(&server, &approver, "app", &run, "approvals", json!({})).await,
        StatusCode::CREATED,
        "",
    );
    let applied = wrap(&server, &tf, &admin, &["apply", "--run", &run]).await;
    let done = exited(&applied, 0);
    assert_eq!(done["run"]["status"], "applied", "{applied}");
    assert!(!applied.stderr.contains(&password), "{applied}");

    // The value reached Terraform: the state it wrote holds it (the state is sealed and
    // readable only with workspace:access_state, like Terraform's own).
    let state = raw(
        &server,
        reqwest::Method::GET,
        &format!("{API}/app/state-versions/1"),
        &admin,
        Vec::new(),
    )
    .await;
    expect(&state, StatusCode::OK, "");
    assert!(
        state.text.contains(&format!("hello:{password}")),
        "{}",
        state.text
    );

    // The run's logs hold what Terraform printed, masked; nothing else shows the value.
    let logs = format!("{}/{run}/logs", runs_of("app"));
    for (phase, printed) in [("plan", "hello:***"), ("apply", "Apply complete!")] {
        let log = server.get(&format!("{logs}/{phase}"), &approver).await;
        expect(&log, StatusCode::OK, "");
        assert!(log.text.contains(printed), "{phase}: {}", log.text);
        assert!(!log.text.contains(&password), "{phase}: {}", log.text);
    }
    // `rampart run logs` shows both phases (and one with --phase), masked.
    let shown = rampart(&server, &approver, &["run", "logs", "app", &run]).await;
    assert_eq!(shown.code, 0, "{shown}");
    assert!(
        shown.stdout.contains("=== plan ===") && shown.stdout.contains("=== apply ==="),
        "{shown}"
    );
    assert!(shown.stdout.contains("hello:***"), "{shown}");
    assert!(!shown.stdout.contains(&password), "{shown}");
    let one = rampart(
        &server,
        &approver,
        &[
            "run", "logs", "app", &run, "--phase", "apply", "--output", "json",
        ],
    )
    .await;
    assert_eq!(one.code, 0, "{one}");
    let one: Value = serde_json::from_str(&one.stdout).unwrap();
    assert!(
        one["apply"].as_str().unwrap().contains("Apply complete!"),
        "{one}"
    );
    assert!(one.get("plan").is_none(), "{one}");
    let plan = done["run"]["plan_id"].as_str().unwrap();
    for path in [
        format!("{}/{run}", runs_of("app")),
        format!("{API}/app/plans/{plan}"),
        format!("{API}/app/plans/{plan}/masked"),
        format!("{API}/app/variables"),
        format!("{API}/app/variables/effective"),
        logs.clone(),
    ] {
        let reply = server.get(&path, &approver).await;
        expect(&reply, StatusCode::OK, "");
        assert!(!reply.text.contains(&password), "{path}: {}", reply.text);
    }
}
