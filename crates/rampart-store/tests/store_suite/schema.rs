//! Migrations and engines: idempotent, forward only, the same logical schema on both,
//! SQLite durable.

use rampart_store::Engine;
use rampart_store::testing::TEST_DATABASE_URL_VAR;

use crate::{Fixture, audit, empty_stores, stores};

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

/// Migration 15 sets aside for sealing what rows written before it hold in clear: an
/// alert's keys wait where their blind indexes go (marked by no sealed dedup key), an
/// incident's open group and custom fields and an action item's text in `legacy_*`
/// columns; the store lists them, and converting a row writes it once.
#[tokio::test]
async fn migration_15_sets_clear_values_aside_until_they_are_sealed() {
    use rampart_domain::sre::integrations::AuthMode;
    use rampart_store::sre::legacy::{LegacyActionItem, LegacyAlert, LegacyIncident};

    use crate::sre::service_with_integration;
    use crate::{fresh, tenant};

    for Fixture { store, .. } in empty_stores().await {
        store.migrate_up_to_for_tests(14).await.unwrap();
        let t = tenant(&store, "acme").await;
        let (service, record) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        let bytes = match store.engine() {
            Engine::Sqlite => "X'01'",
            Engine::Postgres => "'\\x01'::bytea",
        };
        let (org, project) = (t.org.id, t.project.id);
        let integration = record.integration.id;
        let incident = fresh(rampart_domain::IncidentId::mint);
        let alert = fresh(rampart_domain::AlertId::mint);
        // Rows as Rampart wrote them up to migration 14.
        store
            .execute_raw_for_tests(&format!(
                "INSERT INTO incidents (id, org_id, project_id, number, service_id, open_group, \
                 title_sealed, severity, status, created_at, updated_at, custom_fields) \
                 VALUES ('{incident}', '{org}', '{project}', 1, '{service_id}', 'sha256:abc', \
                 {bytes}, 'SEV2', 'triggered', 5, 5, '{{\"customer\":\"acme\"}}'); \
                 INSERT INTO incident_action_items (incident_id, seq, text, assignee, done, \
                 created_at, updated_at) VALUES ('{incident}', 1, 'Rotate the disk', NULL, 0, 6, 6); \
                 INSERT INTO alerts (id, project_id, service_id, integration_id, dedup_key, \
                 open_key, status, severity, group_key, payload_sealed, incident_id, event_count, \
                 created_at, updated_at) VALUES ('{alert}', '{project}', '{service_id}', \
                 '{integration}', 'db-1/disk', 'db-1/disk', 'triggered', 'error', 'db-1', {bytes}, \
                 '{incident}', 1, 7, 7)",
                service_id = service.id,
            ))
            .await
            .unwrap();
        store.migrate(0).await.unwrap();

        let micros = |m| jiff::Timestamp::from_microsecond(m).unwrap();
        assert_eq!(
            store.legacy_alerts().await.unwrap(),
            [LegacyAlert {
                id: alert,
                project_id: project,
                incident_id: Some(incident),
                dedup_key: "db-1/disk".into(),
                group_key: "db-1".into(),
                created_at: micros(7),
            }]
        );
        assert_eq!(
            store.legacy_incidents().await.unwrap(),
            [LegacyIncident {
                id: incident,
                project_id: project,
                custom_fields: Some(r#"{"customer":"acme"}"#.into()),
                open_group: Some("sha256:abc".into()),
                created_at: micros(5),
            }]
        );
        assert_eq!(
            store.legacy_action_items().await.unwrap(),
            [LegacyActionItem {
                incident_id: incident,
                project_id: project,
                seq: 1,
                text: "Rotate the disk".into(),
                incident_created_at: micros(5),
            }]
        );
        // Until its group is indexed, the incident collects no alert.
        let (stored, _) = store.incident_by_number(project, 1).await.unwrap().unwrap();
        assert_eq!(stored.open_group, None);

        let mut tx = store.write().await.unwrap();
        assert!(
            tx.convert_legacy_alert(alert, "dedup index", b"sealed key", "group index")
                .await
                .unwrap()
        );
        assert!(
            !tx.convert_legacy_alert(alert, "again", b"again", "again")
                .await
                .unwrap(),
            "converted once"
        );
        assert!(
            tx.convert_legacy_incident(incident, Some(b"sealed fields"), Some("group index"))
                .await
                .unwrap()
        );
        assert!(
            !tx.convert_legacy_incident(incident, Some(b"again"), Some("again"))
                .await
                .unwrap(),
            "converted once"
        );
        assert!(
            tx.convert_legacy_action_item(incident, 1, b"sealed text")
                .await
                .unwrap()
        );
        tx.commit(crate::audit("sre.seal_legacy")).await.unwrap();
        assert_eq!(store.legacy_alerts().await.unwrap(), []);
        assert_eq!(store.legacy_incidents().await.unwrap(), []);
        assert_eq!(store.legacy_action_items().await.unwrap(), []);
        let rows = store.alerts_of_incident(incident).await.unwrap();
        assert_eq!(rows[0].dedup_key_sealed, b"sealed key");
        assert_eq!(rows[0].alert.group_index, "group index");
        let mut tx = store.write().await.unwrap();
        assert!(
            tx.open_alert(integration, "dedup index")
                .await
                .unwrap()
                .is_some(),
            "the open key is the index"
        );
        assert_eq!(
            tx.open_incident_for_group(service.id, "group index")
                .await
                .unwrap()
                .map(|i| i.id),
            Some(incident)
        );
        tx.rollback().await.unwrap();
        let fields = store.incident_fields(incident).await.unwrap();
        assert_eq!(
            fields.custom_fields_sealed.as_deref(),
            Some(&b"sealed fields"[..])
        );
        let items = store.action_items(incident).await.unwrap();
        assert_eq!(items[0].text_sealed, b"sealed text");
        store.purge_overwritten_values().await.unwrap();
    }
}

/// Migration 17 holds a role assignment once per scope, principal, role and resource
/// group: duplicates made before it fold into the oldest, and a new duplicate is refused
/// as a conflict (the use case answers 409 `role_already_assigned`).
#[tokio::test]
async fn migration_17_folds_duplicate_role_assignments_and_refuses_new_ones() {
    for Fixture { store, .. } in empty_stores().await {
        store.migrate_up_to_for_tests(16).await.unwrap();
        let row = |id: &str, role: &str, created_at: i64| {
            format!(
                "INSERT INTO role_assignments (id, org_id, project_id, scope_key, \
                 principal_kind, principal_id, role, resource_group_id, created_at, created_by) \
                 VALUES ('{id}', NULL, NULL, 'account', 'user', 'u1', '{role}', NULL, \
                 {created_at}, 'test')"
            )
        };
        for (id, role, created_at) in [
            ("b-later", "_viewer", 20),
            ("a-first", "_viewer", 10),
            ("c-same-time", "_viewer", 10),
            ("d-other-role", "_user", 30),
        ] {
            store
                .execute_raw_for_tests(&row(id, role, created_at))
                .await
                .unwrap();
        }
        store.migrate(0).await.unwrap();
        // A row exists when touching it touches one row.
        let exists = async |id: &str| {
            store
                .execute_raw_for_tests(&format!(
                    "UPDATE role_assignments SET created_by = created_by WHERE id = '{id}'"
                ))
                .await
                .unwrap()
                == 1
        };
        assert!(exists("a-first").await, "the oldest stays");
        assert!(!exists("b-later").await);
        assert!(!exists("c-same-time").await, "ties go to the smaller id");
        assert!(
            exists("d-other-role").await,
            "another role is another assignment"
        );

        let again = store
            .execute_raw_for_tests(&row("e-again", "_viewer", 40))
            .await
            .unwrap_err();
        assert!(again.is_unique_violation(), "{again}");
    }
}
