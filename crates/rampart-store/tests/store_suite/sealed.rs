//! The generic sealed columns: every column a slice declares lists one key owner's
//! values a page at a time in (id, version) order, skips absent optional values, and
//! replaces a value only while it is still the ciphertext read.

use rampart_domain::platform::secrets::{Secret, SecretVersion};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::integrations::AuthMode;
use rampart_domain::*;
use rampart_store::Store;
use rampart_store::iacm::state_versions::STATE_BODY;
use rampart_store::platform::secrets::SECRET_VALUE;
use rampart_store::sealed::{SealedCell, SealedColumn};
use rampart_store::sre::alerts::{ALERT_DEDUP_KEY, ALERT_PAYLOAD};
use rampart_store::sre::incidents::{
    ACTION_ITEM_TEXT, INCIDENT_CUSTOM_FIELDS, INCIDENT_DESCRIPTION, INCIDENT_TITLE,
    IncidentEventRow, IncidentFieldsRow, TIMELINE_BODY,
};
use rampart_store::sre::integrations::INTEGRATION_CREDENTIALS;

use crate::iacm::{body, workspace_with_versions};
use crate::sre::{alert, insert_alert, integration, open_incident, service_with_integration};
use crate::{Fixture, at, audit, fresh, now, stores, tenant};

/// Every cell of `owner` in `column`, read `limit` at a time, as (id, version, sealed).
async fn walk(
    store: &Store,
    column: &SealedColumn,
    owner: &str,
    limit: u32,
) -> Vec<(String, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let batch = store
            .sealed_cells(column, owner, after, limit)
            .await
            .unwrap();
        assert!(batch.len() <= usize::try_from(limit).unwrap());
        let Some(last) = batch.last() else {
            return out;
        };
        after = Some((last.id.clone(), last.version));
        out.extend(batch.into_iter().map(|c| (c.id, c.version, c.sealed)));
    }
}

fn sorted(mut cells: Vec<(String, u64, Vec<u8>)>) -> Vec<(String, u64, Vec<u8>)> {
    cells.sort();
    cells
}

/// The first cell of `column` for `owner`: replaced once, then refused with the stale
/// ciphertext. Returns the new ciphertext's cell.
async fn compare_and_swap(store: &Store, column: &SealedColumn, owner: &str) -> SealedCell {
    let cells = store.sealed_cells(column, owner, None, 1).await.unwrap();
    let cell = cells.into_iter().next().unwrap();
    let mut resealed = cell.sealed.clone();
    resealed.extend_from_slice(b" resealed");
    assert!(store.replace_sealed_cell(&cell, &resealed).await.unwrap());
    // Another rewrap read the old ciphertext: its replace is refused.
    assert!(
        !store
            .replace_sealed_cell(&cell, b"lost update")
            .await
            .unwrap()
    );
    let now_stored = store.sealed_cells(column, owner, None, 1).await.unwrap();
    let now_stored = now_stored.into_iter().next().unwrap();
    assert_eq!(
        (
            now_stored.id.as_str(),
            now_stored.version,
            now_stored.sealed.as_slice()
        ),
        (cell.id.as_str(), cell.version, resealed.as_slice())
    );
    now_stored
}

