#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The store suite: the same tests against every engine (SQLite always, PostgreSQL when
//! `RAMPART_TEST_DATABASE_URL` is set, each test in a fresh schema), one module per slice
//! as in `src/`, plus the schema checks (both engines' migrations end at the same logical
//! schema). This file holds the shared fixtures.

mod platform;
mod schema;

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Organization;
use rampart_domain::*;
use rampart_store::testing::{TEST_DATABASE_URL_VAR, fresh_postgres_schema_url};
use rampart_store::{AuditRecord, Store, StoreOptions};

pub(crate) struct Fixture {
    pub(crate) store: Store,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) async fn stores() -> Vec<Fixture> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate(0).await.unwrap();
    out.push(Fixture {
        store,
        _dir: Some(dir),
    });
    #[allow(clippy::disallowed_methods)] // tests read their own configuration
    if let Ok(server) = std::env::var(TEST_DATABASE_URL_VAR) {
        let url = fresh_postgres_schema_url(&server).await.unwrap();
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate(0).await.unwrap();
        out.push(Fixture { store, _dir: None });
    }
    out
}

pub(crate) fn now() -> Timestamp {
    "2026-11-23T10:00:00.123456Z".parse().unwrap()
}

pub(crate) fn n(i: u8) -> [u8; 10] {
    [i; 10]
}

pub(crate) fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4().to_string(),
        occurred_at: now(),
        actor: Some("user:x".into()),
        auth_method: Some("token".into()),
        token_id: None,
        client_ip: Some("127.0.0.1".into()),
        org_id: None,
        project_id: None,
        action: action.into(),
        resource_type: "test".into(),
        resource_id: None,
        outcome: "success".into(),
        request_id: None,
        details: "{}".into(),
    }
}

pub(crate) fn org(slug: &str, i: u8) -> Organization {
    Organization {
        id: OrgId::mint(1_700_000_000_000 + u64::from(i), n(i)),
        identifier: Slug::parse(slug).unwrap(),
        name: Name::parse(slug).unwrap(),
        description: Description::parse("").unwrap(),
        created_at: now(),
        updated_at: now(),
    }
}
