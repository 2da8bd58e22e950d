//! Incident-response and on-call tables: services, integrations (and the lookup of a
//! PagerDuty routing key), alert rules, alerts
//! (open-key dedup), incidents (numbers, open groups, timeline, fields, action items),
//! schedule and policy definitions, escalations and notifications.

use rampart_domain::platform::identity::User;
use rampart_domain::sre::alerts::{Alert, AlertStatus};
use rampart_domain::sre::documents::{DefinitionKind, DefinitionRecord};
use rampart_domain::sre::incidents::{Incident, IncidentStatus};
use rampart_domain::sre::integrations::{AuthMode, Integration};
use rampart_domain::sre::payload::Format;
use rampart_domain::sre::services::{Service, ServiceOwnership};
use rampart_domain::*;
use rampart_store::sre::alerts::NewAlertSeals;
use rampart_store::sre::escalations::EscalationRow;
use rampart_store::sre::incidents::{IncidentEventRow, IncidentFieldsRow};
use rampart_store::sre::integrations::IntegrationRecord;
use rampart_store::sre::notifications::NotificationRow;
use rampart_store::sre::runbook_executions::TriggerEventRow;
use rampart_store::{Store, StoreError, WriteTx};

use crate::{Fixture, Tenant, at, audit, fresh, now, page, stores, tenant};

pub(crate) fn service(tenant: &Tenant, identifier: &str) -> Service {
    Service {
        id: fresh(ServiceId::mint),
        org_id: tenant.org.id,
        project_id: tenant.project.id,
        identifier: Slug::parse(identifier).unwrap(),
        name: Name::parse(identifier).unwrap(),
        description: Description::parse("A service").unwrap(),
        auto_resolve: true,
        created_at: now(),
        updated_at: now(),
    }
}

pub(crate) fn integration(service: &Service, auth_mode: AuthMode) -> IntegrationRecord {
    let bearer = auth_mode == AuthMode::Bearer;
    IntegrationRecord {
        integration: Integration {
            id: fresh(IntegrationId::mint),
            service_id: service.id,
            project_id: service.project_id,
            name: Name::parse("Alertmanager").unwrap(),
            format: Format::Alertmanager,
            auth_mode,
            source_cidrs: vec!["10.0.0.0/8".into()],
            rate_limit_per_minute: 120,
            created_at: now(),
        },
        token_hmac: bearer.then_some([9u8; 32]),
        credentials_sealed: (!bearer).then(|| b"sealed credentials".to_vec()),
    }
}

pub(crate) fn alert(record: &IntegrationRecord) -> Alert {
    let integration = &record.integration;
    Alert {
        id: fresh(AlertId::mint),
        project_id: integration.project_id,
        service_id: integration.service_id,
        integration_id: integration.id,
        status: AlertStatus::Triggered,
        severity: "SEV2".into(),
        group_index: "group".into(),
        incident_id: None,
        event_count: 1,
        created_at: now(),
        updated_at: now(),
        resolved_at: None,
    }
}

/// Inserts `alert` whose dedup key's blind index is `dedup_index` (the store sees only
/// indexes and sealed bytes: the sealed key stands in as `sealed <index>`).
pub(crate) async fn insert_alert(
    tx: &mut WriteTx,
    alert: &Alert,
    dedup_index: &str,
    payload: &[u8],
) -> Result<(), StoreError> {
    let sealed = format!("sealed {dedup_index}");
    tx.insert_alert(
        alert,
        NewAlertSeals {
            dedup_index,
            dedup_key_sealed: sealed.as_bytes(),
            payload_sealed: payload,
        },
    )
    .await
}

pub(crate) fn incident(
    tenant: &Tenant,
    number: u64,
    service: Option<&Service>,
    group: Option<&str>,
) -> Incident {
    Incident {
        id: fresh(IncidentId::mint),
        org_id: tenant.org.id,
        project_id: tenant.project.id,
        number,
        service_id: service.map(|s| s.id),
        open_group: group.map(str::to_owned),
        severity: "SEV2".into(),
        status: IncidentStatus::Triggered,
        created_at: now(),
        updated_at: now(),
        acknowledged_at: None,
        resolved_at: None,
    }
}

/// A committed service with one integration.
pub(crate) async fn service_with_integration(
    store: &Store,
    tenant: &Tenant,
    identifier: &str,
    auth_mode: AuthMode,
) -> (Service, IntegrationRecord) {
    let service = service(tenant, identifier);
    let record = integration(&service, auth_mode);
    let mut tx = store.write().await.unwrap();
    tx.insert_service(&service).await.unwrap();
    tx.insert_integration(&record).await.unwrap();
    tx.commit(audit("service.create")).await.unwrap();
    (service, record)
}

/// A committed incident with its next number in the project, sealed title `title`.
pub(crate) async fn open_incident(
    store: &Store,
    tenant: &Tenant,
    service: Option<&Service>,
    group: Option<&str>,
    title: &[u8],
) -> Incident {
    let mut tx = store.write().await.unwrap();
    let number = tx.next_incident_number(tenant.project.id).await.unwrap();
    let row = incident(tenant, number, service, group);
    tx.insert_incident(&row, title).await.unwrap();
    tx.commit(audit("incident.open")).await.unwrap();
    row
}

fn is_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict { .. }))
}