#[tokio::test]
async fn incident_response_columns_list_by_project_and_replace_compare_and_swap() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let other = tenant(&store, "other").await;
        let (service, bearer) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        let (_, elsewhere) = service_with_integration(&store, &other, "api", AuthMode::Hmac).await;
        let hmac = integration(&service, AuthMode::Hmac);
        let alerts: Vec<_> = (0..3).map(|_| alert(&bearer)).collect();
        let mut tx = store.write().await.unwrap();
        tx.insert_integration(&hmac).await.unwrap();
        for (i, a) in alerts.iter().enumerate() {
            insert_alert(
                &mut tx,
                a,
                &format!("k{i}"),
                format!("payload {i}").as_bytes(),
            )
            .await
            .unwrap();
        }
        insert_alert(&mut tx, &alert(&elsewhere), "k0", b"other project")
            .await
            .unwrap();
        tx.commit(audit("alerts")).await.unwrap();
        let owner = t.owner();

        // Alert payloads: ids only (version 0), a page of 2 then 1.
        let expected: Vec<_> = alerts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.to_string(), 0, format!("payload {i}").into_bytes()))
            .collect();
        assert_eq!(
            walk(&store, &ALERT_PAYLOAD, &owner, 2).await,
            sorted(expected)
        );
        let cell = compare_and_swap(&store, &ALERT_PAYLOAD, &owner).await;
        assert_eq!(
            store.alert_payload(alerts[0].id).await.unwrap(),
            Some(cell.sealed)
        );
        // Their dedup keys, alike.
        let expected: Vec<_> = alerts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.to_string(), 0, format!("sealed k{i}").into_bytes()))
            .collect();
        assert_eq!(
            walk(&store, &ALERT_DEDUP_KEY, &owner, 2).await,
            sorted(expected)
        );
        let cell = compare_and_swap(&store, &ALERT_DEDUP_KEY, &owner).await;
        let stored = store
            .alerts_of_integration(bearer.integration.id)
            .await
            .unwrap();
        let swapped = stored
            .iter()
            .find(|row| row.alert.id.to_string() == cell.id)
            .unwrap();
        assert_eq!(swapped.dedup_key_sealed, cell.sealed);

        // Integration credentials: the bearer integration has none and is skipped.
        assert_eq!(
            walk(&store, &INTEGRATION_CREDENTIALS, &owner, 2).await,
            [(
                hmac.integration.id.to_string(),
                0,
                b"sealed credentials".to_vec()
            )]
        );
        let cell = compare_and_swap(&store, &INTEGRATION_CREDENTIALS, &owner).await;
        let stored = store
            .integration(hmac.integration.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.credentials_sealed, Some(cell.sealed));

        // Titles of every incident, descriptions only where set, timeline bodies by
        // (incident, sequence number) across incidents.
        let a = open_incident(&store, &t, None, None, b"title a").await;
        let b = open_incident(&store, &t, None, None, b"title b").await;
        open_incident(&store, &other, None, None, b"title elsewhere").await;
        let mut tx = store.write().await.unwrap();
        tx.set_incident_description(b.id, b"description b")
            .await
            .unwrap();
        for (incident, bodies) in [(&a, 3u64), (&b, 1)] {
            for seq in 1..=bodies {
                let event = IncidentEventRow {
                    seq,
                    at: now(),
                    actor: "user:x".into(),
                    kind: "note".into(),
                    body_sealed: format!("{} body {seq}", incident.number).into_bytes(),
                };
                tx.insert_incident_event(incident.id, &event).await.unwrap();
            }
        }
        tx.commit(audit("incidents")).await.unwrap();
        assert_eq!(
            walk(&store, &INCIDENT_TITLE, &owner, 1).await,
            sorted(vec![
                (a.id.to_string(), 0, b"title a".to_vec()),
                (b.id.to_string(), 0, b"title b".to_vec()),
            ])
        );
        assert_eq!(
            walk(&store, &INCIDENT_DESCRIPTION, &owner, 2).await,
            [(b.id.to_string(), 0, b"description b".to_vec())]
        );
        let timeline = walk(&store, &TIMELINE_BODY, &owner, 2).await;
        let mut expected = vec![
            (a.id.to_string(), 1, b"1 body 1".to_vec()),
            (a.id.to_string(), 2, b"1 body 2".to_vec()),
            (a.id.to_string(), 3, b"1 body 3".to_vec()),
            (b.id.to_string(), 1, b"2 body 1".to_vec()),
        ];
        expected.sort();
        assert_eq!(timeline, expected);
        let cell = compare_and_swap(&store, &TIMELINE_BODY, &owner).await;
        let incident: IncidentId = cell.id.parse().unwrap();
        let events = store.incident_events(incident).await.unwrap();
        assert_eq!(events[0].body_sealed, cell.sealed);
        assert_eq!(
            events[1].body_sealed, expected[1].2,
            "only its own row changed"
        );
        let cell = compare_and_swap(&store, &INCIDENT_TITLE, &owner).await;
        let incident: IncidentId = cell.id.parse().unwrap();
        let number = if incident == a.id { a.number } else { b.number };
        let (_, title) = store
            .incident_by_number(t.project.id, number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(title, cell.sealed);
        let cell = compare_and_swap(&store, &INCIDENT_DESCRIPTION, &owner).await;
        assert_eq!(
            store.incident_description(b.id).await.unwrap(),
            Some(cell.sealed)
        );

        // Custom fields only where set; action item texts by (incident, item number).
        let mut tx = store.write().await.unwrap();
        let fields = IncidentFieldsRow {
            custom_fields_sealed: Some(b"custom fields a".to_vec()),
            ..IncidentFieldsRow::default()
        };
        tx.set_incident_fields(a.id, &fields, now()).await.unwrap();
        for (incident, items) in [(&a, 1u64), (&b, 2)] {
            for seq in 1..=items {
                let text = format!("{} item {seq}", incident.number);
                tx.insert_action_item(incident.id, seq, text.as_bytes(), None, now())
                    .await
                    .unwrap();
            }
        }
        tx.commit(audit("incidents")).await.unwrap();
        assert_eq!(
            walk(&store, &INCIDENT_CUSTOM_FIELDS, &owner, 1).await,
            [(a.id.to_string(), 0, b"custom fields a".to_vec())]
        );
        let cell = compare_and_swap(&store, &INCIDENT_CUSTOM_FIELDS, &owner).await;
        assert_eq!(
            store
                .incident_fields(a.id)
                .await
                .unwrap()
                .custom_fields_sealed,
            Some(cell.sealed)
        );
        let mut expected = vec![
            (a.id.to_string(), 1, b"1 item 1".to_vec()),
            (b.id.to_string(), 1, b"2 item 1".to_vec()),
            (b.id.to_string(), 2, b"2 item 2".to_vec()),
        ];
        expected.sort();
        assert_eq!(walk(&store, &ACTION_ITEM_TEXT, &owner, 2).await, expected);
        let cell = compare_and_swap(&store, &ACTION_ITEM_TEXT, &owner).await;
        let incident: IncidentId = cell.id.parse().unwrap();
        let items = store.action_items(incident).await.unwrap();
        assert_eq!(items[0].text_sealed, cell.sealed);

        // Another project sees only its own values.
        let theirs = other.owner();
        assert_eq!(walk(&store, &ALERT_PAYLOAD, &theirs, 10).await.len(), 1);
        assert_eq!(walk(&store, &INCIDENT_TITLE, &theirs, 10).await.len(), 1);
        assert_eq!(walk(&store, &TIMELINE_BODY, &theirs, 10).await, []);
        assert_eq!(walk(&store, &INCIDENT_DESCRIPTION, &theirs, 10).await, []);
        assert_eq!(walk(&store, &ALERT_DEDUP_KEY, &theirs, 10).await.len(), 1);
        assert_eq!(walk(&store, &INCIDENT_CUSTOM_FIELDS, &theirs, 10).await, []);
        assert_eq!(walk(&store, &ACTION_ITEM_TEXT, &theirs, 10).await, []);
        assert_eq!(
            walk(&store, &INTEGRATION_CREDENTIALS, &theirs, 10)
                .await
                .len(),
            1
        );

        // A value deleted after it was read is not written back.
        let cells = store
            .sealed_cells(&ALERT_PAYLOAD, &owner, None, 10)
            .await
            .unwrap();
        let mut tx = store.write().await.unwrap();
        tx.delete_service(service.id).await.unwrap();
        tx.commit(audit("service.delete")).await.unwrap();
        for cell in &cells {
            assert!(!store.replace_sealed_cell(cell, b"late").await.unwrap());
        }
    }
}

