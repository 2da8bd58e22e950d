//! Workspaces through `/api/v1/…/workspaces`: create (refusals with their codes), list,
//! update, the lock view, no deleting while locked, delete, all audited.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{API, Tf, lock};

#[tokio::test]
async fn workspaces_are_managed_through_the_api() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let created = server
        .post(
            API,
            &admin,
            json!({"identifier": "network", "name": "Network", "provisioner": "opentofu",
                   "provisioner_version": "1.10.0", "tags": ["team:infra", "env=prod"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["provisioner"], "opentofu");
    assert_eq!(created.body["tags"], json!(["env=prod", "team:infra"]));
    assert_eq!(created.body["status"], "active");
    for (body, code) in [
        (
            json!({"identifier": "network", "name": "Again"}),
            "identifier_taken",
        ),
        (
            json!({"identifier": "x", "name": "X", "provisioner": "pulumi"}),
            "invalid_provisioner",
        ),
        (
            json!({"identifier": "Bad Slug", "name": "X"}),
            "invalid_identifier",
        ),
        (
            json!({"identifier": "x", "name": "X", "tags": ["a b"]}),
            "invalid_tags",
        ),
    ] {
        let refused = server.post(API, &admin, body).await;
        assert!(refused.status.is_client_error(), "{}", refused.text);
        assert_eq!(refused.code(), code, "{}", refused.text);
    }
    let listed = server.get(API, &admin).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let patched = server
        .patch(
            &format!("{API}/network"),
            &admin,
            json!({"description": "VPCs and subnets", "tags": []}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["description"], "VPCs and subnets");
    assert_eq!(patched.body["tags"], json!([]));
    // New workspaces are governed (state only through runs); this test uses the backend
    // directly, so it turns that off, as an approver may.
    assert_eq!(patched.body["runs"]["governed"], true);
    let ungoverned = server
        .patch(
            &format!("{API}/network"),
            &admin,
            json!({"runs": {"governed": false}}),
        )
        .await;
    assert_eq!(
        ungoverned.body["runs"]["governed"], false,
        "{}",
        ungoverned.text
    );

    // The lock view, and no deleting while locked.
    let tf = Tf { server: &server };
    let lock_path = "/tf/v1/default/default/network/lock";
    assert_eq!(
        tf.send("LOCK", lock_path, Some(&admin), &lock("op-1"), &[])
            .await
            .status,
        StatusCode::OK
    );
    let shown = server.get(&format!("{API}/network"), &admin).await;
    assert_eq!(shown.body["status"], "locked");
    assert_eq!(shown.body["lock"]["id"], "op-1");
    assert_eq!(shown.body["lock"]["operation"], "OperationTypeApply");
    assert_eq!(shown.body["lock"]["info"]["Who"], "ci@runner");
    // A list says it is locked too (the lock itself is in a single read).
    let listed = server.get(API, &admin).await;
    let network = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["identifier"] == "network")
        .unwrap()
        .clone();
    assert_eq!(network["status"], "locked", "{}", listed.text);
    assert!(network.get("lock").is_none());
    let refused = server.delete(&format!("{API}/network"), &admin).await;
    assert_eq!(refused.status, StatusCode::LOCKED);
    tf.send("UNLOCK", lock_path, Some(&admin), &lock("op-1"), &[])
        .await;
    let deleted = server.delete(&format!("{API}/network"), &admin).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get(&format!("{API}/network"), &admin).await.status,
        StatusCode::NOT_FOUND
    );
    let audited = server
        .get("/api/v1/audit-events?resource_type=workspace", &admin)
        .await;
    let actions: Vec<&str> = audited.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    for action in ["workspace.create", "workspace.update", "workspace.delete"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}