#[tokio::test]
async fn services_round_trip_paginate_update_and_delete() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let other = tenant(&store, "other").await;
        let services: Vec<_> = ["api", "db", "web"]
            .into_iter()
            .map(|id| service(&t, id))
            .collect();
        let mut tx = store.write().await.unwrap();
        for s in &services {
            tx.insert_service(s).await.unwrap();
        }
        // The same identifier in another project is another service.
        tx.insert_service(&service(&other, "api")).await.unwrap();
        tx.commit(audit("service.create")).await.unwrap();

        let api = Slug::parse("api").unwrap();
        let found = store.service_by_identifier(t.scope(), &api).await.unwrap();
        assert_eq!(found.as_ref(), Some(&services[0]));
        assert_eq!(
            store.service(services[1].id).await.unwrap().as_ref(),
            Some(&services[1])
        );
        let first = store
            .list_services(t.scope(), &page(None, 2))
            .await
            .unwrap();
        assert_eq!(first.items, services[..2]);
        let rest = store
            .list_services(t.scope(), &page(first.next_cursor, 2))
            .await
            .unwrap();
        assert_eq!(rest.items, services[2..]);
        assert_eq!(rest.next_cursor, None);

        // One identifier per project.
        let mut tx = store.write().await.unwrap();
        assert!(is_conflict(tx.insert_service(&service(&t, "api")).await));
        drop(tx);

        // Name, description and auto-resolve change; ownership and labels start empty.
        let mut renamed = services[0].clone();
        renamed.name = Name::parse("Public API").unwrap();
        renamed.auto_resolve = false;
        renamed.updated_at = at(60);
        assert_eq!(
            store.service_ownership(renamed.id).await.unwrap(),
            ServiceOwnership::default()
        );
        assert_eq!(store.severity_labels(t.org.id).await.unwrap(), "{}");
        let ownership = ServiceOwnership {
            owner_group: Some("group-1".into()),
            subscribers: vec!["user:u1".into(), "group:g2".into()],
            tags: vec!["tier-1".into()],
        };
        let mut tx = store.write().await.unwrap();
        tx.update_service(&renamed).await.unwrap();
        tx.set_service_ownership(renamed.id, &ownership, at(60))
            .await
            .unwrap();
        tx.set_severity_labels(t.org.id, r#"{"SEV0":"Critical"}"#)
            .await
            .unwrap();
        tx.commit(audit("service.update")).await.unwrap();
        assert_eq!(
            store.service(renamed.id).await.unwrap().as_ref(),
            Some(&renamed)
        );
        assert_eq!(
            store.service_ownership(renamed.id).await.unwrap(),
            ownership
        );
        assert_eq!(
            store.severity_labels(t.org.id).await.unwrap(),
            r#"{"SEV0":"Critical"}"#
        );

        // Deleting a service takes its integrations and alerts; its incidents stay,
        // unlinked.
        let (doomed, record) =
            service_with_integration(&store, &t, "doomed", AuthMode::Bearer).await;
        let doomed_alert = alert(&record);
        let mut tx = store.write().await.unwrap();
        insert_alert(&mut tx, &doomed_alert, "k", b"payload")
            .await
            .unwrap();
        tx.commit(audit("alert")).await.unwrap();
        let kept = open_incident(&store, &t, Some(&doomed), Some("group"), b"title").await;
        let mut tx = store.write().await.unwrap();
        tx.delete_service(doomed.id).await.unwrap();
        tx.commit(audit("service.delete")).await.unwrap();
        assert_eq!(store.service(doomed.id).await.unwrap(), None);
        assert_eq!(
            store.integration(record.integration.id).await.unwrap(),
            None
        );
        assert_eq!(store.alert_payload(doomed_alert.id).await.unwrap(), None);
        let (incident, _) = store
            .incident_by_number(t.project.id, kept.number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((incident.service_id, incident.open_group), (None, None));
    }
}

#[tokio::test]
async fn a_routing_key_integration_is_found_by_its_key_which_no_other_shares() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let service = service(&t, "api");
        let routed = |hmac: [u8; 32]| {
            let mut record = integration(&service, AuthMode::RoutingKey);
            record.integration.format = Format::PagerDuty;
            record.token_hmac = Some(hmac);
            record.credentials_sealed = None;
            record
        };
        let pagerduty = routed([5u8; 32]);
        // A bearer token whose blind index happens to be the same bytes is not a
        // routing key: the lookup reads routing-key integrations only.
        let mut bearer = integration(&service, AuthMode::Bearer);
        bearer.token_hmac = Some([6u8; 32]);
        let mut tx = store.write().await.unwrap();
        tx.insert_service(&service).await.unwrap();
        tx.insert_integration(&pagerduty).await.unwrap();
        tx.insert_integration(&bearer).await.unwrap();
        tx.commit(audit("integration.create")).await.unwrap();

        assert_eq!(
            store.integration_by_routing_key(&[5u8; 32]).await.unwrap(),
            Some(pagerduty.clone())
        );
        assert_eq!(
            store.integration_by_routing_key(&[6u8; 32]).await.unwrap(),
            None
        );
        assert_eq!(
            store.integration_by_routing_key(&[1u8; 32]).await.unwrap(),
            None
        );

        // Two integrations never share a key (the partial unique index).
        let mut tx = store.write().await.unwrap();
        let clash = tx.insert_integration(&routed([5u8; 32])).await;
        assert!(
            matches!(clash, Err(StoreError::Conflict { .. })),
            "{clash:?}"
        );
        drop(tx);

        // A rotation moves the lookup to the new key at once.
        let mut tx = store.write().await.unwrap();
        tx.update_integration_credentials(pagerduty.integration.id, Some([8u8; 32]), None)
            .await
            .unwrap();
        tx.commit(audit("integration.rotate")).await.unwrap();
        assert_eq!(
            store.integration_by_routing_key(&[5u8; 32]).await.unwrap(),
            None
        );
        assert_eq!(
            store
                .integration_by_routing_key(&[8u8; 32])
                .await
                .unwrap()
                .map(|record| record.integration.id),
            Some(pagerduty.integration.id)
        );
    }
}

#[tokio::test]
async fn integrations_round_trip_rotate_and_delete() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let (service, bearer) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        let hmac = integration(&service, AuthMode::Hmac);
        let mut tx = store.write().await.unwrap();
        tx.insert_integration(&hmac).await.unwrap();
        tx.commit(audit("integration.create")).await.unwrap();

        assert_eq!(
            store
                .integration(bearer.integration.id)
                .await
                .unwrap()
                .as_ref(),
            Some(&bearer)
        );
        assert_eq!(
            store.integrations_of_service(service.id).await.unwrap(),
            [bearer.clone(), hmac.clone()]
        );

        // A rotation replaces both credential columns.
        let mut tx = store.write().await.unwrap();
        tx.update_integration_credentials(bearer.integration.id, Some([7u8; 32]), None)
            .await
            .unwrap();
        tx.update_integration_credentials(hmac.integration.id, None, Some(b"rotated"))
            .await
            .unwrap();
        tx.commit(audit("integration.rotate")).await.unwrap();
        let rotated = store
            .integration(bearer.integration.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (rotated.token_hmac, rotated.credentials_sealed),
            (Some([7u8; 32]), None)
        );
        let rotated = store
            .integration(hmac.integration.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (rotated.token_hmac, rotated.credentials_sealed.as_deref()),
            (None, Some(&b"rotated"[..]))
        );

        let mut tx = store.write().await.unwrap();
        assert!(tx.delete_integration(hmac.integration.id).await.unwrap());
        assert!(!tx.delete_integration(hmac.integration.id).await.unwrap());
        tx.commit(audit("integration.delete")).await.unwrap();
        assert_eq!(store.integration(hmac.integration.id).await.unwrap(), None);
        assert_eq!(
            store.integrations_of_service(service.id).await.unwrap(),
            [IntegrationRecord {
                token_hmac: Some([7u8; 32]),
                ..bearer
            }]
        );
    }
}

