//! IaCM tables: workspaces, state versions (append, latest, the previous link, newest
//! first and ascending), Terraform locks and plans.

use rampart_domain::iacm::plans::{ActionCounts, PlanStateRef, StoredPlan};
use rampart_domain::iacm::state_versions::{StateVersion, WorkspaceLock};
use rampart_domain::iacm::workspaces::{Provisioner, Workspace};
use rampart_domain::*;
use rampart_store::iacm::plans::{PlanPart, SealedPlan};
use rampart_store::{Store, StoreError};

use crate::{Fixture, Tenant, at, audit, fresh, now, page, stores, tenant};

pub(crate) fn workspace(tenant: &Tenant, identifier: &str) -> Workspace {
    Workspace {
        id: fresh(WorkspaceId::mint),
        org_id: tenant.org.id,
        project_id: tenant.project.id,
        identifier: Slug::parse(identifier).unwrap(),
        name: Name::parse(identifier).unwrap(),
        description: Description::parse("").unwrap(),
        provisioner: Provisioner::OpenTofu,
        provisioner_version: "1.8.0".into(),
        tags: vec!["prod".into()],
        runs: Default::default(),
        drift_integration: None,
        created_at: now(),
        updated_at: now(),
    }
}

pub(crate) fn state_version(workspace: &Workspace, version: u64) -> StateVersion {
    let byte = u8::try_from(version).unwrap();
    StateVersion {
        workspace_id: workspace.id,
        version,
        serial: version * 10,
        lineage: "2f1c7a3e-lineage".into(),
        sha256: [byte; 32],
        size_bytes: 100 + version,
        resource_count: version,
        lock_id: version.is_multiple_of(2).then(|| format!("lock-{version}")),
        created_by: "user:x".into(),
        created_at: at(i64::try_from(version).unwrap()),
        reason: (version == 3).then(|| "rollback to 1".into()),
        chain_hash: [byte.wrapping_add(100); 32],
    }
}

pub(crate) fn body(version: u64) -> Vec<u8> {
    format!("sealed body {version}").into_bytes()
}

/// A committed workspace with versions `1..=versions`.
pub(crate) async fn workspace_with_versions(
    store: &Store,
    tenant: &Tenant,
    identifier: &str,
    versions: u64,
) -> (Workspace, Vec<StateVersion>) {
    let workspace = workspace(tenant, identifier);
    let rows: Vec<_> = (1..=versions)
        .map(|v| state_version(&workspace, v))
        .collect();
    let mut tx = store.write().await.unwrap();
    tx.insert_workspace(&workspace).await.unwrap();
    for row in &rows {
        tx.insert_state_version(row, &body(row.version))
            .await
            .unwrap();
    }
    tx.commit(audit("state.write")).await.unwrap();
    (workspace, rows)
}

#[tokio::test]
async fn workspaces_round_trip_paginate_update_and_delete_with_their_state() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let workspaces: Vec<_> = ["network", "compute", "dns"]
            .into_iter()
            .map(|id| workspace(&t, id))
            .collect();
        let mut tx = store.write().await.unwrap();
        for w in &workspaces {
            tx.insert_workspace(w).await.unwrap();
        }
        tx.commit(audit("workspace.create")).await.unwrap();

        let found = store
            .workspace_by_identifier(t.scope(), &Slug::parse("compute").unwrap())
            .await
            .unwrap();
        assert_eq!(found.as_ref(), Some(&workspaces[1]));
        let first = store
            .list_workspaces(t.scope(), &page(None, 2))
            .await
            .unwrap();
        assert_eq!(first.items, workspaces[..2]);
        let rest = store
            .list_workspaces(t.scope(), &page(first.next_cursor, 2))
            .await
            .unwrap();
        assert_eq!(
            (rest.items.as_slice(), rest.next_cursor),
            (&workspaces[2..], None)
        );

        let mut tx = store.write().await.unwrap();
        let clash = workspace(&t, "dns");
        assert!(matches!(
            tx.insert_workspace(&clash).await,
            Err(StoreError::Conflict { .. })
        ));
        drop(tx);

        let mut edited = workspaces[0].clone();
        edited.name = Name::parse("Core network").unwrap();
        edited.provisioner = Provisioner::Terraform;
        edited.provisioner_version = "1.9.5".into();
        edited.tags = vec![];
        edited.updated_at = at(60);
        let mut tx = store.write().await.unwrap();
        tx.update_workspace(&edited).await.unwrap();
        tx.commit(audit("workspace.update")).await.unwrap();
        let addresses = store.all_workspace_addresses().await.unwrap();
        assert_eq!(
            addresses,
            [
                (
                    String::from("acme"),
                    String::from("default"),
                    edited.clone()
                ),
                ("acme".into(), "default".into(), workspaces[1].clone()),
                ("acme".into(), "default".into(), workspaces[2].clone()),
            ]
        );

        // Deleting a workspace takes its versions and lock.
        let (doomed, _) = workspace_with_versions(&store, &t, "doomed", 2).await;
        let mut tx = store.write().await.unwrap();
        tx.insert_workspace_lock(doomed.id, &lock("held"))
            .await
            .unwrap();
        tx.commit(audit("lock")).await.unwrap();
        let mut tx = store.write().await.unwrap();
        tx.lock_workspace(doomed.id).await.unwrap();
        tx.delete_workspace(doomed.id).await.unwrap();
        tx.commit(audit("workspace.delete")).await.unwrap();
        let doomed_slug = Slug::parse("doomed").unwrap();
        assert_eq!(
            store
                .workspace_by_identifier(t.scope(), &doomed_slug)
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.state_version(doomed.id, None).await.unwrap(), None);
        assert_eq!(store.workspace_lock(doomed.id).await.unwrap(), None);
    }
}

