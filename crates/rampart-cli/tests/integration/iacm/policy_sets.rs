//! Policy sets on the server: the ten fixture policies, saved as a project's set, decide
//! about a real plan exactly what `rampart policy eval` decides offline; a set is
//! validated when saved (422 with line and column; nothing stored); soft-mandatory
//! failures are overridden only with `policy_set:override` and a reason, hard-mandatory
//! ones never; a looping policy is stopped and blocks (the server stays up); sets attach
//! by tag, by workspace and to all, at organisation and project scope; workspace and
//! state sets refuse what they deny. On both engines.

use std::path::PathBuf;
use std::process::Command;

use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::{Value, json};

use super::{API, Tf, WS, state};

const PROJECT_SETS: &str = "/api/v1/orgs/default/projects/default/policy-sets";
const ORG_SETS: &str = "/api/v1/orgs/default/policy-sets";

fn fixture_plan() -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/tfplan/infracost-terraform_v0.14_plan.json"),
    )
    .unwrap()
}

fn hcp_policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies/hcp")
}

/// The fixture policies as a set's modules.
fn hcp_modules() -> Vec<Value> {
    let mut modules: Vec<Value> = std::fs::read_dir(hcp_policies_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rego"))
        .map(|path| {
            json!({
                "name": path.file_name().unwrap().to_str().unwrap(),
                "source": std::fs::read_to_string(&path).unwrap(),
            })
        })
        .collect();
    modules.sort_by_key(|module| module["name"].as_str().unwrap().to_owned());
    modules
}

fn module(name: &str, source: &str) -> Value {
    json!({"name": name, "source": source})
}

async fn upload_plan(server: &TestServer, token: &str, workspace: &str, body: Vec<u8>) -> Reply {
    let response = server
        .client
        .post(format!("{}{API}/{workspace}/plans", server.url))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    rampart_testkit::read(response).await
}

async fn results(server: &TestServer, workspace: &str, plan: &Value) -> Value {
    let id = plan["id"].as_str().unwrap();
    let reply = server
        .get(
            &format!("{API}/{workspace}/plans/{id}/policy-results"),
            &server.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

fn result_of<'a>(results: &'a Value, set: &str) -> &'a Value {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["policy_set"] == set)
        .unwrap_or_else(|| panic!("no result of {set} in {results}"))
}

fn set_names(results: &Value) -> Vec<String> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["policy_set"].as_str().unwrap().to_owned())
        .collect()
}

async fn created(reply: Reply) -> Value {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

async fn workspace(server: &TestServer, identifier: &str, tags: &[&str]) {
    created(
        server
            .post(
                API,
                &server.admin_token,
                // Ungoverned: these tests write state through the backend directly.
                json!({"identifier": identifier, "name": identifier, "tags": tags,
                       "runs": {"governed": false}}),
            )
            .await,
    )
    .await;
}

/// What `rampart policy eval --output json` decides offline: (package, deny, warn).
fn offline_decisions(plan: &[u8]) -> Vec<(String, Value, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, plan).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["policy", "eval", "--output", "json", "--input"])
        .arg(&plan_path)
        .arg(hcp_policies_dir())
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut decisions: Vec<(String, Value, Value)> = report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|module| {
            (
                module["package"].as_str().unwrap().to_owned(),
                module["deny"].clone(),
                module["warn"].clone(),
            )
        })
        .collect();
    decisions.sort_by(|a, b| a.0.cmp(&b.0));
    decisions
}