#[tokio::test]
async fn alert_rules_are_stored_on_the_service() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let (service, _) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        assert_eq!(store.service_alert_rules(service.id).await.unwrap(), "[]");
        let rules = r#"[{"when":"severity == 'critical'","then":"SEV1"}]"#;
        let mut tx = store.write().await.unwrap();
        tx.set_service_alert_rules(service.id, rules).await.unwrap();
        tx.commit(audit("rules.update")).await.unwrap();
        assert_eq!(store.service_alert_rules(service.id).await.unwrap(), rules);
        // A delivery reads the service with its rules, policy and ownership at once.
        let read = store
            .service_for_delivery(service.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.service, service);
        assert_eq!(read.alert_rules, rules);
        assert_eq!(read.escalation_policy, None);
        assert_eq!(
            read.ownership,
            store.service_ownership(service.id).await.unwrap()
        );
        assert_eq!(
            store
                .service_for_delivery(fresh(ServiceId::mint))
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn an_open_dedup_key_is_one_alert_until_resolved() {
    for Fixture { store, .. } in stores().await {
        let engine = store.engine();
        let t = tenant(&store, "acme").await;
        let (service, record) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        let integration = record.integration.id;
        let first = alert(&record);
        let mut tx = store.write().await.unwrap();
        tx.lock_alert_group(service.id, "group").await.unwrap();
        assert_eq!(tx.open_alert(integration, "disk-full").await.unwrap(), None);
        insert_alert(&mut tx, &first, "disk-full", b"payload one")
            .await
            .unwrap();
        tx.commit(audit("alert.open")).await.unwrap();

        // A second open alert with the same key is refused, and the transaction's other
        // writes with it.
        let mut tx = store.write().await.unwrap();
        assert_eq!(
            tx.open_alert(integration, "disk-full")
                .await
                .unwrap()
                .as_ref(),
            Some(&first)
        );
        assert!(
            is_conflict(insert_alert(&mut tx, &alert(&record), "disk-full", b"two").await),
            "{engine:?}"
        );
        drop(tx);
        // Another key, or the same key on another integration, is another alert.
        let other = integration_of(&store, &service).await;
        let mut tx = store.write().await.unwrap();
        insert_alert(&mut tx, &alert(&record), "cpu", b"cpu")
            .await
            .unwrap();
        insert_alert(&mut tx, &alert(&other), "disk-full", b"other")
            .await
            .unwrap();
        // A repeat counts; acknowledging keeps the key.
        tx.bump_alert(first.id, at(10)).await.unwrap();
        tx.set_alert_status(first.id, AlertStatus::Acknowledged, at(20))
            .await
            .unwrap();
        let acknowledged = tx
            .open_alert(integration, "disk-full")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acknowledged.status, AlertStatus::Acknowledged);
        assert_eq!(acknowledged.event_count, 3);
        assert_eq!(acknowledged.updated_at, at(20));
        // Resolving frees the key.
        tx.set_alert_status(first.id, AlertStatus::Resolved, at(30))
            .await
            .unwrap();
        assert_eq!(tx.open_alert(integration, "disk-full").await.unwrap(), None);
        let mut again = alert(&record);
        again.created_at = at(40);
        again.updated_at = at(40);
        insert_alert(&mut tx, &again, "disk-full", b"payload two")
            .await
            .unwrap();
        tx.commit(audit("alert.events")).await.unwrap();

        let alerts = store.alerts_of_integration(integration).await.unwrap();
        let keys: Vec<_> = alerts
            .iter()
            .map(|a| (a.dedup_key_sealed.as_slice(), a.alert.status))
            .collect();
        assert_eq!(
            keys,
            [
                (&b"sealed disk-full"[..], AlertStatus::Triggered),
                (&b"sealed cpu"[..], AlertStatus::Triggered),
                (&b"sealed disk-full"[..], AlertStatus::Resolved),
            ],
            "newest first"
        );
        let resolved = &alerts[2].alert;
        assert_eq!(
            (resolved.resolved_at, resolved.event_count),
            (Some(at(30)), 4)
        );
        assert_eq!(
            store.alert_payload(first.id).await.unwrap().as_deref(),
            Some(&b"payload one"[..])
        );
        assert_eq!(
            store.alert_payload(fresh(AlertId::mint)).await.unwrap(),
            None
        );

        // Alerts link to an incident; the unresolved ones are counted.
        let incident = open_incident(&store, &t, Some(&service), Some("group"), b"t").await;
        let mut tx = store.write().await.unwrap();
        tx.link_alert(first.id, incident.id).await.unwrap();
        tx.link_alert(again.id, incident.id).await.unwrap();
        assert_eq!(
            tx.unresolved_alerts_of_incident(incident.id).await.unwrap(),
            1
        );
        tx.commit(audit("alert.link")).await.unwrap();
        let linked: Vec<_> = store
            .alerts_of_incident(incident.id)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.alert.id, row.alert.incident_id))
            .collect();
        assert_eq!(
            linked,
            [(first.id, Some(incident.id)), (again.id, Some(incident.id))],
            "oldest first"
        );
    }
}

