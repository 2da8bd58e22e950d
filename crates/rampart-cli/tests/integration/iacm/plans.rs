//! Plans: every real plan of `../shared/fixtures/tfplan/` uploads, with summaries checked
//! against counts made by hand for several; a real `terraform show -json` of a plan with
//! a sensitive variable and output shows none of it in the masked view (the raw download
//! does, for `workspace:access_state` only, audited); the binary plan file round-trips;
//! the state the plan was made against is recorded and can be asserted; bad input is a
//! specific 4xx and stores nothing; a hidden workspace answers like a missing one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rampart_testkit::terraform::Terraform;
use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::{Value, json};

use super::{API, Tf, WS, state};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tfplan")
}

fn plans_of(workspace: &str) -> String {
    format!("{API}/{workspace}/plans")
}

/// Sends `body` as it is (any content type, as `curl --data-binary` does).
async fn upload(server: &TestServer, token: &str, path: &str, body: Vec<u8>) -> Reply {
    let response = server
        .client
        .post(format!("{}{path}", server.url))
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    rampart_testkit::read(response).await
}

async fn raw_get(server: &TestServer, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let response = server
        .client
        .get(format!("{}{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

async fn workspace(server: &TestServer, identifier: &str) {
    let created = server
        .post(
            API,
            &server.admin_token,
            // Ungoverned: these tests write state through the backend directly.
            json!({"identifier": identifier, "name": identifier, "runs": {"governed": false}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

/// Counts made by hand from the fixture files (add, change, replace, destroy, read,
/// no-op), with the reasons Terraform gave.
/// A resource change's address, action and reason.
type Reason = (&'static str, &'static str, &'static str);

fn expected() -> BTreeMap<&'static str, (Value, Vec<Reason>)> {
    let counts = |add: u64, change: u64, replace: u64, destroy: u64, read: u64, no_op: u64| {
        json!({"add": add, "change": change, "replace": replace, "destroy": destroy,
               "read": read, "no_op": no_op, "forget": 0})
    };
    BTreeMap::from([
        // A secret replaced with create_before_destroy (["create", "delete"]).
        (
            "checkov-deleted-resources-tfplan.json",
            (counts(0, 0, 1, 0, 0, 0), vec![]),
        ),
        // Terraform 1.15: a tainted resource replaced, delete first.
        (
            "terraform-json-action_reason-plan.json",
            (
                counts(0, 0, 1, 0, 0, 0),
                vec![(
                    "null_resource.example",
                    "replace",
                    "replace_because_tainted",
                )],
            ),
        ),
        // Data sources read during apply, with both reasons of format 1.2.
        (
            "checkov-github-oidc-tfplan.json",
            (
                counts(5, 0, 0, 0, 4, 0),
                vec![
                    (
                        r#"module.poc.data.aws_iam_policy_document.r3["p1"]"#,
                        "read",
                        "read_because_config_unknown",
                    ),
                    (
                        r#"module.poc.data.aws_iam_policy_document.r4["p2"]"#,
                        "read",
                        "read_because_dependency_pending",
                    ),
                ],
            ),
        ),
        // Format 0.1 with modules only.
        (
            "checkov-google-modules-tfplan.json",
            (counts(11, 0, 0, 0, 0, 0), vec![]),
        ),
        // Deletes, an update, creates and no-ops; outputs changed and unchanged.
        (
            "tfcompliance-issue522-plan.json",
            (counts(5, 1, 0, 2, 0, 7), vec![]),
        ),
        // The 417 KB plan of Terraform 0.14.
        (
            "infracost-terraform_v0.14_plan.json",
            (counts(12, 1, 0, 0, 0, 13), vec![]),
        ),
    ])
}

async fn every_fixture_uploads(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    workspace(&server, "fixtures").await;
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 13, "{names:?}");
    let expected = expected();
    let mut uploaded = Vec::new();
    for name in &names {
        let body = std::fs::read(fixtures_dir().join(name)).unwrap();
        let document: Value = serde_json::from_slice(&body).unwrap();
        let reply = upload(&server, &admin, &plans_of("fixtures"), body.clone()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {}", reply.text);
        assert_eq!(
            reply.body["format_version"], document["format_version"],
            "{name}"
        );
        assert_eq!(
            reply.body["terraform_version"], document["terraform_version"],
            "{name}"
        );
        assert_eq!(reply.body["size_bytes"], body.len(), "{name}");
        assert_eq!(reply.body["state"], Value::Null, "{name}: no state yet");
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let detail = server
            .get(&format!("{}/{id}", plans_of("fixtures")), &admin)
            .await;
        assert_eq!(detail.status, StatusCode::OK, "{name}: {}", detail.text);
        let changes = detail.body["resource_changes"].as_array().unwrap();
        assert_eq!(
            changes.len(),
            document["resource_changes"].as_array().map_or(0, Vec::len),
            "{name}"
        );
        assert_eq!(
            detail.body["sha256"],
            rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(&body))
        );
        if let Some((counts, reasons)) = expected.get(name.as_str()) {
            assert_eq!(&detail.body["counts"], counts, "{name}");
            for (address, action, reason) in reasons {
                let change = changes
                    .iter()
                    .find(|change| change["address"] == *address)
                    .unwrap_or_else(|| panic!("{name}: no {address}"));
                assert_eq!(change["action"], *action, "{name} {address}");
                assert_eq!(change["action_reason"], *reason, "{name} {address}");
            }
        }
        // The masked view is the plan, less what is sensitive.
        let masked = server
            .get(&format!("{}/{id}/masked", plans_of("fixtures")), &admin)
            .await;
        assert_eq!(masked.status, StatusCode::OK, "{name}: {}", masked.text);
        assert_eq!(masked.body["format_version"], document["format_version"]);
        // The raw download is the bytes uploaded.
        let (status, raw) = raw_get(
            &server,
            &admin,
            &format!("{}/{id}/json", plans_of("fixtures")),
        )
        .await;
        assert_eq!((status, raw == body), (StatusCode::OK, true), "{name}");
        uploaded.push(id);
    }
    let outputs = {
        let body = std::fs::read(fixtures_dir().join("tfcompliance-issue522-plan.json")).unwrap();
        let id = upload(&server, &admin, &plans_of("fixtures"), body)
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        uploaded.push(id.clone());
        server
            .get(&format!("{}/{id}", plans_of("fixtures")), &admin)
            .await
            .body["output_changes"]
            .clone()
    };
    assert_eq!(
        outputs,
        json!([{"name": "lambda_function_arn", "action": "update"},
               {"name": "lambda_function_name", "action": "no-op"}])
    );

    // History: newest first, paged.
    let mut listed = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server
            .get(
                &format!("{}?limit=5&cursor={cursor}", plans_of("fixtures")),
                &admin,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            listed.push(item["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    uploaded.reverse();
    assert_eq!(listed, uploaded);
}

#[tokio::test]
async fn every_fixture_plan_uploads_with_its_summary_on_sqlite() {
    every_fixture_uploads(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn every_fixture_plan_uploads_with_its_summary_on_postgres() {
    every_fixture_uploads(TestServer::start_postgres).await;
}

/// A real plan: `terraform plan -out` of a configuration with a sensitive variable fed
/// into a resource and a sensitive output, then `terraform show -json` of it.
#[tokio::test]
async fn a_real_plan_shows_no_sensitive_value_and_downloads_need_access_state() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let secret = "hunter2-plan-secret-7f3a";
    rampart_testkit::remember_secret(secret);
    let tf = Terraform::new(
        r#"
variable "db_password" {
  type      = string
  sensitive = true
}

variable "greeting" {
  default = "hello"
}

resource "terraform_data" "db" {
  input = { password = var.db_password, name = "orders" }
}

resource "terraform_data" "greeting" {
  input = var.greeting
}

output "password" {
  value     = var.db_password
  sensitive = true
}

output "greeting" {
  value = var.greeting
}
"#,
    )
    .env("TF_VAR_db_password", secret);
    tf.run(&["init"]).await.assert_ok();
    tf.run(&["plan", "-out", "tfplan"]).await.assert_ok();
    let show = tf.run(&["show", "-json", "tfplan"]).await;
    show.assert_ok();
    let plan_json = show.stdout.into_bytes();
    assert!(
        String::from_utf8_lossy(&plan_json).contains(secret),
        "the plan JSON carries the value in clear"
    );
    let plan_file = std::fs::read(tf.dir().join("tfplan")).unwrap();

    // A state to plan against: the plan records it.
    let backend = Tf { server: &server };
    let wrote = backend
        .send("POST", WS, Some(&admin), &state(3, "lin-a", 1), &[])
        .await;
    assert_eq!(wrote.status, StatusCode::OK);
    let uploaded = upload(&server, &admin, &plans_of("prod"), plan_json.clone()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    assert_eq!(uploaded.body["state"]["serial"], 3);
    assert_eq!(uploaded.body["state"]["lineage"], "lin-a");
    assert_eq!(uploaded.body["state"]["version"], 1);
    assert_eq!(
        uploaded.body["state"]["sha256"],
        rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(&state(3, "lin-a", 1)))
    );
    assert!(
        uploaded.body["terraform_version"]
            .as_str()
            .unwrap()
            .starts_with('1')
    );
    let id = uploaded.body["id"].as_str().unwrap().to_owned();
    let plan = format!("{}/{id}", plans_of("prod"));

    let detail = server.get(&plan, &admin).await;
    assert_eq!(detail.body["counts"]["add"], 2, "{}", detail.text);
    assert_eq!(
        detail.body["output_changes"],
        json!([{"name": "greeting", "action": "create"},
               {"name": "password", "action": "create"}])
    );
    let masked = server.get(&format!("{plan}/masked"), &admin).await;
    assert_eq!(masked.status, StatusCode::OK);
    assert!(!masked.text.contains(secret), "{}", masked.text);
    assert!(!detail.text.contains(secret));
    assert!(masked.text.contains("(sensitive value)"));
    // What is not sensitive stays.
    assert_eq!(masked.body["variables"]["greeting"]["value"], "hello");
    let db = masked.body["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == "terraform_data.db")
        .unwrap();
    assert_eq!(db["change"]["after"]["input"]["name"], "orders");

    // The binary plan file is kept and downloads as uploaded; the same bytes again
    // change nothing, other bytes are refused.
    let put = |body: Vec<u8>| {
        server
            .client
            .put(format!("{}{plan}/file", server.url))
            .bearer_auth(&admin)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let stored = rampart_testkit::read(put(plan_file.clone()).await.unwrap()).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text);
    assert_eq!(stored.body["has_file"], true);
    let again = put(plan_file.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let other = rampart_testkit::read(put(b"another file".to_vec()).await.unwrap()).await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::CONFLICT, "plan_file_exists")
    );
    let detail = server.get(&plan, &admin).await;
    assert_eq!(
        detail.body["file_sha256"],
        rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(&plan_file))
    );
    let (status, file) = raw_get(&server, &admin, &format!("{plan}/file")).await;
    assert_eq!((status, file == plan_file), (StatusCode::OK, true));
    let (status, raw) = raw_get(&server, &admin, &format!("{plan}/json")).await;
    assert_eq!((status, raw == plan_json), (StatusCode::OK, true));

    // A viewer reads the history, the summary and the masked view; the raw JSON and
    // file need workspace:access_state; uploading needs workspace:plan.
    let viewer =
        crate::platform::access::user_with_role(&server, "viewer@example.com", "_viewer").await;
    for path in [plans_of("prod"), plan.clone(), format!("{plan}/masked")] {
        let reply = server.get(&path, &viewer).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        assert!(!reply.text.contains(secret));
    }
    for path in [format!("{plan}/json"), format!("{plan}/file")] {
        let reply = server.get(&path, &viewer).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "permission_denied"),
            "{path}"
        );
    }
    let refused = upload(&server, &viewer, &plans_of("prod"), plan_json).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let downloads = server
        .get("/api/v1/audit-events?action=plan.download", &admin)
        .await;
    let parts: Vec<&str> = downloads.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["details"]["part"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(parts.len(), 2, "{}", downloads.text);
    assert!(parts.contains(&"json") && parts.contains(&"file"));
    let uploads = server
        .get("/api/v1/audit-events?action=plan.upload", &admin)
        .await;
    assert_eq!(uploads.body["items"].as_array().unwrap().len(), 1);

    // The plan follows key rotation: its JSON, summary, file and file digest are
    // resealed (with the state version) and read back unchanged.
    let rotated = server
        .post(
            "/api/v1/keys/rotate",
            &admin,
            json!({"scope": "default/default"}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(server.app().rewrap_rotated_data().await.unwrap(), 5);
    assert_eq!(server.get(&plan, &admin).await.body, detail.body);
    let (status, file) = raw_get(&server, &admin, &format!("{plan}/file")).await;
    assert_eq!((status, file == plan_file), (StatusCode::OK, true));
    assert_eq!(
        server.get(&format!("{plan}/masked"), &admin).await.body,
        masked.body
    );
}

fn small_plan() -> Value {
    json!({
        "format_version": "1.2", "terraform_version": "1.15.5",
        "planned_values": {"root_module": {}},
        "resource_changes": [{"address": "terraform_data.a", "mode": "managed",
            "type": "terraform_data", "name": "a",
            "provider_name": "terraform.io/builtin/terraform",
            "change": {"actions": ["create"], "before": null, "after": {}}}],
    })
}

async fn bad_input_stores_nothing(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    workspace(&server, "prod").await;
    let plans = plans_of("prod");
    let bytes = |value: Value| serde_json::to_vec(&value).unwrap();
    let mut wrong_format = small_plan();
    wrong_format["format_version"] = json!("2.0");
    let mut nul = small_plan();
    nul["terraform_version"] = json!("1.15.5\u{0}");
    let mut bad_action = small_plan();
    bad_action["resource_changes"][0]["change"]["actions"] = json!(["explode"]);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str, &str)> = vec![
        (
            "a state file",
            state(1, "l", 1),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
            "state file",
        ),
        (
            "an array",
            b"[1, 2]".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
            "array",
        ),
        (
            "a string",
            b"\"plan\"".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
            "string",
        ),
        (
            "not JSON",
            b"{nope".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
            "not JSON",
        ),
        (
            "empty",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
            "empty",
        ),
        (
            "format 2.0",
            bytes(wrong_format),
            StatusCode::BAD_REQUEST,
            "plan_format_unsupported",
            "2.0",
        ),
        (
            "an escaped NUL",
            bytes(nul),
            StatusCode::BAD_REQUEST,
            "nul_character",
            "NUL",
        ),
        (
            "a NUL byte",
            b"{\"format_version\": \"1.2\"\0}".to_vec(),
            StatusCode::BAD_REQUEST,
            "nul_character",
            "NUL",
        ),
        (
            "an unknown action",
            bytes(bad_action),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
            "resource_changes[0].change.actions",
        ),
        (
            "too large",
            bytes(json!({"pad": "x".repeat(5000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "",
        ),
    ];
    for (what, body, status, code, message) in cases {
        let reply = upload(&server, &admin, &plans, body).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "{what}: {}",
            reply.text
        );
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{what}: {}",
            reply.text
        );
    }

    // A state assertion that does not hold is 409; one that holds stores the plan.
    let refused = upload(
        &server,
        &admin,
        &format!("{plans}?state_serial=1"),
        bytes(small_plan()),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "plan_state_mismatch"),
        "{}",
        refused.text
    );
    let listed = server.get(&plans, &admin).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored");
    let tf = Tf { server: &server };
    tf.send("POST", WS, Some(&admin), &state(4, "lin", 1), &[])
        .await;
    for (query, status) in [
        ("?state_serial=3", StatusCode::CONFLICT),
        ("?state_lineage=other", StatusCode::CONFLICT),
        ("?state_serial=4&state_lineage=lin", StatusCode::CREATED),
    ] {
        let reply = upload(
            &server,
            &admin,
            &format!("{plans}{query}"),
            bytes(small_plan()),
        )
        .await;
        assert_eq!(reply.status, status, "{query}: {}", reply.text);
    }
    let listed = server.get(&plans, &admin).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let id = items[0]["id"].as_str().unwrap().to_owned();

    // Another project's workspace and a hidden project answer exactly like a missing
    // workspace; a plan of another workspace is not found through this one.
    let created = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let other_ws = server
        .post(
            "/api/v1/orgs/default/projects/other/workspaces",
            &admin,
            json!({"identifier": "secret-ws", "name": "secret"}),
        )
        .await;
    assert_eq!(other_ws.status, StatusCode::CREATED, "{}", other_ws.text);
    let user = crate::platform::access::user_with_role(&server, "dev@example.com", "_user").await;
    let hidden = upload(
        &server,
        &user,
        "/api/v1/orgs/default/projects/other/workspaces/secret-ws/plans",
        bytes(small_plan()),
    )
    .await;
    let missing = upload(
        &server,
        &user,
        "/api/v1/orgs/default/projects/nope/workspaces/secret-ws/plans",
        bytes(small_plan()),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
    assert_eq!(hidden.body, missing.body);
    let no_workspace = upload(&server, &user, &plans_of("nope"), bytes(small_plan())).await;
    assert_eq!(no_workspace.status, StatusCode::NOT_FOUND);
    workspace(&server, "staging").await;
    let elsewhere = server
        .get(&format!("{}/{id}", plans_of("staging")), &admin)
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    for path in [format!("{plans}/not-a-uuid"), format!("{plans}/{id}x")] {
        assert_eq!(
            server.get(&path, &admin).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let other_plans = server
        .get(
            "/api/v1/orgs/default/projects/other/workspaces/secret-ws/plans",
            &admin,
        )
        .await;
    assert_eq!(other_plans.body["items"], json!([]));
}

fn small_limit(config: &mut rampart_cli::config::Config) {
    config.iacm.plan_json_bytes_max = 4096;
}

#[tokio::test]
async fn bad_plans_are_refused_and_store_nothing_on_sqlite() {
    bad_input_stores_nothing(async || {
        Some(
            TestServer::start_with(rampart_testkit::Options {
                configure: Some(Box::new(small_limit)),
                ..Default::default()
            })
            .await,
        )
    })
    .await;
}

#[tokio::test]
async fn bad_plans_are_refused_and_store_nothing_on_postgres() {
    bad_input_stores_nothing(async || {
        rampart_testkit::postgres_server_url()?;
        Some(
            TestServer::start_with(rampart_testkit::Options {
                engine: Some(rampart_testkit::Engine::Postgres),
                configure: Some(Box::new(small_limit)),
                ..Default::default()
            })
            .await,
        )
    })
    .await;
}
