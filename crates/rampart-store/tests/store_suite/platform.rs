//! Platform tables: organisations and projects, users and tokens, group members, the
//! all-or-nothing write transaction with its audit event.

use rampart_domain::platform::identity::{ApiToken, PrincipalId, TokenKind, User};
use rampart_domain::platform::tenancy::Project;
use rampart_domain::*;
use rampart_store::StoreError;
use rampart_store::platform::PageRequest;

use crate::{Fixture, audit, n, now, org, stores};

#[tokio::test]
async fn orgs_and_projects_round_trip_and_paginate() {
    for Fixture { store, .. } in stores().await {
        let engine = store.engine();
        let mut tx = store.write().await.unwrap();
        for i in 0..5u8 {
            tx.insert_org(&org(&format!("org-{i}"), i)).await.unwrap();
        }
        tx.commit(audit("org.create")).await.unwrap();

        let found = store
            .org_by_identifier(&Slug::parse("org-3").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            found,
            org("org-3", 3),
            "{engine:?}: exact round trip incl. micros"
        );

        let first = store
            .list_orgs(&PageRequest {
                after: None,
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(first.items.len(), 2);
        let second = store
            .list_orgs(&PageRequest {
                after: first.next_cursor.clone(),
                limit: 2,
            })
            .await
            .unwrap();
        let third = store
            .list_orgs(&PageRequest {
                after: second.next_cursor.clone(),
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(third.items.len(), 1);
        assert_eq!(third.next_cursor, None, "{engine:?}");
        let all: Vec<_> = [first.items, second.items, third.items]
            .concat()
            .into_iter()
            .map(|o| o.identifier.to_string())
            .collect();
        assert_eq!(all, ["org-0", "org-1", "org-2", "org-3", "org-4"]);

        // Project identifiers are unique per organisation, not globally.
        let mut tx = store.write().await.unwrap();
        for (i, org_slug) in [(10u8, "org-0"), (11, "org-1")] {
            let owner = store
                .org_by_identifier(&Slug::parse(org_slug).unwrap())
                .await
                .unwrap()
                .unwrap();
            tx.insert_project(&Project {
                id: ProjectId::mint(1_700_000_000_000, n(i)),
                org_id: owner.id,
                identifier: Slug::parse("default").unwrap(),
                name: Name::parse("Default").unwrap(),
                description: Description::parse("").unwrap(),
                created_at: now(),
                updated_at: now(),
            })
            .await
            .unwrap();
        }
        tx.commit(audit("project.create")).await.unwrap();
    }
}

#[tokio::test]
async fn unique_violations_are_conflicts_and_roll_back_everything() {
    for Fixture { store, .. } in stores().await {
        let mut tx = store.write().await.unwrap();
        tx.insert_org(&org("dup", 1)).await.unwrap();
        tx.commit(audit("org.create")).await.unwrap();

        let mut tx = store.write().await.unwrap();
        tx.insert_org(&org("other", 2)).await.unwrap();
        let mut clash = org("dup", 3);
        clash.id = OrgId::mint(1, n(3));
        let error = tx.insert_org(&clash).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
        drop(tx); // rolls back "other" too
        assert!(
            store
                .org_by_identifier(&Slug::parse("other").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_failing_audit_write_commits_nothing() {
    for Fixture { store, .. } in stores().await {
        // A duplicate audit id makes the audit insert fail.
        let first = audit("x");
        store.append_audit(&first).await.unwrap();
        let mut bad = audit("org.create");
        bad.id.clone_from(&first.id);
        let mut tx = store.write().await.unwrap();
        tx.insert_org(&org("kept-out", 1)).await.unwrap();
        let error = tx.commit(bad).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
        assert!(
            store
                .org_by_identifier(&Slug::parse("kept-out").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn tokens_and_users_round_trip() {
    for Fixture { store, .. } in stores().await {
        let user = User {
            id: UserId::mint(1_700_000_000_000, n(1)),
            email: Email::parse("Owner@Example.com").unwrap(),
            display_name: DisplayName::parse("Owner").unwrap(),
            is_account_owner: true,
            has_password: true,
            disabled: false,
            created_at: now(),
            updated_at: now(),
        };
        let token = ApiToken {
            id: TokenId::mint(1_700_000_000_000, n(2)),
            kind: TokenKind::Personal,
            owner: PrincipalId::User(user.id),
            name: Name::parse("ci").unwrap(),
            last_four: "abcd".into(),
            project_id: None,
            created_at: now(),
            expires_at: now(),
            revoked_at: None,
            last_used_at: None,
            last_used_ip: None,
            allowed_cidrs: vec!["10.0.0.0/8".into()],
            run: None,
        };
        let mut tx = store.write().await.unwrap();
        tx.insert_user(&user, Some("$argon2id$stub")).await.unwrap();
        tx.insert_token(&token, &[7u8; 32]).await.unwrap();
        tx.commit(audit("user.create")).await.unwrap();

        let found = store
            .user_credentials_by_email(&Email::parse("owner@EXAMPLE.com").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user, user);
        assert_eq!(found.password_hash.as_deref(), Some("$argon2id$stub"));
        assert_eq!(
            store.token_by_secret_hmac(&[7u8; 32]).await.unwrap(),
            Some(token.clone())
        );
        assert_eq!(store.token_by_secret_hmac(&[8u8; 32]).await.unwrap(), None);

        let mut tx = store.write().await.unwrap();
        tx.revoke_token(token.id, now()).await.unwrap();
        tx.commit(audit("token.revoke")).await.unwrap();
        let revoked = store.token_by_id(token.id).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(now()));
        let actions: Vec<_> = store
            .recent_audit(10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(actions, ["token.revoke", "user.create"]);
    }
}

#[tokio::test]
async fn group_member_ids_are_a_groups_users_in_id_order() {
    for Fixture { store, .. } in stores().await {
        let t = crate::tenant(&store, "acme").await;
        let group = rampart_domain::platform::access::UserGroup {
            id: uuid::Uuid::new_v4(),
            scope: t.scope(),
            identifier: Slug::parse("ops").unwrap(),
            name: Name::parse("Ops").unwrap(),
            description: Description::parse("").unwrap(),
            created_at: now(),
            updated_at: now(),
        };
        let users: Vec<_> = (0..3u8)
            .map(|i| User {
                id: crate::fresh(UserId::mint),
                email: Email::parse(&format!("user{i}@example.com")).unwrap(),
                display_name: DisplayName::parse("User").unwrap(),
                is_account_owner: false,
                has_password: false,
                disabled: false,
                created_at: now(),
                updated_at: now(),
            })
            .collect();
        let mut tx = store.write().await.unwrap();
        tx.insert_user_group(&group).await.unwrap();
        for user in &users {
            tx.insert_user(user, None).await.unwrap();
        }
        // Added out of order, and one twice.
        for user in [&users[2], &users[0], &users[2]] {
            tx.add_group_member(group.id, user.id, now()).await.unwrap();
        }
        tx.commit(audit("group.members")).await.unwrap();
        let group_id = group.id.to_string();
        assert_eq!(
            store.group_member_ids(&group_id).await.unwrap(),
            [users[0].id, users[2].id]
        );
        assert_eq!(
            store
                .group_member_ids(&uuid::Uuid::new_v4().to_string())
                .await
                .unwrap(),
            []
        );
    }
}

/// A role is held once per scope, principal and resource group: a second insert is a
/// conflict, and the "unless held" insert (reset-admin's) leaves the first alone.
#[tokio::test]
async fn a_role_assignment_is_held_once() {
    use rampart_domain::platform::access::{BuiltinRole, Grantee, RoleAssignmentRecord, RoleRef};
    use rampart_domain::platform::tenancy::Scope;

    for Fixture { store, .. } in stores().await {
        let user = crate::fresh(UserId::mint);
        let record = |role: BuiltinRole| RoleAssignmentRecord {
            id: crate::fresh(|millis, random| {
                uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
            }),
            scope: Scope::Account,
            grantee: Grantee::Principal(PrincipalId::User(user)),
            role: RoleRef::Builtin(role),
            resource_group_id: None,
            created_at: now(),
            created_by: "test".into(),
        };
        let mut tx = store.write().await.unwrap();
        tx.insert_role_assignment(&record(BuiltinRole::Viewer))
            .await
            .unwrap();
        let again = tx
            .insert_role_assignment(&record(BuiltinRole::Viewer))
            .await
            .unwrap_err();
        assert!(again.is_unique_violation(), "{again}");
        tx.rollback().await.unwrap();

        let mut tx = store.write().await.unwrap();
        tx.insert_role_assignment(&record(BuiltinRole::Viewer))
            .await
            .unwrap();
        assert!(
            !tx.insert_role_assignment_unless_held(&record(BuiltinRole::Viewer))
                .await
                .unwrap()
        );
        assert!(
            tx.insert_role_assignment_unless_held(&record(BuiltinRole::User))
                .await
                .unwrap()
        );
        tx.commit(audit("role_assignment.create")).await.unwrap();
        let page = store
            .list_role_assignments(Scope::Account, &crate::page(None, 50))
            .await
            .unwrap();
        let held: Vec<RoleRef> = page
            .items
            .iter()
            .filter(|item| item.grantee == Grantee::Principal(PrincipalId::User(user)))
            .map(|item| item.role)
            .collect();
        assert_eq!(
            held,
            [
                RoleRef::Builtin(BuiltinRole::Viewer),
                RoleRef::Builtin(BuiltinRole::User)
            ]
        );
    }
}