#[tokio::test]
async fn a_projects_alerts_list_newest_first_filtered_and_paged() {
    use rampart_store::sre::alerts::AlertFilter;
    for Fixture { store, .. } in stores().await {
        let engine = store.engine();
        let t = tenant(&store, "acme").await;
        let other = tenant(&store, "globex").await;
        let (api, api_hook) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        let (web, web_hook) = service_with_integration(&store, &t, "web", AuthMode::Bearer).await;
        let (_, elsewhere_hook) =
            service_with_integration(&store, &other, "api", AuthMode::Bearer).await;
        let incident = open_incident(&store, &t, Some(&api), Some("group"), b"t").await;
        let mut oldest = alert(&api_hook);
        oldest.created_at = at(0);
        let mut middle = alert(&web_hook);
        middle.created_at = at(10);
        let mut newest = alert(&api_hook);
        newest.created_at = at(20);
        newest.incident_id = Some(incident.id);
        let hidden = alert(&elsewhere_hook);
        let mut tx = store.write().await.unwrap();
        for (row, key) in [
            (&oldest, "one"),
            (&middle, "two"),
            (&newest, "three"),
            (&hidden, "four"),
        ] {
            insert_alert(&mut tx, row, key, b"payload").await.unwrap();
        }
        // By hand: moved without counting an event; read back inside the transaction.
        tx.move_alert(middle.id, AlertStatus::Acknowledged, at(15), false)
            .await
            .unwrap();
        let moved = tx.alert_by_id(middle.id).await.unwrap().unwrap();
        assert_eq!(
            (moved.status, moved.event_count),
            (AlertStatus::Acknowledged, 1)
        );
        assert_eq!(tx.alert_by_id(fresh(AlertId::mint)).await.unwrap(), None);
        tx.commit(audit("alert.acknowledge")).await.unwrap();

        let project = t.project.id;
        let list = async |filter: AlertFilter, after: Option<String>, limit: u32| {
            store
                .list_alerts(project, &filter, &page(after, limit))
                .await
                .unwrap()
        };
        let keys = |listed: &rampart_store::Page<rampart_store::sre::alerts::ListedAlert>| {
            listed
                .items
                .iter()
                .map(|l| {
                    let sealed = String::from_utf8(l.dedup_key_sealed.clone()).unwrap();
                    sealed.trim_start_matches("sealed ").to_owned()
                })
                .collect::<Vec<_>>()
        };
        let all = list(AlertFilter::default(), None, 10).await;
        assert_eq!(keys(&all), ["three", "two", "one"], "{engine:?}");
        assert_eq!(all.next_cursor, None);
        let first = &all.items[0];
        assert_eq!(
            (first.service.as_str(), first.incident_number),
            ("api", Some(incident.number))
        );
        assert_eq!(
            (all.items[1].service.as_str(), all.items[1].incident_number),
            ("web", None)
        );
        // Pages.
        let page_one = list(AlertFilter::default(), None, 2).await;
        assert_eq!(keys(&page_one), ["three", "two"]);
        let page_two = list(AlertFilter::default(), page_one.next_cursor.clone(), 2).await;
        assert_eq!(keys(&page_two), ["one"]);
        assert_eq!(page_two.next_cursor, None);
        // Filters, alone and together.
        let status = |status| AlertFilter {
            status: Some(status),
            ..AlertFilter::default()
        };
        assert_eq!(
            keys(&list(status(AlertStatus::Acknowledged), None, 10).await),
            ["two"]
        );
        assert_eq!(
            keys(&list(status(AlertStatus::Triggered), None, 10).await),
            ["three", "one"]
        );
        assert!(
            list(status(AlertStatus::Resolved), None, 10)
                .await
                .items
                .is_empty()
        );
        let of_api = AlertFilter {
            service: Some(api.id),
            ..AlertFilter::default()
        };
        assert_eq!(keys(&list(of_api, None, 10).await), ["three", "one"]);
        let since = AlertFilter {
            since: Some(at(10)),
            ..AlertFilter::default()
        };
        assert_eq!(keys(&list(since, None, 10).await), ["three", "two"]);
        let together = AlertFilter {
            status: Some(AlertStatus::Triggered),
            service: Some(api.id),
            since: Some(at(5)),
        };
        let together = list(together, None, 1).await;
        assert_eq!(keys(&together), ["three"]);
        assert_eq!(together.next_cursor, None);
        let of_web_triggered = AlertFilter {
            status: Some(AlertStatus::Triggered),
            service: Some(web.id),
            since: None,
        };
        assert!(list(of_web_triggered, None, 10).await.items.is_empty());
        // One alert, in its project only.
        let shown = store
            .project_alert(project, newest.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (shown.alert.id, shown.incident_number),
            (newest.id, Some(incident.number))
        );
        assert_eq!(store.project_alert(project, hidden.id).await.unwrap(), None);
        assert!(
            store
                .project_alert(other.project.id, hidden.id)
                .await
                .unwrap()
                .is_some()
        );
    }
}

async fn integration_of(store: &Store, service: &Service) -> IntegrationRecord {
    let record = integration(service, AuthMode::Basic);
    let mut tx = store.write().await.unwrap();
    tx.insert_integration(&record).await.unwrap();
    tx.commit(audit("integration.create")).await.unwrap();
    record
}

#[tokio::test]
async fn incident_numbers_increase_per_project_and_one_group_opens_one_incident() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let other = tenant(&store, "other").await;
        let (service, _) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;

        let first = open_incident(&store, &t, Some(&service), Some("db"), b"first").await;
        let second = open_incident(&store, &t, None, None, b"second").await;
        let elsewhere = open_incident(&store, &other, None, None, b"elsewhere").await;
        assert_eq!((first.number, second.number, elsewhere.number), (1, 2, 1));

        let (found, title) = store
            .incident_by_number(t.project.id, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found, title), (first.clone(), b"first".to_vec()));
        assert_eq!(
            store.incident_by_number(t.project.id, 9).await.unwrap(),
            None
        );

        // One open incident per (service, group): a second is a conflict.
        let mut tx = store.write().await.unwrap();
        assert_eq!(
            tx.open_incident_for_group(service.id, "db")
                .await
                .unwrap()
                .as_ref(),
            Some(&first)
        );
        assert_eq!(
            tx.open_incident_for_group(service.id, "web").await.unwrap(),
            None
        );
        let number = tx.next_incident_number(t.project.id).await.unwrap();
        assert_eq!(number, 3);
        let clash = incident(&t, number, Some(&service), Some("db"));
        assert!(is_conflict(tx.insert_incident(&clash, b"clash").await));
        drop(tx);

        // Resolving clears the open group, so the group may open a new incident; the
        // number rolled back with the refused transaction is given again.
        let mut resolved = first.clone();
        resolved.status = IncidentStatus::Resolved;
        resolved.open_group = None;
        resolved.acknowledged_at = Some(at(5));
        resolved.resolved_at = Some(at(10));
        resolved.updated_at = at(10);
        let mut tx = store.write().await.unwrap();
        tx.update_incident(&resolved).await.unwrap();
        assert_eq!(
            tx.incident_for_update(first.id).await.unwrap().as_ref(),
            Some(&resolved)
        );
        assert_eq!(
            tx.open_incident_for_group(service.id, "db").await.unwrap(),
            None
        );
        tx.commit(audit("incident.resolve")).await.unwrap();
        let third = open_incident(&store, &t, Some(&service), Some("db"), b"third").await;
        assert_eq!(third.number, 3);

        // Newest first, a page at a time (the cursor is a number).
        let first_page = store
            .list_incidents(t.project.id, &Default::default(), &page(None, 2))
            .await
            .unwrap();
        let numbers: Vec<_> = first_page.items.iter().map(|(i, _)| i.number).collect();
        assert_eq!(numbers, [3, 2]);
        assert_eq!(first_page.next_cursor.as_deref(), Some("2"));
        let rest = store
            .list_incidents(
                t.project.id,
                &Default::default(),
                &page(first_page.next_cursor, 2),
            )
            .await
            .unwrap();
        assert_eq!(rest.items, [(resolved, b"first".to_vec())]);
        assert_eq!(rest.next_cursor, None);
    }
}

