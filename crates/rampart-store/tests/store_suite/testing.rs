//! The tests' own PostgreSQL schemas (`rampart_store::testing`): each is gone when its
//! test ends, even with connections still open, and only schemas whose names say they
//! are stale are swept, never one another run may be using.

use rampart_store::testing::{STALE_SCHEMA_SECS, TEST_DATABASE_URL_VAR, TestSchema};
use rampart_store::{Store, StoreOptions};

async fn schema_exists(server: &sqlx::PgPool, name: &str) -> bool {
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(name)
        .fetch_one(server)
        .await
        .unwrap();
    count == 1
}

#[allow(clippy::disallowed_methods)] // tests read their own configuration
fn server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL_VAR).ok()
}

#[tokio::test]
async fn a_test_schema_is_dropped_with_its_test_even_with_connections_open() {
    let Some(url) = server_url() else {
        eprintln!("skipped: {TEST_DATABASE_URL_VAR} is not set");
        return;
    };
    let server = sqlx::PgPool::connect(&url).await.unwrap();
    for graceful in [false, true] {
        let schema = TestSchema::create(&url).await.unwrap();
        let name = schema.name().to_owned();
        let store = Store::connect(schema.url(), &StoreOptions::default())
            .await
            .unwrap();
        store.migrate(0).await.unwrap();
        // A connection in the middle of a transaction holds locks on the schema's tables.
        let mut tx = store.write().await.unwrap();
        tx.execute_for_tests("UPDATE rampart_migrations SET name = name")
            .await
            .unwrap();
        assert!(schema_exists(&server, &name).await);
        if graceful {
            schema.drop_now().await.unwrap();
        } else {
            drop(schema);
        }
        assert!(!schema_exists(&server, &name).await, "{name} is left");
        drop(tx);
        drop(store);
    }
}

#[tokio::test]
async fn only_schemas_named_stale_are_swept() {
    let Some(url) = server_url() else {
        eprintln!("skipped: {TEST_DATABASE_URL_VAR} is not set");
        return;
    };
    let server = sqlx::PgPool::connect(&url).await.unwrap();
    let (now,): (i64,) = sqlx::query_as("SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)")
        .fetch_one(&server)
        .await
        .unwrap();
    let id = || uuid::Uuid::new_v4().simple().to_string();
    let stale = format!("t_{}_{}", now - STALE_SCHEMA_SECS - 60, id());
    let live = format!("t_{}_{}", now - STALE_SCHEMA_SECS + 600, id());
    let unnamed = format!("t_{}", id());
    for name in [&stale, &live, &unnamed] {
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&server)
            .await
            .unwrap();
    }
    TestSchema::sweep_stale(&url).await.unwrap();
    assert!(
        !schema_exists(&server, &stale).await,
        "a stale schema is swept"
    );
    assert!(
        schema_exists(&server, &live).await,
        "a schema younger than an hour may be another run's: kept"
    );
    assert!(
        schema_exists(&server, &unnamed).await,
        "a name without a time says nothing about its age: kept"
    );
    for name in [&live, &unnamed] {
        sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
            .execute(&server)
            .await
            .unwrap();
    }
}
