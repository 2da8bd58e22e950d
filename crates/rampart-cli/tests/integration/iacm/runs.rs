//! Runs: plan → policy checks → approval → verified apply. End to end with the stock
//! Terraform CLI (the plan file Terraform wrote is the one applied; the author cannot
//! approve; soft failures need an override, hard ones block; a state changed since the
//! plan and a swapped plan file are refused before Terraform runs; destroy needs its
//! permission), and through the API on both engines: approvals racing make one
//! transition, approvals expire, wrong transitions and foreign runs get their 4xx and
//! change nothing.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rampart_app::{Clock as _, ManualClock};
use rampart_testkit::terraform::{Terraform, http_backend_block};
use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::{Value, json};

use super::API;
use crate::platform::access::user_with_role;

pub(super) fn runs_of(workspace: &str) -> String {
    format!("{API}/{workspace}/runs")
}

fn sha256_hex(bytes: &[u8]) -> String {
    rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(bytes))
}

#[track_caller]
pub(super) fn expect(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    if !code.is_empty() {
        assert_eq!(reply.code(), code, "{}", reply.text);
    }
}

pub(crate) async fn create_workspace(server: &TestServer, identifier: &str, runs: Value) {
    let reply = server
        .post(
            API,
            &server.admin_token,
            json!({"identifier": identifier, "name": identifier, "runs": runs}),
        )
        .await;
    expect(&reply, StatusCode::CREATED, "");
}