fn secret(scope: Scope, identifier: &str) -> Secret {
    Secret {
        id: fresh(SecretId::mint),
        scope,
        identifier: Slug::parse(identifier).unwrap(),
        name: Name::parse(identifier).unwrap(),
        description: Description::parse("").unwrap(),
        current_version: 1,
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn secret_values_list_by_key_owner_in_secret_and_version_order() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let in_project = [secret(t.scope(), "db"), secret(t.scope(), "api")];
        let of_org = secret(Scope::Org(t.org.id), "shared");
        let mut tx = store.write().await.unwrap();
        let mut expected = Vec::new();
        for (s, versions) in [(&in_project[0], 3u32), (&in_project[1], 1), (&of_org, 2)] {
            tx.insert_secret(s).await.unwrap();
            for version in 1..=versions {
                let value = format!("{} v{version}", s.identifier).into_bytes();
                let row = SecretVersion {
                    version,
                    created_at: at(i64::from(version)),
                    created_by: "user:x".into(),
                };
                tx.insert_secret_version(s.id, &row, &value).await.unwrap();
                if s.scope == t.scope() {
                    expected.push((s.id.to_string(), u64::from(version), value));
                }
            }
        }
        tx.commit(audit("secrets")).await.unwrap();

        // The project's values in pages of 2 that split a secret's versions.
        assert_eq!(
            walk(&store, &SECRET_VALUE, &t.owner(), 2).await,
            sorted(expected)
        );
        // The organisation's own secrets are sealed under the organisation.
        assert_eq!(
            walk(&store, &SECRET_VALUE, &t.org.id.to_string(), 10).await,
            [
                (of_org.id.to_string(), 1, b"shared v1".to_vec()),
                (of_org.id.to_string(), 2, b"shared v2".to_vec()),
            ]
        );

        let cell = compare_and_swap(&store, &SECRET_VALUE, &t.owner()).await;
        let id: SecretId = cell.id.parse().unwrap();
        let version = u32::try_from(cell.version).unwrap();
        assert_eq!(
            store.sealed_secret_value(id, version).await.unwrap(),
            Some(cell.sealed)
        );
        // A deleted secret's values are not written back.
        let stale = store
            .sealed_cells(&SECRET_VALUE, &t.owner(), None, 10)
            .await
            .unwrap();
        let mut tx = store.write().await.unwrap();
        for s in &in_project {
            tx.delete_secret(s.id).await.unwrap();
        }
        tx.commit(audit("secret.delete")).await.unwrap();
        for cell in &stale {
            assert!(!store.replace_sealed_cell(cell, b"late").await.unwrap());
        }
        assert_eq!(walk(&store, &SECRET_VALUE, &t.owner(), 10).await, []);
    }
}