#[tokio::test]
async fn state_versions_append_and_read_latest_by_number_and_in_both_orders() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let (workspace, rows) = workspace_with_versions(&store, &t, "network", 3).await;
        let (empty, _) = workspace_with_versions(&store, &t, "empty", 0).await;

        let mut tx = store.write().await.unwrap();
        tx.lock_workspace(workspace.id).await.unwrap();
        assert_eq!(
            tx.latest_state_version(workspace.id)
                .await
                .unwrap()
                .as_ref(),
            Some(&rows[2])
        );
        assert_eq!(tx.latest_state_version(empty.id).await.unwrap(), None);
        // A version number is written once.
        assert!(matches!(
            tx.insert_state_version(&rows[1], b"again").await,
            Err(StoreError::Conflict { .. })
        ));
        drop(tx);

        // The latest, with the previous version's link; version 1 has none.
        let (latest, latest_body, previous) = store
            .state_version(workspace.id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (latest, latest_body, previous),
            (rows[2].clone(), body(3), Some(rows[1].chain_hash))
        );
        let (first, first_body, previous) = store
            .state_version(workspace.id, Some(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (first, first_body, previous),
            (rows[0].clone(), body(1), None)
        );
        assert_eq!(
            store.state_version(workspace.id, Some(4)).await.unwrap(),
            None
        );
        assert_eq!(store.state_version(empty.id, None).await.unwrap(), None);

        // Newest first, a page at a time (the cursor is a version number).
        let newest = store
            .state_versions(workspace.id, &page(None, 2))
            .await
            .unwrap();
        assert_eq!(newest.items, [rows[2].clone(), rows[1].clone()]);
        assert_eq!(newest.next_cursor.as_deref(), Some("2"));
        let oldest = store
            .state_versions(workspace.id, &page(newest.next_cursor, 2))
            .await
            .unwrap();
        assert_eq!(
            (oldest.items, oldest.next_cursor),
            (vec![rows[0].clone()], None)
        );

        // Ascending with bodies, after a version.
        let ascending = store
            .state_versions_ascending(workspace.id, None, 2)
            .await
            .unwrap();
        assert_eq!(
            ascending,
            [(rows[0].clone(), body(1)), (rows[1].clone(), body(2))]
        );
        let after = store
            .state_versions_ascending(workspace.id, Some(2), 10)
            .await
            .unwrap();
        assert_eq!(after, [(rows[2].clone(), body(3))]);

        // A missing predecessor reads as a link that cannot verify.
        store
            .execute_raw_for_tests(&format!(
                "DELETE FROM state_versions WHERE workspace_id = '{}' AND version = 2",
                workspace.id
            ))
            .await
            .unwrap();
        let (_, _, previous) = store
            .state_version(workspace.id, Some(3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(previous, Some([0xff; 32]));
    }
}

fn lock(id: &str) -> WorkspaceLock {
    WorkspaceLock {
        lock_id: id.into(),
        info: format!(r#"{{"ID":"{id}","Operation":"OperationTypeApply"}}"#),
        operation: "OperationTypeApply".into(),
        locked_by: "user:x".into(),
        locked_at: at(5),
    }
}

#[tokio::test]
async fn a_workspace_holds_at_most_one_lock() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let (workspace, _) = workspace_with_versions(&store, &t, "network", 0).await;
        assert_eq!(store.workspace_lock(workspace.id).await.unwrap(), None);

        let held = lock("a1b2");
        let mut tx = store.write().await.unwrap();
        tx.lock_workspace(workspace.id).await.unwrap();
        assert_eq!(tx.held_workspace_lock(workspace.id).await.unwrap(), None);
        tx.insert_workspace_lock(workspace.id, &held).await.unwrap();
        assert_eq!(
            tx.held_workspace_lock(workspace.id).await.unwrap().as_ref(),
            Some(&held)
        );
        tx.commit(audit("lock")).await.unwrap();
        assert_eq!(
            store.workspace_lock(workspace.id).await.unwrap().as_ref(),
            Some(&held)
        );

        let mut tx = store.write().await.unwrap();
        assert!(matches!(
            tx.insert_workspace_lock(workspace.id, &lock("c3d4")).await,
            Err(StoreError::Conflict { .. })
        ));
        drop(tx);
        assert_eq!(
            store.workspace_lock(workspace.id).await.unwrap(),
            Some(held)
        );

        let mut tx = store.write().await.unwrap();
        tx.delete_workspace_lock(workspace.id).await.unwrap();
        tx.insert_workspace_lock(workspace.id, &lock("c3d4"))
            .await
            .unwrap();
        tx.commit(audit("relock")).await.unwrap();
        assert_eq!(
            store.workspace_lock(workspace.id).await.unwrap(),
            Some(lock("c3d4"))
        );
        let mut tx = store.write().await.unwrap();
        tx.delete_workspace_lock(workspace.id).await.unwrap();
        tx.commit(audit("unlock")).await.unwrap();
        assert_eq!(store.workspace_lock(workspace.id).await.unwrap(), None);
    }
}