pub(super) async fn raw(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> Reply {
    let response = server
        .client
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    rampart_testkit::read(response).await
}

/// Uploads a plan's JSON and binary file; returns the plan id.
async fn upload_plan(
    server: &TestServer,
    token: &str,
    workspace: &str,
    json: Vec<u8>,
    file: Vec<u8>,
) -> String {
    let plans = format!("{API}/{workspace}/plans");
    let uploaded = raw(server, reqwest::Method::POST, &plans, token, json).await;
    expect(&uploaded, StatusCode::CREATED, "");
    let id = uploaded.body["id"].as_str().unwrap().to_owned();
    let filed = raw(
        server,
        reqwest::Method::PUT,
        &format!("{plans}/{id}/file"),
        token,
        file,
    )
    .await;
    expect(&filed, StatusCode::OK, "");
    id
}

pub(super) async fn new_run(
    server: &TestServer,
    token: &str,
    workspace: &str,
    destroy: bool,
) -> (String, String) {
    let created = server
        .post(&runs_of(workspace), token, json!({"is_destroy": destroy}))
        .await;
    expect(&created, StatusCode::CREATED, "");
    assert_eq!(created.body["run"]["status"], "planning");
    (
        created.body["run"]["id"].as_str().unwrap().to_owned(),
        created.body["run"]["lock_id"].as_str().unwrap().to_owned(),
    )
}

pub(super) async fn act(
    server: &TestServer,
    token: &str,
    workspace: &str,
    run: &str,
    action: &str,
    body: Value,
) -> Reply {
    server
        .post(
            &format!("{}/{run}/{action}", runs_of(workspace)),
            token,
            body,
        )
        .await
}

async fn run_detail(server: &TestServer, workspace: &str, run: &str) -> Value {
    let reply = server
        .get(
            &format!("{}/{run}", runs_of(workspace)),
            &server.admin_token,
        )
        .await;
    expect(&reply, StatusCode::OK, "");
    reply.body
}

fn plan_json(resources: usize) -> Vec<u8> {
    let changes: Vec<Value> = (0..resources)
        .map(|n| {
            json!({"address": format!("terraform_data.r{n}"), "mode": "managed",
                "type": "terraform_data", "name": format!("r{n}"),
                "provider_name": "terraform.io/builtin/terraform",
                "change": {"actions": ["create"], "before": null, "after": {"input": n}}})
        })
        .collect();
    serde_json::to_vec(&json!({
        "format_version": "1.2", "terraform_version": "1.15.5",
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
    }))
    .unwrap()
}

/// Through the API: a planned run waiting for approval (workspace `ws`).
pub(crate) async fn approvable_run(server: &TestServer, workspace: &str) -> String {
    let admin = server.admin_token.clone();
    let (run, _) = new_run(server, &admin, workspace, false).await;
    let plan = upload_plan(
        server,
        &admin,
        workspace,
        plan_json(1),
        b"binary plan".to_vec(),
    )
    .await;
    let attached = act(
        server,
        &admin,
        workspace,
        &run,
        "plan",
        json!({"plan": plan}),
    )
    .await;
    expect(&attached, StatusCode::OK, "");
    assert_eq!(
        attached.body["run"]["status"], "needs_approval",
        "{}",
        attached.text
    );
    run
}

async fn runs_refuse_what_does_not_apply(
    start: impl AsyncFnOnce(Arc<ManualClock>) -> Option<TestServer>,
) {
    let clock = Arc::new(ManualClock::new(
        "2026-11-03T10:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let Some(server) = start(clock.clone()).await else {
        return;
    };
    let admin = server.admin_token.clone();
    create_workspace(&server, "app", json!({"approval_ttl_seconds": 60})).await;
    let first = user_with_role(&server, "first@example.com", "_project_admin").await;
    let second = user_with_role(&server, "second@example.com", "_project_admin").await;
    let user = user_with_role(&server, "user@example.com", "_user").await;

    // Bad settings are refused naming the field; a user may not loosen approval.
    let bad = server
        .patch(
            &format!("{API}/app"),
            &admin,
            json!({"runs": {"approvals_required": 0}}),
        )
        .await;
    expect(&bad, StatusCode::BAD_REQUEST, "invalid_approvals_required");
    assert!(bad.text.contains("approvals_required"), "{}", bad.text);
    let loosen = server
        .patch(
            &format!("{API}/app"),
            &user,
            json!({"runs": {"auto_apply": true}}),
        )
        .await;
    expect(&loosen, StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(
        server.get(&format!("{API}/app"), &admin).await.body["runs"],
        json!({"auto_apply": false, "allow_self_approval": false,
               "approvals_required": 1, "approval_ttl_seconds": 60, "governed": true})
    );

    // Two approvers at once: exactly one transition, the other learns why.
    let run = approvable_run(&server, "app").await;
    let (a, b) = tokio::join!(
        act(&server, &first, "app", &run, "approvals", json!({})),
        act(&server, &second, "app", &run, "approvals", json!({}))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{} / {}",
        a.text,
        b.text
    );
    let loser = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(loser.code(), "run_state_conflict", "{}", loser.text);
    let detail = run_detail(&server, "app", &run).await;
    assert_eq!(detail["run"]["status"], "approved");
    assert_eq!(detail["approvals"].as_array().unwrap().len(), 1);
    let approvals_made = detail["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|transition| transition["to_status"] == "approved")
        .count();
    assert_eq!(approvals_made, 1, "{detail}");

    // Two approvals required: the same person twice counts once; two people at once
    // both count, and exactly one of them makes the transition.
    create_workspace(&server, "pair", json!({"approvals_required": 2})).await;
    let sequential = approvable_run(&server, "pair").await;
    let once = act(&server, &first, "pair", &sequential, "approvals", json!({})).await;
    expect(&once, StatusCode::CREATED, "");
    assert_eq!(once.body["run"]["status"], "needs_approval");
    assert_eq!(once.body["valid_approvals"], 1);
    let twice = act(&server, &first, "pair", &sequential, "approvals", json!({})).await;
    expect(&twice, StatusCode::CONFLICT, "already_approved");
    let both = act(
        &server,
        &second,
        "pair",
        &sequential,
        "approvals",
        json!({}),
    )
    .await;
    expect(&both, StatusCode::CREATED, "");
    assert_eq!(both.body["run"]["status"], "approved");
    let concurrent = approvable_run(&server, "pair").await;
    let (a, b) = tokio::join!(
        act(&server, &first, "pair", &concurrent, "approvals", json!({})),
        act(
            &server,
            &second,
            "pair",
            &concurrent,
            "approvals",
            json!({})
        )
    );
    expect(&a, StatusCode::CREATED, "");
    expect(&b, StatusCode::CREATED, "");
    let detail = run_detail(&server, "pair", &concurrent).await;
    assert_eq!(detail["run"]["status"], "approved", "{detail}");
    assert_eq!(detail["valid_approvals"], 2);
    let approved_transitions = detail["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|transition| transition["to_status"] == "approved")
        .count();
    assert_eq!(approved_transitions, 1, "{detail}");

    // An approval expires: the apply is refused and the run needs approval again.
    clock.advance(SignedDuration::from_secs(61));
    let lapsed = act(
        &server,
        &admin,
        "app",
        &run,
        "apply",
        json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
    )
    .await;
    expect(&lapsed, StatusCode::CONFLICT, "approval_expired");
    let detail = run_detail(&server, "app", &run).await;
    assert_eq!(detail["run"]["status"], "needs_approval");
    assert_eq!(detail["approvals"][0]["valid"], false);
    assert_eq!(detail["valid_approvals"], 0);
    assert_eq!(
        server.get(&format!("{API}/app"), &admin).await.body["status"],
        "active"
    );

    // Wrong transitions and bad bodies: the specific 4xx, nothing changed.
    let version_before = run_detail(&server, "app", &run).await;
    let refusals: Vec<(Reply, StatusCode, &str)> = vec![
        (
            act(
                &server,
                &admin,
                "app",
                &run,
                "apply",
                json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
            )
            .await,
            StatusCode::CONFLICT,
            "run_state_conflict",
        ),
        (
            act(
                &server,
                &admin,
                "app",
                &run,
                "apply-result",
                json!({"outcome": "succeeded"}),
            )
            .await,
            StatusCode::CONFLICT,
            "run_state_conflict",
        ),
        (
            act(
                &server,
                &admin,
                "app",
                &run,
                "apply-result",
                json!({"outcome": "maybe"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            act(&server, &admin, "app", &run, "cancel", json!({})).await,
            StatusCode::CONFLICT,
            "run_state_conflict",
        ),
        (
            act(
                &server,
                &admin,
                "app",
                &run,
                "plan",
                json!({"plan": "not-a-plan"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            act(&server, &admin, "app", &run, "approvals", json!({})).await,
            StatusCode::FORBIDDEN,
            "self_approval_forbidden",
        ),
        (
            act(&server, &user, "app", &run, "approvals", json!({})).await,
            StatusCode::FORBIDDEN,
            "permission_denied",
        ),
        (
            server
                .post(&runs_of("app"), &admin, json!({"is_destroy": "yes"}))
                .await,
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            server
                .post(&runs_of("app"), &admin, json!({"unknown": 1}))
                .await,
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            server
                .post(&runs_of("app"), &user, json!({"is_destroy": true}))
                .await,
            StatusCode::FORBIDDEN,
            "permission_denied",
        ),
        (
            server
                .get(
                    &format!("{}/0195f0c4-0000-7000-8000-000000000000", runs_of("app")),
                    &admin,
                )
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            server
                .get(&format!("{}/nonsense", runs_of("app")), &admin)
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (reply, status, code) in &refusals {
        expect(reply, *status, code);
    }
    assert_eq!(run_detail(&server, "app", &run).await, version_before);

    // Approve again (valid now), then the user applies — with a file that is not the
    // approved one: refused; the run stays approved.
    let again = act(&server, &first, "app", &run, "approvals", json!({})).await;
    expect(&again, StatusCode::CREATED, "");
    assert_eq!(again.body["run"]["status"], "approved");
    let swapped = act(
        &server,
        &user,
        "app",
        &run,
        "apply",
        json!({"plan_file_sha256": sha256_hex(b"another plan")}),
    )
    .await;
    expect(&swapped, StatusCode::CONFLICT, "run_plan_mismatch");
    assert_eq!(
        run_detail(&server, "app", &run).await["run"]["status"],
        "approved"
    );

    // The apply starts, holds the lock; an apply that wrote nothing is not "applied".
    let started = act(
        &server,
        &user,
        "app",
        &run,
        "apply",
        json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
    )
    .await;
    expect(&started, StatusCode::OK, "");
    assert_eq!(started.body["run"]["run"]["status"], "applying");
    let workspace = server.get(&format!("{API}/app"), &admin).await;
    assert_eq!(
        workspace.body["lock"]["id"], started.body["lock_id"],
        "{}",
        workspace.text
    );
    // The apply's run credential: a token of the user, living two hours at most, that
    // reads and writes this workspace's state and does nothing else.
    let credential = started.body["credential"].as_str().unwrap().to_owned();
    assert!(credential.starts_with("rmp_pat_"), "{}", started.text);
    rampart_testkit::remember_secret(&credential);
    let expires_at: Timestamp = started.body["credential_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        expires_at.duration_since(clock.now()),
        SignedDuration::from_hours(2)
    );
    let state_path = "/tf/v1/default/default/app";
    let read_state =
        async |path: &str| raw(&server, reqwest::Method::GET, path, &credential, vec![]).await;
    // (Past authentication and access: the workspace has no state yet.)
    expect(
        &read_state(state_path).await,
        StatusCode::NOT_FOUND,
        "no_state",
    );
    create_workspace(&server, "other", json!({})).await;
    expect(
        &read_state("/tf/v1/default/default/other").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    for (method, path) in [
        (reqwest::Method::GET, format!("{API}/app")),
        (reqwest::Method::GET, runs_of("app")),
        (reqwest::Method::GET, "/api/v1/me".to_owned()),
        (reqwest::Method::POST, "/api/v1/tokens".to_owned()),
    ] {
        let refused = raw(&server, method, &path, &credential, b"{}".to_vec()).await;
        expect(&refused, StatusCode::FORBIDDEN, "token_narrowed");
        assert!(refused.text.contains(&run), "{path}: {}", refused.text);
    }
    // The user's own token cannot write the state even under the run's lock ID: only
    // the run credential can.
    let lock_id = started.body["lock_id"].as_str().unwrap();
    let personal = raw(
        &server,
        reqwest::Method::POST,
        &format!("{state_path}?ID={lock_id}"),
        &user,
        super::state(9, "other", 1),
    )
    .await;
    expect(&personal, StatusCode::FORBIDDEN, "workspace_governed");
    let second_run = approvable_run(&server, "app").await;
    let approved = act(&server, &first, "app", &second_run, "approvals", json!({})).await;
    expect(&approved, StatusCode::CREATED, "");
    let busy = act(
        &server,
        &admin,
        "app",
        &second_run,
        "apply",
        json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
    )
    .await;
    expect(&busy, StatusCode::CONFLICT, "workspace_busy");
    assert!(busy.text.contains(&run), "{}", busy.text);
    let unverified = act(
        &server,
        &user,
        "app",
        &run,
        "apply-result",
        json!({"outcome": "succeeded"}),
    )
    .await;
    expect(&unverified, StatusCode::CONFLICT, "apply_not_verified");
    let detail = run_detail(&server, "app", &run).await;
    assert_eq!(detail["run"]["status"], "errored");
    assert!(
        detail["transitions"].as_array().unwrap().last().unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("wrote no state"),
        "{detail}"
    );
    assert_eq!(
        server.get(&format!("{API}/app"), &admin).await.body["status"],
        "active",
        "the lock is released"
    );
    expect(
        &read_state(state_path).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    // Its owner sees it among their tokens, named for the run, revoked.
    let tokens = server.get("/api/v1/tokens", &user).await;
    let listed = tokens.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["run"] == run.as_str())
        .unwrap_or_else(|| panic!("{}", tokens.text));
    assert_eq!(listed["name"], format!("run {run}"));
    assert!(listed["revoked_at"].is_string(), "{listed}");
    // Finished runs accept nothing more.
    expect(
        &act(&server, &first, "app", &run, "approvals", json!({})).await,
        StatusCode::CONFLICT,
        "run_state_conflict",
    );
    expect(
        &act(&server, &admin, "app", &run, "discard", json!({})).await,
        StatusCode::CONFLICT,
        "run_state_conflict",
    );

    // Discard, then nothing applies it.
    let discarded = act(&server, &admin, "app", &second_run, "discard", json!({})).await;
    expect(&discarded, StatusCode::OK, "");
    assert_eq!(discarded.body["run"]["status"], "discarded");
    expect(
        &act(
            &server,
            &admin,
            "app",
            &second_run,
            "apply",
            json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
        )
        .await,
        StatusCode::CONFLICT,
        "run_state_conflict",
    );

    // Auto-apply: a checked run is approved without anyone, and applies with no approval.
    create_workspace(&server, "auto", json!({"auto_apply": true})).await;
    // A run of `auto` planned by the admin and started applying with `token`: the run
    // and its run credential.
    let applied_by = async |token: &str| {
        let (run, _) = new_run(&server, &admin, "auto", false).await;
        let plan = upload_plan(
            &server,
            &admin,
            "auto",
            plan_json(1),
            b"binary plan".to_vec(),
        )
        .await;
        let attached = act(&server, &admin, "auto", &run, "plan", json!({"plan": plan})).await;
        expect(&attached, StatusCode::OK, "");
        assert_eq!(
            attached.body["run"]["status"], "approved",
            "{}",
            attached.text
        );
        assert_eq!(attached.body["valid_approvals"], 0);
        let started = act(
            &server,
            token,
            "auto",
            &run,
            "apply",
            json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
        )
        .await;
        expect(&started, StatusCode::OK, "");
        let credential = started.body["credential"].as_str().unwrap().to_owned();
        rampart_testkit::remember_secret(&credential);
        (run, credential)
    };
    let (auto_run, credential) = applied_by(&user).await;
    // The run credential takes and releases no lock: the run holds it.
    let lock_path = "/tf/v1/default/default/auto/lock";
    for method in ["LOCK", "UNLOCK"] {
        let refused = raw(
            &server,
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            lock_path,
            &credential,
            json!({"ID": auto_run, "Operation": "OperationTypePlan"})
                .to_string()
                .into_bytes(),
        )
        .await;
        expect(&refused, StatusCode::FORBIDDEN, "token_narrowed");
    }
    // An applying run whose client is gone: cancelling it breaks its lock, so only
    // someone who may force-unlock can; the lock goes with it.
    let not_allowed = act(&server, &user, "auto", &auto_run, "cancel", json!({})).await;
    expect(&not_allowed, StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(
        server.get(&format!("{API}/auto"), &admin).await.body["status"],
        "locked"
    );
    let canceled = act(&server, &admin, "auto", &auto_run, "cancel", json!({})).await;
    expect(&canceled, StatusCode::OK, "");
    assert_eq!(canceled.body["run"]["status"], "canceled");
    assert_eq!(
        server.get(&format!("{API}/auto"), &admin).await.body["status"],
        "active"
    );
    let auto_state = "/tf/v1/default/default/auto";
    let after_cancel = raw(
        &server,
        reqwest::Method::GET,
        auto_state,
        &credential,
        vec![],
    )
    .await;
    expect(&after_cancel, StatusCode::UNAUTHORIZED, "token_revoked");

    // Revoking the token that started an apply revokes its run credential too; so
    // does breaking the run's lock through the backend.
    let fresh = server
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "ci", "expires_in_days": 1}),
        )
        .await;
    expect(&fresh, StatusCode::CREATED, "");
    let fresh_secret = fresh.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&fresh_secret);
    let (parent_run, child) = applied_by(&fresh_secret).await;
    expect(
        &raw(&server, reqwest::Method::GET, auto_state, &child, vec![]).await,
        StatusCode::NOT_FOUND,
        "no_state",
    );
    let revoked = server
        .delete(
            &format!(
                "/api/v1/tokens/{}",
                fresh.body["token"]["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.text);
    expect(
        &raw(&server, reqwest::Method::GET, auto_state, &child, vec![]).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    expect(
        &act(&server, &admin, "auto", &parent_run, "cancel", json!({})).await,
        StatusCode::OK,
        "",
    );
    // A session (the web UI) that started an apply: logging out revokes its credential.
    let email = "session@example.com";
    user_with_role(&server, email, "_project_admin").await;
    // The password `user_with_role` gives (see `access::user_with_token`).
    let password = format!("amber violet {} harbour", email.len() * 7919);
    let session = crate::platform::auth::login(&server, email, &password).await;
    let (session_run, _) = new_run(&server, &admin, "auto", false).await;
    let plan = upload_plan(
        &server,
        &admin,
        "auto",
        plan_json(1),
        b"binary plan".to_vec(),
    )
    .await;
    let attached = act(
        &server,
        &admin,
        "auto",
        &session_run,
        "plan",
        json!({"plan": plan}),
    )
    .await;
    expect(&attached, StatusCode::OK, "");
    let started = session
        .post(
            &server,
            &format!("{}/{session_run}/apply", runs_of("auto")),
            json!({"plan_file_sha256": sha256_hex(b"binary plan")}),
        )
        .await;
    expect(&started, StatusCode::OK, "");
    let from_session = started.body["credential"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&from_session);
    expect(
        &raw(
            &server,
            reqwest::Method::GET,
            auto_state,
            &from_session,
            vec![],
        )
        .await,
        StatusCode::NOT_FOUND,
        "no_state",
    );
    let logged_out = session
        .post(&server, "/api/v1/auth/logout", json!({}))
        .await;
    assert!(logged_out.status.is_success(), "{}", logged_out.text);
    expect(
        &raw(
            &server,
            reqwest::Method::GET,
            auto_state,
            &from_session,
            vec![],
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );
    expect(
        &act(&server, &admin, "auto", &session_run, "cancel", json!({})).await,
        StatusCode::OK,
        "",
    );
    let (_, unlocked) = applied_by(&admin).await;
    let forced = raw(&server, reqwest::Method::DELETE, lock_path, &admin, vec![]).await;
    assert!(forced.status.is_success(), "{}", forced.text);
    expect(
        &raw(&server, reqwest::Method::GET, auto_state, &unlocked, vec![]).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    );

    // A run of another project's workspace is not there.
    let project = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    expect(&project, StatusCode::CREATED, "");
    let other_api = "/api/v1/orgs/default/projects/other/workspaces";
    let created = server
        .post(
            other_api,
            &admin,
            json!({"identifier": "app", "name": "app"}),
        )
        .await;
    expect(&created, StatusCode::CREATED, "");
    expect(
        &server
            .get(&format!("{other_api}/app/runs/{run}"), &admin)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect(
        &server
            .post(
                &format!("{other_api}/app/runs/{second_run}/approvals"),
                &first,
                json!({}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Every transition is audited.
    let audit = server
        .get("/api/v1/audit-events?action=run.approve", &admin)
        .await;
    assert!(
        audit.body["items"].as_array().unwrap().len() >= 3,
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn runs_refuse_what_does_not_apply_on_sqlite() {
    runs_refuse_what_does_not_apply(async |clock| {
        Some(
            TestServer::start_with(rampart_testkit::Options {
                clock: Some(clock),
                ..Default::default()
            })
            .await,
        )
    })
    .await;
}

#[tokio::test]
async fn runs_refuse_what_does_not_apply_on_postgres() {
    runs_refuse_what_does_not_apply(async |clock| {
        rampart_testkit::postgres_server_url()?;
        Some(
            TestServer::start_with(rampart_testkit::Options {
                engine: Some(rampart_testkit::Engine::Postgres),
                clock: Some(clock),
                ..Default::default()
            })
            .await,
        )
    })
    .await;
}

pub(super) fn resources(inputs: &[&str]) -> String {
    inputs
        .iter()
        .enumerate()
        .map(|(n, input)| {
            format!("resource \"terraform_data\" \"r{n}\" {{\n  input = \"{input}\"\n}}\n")
        })
        .collect()
}

/// What `rampart tf` did.
pub(crate) struct Wrapped {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Wrapped {
    fn of(output: std::process::Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|_| panic!("not JSON: {self}"))
    }
}

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `rampart tf ARGS… --output json` in the module's folder, as a CI job runs it.
fn wrapper(
    server: &TestServer,
    tf: &Terraform,
    token: &str,
    args: &[&str],
) -> tokio::process::Command {
    let cli_config = tf.dir().join(".terraformrc");
    std::fs::write(&cli_config, "").unwrap();
    #[allow(clippy::disallowed_methods)] // tests start real clients
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .arg("tf")
        .args(args)
        .args(["--output", "json", "--workspace", "app"])
        .arg("--terraform-bin")
        .arg(rampart_testkit::terraform::terraform_path())
        .current_dir(tf.dir())
        .env("RAMPART_URL", &server.url)
        .env("RAMPART_TOKEN", token)
        .env("RAMPART_CA_CERT", &server.ca_cert)
        .env("TF_CLI_CONFIG_FILE", &cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_ARGS", "-no-color")
        .env_remove("TF_HTTP_PASSWORD")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// `rampart ARGS…` as a person runs it against the server.
pub(crate) async fn rampart(server: &TestServer, token: &str, args: &[&str]) -> Wrapped {
    #[allow(clippy::disallowed_methods)] // tests start real clients
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env("RAMPART_URL", &server.url)
        .env("RAMPART_TOKEN", token)
        .env("RAMPART_CA_CERT", &server.ca_cert)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    Wrapped::of(output)
}

pub(super) async fn wrap(
    server: &TestServer,
    tf: &Terraform,
    token: &str,
    args: &[&str],
) -> Wrapped {
    Wrapped::of(wrapper(server, tf, token, args).output().await.unwrap())
}

#[track_caller]
pub(super) fn exited(wrapped: &Wrapped, code: i32) -> Value {
    assert_eq!(wrapped.code, code, "{wrapped}");
    wrapped.json()
}

pub(super) fn id_of(detail: &Value) -> String {
    detail["run"]["id"].as_str().unwrap().to_owned()
}

// Terraform runs as a child process while the server runs in this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_tf_applies_only_the_approved_plan_with_stock_terraform() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    create_workspace(&server, "app", json!({})).await;
    let approver = user_with_role(&server, "approver@example.com", "_project_admin").await;
    let user = user_with_role(&server, "dev@example.com", "_user").await;
    let sets = "/api/v1/orgs/default/projects/default/policy-sets";
    for (identifier, enforcement, source) in [
        (
            "size",
            "soft_mandatory",
            "package size\ndeny contains msg if {\n    n := count([c | some c in input.resource_changes; c.change.actions != [\"no-op\"]])\n    n > 2\n    msg := sprintf(\"%d resources change (at most 2)\", [n])\n}\n",
        ),
        (
            "keep",
            "hard_mandatory",
            "package keep\ndeny contains msg if {\n    some c in input.resource_changes\n    c.change.actions == [\"delete\"]\n    msg := sprintf(\"%s would be deleted\", [c.address])\n}\n",
        ),
    ] {
        let created = server
            .post(
                sets,
                &admin,
                json!({"identifier": identifier, "name": identifier, "entity": "plan",
                "enforcement": enforcement, "input_shape": "plan",
                "modules": [{"name": format!("{identifier}.rego"), "source": source}]}),
            )
            .await;
        expect(&created, StatusCode::CREATED, "");
    }
    // The module has no backend block: the wrapper brings the workspace's.
    let tf = Terraform::new(&resources(&["a", "b", "c"]));

    // Three resources: the soft-mandatory set fails; exit 2, waiting for an override.
    let planned = exited(&wrap(&server, &tf, &admin, &["plan"]).await, 2);
    let run = id_of(&planned);
    assert_eq!(planned["run"]["status"], "policy_override", "{planned}");
    assert_eq!(planned["plan"]["counts"]["add"], 3);
    assert_eq!(planned["policy"]["policy_status"], "needs_override");
    assert!(
        !tf.dir().join("rampart_backend_override.tf").exists(),
        "the override file is removed"
    );
    let early = act(&server, &approver, "app", &run, "approvals", json!({})).await;
    expect(&early, StatusCode::CONFLICT, "run_state_conflict");
    assert!(early.text.contains("override"), "{}", early.text);
    let no_right = act(
        &server,
        &user,
        "app",
        &run,
        "policy-overrides",
        json!({"policy_set": "size", "reason": "launch"}),
    )
    .await;
    expect(&no_right, StatusCode::FORBIDDEN, "permission_denied");
    let overridden = act(
        &server,
        &admin,
        "app",
        &run,
        "policy-overrides",
        json!({"policy_set": "size", "reason": "launch day: three is fine"}),
    )
    .await;
    expect(&overridden, StatusCode::OK, "");
    assert_eq!(overridden.body["run"]["status"], "needs_approval");

    // Not approved yet: apply exits 2 and changes nothing.
    let unapproved = exited(
        &wrap(&server, &tf, &admin, &["apply", "--run", &run]).await,
        2,
    );
    assert_eq!(unapproved["run"]["status"], "needs_approval");

    // The author cannot approve; a second person can.
    let own = act(&server, &admin, "app", &run, "approvals", json!({})).await;
    expect(&own, StatusCode::FORBIDDEN, "self_approval_forbidden");
    let approved = act(&server, &approver, "app", &run, "approvals", json!({})).await;
    expect(&approved, StatusCode::CREATED, "");
    assert_eq!(approved.body["run"]["status"], "approved");

    // A swapped plan file is refused before Terraform runs: nothing locked, nothing written.
    let plan_file = tf.dir().join(".rampart").join(format!("{run}.tfplan"));
    let approved_file = std::fs::read(&plan_file).unwrap();
    std::fs::write(&plan_file, b"a different plan").unwrap();
    let swapped = wrap(&server, &tf, &admin, &["apply", "--run", &run]).await;
    assert_eq!(swapped.code, 1, "{swapped}");
    assert!(swapped.stderr.contains("run_plan_mismatch"), "{swapped}");
    assert_eq!(
        server.get(&format!("{API}/app"), &admin).await.body["status"],
        "active"
    );

    // The approved file applies; the state version it wrote is linked to the run.
    std::fs::write(&plan_file, &approved_file).unwrap();
    let done = exited(
        &wrap(&server, &tf, &admin, &["apply", "--run", &run]).await,
        0,
    );
    assert_eq!(done["run"]["status"], "applied", "{done}");
    assert_eq!(done["run"]["applied_state_version"], 1);
    let versions = server
        .get(&format!("{API}/app/state-versions"), &admin)
        .await;
    assert_eq!(
        versions.body["items"][0]["lock_id"], done["run"]["lock_id"],
        "{}",
        versions.text
    );
    assert_eq!(
        server.get(&format!("{API}/app"), &admin).await.body["status"],
        "active"
    );
    let events: Vec<&str> = done["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|transition| transition["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "created",
            "plan_attached",
            "policy_cleared",
            "approved",
            "apply_started",
            "apply_finished"
        ]
    );

    // The state changes between plan and apply: exit 4, refused before Terraform runs.
    tf.write("main.tf", &resources(&["a2", "b", "c"]));
    let planned = exited(&wrap(&server, &tf, &admin, &["plan"]).await, 2);
    let stale_run = id_of(&planned);
    assert_eq!(planned["run"]["status"], "needs_approval", "{planned}");
    expect(
        &act(
            &server,
            &approver,
            "app",
            &stale_run,
            "approvals",
            json!({}),
        )
        .await,
        StatusCode::CREATED,
        "",
    );
    // The workspace is governed: a direct `terraform apply` with a personal token is
    // refused before it changes anything, with a message naming the way that works.
    let backend = http_backend_block(&server.url, "default", "default", "app", &server.ca_cert);
    let behind_its_back = Terraform::new(&format!("{backend}\n{}", resources(&["x", "b", "c"])))
        .env("TF_HTTP_PASSWORD", admin.as_str());
    behind_its_back.run(&["init"]).await.assert_ok();
    let direct = behind_its_back.run(&["apply", "-auto-approve"]).await;
    assert!(!direct.ok(), "{direct}");
    // Terraform shows only "invalid auth" for a 403; the answer itself says why.
    assert!(direct.stderr.contains("state lock"), "{direct}");
    let locked = server
        .client
        .request(
            reqwest::Method::from_bytes(b"LOCK").unwrap(),
            format!("{}/tf/v1/default/default/app/lock", server.url),
        )
        .basic_auth("rampart", Some(&admin))
        .body(
            json!({"ID": "direct", "Operation": "OperationTypeApply", "Who": "me@laptop"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let locked = rampart_testkit::read(locked).await;
    expect(&locked, StatusCode::FORBIDDEN, "workspace_governed");
    assert!(locked.text.contains("rampart tf apply"), "{}", locked.text);
    let pushed = raw(
        &server,
        reqwest::Method::POST,
        "/tf/v1/default/default/app",
        &admin,
        super::state(9, "other", 1),
    )
    .await;
    expect(&pushed, StatusCode::FORBIDDEN, "workspace_governed");
    // An admin's rollback is the one other way its state moves: the run goes stale.
    let rolled = server
        .post(
            &format!("{API}/app/state-rollback"),
            &admin,
            json!({"version": 1, "reason": "test"}),
        )
        .await;
    assert!(rolled.status.is_success(), "{}", rolled.text);
    let stale = wrap(&server, &tf, &admin, &["apply", "--run", &stale_run]).await;
    assert_eq!(stale.code, 4, "{stale}");
    assert!(stale.stderr.contains("run_stale"), "{stale}");
    assert_eq!(
        run_detail(&server, "app", &stale_run).await["run"]["status"],
        "errored"
    );
    assert_eq!(
        server.get(&format!("{API}/app"), &admin).await.body["status"],
        "active"
    );

    // Removing a resource: the hard-mandatory set blocks for good (exit 3).
    tf.write("main.tf", &resources(&["x", "b"]));
    let blocked = exited(&wrap(&server, &tf, &admin, &["plan"]).await, 3);
    assert_eq!(blocked["run"]["status"], "policy_blocked", "{blocked}");
    let blocked_run = id_of(&blocked);
    expect(
        &act(
            &server,
            &approver,
            "app",
            &blocked_run,
            "approvals",
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "run_state_conflict",
    );
    let refused = exited(
        &wrap(&server, &tf, &admin, &["apply", "--run", &blocked_run]).await,
        3,
    );
    assert_eq!(refused["run"]["status"], "policy_blocked");

    // `apply` without a run plans, waits for the approval, and applies.
    tf.write("main.tf", &resources(&["x", "b", "c2"]));
    let waiting = wrapper(
        &server,
        &tf,
        &admin,
        &["apply", "--wait-for-approval", "--timeout", "120"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let run = loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let listed = server.get(&runs_of("app"), &admin).await;
        let newest = &listed.body["items"][0];
        if newest["status"] == "needs_approval" && newest["id"] != json!(blocked_run) {
            break newest["id"].as_str().unwrap().to_owned();
        }
    };
    expect(
        &act(&server, &approver, "app", &run, "approvals", json!({})).await,
        StatusCode::CREATED,
        "",
    );
    let output = waiting.wait_with_output().await.unwrap();
    let waited = Wrapped {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let applied = exited(&waited, 0);
    assert_eq!(applied["run"]["status"], "applied", "{applied}");
    assert!(waited.stderr.contains("waiting"), "{waited}");

    // A module Terraform cannot plan: exit 1, and the run is errored, not left planning.
    tf.write(
        "broken.tf",
        "resource \"terraform_data\" \"bad\" {\n  input = undefined_thing\n}\n",
    );
    let broken = wrap(&server, &tf, &admin, &["plan"]).await;
    assert_eq!(broken.code, 1, "{broken}");
    assert!(
        broken.stderr.contains("errored: planning failed"),
        "{broken}"
    );
    let newest = &server.get(&runs_of("app"), &admin).await.body["items"][0];
    assert_eq!(newest["status"], "errored", "{newest}");
    expect(
        &act(
            &server,
            &admin,
            "app",
            newest["id"].as_str().unwrap(),
            "plan-failed",
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "run_state_conflict",
    );
    std::fs::remove_file(tf.dir().join("broken.tf")).unwrap();

    // Destroy needs its own permission.
    let denied = wrap(&server, &tf, &user, &["destroy"]).await;
    assert_eq!(denied.code, 1, "{denied}");
    assert!(denied.stderr.contains("permission_denied"), "{denied}");
    let versions = server
        .get(&format!("{API}/app/state-versions"), &admin)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        versions, 3,
        "the run's apply, the rollback, the waited run's apply"
    );
}