#[tokio::test]
async fn state_bodies_list_by_project_with_serial_and_lineage() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let other = tenant(&store, "other").await;
        let (network, rows) = workspace_with_versions(&store, &t, "network", 3).await;
        let (dns, dns_rows) = workspace_with_versions(&store, &t, "dns", 1).await;
        workspace_with_versions(&store, &other, "network", 2).await;

        let mut expected: Vec<_> = [(&network, &rows), (&dns, &dns_rows)]
            .into_iter()
            .flat_map(|(w, rows)| {
                rows.iter()
                    .map(|r| (w.id.to_string(), r.version, body(r.version)))
            })
            .collect();
        expected.sort();
        assert_eq!(walk(&store, &STATE_BODY, &t.owner(), 3).await, expected);
        assert_eq!(walk(&store, &STATE_BODY, &other.owner(), 3).await.len(), 2);

        // The seal names the state's serial and lineage: the cells carry them.
        let cells = store
            .sealed_cells(&STATE_BODY, &t.owner(), None, 10)
            .await
            .unwrap();
        for cell in &cells {
            let row = if cell.id == network.id.to_string() {
                &rows
            } else {
                &dns_rows
            }
            .iter()
            .find(|r| r.version == cell.version)
            .unwrap();
            assert_eq!(cell.extra("serial"), Some(row.serial.to_string().as_str()));
            assert_eq!(cell.extra("lineage"), Some(row.lineage.as_str()));
            assert_eq!(cell.extra("chain_hash"), None);
            assert_eq!(cell.column, STATE_BODY);
        }

        let cell = compare_and_swap(&store, &STATE_BODY, &t.owner()).await;
        let workspace: WorkspaceId = cell.id.parse().unwrap();
        let (_, stored, _) = store
            .state_version(workspace, Some(cell.version))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored, cell.sealed);
    }
}