#[tokio::test]
async fn the_timeline_keeps_sealed_bodies_byte_for_byte_in_order() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let incident = open_incident(&store, &t, None, None, b"title").await;
        let every_byte: Vec<u8> = (0..=255u8).rev().collect();
        let mut tx = store.write().await.unwrap();
        let mut written = Vec::new();
        for (kind, body) in [("opened", every_byte.clone()), ("note", vec![0u8; 3])] {
            let seq = tx.next_incident_event_seq(incident.id).await.unwrap();
            let event = IncidentEventRow {
                seq,
                at: at(i64::try_from(seq).unwrap()),
                actor: "user:x".into(),
                kind: kind.into(),
                body_sealed: body,
            };
            tx.insert_incident_event(incident.id, &event).await.unwrap();
            written.push(event);
        }
        assert_eq!(tx.next_incident_event_seq(incident.id).await.unwrap(), 3);
        // A sequence number is taken once.
        assert!(is_conflict(
            tx.insert_incident_event(incident.id, &written[0]).await
        ));
        drop(tx);
        assert_eq!(store.incident_events(incident.id).await.unwrap(), []);

        let mut tx = store.write().await.unwrap();
        for event in &written {
            tx.insert_incident_event(incident.id, event).await.unwrap();
        }
        tx.commit(audit("incident.timeline")).await.unwrap();
        let read = store.incident_events(incident.id).await.unwrap();
        assert_eq!(read, written);
        assert_eq!(read[0].body_sealed, every_byte);
        assert_eq!(read.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    }
}

#[tokio::test]
async fn incident_fields_title_description_and_action_items() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let incident = open_incident(&store, &t, None, None, b"old title").await;
        assert_eq!(
            store.incident_fields(incident.id).await.unwrap(),
            IncidentFieldsRow::default()
        );
        assert_eq!(store.incident_description(incident.id).await.unwrap(), None);
        assert_eq!(store.action_items(incident.id).await.unwrap(), []);

        let fields = IncidentFieldsRow {
            commander: Some("user-1".into()),
            assignees: vec!["user-2".into(), "user-3".into()],
            linked_services: vec!["service-1".into()],
            custom_fields_sealed: Some(b"sealed custom fields".to_vec()),
        };
        let mut tx = store.write().await.unwrap();
        tx.set_incident_fields(incident.id, &fields, at(60))
            .await
            .unwrap();
        tx.set_incident_title(incident.id, b"new title")
            .await
            .unwrap();
        tx.set_incident_description(incident.id, b"sealed description")
            .await
            .unwrap();
        let first = tx.next_action_item_seq(incident.id).await.unwrap();
        tx.insert_action_item(incident.id, first, b"sealed one", Some("user-2"), at(61))
            .await
            .unwrap();
        let second = tx.next_action_item_seq(incident.id).await.unwrap();
        tx.insert_action_item(incident.id, second, b"sealed two", None, at(62))
            .await
            .unwrap();
        assert_eq!((first, second), (1, 2));
        assert!(
            tx.set_action_item_done(incident.id, 1, true, at(63))
                .await
                .unwrap()
        );
        assert!(
            !tx.set_action_item_done(incident.id, 9, true, at(63))
                .await
                .unwrap()
        );
        tx.commit(audit("incident.update")).await.unwrap();

        assert_eq!(store.incident_fields(incident.id).await.unwrap(), fields);
        let (row, title) = store
            .incident_by_number(t.project.id, incident.number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.updated_at, title), (at(60), b"new title".to_vec()));
        assert_eq!(
            store
                .incident_description(incident.id)
                .await
                .unwrap()
                .as_deref(),
            Some(&b"sealed description"[..])
        );
        let items: Vec<_> = store
            .action_items(incident.id)
            .await
            .unwrap()
            .into_iter()
            .map(|i| {
                (
                    i.seq,
                    i.text_sealed,
                    i.assignee,
                    i.done,
                    i.created_at,
                    i.updated_at,
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                (
                    1,
                    b"sealed one".to_vec(),
                    Some("user-2".into()),
                    true,
                    at(61),
                    at(63)
                ),
                (2, b"sealed two".to_vec(), None, false, at(62), at(62)),
            ]
        );
    }
}

