//! `/api/v1/orgs` and `/api/v1/orgs/{org}/projects`.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

#[tokio::test]
async fn organisations_and_projects_have_full_crud_with_audit() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;

    let created = server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "acme", "name": "Acme", "description": "the org"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["identifier"], "acme");
    assert_eq!(created.body["description"], "the org");

    let read = server.get("/api/v1/orgs/acme", admin).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);

    let updated = server
        .patch("/api/v1/orgs/acme", admin, json!({"name": "Acme Inc"}))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["name"], "Acme Inc");
    assert_eq!(updated.body["description"], "the org", "absent fields stay");

    let project = server
        .post(
            "/api/v1/orgs/acme/projects",
            admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    assert_eq!(project.status, StatusCode::CREATED, "{}", project.text);
    assert_eq!(project.body["org"], "acme");
    let listed = server.get("/api/v1/orgs/acme/projects", admin).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let patched = server
        .patch(
            "/api/v1/orgs/acme/projects/web",
            admin,
            json!({"description": "site"}),
        )
        .await;
    assert_eq!(patched.body["description"], "site");

    // Project identifiers are unique per organisation only.
    let again = server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);

    // Deleting a non-empty organisation is refused and changes nothing.
    let refused = server.delete("/api/v1/orgs/acme", admin).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "org_not_empty");
    assert_eq!(
        server
            .get("/api/v1/orgs/acme/projects/web", admin)
            .await
            .status,
        StatusCode::OK
    );

    assert_eq!(
        server
            .delete("/api/v1/orgs/acme/projects/web", admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server
            .get("/api/v1/orgs/acme/projects/web", admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        server.delete("/api/v1/orgs/acme", admin).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server.get("/api/v1/orgs/acme", admin).await.status,
        StatusCode::NOT_FOUND
    );

    let actions: Vec<String> = server
        .app()
        .store()
        .recent_audit(20)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == "success")
        .map(|r| r.action)
        .collect();
    for expected in [
        "org.create",
        "org.update",
        "project.create",
        "project.update",
        "project.delete",
        "org.delete",
    ] {
        assert!(
            actions.contains(&expected.to_owned()),
            "{expected} not audited: {actions:?}"
        );
    }
}

#[tokio::test]
async fn force_deletes_a_non_empty_organisation_with_everything_in_it() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "old", "name": "Old"}),
        )
        .await;
    server
        .post(
            "/api/v1/orgs/old/projects",
            admin,
            json!({"identifier": "p1", "name": "P1"}),
        )
        .await;
    let sa = server
        .post(
            "/api/v1/orgs/old/projects/p1/service-accounts",
            admin,
            json!({"name": "ci"}),
        )
        .await;
    assert_eq!(sa.status, StatusCode::CREATED);

    let project_refused = server.delete("/api/v1/orgs/old/projects/p1", admin).await;
    assert_eq!(project_refused.code(), "project_not_empty");
    let forced = server.delete("/api/v1/orgs/old?force=true", admin).await;
    assert_eq!(forced.status, StatusCode::NO_CONTENT, "{}", forced.text);
    assert_eq!(
        server.get("/api/v1/orgs/old", admin).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_input_gets_a_specific_error_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let cases = [
        (
            json!({"identifier": "Bad_Slug", "name": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
        ),
        (
            json!({"identifier": "-x", "name": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
        ),
        (
            json!({"identifier": "a".repeat(64), "name": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
        ),
        (
            json!({"identifier": "ok", "name": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"identifier": "ok", "name": "x", "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"identifier": 7, "name": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"name": "x"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"identifier": "default", "name": "dup"}),
            StatusCode::CONFLICT,
            "identifier_taken",
        ),
    ];
    for (body, status, code) in cases {
        let reply = server.post("/api/v1/orgs", admin, body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "{body}: {}",
            reply.text
        );
        assert!(!reply.body["error"]["message"].as_str().unwrap().is_empty());
    }
    // Malformed JSON, wrong content type, oversized body.
    let raw = |body: &'static str, content_type: &'static str| {
        server
            .client
            .post(format!("{}/api/v1/orgs", server.url))
            .bearer_auth(admin)
            .header("content-type", content_type)
            .body(body)
    };
    let reply = rampart_testkit::read(
        raw("{\"identifier\": ", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let reply = rampart_testkit::read(
        raw("identifier=x", "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let huge =
        json!({"identifier": "big", "name": "x", "description": "y".repeat(2 * 1024 * 1024)});
    let reply = server.post("/api/v1/orgs", admin, huge).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    let reply = server.get("/api/v1/orgs?limit=0", admin).await;
    assert_eq!(reply.code(), "invalid_limit");
    let reply = server.get("/api/v1/orgs?limit=many", admin).await;
    assert_eq!(reply.code(), "invalid_query");
    let reply = server.get("/api/v1/orgs?cursor=forged", admin).await;
    assert_eq!(reply.code(), "invalid_cursor");

    // Nothing was created by any of it.
    let listed = server.get("/api/v1/orgs", admin).await;
    let identifiers: Vec<_> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["identifier"].clone())
        .collect();
    assert_eq!(identifiers, [json!("default")]);
}

#[tokio::test]
async fn lists_paginate_with_cursors() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    for i in 0..7 {
        let reply = server
            .post(
                "/api/v1/orgs",
                admin,
                json!({"identifier": format!("org-{i}"), "name": format!("Org {i}")}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/orgs?limit=3&cursor={c}"),
            None => "/api/v1/orgs?limit=3".to_owned(),
        };
        let page = server.get(&path, admin).await;
        pages += 1;
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["identifier"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected = vec!["default".to_owned()];
    expected.extend((0..7).map(|i| format!("org-{i}")));
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_same_api_works_on_postgresql() {
    let Some(server) = TestServer::start_postgres().await else {
        eprintln!("RAMPART_TEST_DATABASE_URL not set; PostgreSQL run skipped");
        return;
    };
    let admin = &server.admin_token;
    let created = server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "pg", "name": "PG"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let dup = server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "pg", "name": "PG"}),
        )
        .await;
    assert_eq!(dup.code(), "identifier_taken");
    let projects = server.get("/api/v1/orgs/default/projects", admin).await;
    assert_eq!(projects.body["items"][0]["identifier"], "default");
    assert_eq!(server.get("/readyz", admin).await.status, StatusCode::OK);
}
