//! Migrations and engines: idempotent, forward only, the same logical schema on both,
//! SQLite durable.

use rampart_store::Engine;
use rampart_store::testing::TEST_DATABASE_URL_VAR;

use crate::{Fixture, audit, stores};

#[tokio::test]
async fn migrations_are_idempotent_and_refuse_an_unknown_newer_schema() {
    for Fixture { store, .. } in stores().await {
        store.migrate(1).await.unwrap();
        let mut tx = store.write().await.unwrap();
        sqlx_insert_future_migration(&mut tx).await;
        tx.commit(audit("test")).await.unwrap();
        let error = store.migrate(2).await.unwrap_err();
        assert!(error.to_string().contains("newer Rampart"), "{error}");
    }
}

async fn sqlx_insert_future_migration(tx: &mut rampart_store::WriteTx) {
    tx.execute_for_tests(
        "INSERT INTO rampart_migrations (version, name, checksum, applied_at) \
         VALUES (9999, 'future', 'x', 0)",
    )
    .await
    .unwrap();
}

/// Both engines' migrations end at the same logical schema: the same tables, the same
/// columns with the same normalised types and nullability.
#[tokio::test]
async fn both_engines_end_at_the_same_logical_schema() {
    let fixtures = stores().await;
    let schemas: Vec<(Engine, rampart_store::testing::LogicalSchema)> = {
        let mut out = Vec::new();
        for fixture in &fixtures {
            out.push((
                fixture.store.engine(),
                fixture.store.logical_schema().await.unwrap(),
            ));
        }
        out
    };
    let (_, sqlite) = &schemas[0];
    assert!(sqlite.contains_key("organizations"));
    assert!(sqlite["users"].contains(&("email_normalized".into(), "text".into(), false)));
    if let Some((_, postgres)) = schemas.get(1) {
        assert_eq!(sqlite, postgres);
    } else {
        eprintln!("{TEST_DATABASE_URL_VAR} not set: PostgreSQL half of the comparison skipped");
    }
}

/// Anything acknowledged survives a crash: WAL with `synchronous = FULL` (2).
#[tokio::test]
async fn sqlite_commits_are_durable() {
    let fixture = stores().await.into_iter().next().unwrap();
    assert_eq!(fixture.store.engine(), Engine::Sqlite);
    let (journal, synchronous) = fixture.store.sqlite_durability_for_tests().await.unwrap();
    assert_eq!((journal.as_str(), synchronous), ("wal", 2));
}