fn definition(tenant: &Tenant, identifier: &str, json: &str) -> DefinitionRecord {
    DefinitionRecord {
        id: fresh(ScheduleId::mint).to_string(),
        org_id: tenant.org.id,
        project_id: tenant.project.id,
        identifier: Slug::parse(identifier).unwrap(),
        name: Name::parse(identifier).unwrap(),
        definition: json.into(),
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn schedules_and_policies_are_definitions_of_their_own_kind() {
    use DefinitionKind::{EscalationPolicy, Schedule};
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let schedules: Vec<_> = ["day", "night", "weekend"]
            .into_iter()
            .map(|id| definition(&t, id, r#"{"layers":[]}"#))
            .collect();
        // A policy may share a schedule's identifier: they are different tables.
        let policy = definition(&t, "day", r#"{"levels":[]}"#);
        let mut tx = store.write().await.unwrap();
        for s in &schedules {
            tx.insert_definition(Schedule, s).await.unwrap();
        }
        tx.insert_definition(EscalationPolicy, &policy)
            .await
            .unwrap();
        tx.commit(audit("definition.create")).await.unwrap();

        let day = Slug::parse("day").unwrap();
        assert_eq!(
            store
                .definition_by_identifier(Schedule, t.scope(), &day)
                .await
                .unwrap()
                .as_ref(),
            Some(&schedules[0])
        );
        assert_eq!(
            store
                .definition_by_identifier(EscalationPolicy, t.scope(), &day)
                .await
                .unwrap()
                .as_ref(),
            Some(&policy)
        );
        assert_eq!(
            store
                .definition_by_id(EscalationPolicy, &schedules[1].id)
                .await
                .unwrap(),
            None
        );
        let first = store
            .list_definitions(Schedule, t.scope(), &page(None, 2))
            .await
            .unwrap();
        assert_eq!(first.items, schedules[..2]);
        let rest = store
            .list_definitions(Schedule, t.scope(), &page(first.next_cursor, 2))
            .await
            .unwrap();
        assert_eq!(
            (rest.items.as_slice(), rest.next_cursor),
            (&schedules[2..], None)
        );
        let policies = store
            .list_definitions(EscalationPolicy, t.scope(), &page(None, 10))
            .await
            .unwrap();
        assert_eq!(policies.items, std::slice::from_ref(&policy));

        // One identifier per kind and project.
        let mut tx = store.write().await.unwrap();
        assert!(is_conflict(
            tx.insert_definition(Schedule, &definition(&t, "day", "{}"))
                .await
        ));
        drop(tx);

        // Updates, a service's policy, and deletion.
        let mut edited = schedules[1].clone();
        edited.name = Name::parse("Night shift").unwrap();
        edited.definition = r#"{"layers":[1]}"#.into();
        edited.updated_at = at(60);
        let (service, _) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        assert_eq!(store.service_policy(service.id).await.unwrap(), None);
        let mut tx = store.write().await.unwrap();
        tx.update_definition(Schedule, &edited).await.unwrap();
        tx.set_service_policy(service.id, Some(&policy.id))
            .await
            .unwrap();
        assert_eq!(tx.services_using_policy(&policy.id).await.unwrap(), 1);
        tx.delete_definition(Schedule, &schedules[2].id)
            .await
            .unwrap();
        tx.commit(audit("definition.update")).await.unwrap();
        assert_eq!(
            store.definition_by_id(Schedule, &edited.id).await.unwrap(),
            Some(edited)
        );
        assert_eq!(
            store
                .definition_by_id(Schedule, &schedules[2].id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.service_policy(service.id).await.unwrap(),
            Some(policy.id.clone())
        );
        assert_eq!(
            store
                .service_for_delivery(service.id)
                .await
                .unwrap()
                .unwrap()
                .escalation_policy,
            Some(policy.id.clone())
        );
        assert_eq!(
            store.service_policy(fresh(ServiceId::mint)).await.unwrap(),
            None
        );

        let mut tx = store.write().await.unwrap();
        tx.set_service_policy(service.id, None).await.unwrap();
        assert_eq!(tx.services_using_policy(&policy.id).await.unwrap(), 0);
        tx.commit(audit("service.policy")).await.unwrap();
        assert_eq!(store.service_policy(service.id).await.unwrap(), None);
    }
}

#[tokio::test]
async fn escalations_are_due_in_time_order_and_restart_from_the_first_level() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let policy = definition(&t, "page-ops", r#"{"levels":[]}"#);
        let mut tx = store.write().await.unwrap();
        tx.insert_definition(DefinitionKind::EscalationPolicy, &policy)
            .await
            .unwrap();
        tx.commit(audit("policy.create")).await.unwrap();
        let incidents = [
            open_incident(&store, &t, None, None, b"a").await,
            open_incident(&store, &t, None, None, b"b").await,
            open_incident(&store, &t, None, None, b"c").await,
        ];
        assert_eq!(store.escalation(incidents[0].id).await.unwrap(), None);

        // Queued at different times: the engine takes what is due, oldest first.
        let mut tx = store.write().await.unwrap();
        for (incident, seconds) in incidents.iter().zip([30, 10, 500]) {
            tx.start_escalation(incident.id, t.project.id, &policy.id, at(seconds))
                .await
                .unwrap();
        }
        tx.commit(audit("escalation.start")).await.unwrap();
        let waiting = EscalationRow {
            incident_id: incidents[0].id,
            project_id: t.project.id,
            policy_id: policy.id.clone(),
            started: false,
            level: 0,
            round: 0,
            next_at: at(30),
            status: "waiting".into(),
            updated_at: at(30),
        };
        assert_eq!(
            store.escalation(incidents[0].id).await.unwrap().as_ref(),
            Some(&waiting)
        );

        let mut tx = store.write().await.unwrap();
        let due: Vec<_> = tx
            .due_escalations(at(100), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.incident_id)
            .collect();
        assert_eq!(due, [incidents[1].id, incidents[0].id]);
        assert_eq!(tx.due_escalations(at(100), 1).await.unwrap().len(), 1);
        // The engine pages level 0 and schedules the next step.
        let paged = EscalationRow {
            started: true,
            level: 1,
            round: 0,
            next_at: at(300),
            updated_at: at(100),
            ..waiting.clone()
        };
        tx.update_escalation(&paged).await.unwrap();
        // Acknowledging stops one; a stopped escalation is not stopped again.
        tx.stop_escalation(incidents[1].id, "acknowledged", at(100))
            .await
            .unwrap();
        tx.stop_escalation(incidents[1].id, "exhausted", at(200))
            .await
            .unwrap();
        tx.commit(audit("escalation.step")).await.unwrap();
        assert_eq!(
            store.escalation(incidents[0].id).await.unwrap().as_ref(),
            Some(&paged)
        );
        let stopped = store.escalation(incidents[1].id).await.unwrap().unwrap();
        assert_eq!(
            (stopped.status.as_str(), stopped.updated_at),
            ("acknowledged", at(100))
        );

        let mut tx = store.write().await.unwrap();
        let due: Vec<_> = tx
            .due_escalations(at(1000), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.incident_id)
            .collect();
        assert_eq!(
            due,
            [incidents[0].id, incidents[2].id],
            "stopped ones are never due"
        );
        // A reopened incident starts over from the first level.
        tx.start_escalation(incidents[1].id, t.project.id, &policy.id, at(2000))
            .await
            .unwrap();
        tx.commit(audit("escalation.restart")).await.unwrap();
        let restarted = store.escalation(incidents[1].id).await.unwrap().unwrap();
        assert_eq!(
            restarted,
            EscalationRow {
                incident_id: incidents[1].id,
                next_at: at(2000),
                updated_at: at(2000),
                ..waiting
            }
        );
    }
}

fn user(name: &str) -> User {
    User {
        id: fresh(UserId::mint),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        display_name: DisplayName::parse(name).unwrap(),
        is_account_owner: false,
        has_password: false,
        disabled: false,
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn notifications_are_a_users_inbox_newest_first_with_queued_tasks() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let (alice, bob) = (user("alice"), user("bob"));
        let mut tx = store.write().await.unwrap();
        tx.insert_user(&alice, None).await.unwrap();
        tx.insert_user(&bob, None).await.unwrap();
        tx.commit(audit("user.create")).await.unwrap();
        let first = open_incident(&store, &t, None, None, b"a").await;
        let second = open_incident(&store, &t, None, None, b"b").await;

        let notification = |incident: &Incident, kind: &str, level: u64| NotificationRow {
            id: fresh(NotificationId::mint),
            user_id: alice.id,
            project_id: t.project.id,
            incident_id: incident.id,
            incident_number: 0,
            kind: kind.into(),
            level,
            round: 0,
            created_at: at(i64::try_from(level).unwrap()),
            read_at: None,
        };
        let written = [
            notification(&first, "page", 0),
            notification(&first, "page", 1),
            notification(&second, "subscribed", 2),
        ];
        assert_eq!(store.queued_notification_tasks().await.unwrap(), 0);
        let mut tx = store.write().await.unwrap();
        for (i, row) in written.iter().enumerate() {
            tx.insert_notification(row, &format!("task-{i}"))
                .await
                .unwrap();
        }
        tx.commit(audit("notify")).await.unwrap();
        assert_eq!(store.queued_notification_tasks().await.unwrap(), 3);

        // Newest first, with the incident's number filled in.
        let first_page = store
            .notifications_of_user(alice.id, &page(None, 2))
            .await
            .unwrap();
        let seen: Vec<_> = first_page
            .items
            .iter()
            .map(|n| (n.id, n.incident_number, n.kind.as_str()))
            .collect();
        assert_eq!(
            seen,
            [(written[2].id, 2, "subscribed"), (written[1].id, 1, "page")]
        );
        let rest = store
            .notifications_of_user(alice.id, &page(first_page.next_cursor, 2))
            .await
            .unwrap();
        assert_eq!(
            rest.items,
            [NotificationRow {
                incident_number: 1,
                ..written[0].clone()
            }]
        );
        assert_eq!(rest.next_cursor, None);
        assert!(
            store
                .notifications_of_user(bob.id, &page(None, 10))
                .await
                .unwrap()
                .items
                .is_empty()
        );

        // Only its user marks a notification read; the first reading time stays.
        let mut tx = store.write().await.unwrap();
        assert!(
            !tx.mark_notification_read(written[0].id, bob.id, at(50))
                .await
                .unwrap()
        );
        assert!(
            tx.mark_notification_read(written[0].id, alice.id, at(60))
                .await
                .unwrap()
        );
        assert!(
            tx.mark_notification_read(written[0].id, alice.id, at(70))
                .await
                .unwrap()
        );
        tx.commit(audit("notification.read")).await.unwrap();
        let inbox = store
            .notifications_of_user(alice.id, &page(None, 10))
            .await
            .unwrap();
        let read: Vec<_> = inbox.items.iter().map(|n| n.read_at).collect();
        assert_eq!(read, [None, None, Some(at(60))]);
    }
}

/// The statements a batch of webhook deliveries uses: open alerts read for many dedup
/// keys at once, new alerts inserted together, repeats counted together, and incidents
/// opened with provisional numbers numbered last, in order, after any numbered before.
#[tokio::test]
async fn a_delivery_batch_reads_and_writes_alerts_and_numbers_incidents_together() {
    use rampart_domain::sre::incidents::provisional_incident_number;
    use rampart_store::sre::alerts::NewAlertRow;
    for Fixture { store, .. } in stores().await {
        let engine = store.engine();
        let t = tenant(&store, "acme").await;
        let (service, record) = service_with_integration(&store, &t, "api", AuthMode::Bearer).await;
        let integration = record.integration.id;
        let before = open_incident(&store, &t, Some(&service), Some("old"), b"t").await;

        let mut tx = store.write().await.unwrap();
        // 200 incidents: more than one statement's worth of each multi-row write.
        let opened: Vec<Incident> = (0..200)
            .map(|n| {
                let mut row = incident(&t, 0, Some(&service), Some(&format!("g{n}")));
                row.number = provisional_incident_number(row.id);
                row
            })
            .collect();
        let titled: Vec<(Incident, Vec<u8>)> = opened
            .iter()
            .map(|row| (row.clone(), b"title".to_vec()))
            .collect();
        tx.insert_incidents(&titled).await.unwrap();
        let mut groups: Vec<(ServiceId, String)> =
            (0..200).map(|n| (service.id, format!("g{n}"))).collect();
        groups.push((service.id, "old".into()));
        groups.push((service.id, "no such group".into()));
        let mut collecting = tx.open_incidents_for_groups(&groups).await.unwrap();
        collecting.sort_by_key(|i| i.id);
        let mut expected: Vec<Incident> = opened.clone();
        expected.push(before.clone());
        expected.sort_by_key(|i| i.id);
        assert_eq!(collecting, expected, "{engine:?}");
        let first_entries: Vec<(IncidentId, IncidentEventRow)> = opened
            .iter()
            .map(|row| {
                let entry = IncidentEventRow {
                    seq: 1,
                    at: at(40),
                    actor: "system".into(),
                    kind: "incident.opened".into(),
                    body_sealed: b"body".to_vec(),
                };
                (row.id, entry)
            })
            .collect();
        tx.insert_incident_events(&first_entries).await.unwrap();
        assert_eq!(
            tx.next_incident_event_seq(opened[199].id).await.unwrap(),
            2,
            "{engine:?}"
        );
        let triggers: Vec<TriggerEventRow> = opened
            .iter()
            .map(|row| TriggerEventRow {
                id: fresh(RunbookTriggerEventId::mint),
                project_id: row.project_id,
                incident_id: row.id,
                event: "incident.opened".into(),
                created_at: at(40),
            })
            .collect();
        tx.queue_runbook_triggers(&triggers).await.unwrap();
        // 600 alerts: more than one statement's worth of each kind.
        let rows: Vec<NewAlertRow> = (0..600)
            .map(|n| NewAlertRow {
                alert: Alert {
                    incident_id: Some(opened[n % 200].id),
                    ..alert(&record)
                },
                dedup_index: format!("key-{n}"),
                dedup_key_sealed: format!("sealed key-{n}").into_bytes(),
                payload_sealed: b"payload".to_vec(),
            })
            .collect();
        tx.insert_alerts(&rows).await.unwrap();
        let wanted: Vec<String> = (0..700).map(|n| format!("key-{n}")).collect();
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let mut found = tx.open_alerts(integration, &wanted).await.unwrap();
        found.sort_by_key(|(index, _)| index[4..].parse::<usize>().unwrap());
        assert_eq!(found.len(), 600, "{engine:?}");
        assert_eq!(found[7], ("key-7".to_owned(), rows[7].alert.clone()));
        let bumps: Vec<(AlertId, u64)> = rows
            .iter()
            .enumerate()
            .map(|(n, row)| (row.alert.id, if n < 550 { 1 } else { 3 }))
            .collect();
        tx.bump_alerts(&bumps, at(50)).await.unwrap();
        let ids: Vec<IncidentId> = opened.iter().map(|i| i.id).collect();
        let numbers = tx.number_incidents(t.project.id, &ids).await.unwrap();
        let first = before.number + 1;
        assert_eq!(
            numbers,
            (first..first + 200).collect::<Vec<_>>(),
            "{engine:?}"
        );
        tx.commit(audit("alert.ingest")).await.unwrap();
        let mut queued = store.runbook_trigger_events(1_000).await.unwrap();
        queued.sort_by_key(|row| row.id);
        let mut triggers = triggers;
        triggers.sort_by_key(|row| row.id);
        assert_eq!(queued, triggers, "{engine:?}");

        let mut tx = store.write().await.unwrap();
        let counted = tx
            .open_alerts(integration, &["key-3", "key-599"])
            .await
            .unwrap();
        let count_of = |key: &str| {
            counted
                .iter()
                .find(|(index, _)| index == key)
                .map(|(_, alert)| (alert.event_count, alert.updated_at))
        };
        assert_eq!(count_of("key-3"), Some((2, at(50))), "{engine:?}");
        assert_eq!(count_of("key-599"), Some((4, at(50))), "{engine:?}");
        for (incident, number) in opened.iter().zip(&numbers) {
            let stored = tx.incident_for_update(incident.id).await.unwrap().unwrap();
            assert_eq!(stored.number, *number, "{engine:?}");
        }
        // The next incident numbered one by one follows them.
        assert_eq!(
            tx.next_incident_number(t.project.id).await.unwrap(),
            first + 200
        );
    }
}

fn slo_row(tenant: &Tenant, identifier: &str) -> rampart_domain::sre::slos::Slo {
    rampart_domain::sre::slos::Slo {
        id: fresh(SloId::mint),
        scope: tenant.scope(),
        identifier: Slug::parse(identifier).unwrap(),
        name: Name::parse(identifier).unwrap(),
        service_id: fresh(ServiceId::mint),
        version: 1,
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn slo_minutes_carry_the_data_version_of_the_write_that_changed_them() {
    use rampart_domain::sre::slos::{MinuteDelta, Rollup};
    let minute = |n: i64| jiff::Timestamp::from_second(1_789_999_980 + n * 60).unwrap();
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        // More SLOs than one statement reads, so the changed minutes come in parts.
        let slos: Vec<_> = (0..230).map(|n| slo_row(&t, &format!("slo-{n}"))).collect();
        let mut tx = store.write().await.unwrap();
        for slo in &slos {
            tx.insert_slo(slo, b"sealed definition").await.unwrap();
        }
        tx.commit(audit("slo.create")).await.unwrap();
        let (first, last) = (slos.first().unwrap().id, slos.last().unwrap().id);

        let mut tx = store.write().await.unwrap();
        let gone = fresh(SloId::mint);
        let versions = tx
            .next_slo_data_versions(&[last, first, gone, first])
            .await
            .unwrap();
        // An SLO that is not there has no version; each other one its next.
        assert_eq!(versions.len(), 2);
        assert_eq!((versions[&first], versions[&last]), (1, 1));
        let pushed = [
            Rollup::new(minute(0), 9.0, 10.0).unwrap(),
            Rollup::new(minute(1), 10.0, 10.0).unwrap(),
        ];
        tx.put_slo_minutes(first, 1, &pushed).await.unwrap();
        tx.put_slo_minutes(last, 1, &pushed[..1]).await.unwrap();
        tx.commit(audit("slo.data")).await.unwrap();

        let listed = store.slos_for_alerting(None, 1000).await.unwrap();
        let version_of = |id| {
            listed
                .iter()
                .find(|row| row.slo.id == id)
                .unwrap()
                .data_version
        };
        assert_eq!((version_of(first), version_of(last)), (1, 1));
        assert_eq!(version_of(slos[1].id), 0);
        let since_nothing: Vec<(SloId, i64)> = slos.iter().map(|slo| (slo.id, 0)).collect();
        let mut changed = store.slo_minutes_changed(&since_nothing).await.unwrap();
        changed.sort_by_key(|(slo, rollup)| (*slo, rollup.minute));
        assert_eq!(
            changed,
            [(first, pushed[0]), (first, pushed[1]), (last, pushed[0])]
        );

        // A second write: one minute added to, one new; only those are read as
        // changed since version 1, with the sums as they stand.
        let mut tx = store.write().await.unwrap();
        let versions = tx.next_slo_data_versions(&[first]).await.unwrap();
        assert_eq!(versions[&first], 2);
        let deltas = [
            MinuteDelta {
                minute: minute(1),
                good: 5.0,
                total: 6.0,
            },
            MinuteDelta {
                minute: minute(2),
                good: 1.0,
                total: 1.0,
            },
        ];
        let deltas: Vec<_> = deltas.into_iter().map(|delta| (first, 2, delta)).collect();
        tx.add_slo_minutes(&deltas).await.unwrap();
        // The series samples of several SLOs are read (and locked) together.
        let sample = |at_ms: i64| rampart_domain::sre::slos::SeriesSample { at_ms, value: 7.0 };
        let (one, other) = ((first, "a".to_owned()), (last, "b".to_owned()));
        tx.put_slo_series(&[(one.clone(), sample(10)), (other.clone(), sample(20))])
            .await
            .unwrap();
        let kept = tx
            .slo_series_for_update(&[other.clone(), (first, "missing".into()), one.clone()])
            .await
            .unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!((kept[&one], kept[&other]), (sample(10), sample(20)));
        tx.commit(audit("slo.remote_write")).await.unwrap();
        let mut changed = store
            .slo_minutes_changed(&[(first, 1), (last, 1)])
            .await
            .unwrap();
        changed.sort_by_key(|(_, rollup)| rollup.minute);
        assert_eq!(
            changed,
            [
                (first, Rollup::new(minute(1), 15.0, 16.0).unwrap()),
                (first, Rollup::new(minute(2), 1.0, 1.0).unwrap())
            ]
        );
        assert!(
            store
                .slo_minutes_changed(&[(first, 2), (last, 1)])
                .await
                .unwrap()
                .is_empty()
        );
        // A write rolled back takes its version with it.
        let mut tx = store.write().await.unwrap();
        assert_eq!(
            tx.next_slo_data_versions(&[first]).await.unwrap()[&first],
            3
        );
        tx.rollback().await.unwrap();
        let listed = store.slos_for_alerting(None, 1).await.unwrap();
        assert_eq!(listed[0].data_version, 2);
    }
}