fn stored_plan(workspace: &Workspace, state: Option<&StateVersion>) -> StoredPlan {
    StoredPlan {
        id: fresh(PlanId::mint),
        workspace_id: workspace.id,
        format_version: "1.2".into(),
        terraform_version: "1.15.5".into(),
        json_size_bytes: 4321,
        counts: ActionCounts {
            add: 1,
            change: 2,
            replace: 3,
            destroy: 4,
            read: 5,
            no_op: 6,
            forget: 7,
        },
        state: state.map(|row| PlanStateRef {
            version: row.version,
            serial: row.serial,
            lineage: row.lineage.clone(),
            sha256: row.sha256,
        }),
        file_size_bytes: None,
        file_uploaded_at: None,
        policy_status: rampart_domain::iacm::policy_sets::PolicyStatus::None,
        created_by: "user:x".into(),
        created_at: now(),
    }
}

/// Plans: newest first a page at a time, one read with the sealed parts asked for
/// (none of another workspace's), the binary file set once.
#[tokio::test]
async fn plans_list_newest_first_and_take_their_file_once() {
    for Fixture { store, .. } in stores().await {
        let t = tenant(&store, "acme").await;
        let (workspace, versions) = workspace_with_versions(&store, &t, "network", 2).await;
        let (other, _) = workspace_with_versions(&store, &t, "dns", 0).await;
        let plans: Vec<StoredPlan> = (0..3)
            .map(|n| stored_plan(&workspace, (n > 0).then(|| &versions[1])))
            .collect();
        let mut tx = store.write().await.unwrap();
        for plan in &plans {
            let sealed = SealedPlan {
                json: format!("sealed json {}", plan.id).into_bytes(),
                summary: b"sealed summary".to_vec(),
            };
            tx.insert_plan(plan, &sealed).await.unwrap();
        }
        tx.commit(audit("plan.upload")).await.unwrap();

        let first = store.plans(workspace.id, &page(None, 2)).await.unwrap();
        assert_eq!(first.items, vec![plans[2].clone(), plans[1].clone()]);
        let rest = store
            .plans(workspace.id, &page(first.next_cursor, 2))
            .await
            .unwrap();
        assert_eq!(
            (rest.items, rest.next_cursor),
            (vec![plans[0].clone()], None)
        );
        assert!(
            store
                .plans(other.id, &page(None, 10))
                .await
                .unwrap()
                .items
                .is_empty()
        );

        let (read, parts) = store
            .plan(workspace.id, plans[1].id, &[PlanPart::Json, PlanPart::File])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, plans[1]);
        assert_eq!(
            parts,
            vec![
                Some(format!("sealed json {}", plans[1].id).into_bytes()),
                None
            ]
        );
        assert!(
            store
                .plan(other.id, plans[1].id, &[])
                .await
                .unwrap()
                .is_none()
        );

        let mut tx = store.write().await.unwrap();
        assert!(
            tx.set_plan_file(workspace.id, plans[1].id, 9, b"file", b"sha", at(5))
                .await
                .unwrap()
        );
        assert!(
            !tx.set_plan_file(workspace.id, plans[1].id, 9, b"again", b"sha", at(6))
                .await
                .unwrap()
        );
        assert!(
            !tx.set_plan_file(other.id, plans[0].id, 9, b"file", b"sha", at(6))
                .await
                .unwrap()
        );
        tx.commit(audit("plan.upload_file")).await.unwrap();
        let (read, parts) = store
            .plan(
                workspace.id,
                plans[1].id,
                &[PlanPart::File, PlanPart::FileSha256],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (read.file_size_bytes, read.file_uploaded_at),
            (Some(9), Some(at(5)))
        );
        assert_eq!(parts, vec![Some(b"file".to_vec()), Some(b"sha".to_vec())]);
    }
}
