#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The store suite: the same tests against every engine (SQLite always, PostgreSQL when
//! `RAMPART_TEST_DATABASE_URL` is set, each test in a fresh schema), one module per slice
//! as in `src/` (platform, sre, iacm, and the generic sealed columns), plus the schema
//! checks (both engines' migrations end at the same logical schema) and the tests' own
//! PostgreSQL schemas (`testing`). This file holds the shared fixtures.

mod iacm;
mod platform;
mod schema;
mod sealed;
mod sre;
mod testing;

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use rampart_domain::platform::tenancy::{Organization, Project, Scope};
use rampart_domain::*;
use rampart_store::testing::{TEST_DATABASE_URL_VAR, TestSchema};
use rampart_store::{AuditRecord, Store, StoreOptions};

pub(crate) struct Fixture {
    pub(crate) store: Store,
    _dir: Option<tempfile::TempDir>,
    /// Dropped after the store: the PostgreSQL schema goes when the test ends.
    _schema: Option<TestSchema>,
}

pub(crate) async fn stores() -> Vec<Fixture> {
    let fixtures = empty_stores().await;
    for fixture in &fixtures {
        fixture.store.migrate(0).await.unwrap();
    }
    fixtures
}

/// Fresh stores with no migration applied (upgrade tests apply them step by step).
pub(crate) async fn empty_stores() -> Vec<Fixture> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    out.push(Fixture {
        store,
        _dir: Some(dir),
        _schema: None,
    });
    #[allow(clippy::disallowed_methods)] // tests read their own configuration
    if let Ok(server) = std::env::var(TEST_DATABASE_URL_VAR) {
        let schema = TestSchema::create(&server).await.unwrap();
        let store = Store::connect(schema.url(), &StoreOptions::default())
            .await
            .unwrap();
        out.push(Fixture {
            store,
            _dir: None,
            _schema: Some(schema),
        });
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

/// `now()` moved by `seconds`.
pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_microsecond(now().as_microsecond() + seconds * 1_000_000).unwrap()
}

/// A fresh id of any type: minted from a process-wide counter, so that ids minted later
/// sort after (keyset pagination orders by id).
pub(crate) fn fresh<T>(mint: fn(u64, [u8; 10]) -> T) -> T {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let k = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&k.to_be_bytes());
    mint(1_700_000_000_000 + k, random)
}

/// An organisation with one project, committed.
pub(crate) struct Tenant {
    pub(crate) org: Organization,
    pub(crate) project: Project,
}

impl Tenant {
    pub(crate) fn scope(&self) -> Scope {
        Scope::Project(self.org.id, self.project.id)
    }

    /// The id the project's values are sealed under (the rewrap job's key owner).
    pub(crate) fn owner(&self) -> String {
        self.project.id.to_string()
    }
}

pub(crate) async fn tenant(store: &Store, slug: &str) -> Tenant {
    let org = Organization {
        id: fresh(OrgId::mint),
        identifier: Slug::parse(slug).unwrap(),
        name: Name::parse(slug).unwrap(),
        description: Description::parse("").unwrap(),
        created_at: now(),
        updated_at: now(),
    };
    let project = Project {
        id: fresh(ProjectId::mint),
        org_id: org.id,
        identifier: Slug::parse("default").unwrap(),
        name: Name::parse("Default").unwrap(),
        description: Description::parse("").unwrap(),
        created_at: now(),
        updated_at: now(),
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&org).await.unwrap();
    tx.insert_project(&project).await.unwrap();
    tx.commit(audit("tenant.create")).await.unwrap();
    Tenant { org, project }
}

/// A page request.
pub(crate) fn page(after: Option<String>, limit: u32) -> rampart_store::PageRequest {
    rampart_store::PageRequest { after, limit }
}
