//! Drift checks end to end with the stock Terraform CLI through `rampart tf drift`: a
//! state edited behind Terraform's back is found (exit 2, the resource with its values
//! before and after), the workspace reads `drifted` until a run's apply writes a new
//! state, drift raises one alert on the workspace's SRE service that a clean check
//! resolves, every check is kept as history, and bad requests get specific errors.

use rampart_testkit::terraform::Terraform;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::runs::{create_workspace, exited, expect, resources, wrap};
use super::{API, Tf};
use crate::platform::access::user_with_role;

// Terraform runs as a child process while the server runs in this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_tf_drift_finds_a_state_edited_behind_terraforms_back() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    create_workspace(
        &server,
        "app",
        json!({"auto_apply": true, "governed": false}),
    )
    .await;
    // Drift arrives at the SRE service `web` as an alert.
    let project = "/api/v1/orgs/default/projects/default";
    let created = server
        .post(
            &format!("{project}/services"),
            &admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    expect(&created, StatusCode::CREATED, "");
    let unknown = server
        .patch(
            &format!("{API}/app"),
            &admin,
            json!({"drift_alert_service": "nope"}),
        )
        .await;
    expect(&unknown, StatusCode::BAD_REQUEST, "unknown_service");
    let linked = server
        .patch(
            &format!("{API}/app"),
            &admin,
            json!({"drift_alert_service": "web"}),
        )
        .await;
    expect(&linked, StatusCode::OK, "");
    let integration = linked.body["drift_alert_integration"].as_str().unwrap();
    let integrations = server
        .get(&format!("{project}/services/web/integrations"), &admin)
        .await;
    assert!(
        integrations.text.contains(integration) && integrations.text.contains("Drift of"),
        "{}",
        integrations.text
    );
    let alerts = async || {
        let listed = server
            .get(&format!("{project}/alerts?service=web"), &admin)
            .await;
        expect(&listed, StatusCode::OK, "");
        listed.body["items"].as_array().unwrap().clone()
    };

    let tf = Terraform::new(&resources(&["a", "b"]));
    let applied = exited(&wrap(&server, &tf, &admin, &["apply"]).await, 0);
    assert_eq!(applied["run"]["status"], "applied", "{applied}");

    // Nothing drifted yet.
    let clean = exited(&wrap(&server, &tf, &admin, &["drift"]).await, 0);
    assert_eq!(clean["drifted"], 0, "{clean}");
    let workspace = server.get(&format!("{API}/app"), &admin).await;
    assert_eq!(
        workspace.body["drift"]["status"], "in_sync",
        "{}",
        workspace.text
    );
    assert!(alerts().await.is_empty(), "a clean check raises nothing");

    // Someone edits the state behind Terraform's back.
    let current = server
        .get(&format!("{API}/app/state-versions/current"), &admin)
        .await;
    expect(&current, StatusCode::OK, "");
    let mut state = current.body.clone();
    state["serial"] = json!(state["serial"].as_u64().unwrap() + 1);
    state["resources"][0]["instances"][0]["attributes"]["input"]["value"] = json!("tampered");
    let pushed = Tf { server: &server }
        .send(
            "POST",
            "/tf/v1/default/default/app",
            Some(&admin),
            &serde_json::to_vec(&state).unwrap(),
            &[],
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text());

    // The check finds it: exit 2, the resource with the state's value and the
    // configuration's, and the workspace reads drifted.
    let drifted = exited(&wrap(&server, &tf, &admin, &["drift"]).await, 2);
    assert_eq!(drifted["drifted"], 1, "{drifted}");
    let resource = &drifted["resources"][0];
    assert_eq!(resource["address"], "terraform_data.r0");
    assert_eq!(resource["kind"], "would_change");
    assert_eq!(resource["actions"], json!(["update"]));
    assert_eq!(resource["before"]["input"], "tampered", "{resource}");
    assert_eq!(resource["after"]["input"], "a", "{resource}");
    let workspace = server.get(&format!("{API}/app"), &admin).await;
    assert_eq!(workspace.body["status"], "drifted", "{}", workspace.text);
    assert_eq!(workspace.body["drift"]["latest_check"], drifted["id"]);
    let listed = server.get(API, &admin).await;
    let app = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["identifier"] == "app")
        .unwrap()
        .clone();
    assert_eq!(app["status"], "drifted", "{}", listed.text);
    assert_eq!(app["drift"]["latest_check"], drifted["id"]);
    let shown = server
        .get(
            &format!("{API}/app/drift-checks/{}", drifted["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    expect(&shown, StatusCode::OK, "");
    assert_eq!(shown.body["resources"], drifted["resources"]);
    // One alert on the service, naming the workspace and the drifted resource; a
    // second check that finds the same drift joins it.
    let raised = alerts().await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["status"], "triggered");
    assert_eq!(raised[0]["severity"], "warning");
    let alert = server
        .get(
            &format!("{project}/alerts/{}", raised[0]["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    expect(&alert, StatusCode::OK, "");
    let payload = &alert.body["payload"];
    assert_eq!(
        payload["summary"], "Workspace app drifted: 1 resource changed outside Terraform",
        "{payload}"
    );
    assert_eq!(payload["details"]["drifted"], json!(["terraform_data.r0"]));
    // (Nothing in the folder changed since the last init: the wrapper skips it.)
    let second = wrap(&server, &tf, &admin, &["drift"]).await;
    exited(&second, 2);
    assert!(
        !second.stderr.contains("Initializing the backend"),
        "{second}"
    );
    let raised = alerts().await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["event_count"], 2, "{raised:?}");

    // A run's apply puts it right and writes a new state: no longer drifted.
    exited(&wrap(&server, &tf, &admin, &["apply"]).await, 0);
    let workspace = server.get(&format!("{API}/app"), &admin).await;
    assert_eq!(workspace.body["status"], "active", "{}", workspace.text);
    assert_eq!(workspace.body["drift"]["status"], "unchecked");
    // And resolves the drift alert.
    let raised = alerts().await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["status"], "resolved", "{raised:?}");
    // A configuration file written since the last init: the wrapper inits again.
    let main_tf = tf.dir().join("main.tf");
    std::fs::write(&main_tf, std::fs::read(&main_tf).unwrap()).unwrap();
    let again = wrap(&server, &tf, &admin, &["drift", "--refresh-only"]).await;
    assert!(again.stderr.contains("Initializing the backend"), "{again}");
    let again = exited(&again, 0);
    assert_eq!(again["mode"], "refresh_only");
    // A clean check raises nothing more.
    assert_eq!(alerts().await.len(), 1);
    // Choosing where drift pages is a service owner's decision: workspace:edit alone is
    // not enough.
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            &admin,
            json!({"identifier": "infra", "name": "Infra", "permissions":
                   ["project:view", "workspace:view", "workspace:edit", "service:view"]}),
        )
        .await;
    expect(&role, StatusCode::CREATED, "");
    let infra = user_with_role(
        &server,
        "infra@example.com",
        role.body["id"].as_str().unwrap(),
    )
    .await;
    let refused = server
        .patch(
            &format!("{API}/app"),
            &infra,
            json!({"drift_alert_service": "web"}),
        )
        .await;
    expect(&refused, StatusCode::FORBIDDEN, "permission_denied");

    // Drift found again (a check recorded with the drifted plan) opens a new alert;
    // naming another service resolves it on the old one.
    let recorded = server
        .post(
            &format!("{API}/app/drift-checks"),
            &admin,
            json!({"plan": drifted["plan_id"]}),
        )
        .await;
    expect(&recorded, StatusCode::CREATED, "");
    let raised = alerts().await;
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert_eq!(raised[0]["status"], "triggered", "{raised:?}");
    let ops = server
        .post(
            &format!("{project}/services"),
            &admin,
            json!({"identifier": "ops", "name": "Ops"}),
        )
        .await;
    expect(&ops, StatusCode::CREATED, "");
    let moved = server
        .patch(
            &format!("{API}/app"),
            &admin,
            json!({"drift_alert_service": "ops"}),
        )
        .await;
    expect(&moved, StatusCode::OK, "");
    assert_ne!(moved.body["drift_alert_integration"], integration);
    assert!(
        alerts()
            .await
            .iter()
            .all(|alert| alert["status"] == "resolved"),
        "{:?}",
        alerts().await
    );
    // Drift stops paging; the integrations stay with their history.
    let unlinked = server
        .patch(
            &format!("{API}/app"),
            &admin,
            json!({"drift_alert_service": ""}),
        )
        .await;
    expect(&unlinked, StatusCode::OK, "");
    assert!(
        unlinked.body.get("drift_alert_integration").is_none(),
        "{}",
        unlinked.text
    );
    assert_eq!(alerts().await.len(), 2);

    // The history, newest first.
    let history = server.get(&format!("{API}/app/drift-checks"), &admin).await;
    expect(&history, StatusCode::OK, "");
    let drifts: Vec<u64> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["drifted"].as_u64().unwrap())
        .collect();
    assert_eq!(drifts, [1, 0, 1, 1, 0], "{}", history.text);

    // Bad requests: specific answers, nothing recorded.
    let viewer = user_with_role(&server, "viewer@example.com", "_viewer").await;
    let plan = drifted["plan_id"].as_str().unwrap();
    let checks = format!("{API}/app/drift-checks");
    expect(
        &server.post(&checks, &viewer, json!({"plan": plan})).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );
    expect(
        &server
            .post(&checks, &admin, json!({"plan": plan, "mode": "guess"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_mode",
    );
    expect(
        &server
            .post(
                &checks,
                &admin,
                json!({"plan": "01890000-0000-7000-8000-000000000000"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    for hostile in ["nope", "%00", &"x".repeat(3000)] {
        expect(
            &server.get(&format!("{checks}/{hostile}"), &viewer).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    expect(
        &server.get(&format!("{checks}/variables"), &viewer).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );
    let history = server.get(&checks, &viewer).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 5);
}