async fn policy_sets_decide(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    workspace(&server, "prod", &["env=prod"]).await;
    workspace(&server, "dev", &[]).await;

    // The ten fixture policies as a hard-mandatory set of the project.
    let guardrails = created(
        server
            .post(
                PROJECT_SETS,
                &admin,
                json!({"identifier": "guardrails", "name": "Guardrails", "entity": "plan",
                       "enforcement": "hard_mandatory", "modules": hcp_modules()}),
            )
            .await,
    )
    .await;
    assert_eq!(guardrails["version"], 1);
    assert_eq!(guardrails["module_count"], 10);
    assert_eq!(guardrails["attach"], json!({"kind": "all", "values": []}));
    assert_eq!(guardrails["scope"], "default/default");
    let shown = server
        .get(&format!("{PROJECT_SETS}/guardrails"), &admin)
        .await;
    assert_eq!(shown.body["modules"], json!(hcp_modules()));

    // A real plan: the server decides what the offline engine decides, module by module.
    let plan_body = fixture_plan();
    let plan = created(upload_plan(&server, &admin, "prod", plan_body.clone()).await).await;
    let decided = results(&server, "prod", &plan).await;
    let result = result_of(&decided, "guardrails");
    let mut online: Vec<(String, Value, Value)> = result["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|module| {
            (
                module["package"].as_str().unwrap().to_owned(),
                module["deny"].clone(),
                module["warn"].clone(),
            )
        })
        .collect();
    online.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(online, offline_decisions(&plan_body));
    assert_eq!(result["policy_set_version"], 1);
    // Timed by the server's clock: the set, and each module within it.
    let set_us = result["duration_us"].as_u64().unwrap();
    let modules_us: u64 = result["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|module| module["duration_us"].as_u64().unwrap())
        .sum();
    assert!(
        set_us > 0 && modules_us > 0 && modules_us <= set_us,
        "{result}"
    );
    assert_eq!(result["policy_set_scope"], "project");
    assert_eq!(result["enforcement"], "hard_mandatory");
    let denies = online.iter().any(|(_, deny, _)| deny != &json!([]));
    assert!(
        denies,
        "the fixture plan breaks some of the fixture policies"
    );
    assert_eq!(result["outcome"], "failed");
    assert_eq!(result["blocking"], "yes");
    assert_eq!(plan["policy_status"], "blocked");
    assert_eq!(decided["policy_status"], "blocked");
    // The stored plan says so in lists too, and the upload was audited with it.
    let listed = server.get(&format!("{API}/prod/plans"), &admin).await;
    assert_eq!(listed.body["items"][0]["policy_status"], "blocked");
    let uploads = server
        .get("/api/v1/audit-events?action=plan.upload", &admin)
        .await;
    assert_eq!(
        uploads.body["items"][0]["details"]["policy_status"], "blocked",
        "{}",
        uploads.text
    );

    // A hard-mandatory failure is never overridden.
    let id = plan["id"].as_str().unwrap();
    let overrides = format!("{API}/prod/plans/{id}/policy-overrides");
    let refused = server
        .post(
            &overrides,
            &admin,
            json!({"policy_set": "guardrails", "reason": "please"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.code(), "policy_not_overridable");
    assert!(refused.text.contains("hard-mandatory"), "{}", refused.text);

    // Disabled, a set is not evaluated; the plan then passes with no set applying.
    let disabled = server
        .patch(
            &format!("{PROJECT_SETS}/guardrails"),
            &admin,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(disabled.body["version"], 2);
    let small = small_plan(3);
    let plan = created(upload_plan(&server, &admin, "prod", small.clone()).await).await;
    assert_eq!(plan["policy_status"], "none");

    // A soft-mandatory set attached by tag, and an advisory set of the organisation.
    created(
        server
            .post(
                PROJECT_SETS,
                &admin,
                json!({"identifier": "size", "name": "Size", "entity": "plan",
                       "enforcement": "soft_mandatory", "input_shape": "plan",
                       "attach": {"kind": "tags", "values": ["env=prod"]},
                       "modules": [module("count.rego", r#"package size
deny contains msg if {
    n := count(input.resource_changes)
    n > 2
    msg := sprintf("%d resources change (at most 2)", [n])
}
"#)]}),
            )
            .await,
    )
    .await;
    created(
        server
            .post(
                ORG_SETS,
                &admin,
                json!({"identifier": "org-advice", "name": "Org advice", "entity": "plan",
                       "rego_syntax": "v0",
                       "modules": [module("names.rego", r#"package org.names
deny[msg] {
    rc := input.plan.resource_changes[_]
    not startswith(rc.name, "prod_")
    msg := sprintf("%s is not named prod_*", [rc.address])
}
warn[msg] {
    input.cost.delta_monthly > 1000000
    msg := "very expensive"
}
"#)]}),
            )
            .await,
    )
    .await;
    // The organisation's set is listed at the organisation only.
    let org_list = server.get(ORG_SETS, &admin).await;
    assert_eq!(org_list.body["items"].as_array().unwrap().len(), 1);
    let project_list = server.get(PROJECT_SETS, &admin).await;
    let identifiers: Vec<&str> = project_list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|set| set["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(identifiers, ["guardrails", "size"]);
    assert!(project_list.body["items"][0].get("modules").is_none());

    let plan = created(upload_plan(&server, &admin, "prod", small.clone()).await).await;
    assert_eq!(plan["policy_status"], "needs_override");
    let decided = results(&server, "prod", &plan).await;
    // The organisation's sets decide first.
    assert_eq!(set_names(&decided), ["org-advice", "size"]);
    let advice = result_of(&decided, "org-advice");
    assert_eq!(advice["policy_set_scope"], "org");
    assert_eq!(advice["outcome"], "failed");
    assert_eq!(advice["blocking"], "no");
    assert_eq!(
        advice["modules"][0]["deny"],
        json!([
            "terraform_data.r0 is not named prod_*",
            "terraform_data.r1 is not named prod_*",
            "terraform_data.r2 is not named prod_*"
        ])
    );
    let size = result_of(&decided, "size");
    assert_eq!(size["blocking"], "until_overridden");
    assert_eq!(
        size["modules"][0]["deny"],
        json!(["3 resources change (at most 2)"])
    );
    // The tag attaches it: not to dev.
    let dev_plan = created(upload_plan(&server, &admin, "dev", small.clone()).await).await;
    assert_eq!(dev_plan["policy_status"], "passed_with_warnings");
    assert_eq!(
        set_names(&results(&server, "dev", &dev_plan).await),
        ["org-advice"]
    );

    // Overriding: not without the permission, not without a reason, once.
    let id = plan["id"].as_str().unwrap();
    let overrides = format!("{API}/prod/plans/{id}/policy-overrides");
    let (user_id, user) =
        crate::platform::access::user_with_token(&server, "dev@example.com").await;
    server
        .post(
            "/api/v1/orgs/default/projects/default/role-assignments",
            &admin,
            json!({"principal": format!("user:{user_id}"), "role": "_user"}),
        )
        .await;
    let forbidden = server
        .post(
            &overrides,
            &user,
            json!({"policy_set": "size", "reason": "I said so"}),
        )
        .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.text
    );
    // A user may read sets but not change them.
    assert_eq!(server.get(PROJECT_SETS, &user).await.status, StatusCode::OK);
    let not_allowed = server
        .patch(
            &format!("{PROJECT_SETS}/size"),
            &user,
            json!({"enforcement": "advisory"}),
        )
        .await;
    assert_eq!(not_allowed.status, StatusCode::FORBIDDEN);
    for reason in ["", "   "] {
        let refused = server
            .post(
                &overrides,
                &admin,
                json!({"policy_set": "size", "reason": reason}),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), "invalid_reason");
    }
    let advisory = server
        .post(
            &overrides,
            &admin,
            json!({"policy_set": "org-advice", "reason": "n/a"}),
        )
        .await;
    assert_eq!(advisory.code(), "policy_not_overridable");
    let unknown = server
        .post(
            &overrides,
            &admin,
            json!({"policy_set": "nothing-here", "reason": "n/a"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let overridden = server
        .post(
            &overrides,
            &admin,
            json!({"policy_set": "size", "reason": "CAB-1234 approved the batch"}),
        )
        .await;
    assert_eq!(overridden.status, StatusCode::OK, "{}", overridden.text);
    assert_eq!(overridden.body["policy_status"], "passed_with_warnings");
    let size = result_of(&overridden.body, "size");
    assert_eq!(size["blocking"], "no");
    assert_eq!(size["override"]["reason"], "CAB-1234 approved the batch");
    assert!(
        size["override"]["by"]
            .as_str()
            .unwrap()
            .starts_with("user:")
    );
    let again = server
        .post(
            &overrides,
            &admin,
            json!({"policy_set": "size", "reason": "twice"}),
        )
        .await;
    assert_eq!(again.code(), "policy_not_overridable");
    let shown = server.get(&format!("{API}/prod/plans/{id}"), &admin).await;
    assert_eq!(shown.body["policy_status"], "passed_with_warnings");
    let audited = server
        .get("/api/v1/audit-events?action=plan.policy_override", &admin)
        .await;
    let events = audited.body["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audited.text);
    assert_eq!(events[0]["details"]["policy_set"], "size");

    // A changed module is a new version, and the next plan is decided by it.
    let replaced = server
        .client
        .put(format!(
            "{}{PROJECT_SETS}/size/modules/count.rego",
            server.url
        ))
        .bearer_auth(&admin)
        .body("package size\n\ndeny contains \"never\" if false\n")
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    let plan = created(upload_plan(&server, &admin, "prod", small.clone()).await).await;
    let decided = results(&server, "prod", &plan).await;
    let size = result_of(&decided, "size");
    assert_eq!(
        (size["policy_set_version"].clone(), size["outcome"].clone()),
        (json!(2), json!("passed"))
    );
    let source = server
        .client
        .get(format!(
            "{}{PROJECT_SETS}/size/modules/count.rego",
            server.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(source.text().await.unwrap().contains("never"));

    // A policy that would loop for ages is stopped, its set errors and blocks; the
    // server answers the next request.
    created(
        server
            .post(
                PROJECT_SETS,
                &admin,
                json!({"identifier": "slow", "name": "Slow", "entity": "plan",
                       "enforcement": "hard_mandatory",
                       "attach": {"kind": "workspaces", "values": ["dev"]},
                       "modules": [module("slow.rego", r#"package slow
deny contains "unreachable" if {
    some a in numbers.range(1, 100000)
    some b in numbers.range(1, 100000)
    a * b == -1
}
"#)]}),
            )
            .await,
    )
    .await;
    let plan = created(upload_plan(&server, &admin, "dev", small.clone()).await).await;
    assert_eq!(plan["policy_status"], "blocked");
    let slow = results(&server, "dev", &plan).await;
    let slow = result_of(&slow, "slow");
    assert_eq!(slow["outcome"], "errored");
    assert!(
        slow["error"]
            .as_str()
            .unwrap()
            .starts_with("policy_timeout"),
        "{slow}"
    );
    assert!(server.get(PROJECT_SETS, &admin).await.status.is_success());
    assert_eq!(
        server
            .delete(&format!("{PROJECT_SETS}/slow"), &admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // Sets that would allocate without bound — a range of 10^15 numbers, its end read
    // from the plan; thirty paddings of 10^7 characters — are stopped before they
    // allocate; the server carries on.
    for (identifier, source) in [
        (
            "greedy",
            r#"package greedy
deny contains "many" if count(numbers.range(0, count(input.plan.resource_changes) * 1e15)) > 0
"#,
        ),
        (
            "padded",
            r#"package padded
format := concat("", [f | some _ in numbers.range(1, 30); f := "%09999999d"])
ones := [1 | some _ in numbers.range(1, 30)]
warn contains sprintf(format, ones) if true
"#,
        ),
    ] {
        created(
            server
                .post(
                    PROJECT_SETS,
                    &admin,
                    json!({"identifier": identifier, "name": identifier, "entity": "plan",
                           "attach": {"kind": "workspaces", "values": ["dev"]},
                           "modules": [module(&format!("{identifier}.rego"), source)]}),
                )
                .await,
        )
        .await;
        let plan = created(upload_plan(&server, &admin, "dev", small.clone()).await).await;
        let decided = results(&server, "dev", &plan).await;
        let result = result_of(&decided, identifier);
        assert_eq!(result["outcome"], "errored", "{result}");
        assert!(
            result["error"]
                .as_str()
                .unwrap()
                .starts_with("policy_memory_exceeded"),
            "{result}"
        );
        assert_eq!(
            result["blocking"], "no",
            "an advisory set's error blocks nothing"
        );
        assert!(server.get(PROJECT_SETS, &admin).await.status.is_success());
        server
            .delete(&format!("{PROJECT_SETS}/{identifier}"), &admin)
            .await;
    }
    // What it decided stays with the plan.
    assert_eq!(
        set_names(&results(&server, "dev", &plan).await),
        ["org-advice", "slow"]
    );

    // Workspace sets refuse a workspace they deny, on create and on update.
    created(
        server
            .post(
                PROJECT_SETS,
                &admin,
                json!({"identifier": "owners", "name": "Owners", "entity": "workspace",
                       "enforcement": "soft_mandatory",
                       "modules": [module("owner.rego", r#"package owners
has_team if {
    some tag in input.workspace.tags
    startswith(tag, "team:")
}
deny contains msg if {
    not has_team
    msg := sprintf("workspace %s has no team: tag", [input.workspace.name])
}
"#)]}),
            )
            .await,
    )
    .await;
    let refused = server
        .post(
            API,
            &admin,
            json!({"identifier": "orphan", "name": "orphan"}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.code(), "policy_denied");
    assert!(
        refused
            .text
            .contains("owners: workspace orphan has no team: tag"),
        "{}",
        refused.text
    );
    assert_eq!(
        server.get(&format!("{API}/orphan"), &admin).await.status,
        StatusCode::NOT_FOUND
    );
    workspace(&server, "owned", &["team:infra"]).await;
    let untag = server
        .patch(&format!("{API}/owned"), &admin, json!({"tags": []}))
        .await;
    assert_eq!(untag.code(), "policy_denied");
    let kept = server.get(&format!("{API}/owned"), &admin).await;
    assert_eq!(kept.body["tags"], json!(["team:infra"]));
    // The refusal is audited.
    let checks = server
        .get("/api/v1/audit-events?action=policy.check", &admin)
        .await;
    assert!(
        checks.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["outcome"] == "denied"),
        "{}",
        checks.text
    );

    // State sets check what the backend is asked to store.
    created(
        server
            .post(
                PROJECT_SETS,
                &admin,
                json!({"identifier": "state-size", "name": "State size", "entity": "state",
                       "enforcement": "hard_mandatory",
                       "attach": {"kind": "workspaces", "values": ["prod"]},
                       "modules": [module("resources.rego", r#"package state.size
deny contains msg if {
    n := count(input.state.resources)
    n > 2
    msg := sprintf("%d resources in one state (at most 2)", [n])
}
"#)]}),
            )
            .await,
    )
    .await;
    let tf = Tf { server: &server };
    let written = tf
        .send("POST", WS, Some(&admin), &state(1, "lin-1", 1), &[])
        .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text());
    let too_big = tf
        .send("POST", WS, Some(&admin), &state(2, "lin-1", 3), &[])
        .await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_big.text().contains("3 resources in one state"),
        "{}",
        too_big.text()
    );
    let current: Value =
        serde_json::from_slice(&tf.send("GET", WS, Some(&admin), b"", &[]).await.body).unwrap();
    assert_eq!(current["serial"], 1);
}

/// A plan JSON with `resources` created `terraform_data` resources.
fn small_plan(resources: usize) -> Vec<u8> {
    let changes: Vec<Value> = (0..resources)
        .map(|n| {
            json!({"address": format!("terraform_data.r{n}"), "mode": "managed",
                   "type": "terraform_data", "name": format!("r{n}"),
                   "provider_name": "terraform.io/builtin/terraform",
                   "change": {"actions": ["create"], "before": null, "after": {}}})
        })
        .collect();
    serde_json::to_vec(&json!({
        "format_version": "1.2", "terraform_version": "1.15.5",
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
    }))
    .unwrap()
}

#[tokio::test]
async fn policy_sets_decide_about_plans_workspaces_and_states_on_sqlite() {
    policy_sets_decide(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn policy_sets_decide_about_plans_workspaces_and_states_on_postgres() {
    policy_sets_decide(TestServer::start_postgres).await;
}

/// Saving a set validates it: each bad set is refused with its specific code, the
/// message names the module, line and column, and nothing of it is stored.
async fn bad_sets_store_nothing(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let set = |modules: Value| json!({"identifier": "bad", "name": "Bad", "entity": "plan", "modules": modules});
    let good = module("ok.rego", "package ok\n\ndeny contains \"x\" if false\n");
    let cases: Vec<(&str, Value, StatusCode, &str, &str)> = vec![
        (
            "a parse error",
            set(json!([module(
                "broken.rego",
                "package broken\n\ndeny contains msg if {\n  msg := \n}\n"
            )])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_invalid",
            "broken.rego:",
        ),
        (
            "v0 syntax in a v1 set",
            set(json!([module(
                "old.rego",
                "package old\n\ndeny[msg] { msg := \"x\" }\n"
            )])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_invalid",
            "old.rego:3:",
        ),
        (
            "no deny or warn",
            set(json!([module(
                "quiet.rego",
                "package quiet\n\nallow := true\n"
            )])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_without_decision",
            "quiet.rego",
        ),
        (
            "a network builtin",
            set(json!([module(
                "net.rego",
                "package net\n\ndeny contains \"x\" if http.send({\"method\": \"get\", \"url\": \"http://x\"})\n"
            )])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_invalid",
            "net.rego:3:22: unknown function http.send (network builtins are not available)",
        ),
        (
            "no modules",
            set(json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_set_invalid",
            "at least one module",
        ),
        (
            "two modules of one name",
            set(json!([good.clone(), good.clone()])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_set_invalid",
            "ok.rego",
        ),
        (
            "a module name with a slash",
            set(json!([module(
                "../x.rego",
                "package x\ndeny contains 1 if false\n"
            )])),
            StatusCode::BAD_REQUEST,
            "invalid_module_name",
            ".rego",
        ),
        (
            "a NUL in a source",
            set(json!([module(
                "nul.rego",
                "package nul\n# \u{0}\ndeny contains 1 if false\n"
            )])),
            StatusCode::BAD_REQUEST,
            "nul_character",
            "NUL",
        ),
        (
            "an unknown entity",
            json!({"identifier": "bad", "name": "Bad", "entity": "run", "modules": [good.clone()]}),
            StatusCode::BAD_REQUEST,
            "invalid_entity",
            "entity",
        ),
        (
            "an unknown enforcement",
            json!({"identifier": "bad", "name": "Bad", "entity": "plan",
                   "enforcement": "strict", "modules": [good.clone()]}),
            StatusCode::BAD_REQUEST,
            "invalid_enforcement",
            "advisory",
        ),
        (
            "an attachment by tag without tags",
            json!({"identifier": "bad", "name": "Bad", "entity": "plan",
                   "attach": {"kind": "tags"}, "modules": [good.clone()]}),
            StatusCode::BAD_REQUEST,
            "invalid_attach",
            "at least one",
        ),
    ];
    for (what, body, status, code, mention) in cases {
        let reply = server.post(PROJECT_SETS, &admin, body).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(reply.code(), code, "{what}: {}", reply.text);
        assert!(reply.text.contains(mention), "{what}: {}", reply.text);
    }
    // A parse error names the line and column the parser gave.
    let reply = server
        .post(
            PROJECT_SETS,
            &admin,
            set(json!([module(
                "line.rego",
                "package line\n\ndeny contains \"x\" if {\n  1 +\n}\n"
            )])),
        )
        .await;
    let message = reply.body["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("line.rego:4:") || message.starts_with("line.rego:5:"),
        "{message}"
    );
    assert_eq!(
        server.get(PROJECT_SETS, &admin).await.body["items"],
        json!([])
    );

    // A good set, then bad changes to it: refused, the set unchanged.
    created(
        server
            .post(PROJECT_SETS, &admin, set(json!([good.clone()])))
            .await,
    )
    .await;
    let path = format!("{PROJECT_SETS}/bad/modules/extra.rego");
    let put = |body: Vec<u8>| {
        let request = server
            .client
            .put(format!("{}{path}", server.url))
            .bearer_auth(&admin)
            .body(body);
        async move { rampart_testkit::read(request.send().await.unwrap()).await }
    };
    let broken = put(b"package extra\ndeny contains if".to_vec()).await;
    assert_eq!(broken.code(), "policy_invalid", "{}", broken.text);
    let not_utf8 = put(vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(not_utf8.status, StatusCode::BAD_REQUEST);
    let huge = put(vec![b'#'; 600 * 1024]).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.text);
    let last = server
        .delete(&format!("{PROJECT_SETS}/bad/modules/ok.rego"), &admin)
        .await;
    assert_eq!(last.code(), "policy_set_invalid", "{}", last.text);
    let missing = server
        .delete(&format!("{PROJECT_SETS}/bad/modules/none.rego"), &admin)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let duplicate = server
        .post(PROJECT_SETS, &admin, set(json!([good.clone()])))
        .await;
    assert_eq!(duplicate.code(), "identifier_taken");
    let entity_change = server
        .patch(
            &format!("{PROJECT_SETS}/bad"),
            &admin,
            json!({"entity": "state"}),
        )
        .await;
    assert_eq!(entity_change.status, StatusCode::BAD_REQUEST);
    let stored = server.get(&format!("{PROJECT_SETS}/bad"), &admin).await;
    assert_eq!(stored.body["version"], 1);
    assert_eq!(stored.body["modules"], json!([good]));
    // Account scope has no policy sets; a hidden org looks like a missing one.
    let nowhere = server.get("/api/v1/orgs/nowhere/policy-sets", &admin).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_policy_sets_are_refused_and_store_nothing_on_sqlite() {
    bad_sets_store_nothing(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn bad_policy_sets_are_refused_and_store_nothing_on_postgres() {
    bad_sets_store_nothing(TestServer::start_postgres).await;
}
