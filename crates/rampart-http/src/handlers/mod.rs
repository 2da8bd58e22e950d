//! Route handlers, one module per part of the route tree, and [`api_routes`] which
//! registers them all with their permissions.

pub mod access;
pub mod audit;
pub mod auth;
pub mod health;
pub mod identity;
pub mod keys;
pub mod secrets;
pub mod sre;
pub mod tenancy;
pub mod tf_backend;
pub mod workspaces;

use axum::http::Method;
use rampart_api::HealthResponse;
use rampart_api::iacm as iacm_wire;
use rampart_api::platform as wire;
use rampart_api::sre as sre_wire;
use rampart_app::Access;
use rampart_domain::Permission as P;

use crate::routes::{FORCE_QUERY, RouteSpec, RouteTable};

fn perm(permission: P) -> Access {
    Access::Permission(permission)
}

/// Registers every route of the server.
pub fn register_all(table: &mut RouteTable, metrics_public: bool) {
    use Method as M;
    let r = RouteSpec::new;

    // Health, metrics, the API description.
    table.add(
        r(M::GET, "/healthz", Access::Public, "Liveness").reply::<HealthResponse>(200),
        health::healthz,
    );
    table.add(
        r(
            M::GET,
            "/readyz",
            Access::SelfServiceNarrowedOk,
            "Readiness: the store answers",
        )
        .reply::<HealthResponse>(200),
        health::readyz,
    );
    let metrics_access = if metrics_public {
        Access::Public
    } else {
        perm(P::SettingsView)
    };
    table.add(
        r(M::GET, "/metrics", metrics_access, "Prometheus metrics")
            .text("text/plain; version=0.0.4"),
        health::metrics,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/openapi.json",
            Access::SelfServiceNarrowedOk,
            "This API's OpenAPI 3.1 document",
        )
        .text("application/json"),
        health::openapi,
    );

    // Sessions and the current principal.
    table.add(
        r(
            M::POST,
            "/api/v1/auth/login",
            Access::Public,
            "Password login; sets the session cookie",
        )
        .body::<wire::LoginRequest>()
        .reply::<wire::LoginResponse>(200),
        auth::login,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/auth/logout",
            Access::SelfService,
            "End the current session",
        ),
        auth::logout,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/me",
            Access::SelfServiceNarrowedOk,
            "Who am I",
        )
        .reply::<wire::Me>(200),
        auth::me,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/me/password",
            Access::SelfService,
            "Change my password (ends my sessions)",
        )
        .body::<wire::PasswordChange>(),
        auth::change_password,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/tokens",
            Access::SelfService,
            "List my API tokens",
        )
        .page::<wire::Token>(),
        identity::list_my_tokens,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/tokens",
            Access::SelfService,
            "Create a personal API token (secret shown once)",
        )
        .body::<wire::TokenCreate>()
        .reply::<wire::TokenCreated>(201),
        identity::create_my_token,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/tokens/{token_id}",
            Access::SelfService,
            "Revoke one of my tokens",
        )
        .reply::<wire::Token>(200),
        identity::revoke_my_token,
    );

    // Users.
    table.add(
        r(M::GET, "/api/v1/users", perm(P::UserView), "List users").page::<wire::User>(),
        identity::list_users,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/users",
            perm(P::UserInvite),
            "Create a user",
        )
        .body::<wire::UserCreate>()
        .reply::<wire::User>(201),
        identity::create_user,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/users/{user_id}",
            perm(P::UserView),
            "Read a user",
        )
        .reply::<wire::User>(200),
        identity::get_user,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/users/{user_id}",
            perm(P::UserEdit),
            "Update a user",
        )
        .body::<wire::UserUpdate>()
        .reply::<wire::User>(200),
        identity::update_user,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/users/{user_id}",
            perm(P::UserDelete),
            "Delete a user",
        ),
        identity::delete_user,
    );

    // Organisations and projects.
    table.add(
        r(
            M::GET,
            "/api/v1/orgs",
            Access::List(P::OrgView),
            "List the organisations you can see",
        )
        .page::<wire::Org>(),
        tenancy::list_orgs,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/orgs",
            perm(P::OrgCreate),
            "Create an organisation",
        )
        .body::<wire::OrgCreate>()
        .reply::<wire::Org>(201),
        tenancy::create_org,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}",
            perm(P::OrgView),
            "Read an organisation",
        )
        .reply::<wire::Org>(200),
        tenancy::get_org,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/orgs/{org}",
            perm(P::OrgEdit),
            "Update an organisation",
        )
        .body::<wire::ScopeUpdate>()
        .reply::<wire::Org>(200),
        tenancy::update_org,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/orgs/{org}",
            perm(P::OrgDelete),
            "Delete an organisation (409 when not empty unless ?force=true)",
        )
        .query(FORCE_QUERY),
        tenancy::delete_org,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/projects",
            Access::List(P::ProjectView),
            "List the projects you can view",
        )
        .page::<wire::Project>(),
        tenancy::list_projects,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/orgs/{org}/projects",
            perm(P::ProjectCreate),
            "Create a project",
        )
        .body::<wire::ProjectCreate>()
        .reply::<wire::Project>(201),
        tenancy::create_project,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/projects/{project}",
            perm(P::ProjectView),
            "Read a project",
        )
        .reply::<wire::Project>(200),
        tenancy::get_project,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/orgs/{org}/projects/{project}",
            perm(P::ProjectEdit),
            "Update a project",
        )
        .body::<wire::ScopeUpdate>()
        .reply::<wire::Project>(200),
        tenancy::update_project,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/orgs/{org}/projects/{project}",
            perm(P::ProjectDelete),
            "Delete a project (409 when not empty unless ?force=true)",
        )
        .query(FORCE_QUERY),
        tenancy::delete_project,
    );

    // Service accounts and their tokens, at organisation and at project scope.
    for (base, item, tokens, token) in [
        (
            "/api/v1/orgs/{org}/service-accounts",
            "/api/v1/orgs/{org}/service-accounts/{service_account_id}",
            "/api/v1/orgs/{org}/service-accounts/{service_account_id}/tokens",
            "/api/v1/orgs/{org}/service-accounts/{service_account_id}/tokens/{token_id}",
        ),
        (
            "/api/v1/orgs/{org}/projects/{project}/service-accounts",
            "/api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}",
            "/api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}/tokens",
            "/api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}/tokens/{token_id}",
        ),
    ] {
        table.add(
            r(
                M::GET,
                base,
                perm(P::ServiceAccountView),
                "List service accounts",
            )
            .page::<wire::ServiceAccount>(),
            identity::list_service_accounts,
        );
        table.add(
            r(
                M::POST,
                base,
                perm(P::ServiceAccountCreate),
                "Create a service account",
            )
            .body::<wire::ServiceAccountCreate>()
            .reply::<wire::ServiceAccount>(201),
            identity::create_service_account,
        );
        table.add(
            r(
                M::GET,
                item,
                perm(P::ServiceAccountView),
                "Read a service account",
            )
            .reply::<wire::ServiceAccount>(200),
            identity::get_service_account,
        );
        table.add(
            r(
                M::DELETE,
                item,
                perm(P::ServiceAccountDelete),
                "Delete a service account and its tokens",
            ),
            identity::delete_service_account,
        );
        table.add(
            r(
                M::GET,
                tokens,
                perm(P::TokenView),
                "List a service account's tokens",
            )
            .page::<wire::Token>(),
            identity::list_service_account_tokens,
        );
        table.add(
            r(
                M::POST,
                tokens,
                perm(P::TokenCreate),
                "Create a service account token (secret shown once)",
            )
            .body::<wire::TokenCreate>()
            .reply::<wire::TokenCreated>(201),
            identity::create_service_account_token,
        );
        table.add(
            r(
                M::DELETE,
                token,
                perm(P::TokenRevoke),
                "Revoke a service account token",
            )
            .reply::<wire::Token>(200),
            identity::revoke_service_account_token,
        );
    }

    // Access control at each scope.
    for (assignments, assignment, explain, mine) in [
        (
            "/api/v1/role-assignments",
            "/api/v1/role-assignments/{assignment_id}",
            "/api/v1/access/explain",
            "/api/v1/access/my-permissions",
        ),
        (
            "/api/v1/orgs/{org}/role-assignments",
            "/api/v1/orgs/{org}/role-assignments/{assignment_id}",
            "/api/v1/orgs/{org}/access/explain",
            "/api/v1/orgs/{org}/access/my-permissions",
        ),
        (
            "/api/v1/orgs/{org}/projects/{project}/role-assignments",
            "/api/v1/orgs/{org}/projects/{project}/role-assignments/{assignment_id}",
            "/api/v1/orgs/{org}/projects/{project}/access/explain",
            "/api/v1/orgs/{org}/projects/{project}/access/my-permissions",
        ),
    ] {
        table.add(
            r(
                M::GET,
                assignments,
                perm(P::RoleAssignmentView),
                "List role assignments made at this scope",
            )
            .page::<wire::RoleAssignment>(),
            access::list_role_assignments,
        );
        table.add(
            r(
                M::POST,
                assignments,
                perm(P::RoleAssignmentCreate),
                "Assign a role (never beyond your own rights)",
            )
            .body::<wire::RoleAssignmentCreate>()
            .reply::<wire::RoleAssignment>(201),
            access::create_role_assignment,
        );
        table.add(
            r(
                M::DELETE,
                assignment,
                perm(P::RoleAssignmentDelete),
                "Remove a role assignment (not the last Account Admin)",
            ),
            access::delete_role_assignment,
        );
        table.add(
            r(
                M::GET,
                explain,
                perm(P::RoleAssignmentView),
                "Does a principal hold a permission here, and which assignment decided",
            )
            .query(&[
                ("principal", "user:<id> or service_account:<id>"),
                ("permission", "resource:action"),
                ("resource", "optional: one resource as type/id"),
            ])
            .reply::<wire::Explanation>(200),
            access::explain,
        );
        table.add(
            r(
                M::GET,
                mine,
                Access::SeeScope,
                "My permissions at this scope",
            )
            .reply::<wire::MyPermissions>(200),
            access::my_permissions,
        );
    }

    // The audit log at each scope: an organisation or project sees its own events.
    const AUDIT_LIST_QUERY: &[(&str, &str)] = &[
        ("since", "RFC 3339 time: events at or after"),
        ("until", "RFC 3339 time: events before"),
        ("actor", "user:<id> or service_account:<id>"),
        ("action", "e.g. org.create"),
        ("resource_type", "e.g. organization"),
        ("resource_id", "one resource's id"),
        ("outcome", "success, failure or denied"),
        ("limit", "page size, 1 to 500 (default 50)"),
        ("cursor", "next_cursor from the previous page"),
    ];
    const AUDIT_EXPORT_QUERY: &[(&str, &str)] = &[
        (
            "format",
            "ndjson (default: entries, checkpoints, proofs) or csv",
        ),
        ("since", "RFC 3339 time: events at or after"),
        ("until", "RFC 3339 time: events before"),
        ("actor", "user:<id> or service_account:<id>"),
        ("action", "e.g. org.create"),
        ("resource_type", "e.g. organization"),
        ("resource_id", "one resource's id"),
        ("outcome", "success, failure or denied"),
    ];
    for (events, export) in [
        ("/api/v1/audit-events", "/api/v1/audit-events/export"),
        (
            "/api/v1/orgs/{org}/audit-events",
            "/api/v1/orgs/{org}/audit-events/export",
        ),
        (
            "/api/v1/orgs/{org}/projects/{project}/audit-events",
            "/api/v1/orgs/{org}/projects/{project}/audit-events/export",
        ),
    ] {
        table.add(
            r(
                M::GET,
                events,
                perm(P::AuditView),
                "Query audit events here, newest first",
            )
            .page::<wire::AuditEvent>()
            .query(AUDIT_LIST_QUERY),
            audit::list_audit_events,
        );
        table.add(
            r(
                M::GET,
                export,
                perm(P::AuditExport),
                "Export audit events (signs a checkpoint; NDJSON with proofs, or CSV)",
            )
            .text("application/x-ndjson")
            .query(AUDIT_EXPORT_QUERY),
            audit::export_audit_events,
        );
    }
    table.add(
        r(
            M::GET,
            "/api/v1/audit-events/public-key",
            perm(P::AuditView),
            "The audit log's Ed25519 public key",
        )
        .reply::<wire::AuditPublicKey>(200),
        audit::audit_public_key,
    );

    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/audit-retention",
            perm(P::AuditView),
            "How long this organisation's audit events keep their bodies",
        )
        .reply::<wire::AuditRetention>(200),
        audit::get_audit_retention,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/orgs/{org}/audit-retention",
            perm(P::OrgEdit),
            "Set audit retention (pruned events keep their hashes)",
        )
        .body::<wire::AuditRetention>()
        .reply::<wire::AuditRetention>(200),
        audit::set_audit_retention,
    );

    // Source-address allowlists of the account and of organisations.
    table.add(
        r(
            M::GET,
            "/api/v1/ip-allowlist",
            perm(P::AccountManage),
            "The account's source-address allowlist",
        )
        .reply::<wire::IpAllowlist>(200),
        tenancy::get_ip_allowlist,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/ip-allowlist",
            perm(P::AccountManage),
            "Replace the account's allowlist (must include your own address)",
        )
        .body::<wire::IpAllowlist>()
        .reply::<wire::IpAllowlist>(200),
        tenancy::set_ip_allowlist,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/ip-allowlist",
            perm(P::OrgView),
            "The organisation's source-address allowlist",
        )
        .reply::<wire::IpAllowlist>(200),
        tenancy::get_ip_allowlist,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/orgs/{org}/ip-allowlist",
            perm(P::OrgEdit),
            "Replace the organisation's allowlist (must include your own address)",
        )
        .body::<wire::IpAllowlist>()
        .reply::<wire::IpAllowlist>(200),
        tenancy::set_ip_allowlist,
    );

    // Key rings (encryption at rest): account administration.
    table.add(
        r(
            M::GET,
            "/api/v1/keys",
            perm(P::AccountManage),
            "The key versions of an organisation's or project's ring",
        )
        .query(&[("scope", "org or org/project")])
        .reply::<wire::KeyRing>(200),
        keys::get_keys,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/keys/rotate",
            perm(P::AccountManage),
            "Make a new key version primary; older data is resealed in the background",
        )
        .body::<wire::KeyScope>()
        .reply::<wire::KeyRing>(200),
        keys::rotate_keys,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/keys/rotate-root",
            perm(P::AccountManage),
            "Replace the root key online: every key ring and server secret is rewrapped",
        )
        .reply::<wire::RootKeyRotated>(200),
        keys::rotate_root_key,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/keys/destroy",
            perm(P::AccountManage),
            "Crypto-shred: destroy every key version (confirm must repeat the scope)",
        )
        .body::<wire::KeyDestroy>()
        .reply::<wire::KeysDestroyed>(200),
        keys::destroy_keys,
    );

    // Workspaces and their state history: the use cases decide per workspace.
    {
        const BASE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces";
        let path = |suffix: &str| -> &'static str {
            Box::leak(format!("{BASE}{suffix}").into_boxed_str())
        };
        table.add(
            r(
                M::GET,
                path(""),
                Access::PerResource(P::WorkspaceView),
                "List the workspaces you may view",
            )
            .page::<iacm_wire::Workspace>(),
            workspaces::list_workspaces,
        );
        table.add(
            r(
                M::POST,
                path(""),
                Access::PerResource(P::WorkspaceCreate),
                "Create a workspace",
            )
            .body::<iacm_wire::WorkspaceCreate>()
            .reply::<iacm_wire::Workspace>(201),
            workspaces::create_workspace,
        );
        table.add(
            r(
                M::GET,
                path("/{workspace}"),
                Access::PerResource(P::WorkspaceView),
                "A workspace with its lock",
            )
            .reply::<iacm_wire::Workspace>(200),
            workspaces::get_workspace,
        );
        table.add(
            r(
                M::PATCH,
                path("/{workspace}"),
                Access::PerResource(P::WorkspaceEdit),
                "Change a workspace",
            )
            .body::<iacm_wire::WorkspaceUpdate>()
            .reply::<iacm_wire::Workspace>(200),
            workspaces::update_workspace,
        );
        table.add(
            r(
                M::DELETE,
                path("/{workspace}"),
                Access::PerResource(P::WorkspaceDelete),
                "Delete a workspace and its state history (not while locked)",
            ),
            workspaces::delete_workspace,
        );
        table.add(
            r(
                M::GET,
                path("/{workspace}/state-versions"),
                Access::PerResource(P::WorkspaceView),
                "State versions, newest first",
            )
            .page::<iacm_wire::StateVersion>(),
            workspaces::list_state_versions,
        );
        table.add(
            r(
                M::GET,
                path("/{workspace}/state-versions/{version}"),
                Access::PerResource(P::WorkspaceAccessState),
                "Download a state version, or `current` (audited)",
            )
            .text("application/json"),
            workspaces::download_state,
        );
        table.add(
            r(
                M::GET,
                path("/{workspace}/state-diff"),
                Access::PerResource(P::WorkspaceAccessState),
                "Resources and outputs changed between two versions",
            )
            .query(&[("from", "older version"), ("to", "newer version")])
            .reply::<iacm_wire::StateDiff>(200),
            workspaces::diff_state,
        );
        table.add(
            r(
                M::POST,
                path("/{workspace}/state-rollback"),
                Access::PerResource(P::WorkspaceRollbackState),
                "Roll forward to an old version's content",
            )
            .body::<iacm_wire::StateRollback>()
            .reply::<iacm_wire::StateVersion>(201),
            workspaces::rollback_state,
        );
        table.add(
            r(
                M::GET,
                path("/{workspace}/resources"),
                Access::PerResource(P::WorkspaceAccessState),
                "Resources, outputs (sensitive masked) and modules of the current state",
            )
            .reply::<iacm_wire::StateResources>(200),
            workspaces::state_resources,
        );
    }

    // The caller's in-app notifications (pages).
    table.add(
        r(
            M::GET,
            "/api/v1/me/notifications",
            Access::SelfService,
            "Your notifications, newest first",
        )
        .page::<sre_wire::Notification>(),
        sre::my_notifications,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/me/notifications/{notification}/read",
            Access::SelfService,
            "Mark one of your notifications read",
        ),
        sre::read_notification,
    );

    // An organisation's names for the SEV levels.
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/incident-severities",
            perm(P::IncidentView),
            "The organisation's names for SEV0…SEV4",
        )
        .reply::<sre_wire::SeverityLabels>(200),
        sre::get_severity_labels,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/orgs/{org}/incident-severities",
            perm(P::IncidentConfigure),
            "Rename SEV levels for the organisation",
        )
        .body::<sre_wire::SeverityLabels>()
        .reply::<sre_wire::SeverityLabels>(200),
        sre::set_severity_labels,
    );

    // Incident response: services, integrations, incidents.
    {
        const BASE: &str = "/api/v1/orgs/{org}/projects/{project}";
        let path = |suffix: &str| -> &'static str {
            Box::leak(format!("{BASE}{suffix}").into_boxed_str())
        };
        table.add(
            r(
                M::GET,
                path("/services"),
                perm(P::ServiceView),
                "List services",
            )
            .page::<sre_wire::Service>(),
            sre::list_services,
        );
        table.add(
            r(
                M::POST,
                path("/services"),
                perm(P::ServiceCreate),
                "Create a service",
            )
            .body::<sre_wire::ServiceCreate>()
            .reply::<sre_wire::Service>(201),
            sre::create_service,
        );
        table.add(
            r(
                M::GET,
                path("/services/{service}"),
                perm(P::ServiceView),
                "A service",
            )
            .reply::<sre_wire::Service>(200),
            sre::get_service,
        );
        table.add(
            r(
                M::GET,
                path("/services/{service}/integrations"),
                perm(P::ServiceView),
                "A service's webhook integrations (never their credentials)",
            )
            .page::<sre_wire::Integration>(),
            sre::list_integrations,
        );
        table.add(
            r(
                M::POST,
                path("/services/{service}/integrations"),
                perm(P::ServiceEdit),
                "Add a webhook integration; its credential is shown once",
            )
            .body::<sre_wire::IntegrationCreate>()
            .reply::<sre_wire::IntegrationCreated>(201),
            sre::create_integration,
        );
        table.add(
            r(
                M::POST,
                path("/services/{service}/integrations/{integration}/rotate"),
                perm(P::ServiceEdit),
                "Rotate an integration's credential (HMAC: the previous secret stays valid \
                 until the next rotation); the new one is shown once",
            )
            .reply::<sre_wire::IntegrationCreated>(200),
            sre::rotate_integration,
        );
        table.add(
            r(
                M::PATCH,
                path("/services/{service}"),
                perm(P::ServiceEdit),
                "Rename a service, change its description or auto-resolve",
            )
            .body::<sre_wire::ServiceUpdate>()
            .reply::<sre_wire::Service>(200),
            sre::update_service,
        );
        table.add(
            r(
                M::DELETE,
                path("/services/{service}"),
                perm(P::ServiceDelete),
                "Delete a service with its integrations and alerts (incidents stay)",
            ),
            sre::delete_service,
        );
        table.add(
            r(
                M::DELETE,
                path("/services/{service}/integrations/{integration}"),
                perm(P::ServiceEdit),
                "Delete an integration (its URL stops accepting webhooks)",
            ),
            sre::delete_integration,
        );
        table.add(
            r(
                M::DELETE,
                path("/schedules/{schedule}"),
                perm(P::ScheduleDelete),
                "Delete a schedule (not while a policy pages it)",
            ),
            sre::delete_schedule,
        );
        table.add(
            r(
                M::DELETE,
                path("/escalation-policies/{policy}"),
                perm(P::EscalationPolicyDelete),
                "Delete an escalation policy (not while a service pages with it)",
            ),
            sre::delete_policy,
        );
        table.add(
            r(
                M::PUT,
                path("/services/{service}/ownership"),
                perm(P::ServiceEdit),
                "Set a service's owner team, subscribers and tags",
            )
            .body::<sre_wire::ServiceOwnership>()
            .reply::<sre_wire::ServiceOwnership>(200),
            sre::set_service_ownership,
        );
        table.add(
            r(
                M::GET,
                path("/services/{service}/alert-rules"),
                perm(P::AlertRuleView),
                "A service's alert rules (which new alerts open incidents)",
            )
            .reply::<sre_wire::AlertRules>(200),
            sre::get_alert_rules,
        );
        table.add(
            r(
                M::PUT,
                path("/services/{service}/alert-rules"),
                perm(P::AlertRuleEdit),
                "Replace a service's alert rules",
            )
            .body::<sre_wire::AlertRules>()
            .reply::<sre_wire::AlertRules>(200),
            sre::set_alert_rules,
        );
        table.add(
            r(
                M::PUT,
                path("/services/{service}/escalation-policy"),
                perm(P::ServiceEdit),
                "Set (or clear with null) the escalation policy a service pages with",
            )
            .body::<sre_wire::ServiceEscalationPolicy>(),
            sre::set_service_policy,
        );
        // Schedules and escalation policies have the same four routes.
        macro_rules! definition_routes {
            ($collection:literal, $item:literal, $noun:literal,
             $view:ident, $create:ident, $edit:ident,
             $list_h:path, $create_h:path, $get_h:path, $put_h:path) => {
                table.add(
                    r(
                        M::GET,
                        path($collection),
                        perm(P::$view),
                        concat!("List ", $noun, "s"),
                    )
                    .page::<sre_wire::Definition>(),
                    $list_h,
                );
                table.add(
                    r(
                        M::POST,
                        path($collection),
                        perm(P::$create),
                        concat!("Create a ", $noun),
                    )
                    .body::<sre_wire::DefinitionCreate>()
                    .reply::<sre_wire::Definition>(201),
                    $create_h,
                );
                table.add(
                    r(M::GET, path($item), perm(P::$view), concat!("A ", $noun))
                        .reply::<sre_wire::Definition>(200),
                    $get_h,
                );
                table.add(
                    r(
                        M::PUT,
                        path($item),
                        perm(P::$edit),
                        concat!("Replace a ", $noun, "'s name and definition"),
                    )
                    .body::<sre_wire::DefinitionUpdate>()
                    .reply::<sre_wire::Definition>(200),
                    $put_h,
                );
            };
        }
        definition_routes!(
            "/schedules",
            "/schedules/{schedule}",
            "schedule",
            ScheduleView,
            ScheduleCreate,
            ScheduleEdit,
            sre::list_schedules,
            sre::create_schedule,
            sre::get_schedule,
            sre::replace_schedule
        );
        definition_routes!(
            "/escalation-policies",
            "/escalation-policies/{policy}",
            "escalation policy",
            EscalationPolicyView,
            EscalationPolicyCreate,
            EscalationPolicyEdit,
            sre::list_policies,
            sre::create_policy,
            sre::get_policy,
            sre::replace_policy
        );
        table.add(
            r(
                M::GET,
                path("/schedules/{schedule}/on-call"),
                perm(P::ScheduleView),
                "Who is on call at an instant (default now)",
            )
            .query(&[("at", "RFC 3339 time")])
            .reply::<sre_wire::OnCall>(200),
            sre::on_call,
        );
        table.add(
            r(
                M::GET,
                path("/schedules/{schedule}/timeline"),
                perm(P::ScheduleView),
                "The final on-call timeline of a range, with its gaps",
            )
            .query(&[("from", "RFC 3339 time"), ("to", "RFC 3339 time")])
            .reply::<sre_wire::OnCallTimeline>(200),
            sre::schedule_timeline,
        );
        table.add(
            r(
                M::GET,
                path("/schedules/{schedule}/ical"),
                perm(P::ScheduleView),
                "The on-call timeline of a range as iCalendar",
            )
            .query(&[("from", "RFC 3339 time"), ("to", "RFC 3339 time")])
            .text("text/calendar"),
            sre::schedule_ical,
        );
        table.add(
            r(
                M::GET,
                path("/incidents"),
                perm(P::IncidentView),
                "Incidents, newest first",
            )
            .page::<sre_wire::Incident>(),
            sre::list_incidents,
        );
        table.add(
            r(
                M::POST,
                path("/incidents"),
                perm(P::IncidentCreate),
                "Open an incident by hand",
            )
            .body::<sre_wire::IncidentCreate>()
            .reply::<sre_wire::Incident>(201),
            sre::create_incident,
        );
        table.add(
            r(
                M::GET,
                path("/incidents/{number}"),
                perm(P::IncidentView),
                "An incident with its alerts and timeline",
            )
            .reply::<sre_wire::Incident>(200),
            sre::get_incident,
        );
        table.add(
            r(
                M::POST,
                path("/incidents/{number}/status"),
                perm(P::IncidentStatusUpdate),
                "Move an incident (acknowledge, resolve, reopen…) with a status update",
            )
            .body::<sre_wire::IncidentStatusChange>(),
            sre::change_incident_status,
        );
        table.add(
            r(
                M::PATCH,
                path("/incidents/{number}"),
                perm(P::IncidentEdit),
                "Change title, severity, commander, assignees, linked services, custom fields",
            )
            .body::<sre_wire::IncidentUpdate>(),
            sre::update_incident,
        );
        table.add(
            r(
                M::POST,
                path("/incidents/{number}/action-items"),
                perm(P::IncidentEdit),
                "Add an action item",
            )
            .body::<sre_wire::ActionItemCreate>(),
            sre::add_action_item,
        );
        table.add(
            r(
                M::PATCH,
                path("/incidents/{number}/action-items/{item}"),
                perm(P::IncidentEdit),
                "Mark an action item done or open",
            )
            .body::<sre_wire::ActionItemUpdate>(),
            sre::update_action_item,
        );
        table.add(
            r(
                M::POST,
                path("/incidents/{number}/notes"),
                perm(P::IncidentEdit),
                "Add a note to an incident's timeline",
            )
            .body::<sre_wire::IncidentNote>(),
            sre::add_incident_note,
        );
    }

    // Secrets of organisations and projects (values are write-only).
    for base in [
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/projects/{project}",
    ] {
        let path = |suffix: &str| -> &'static str {
            Box::leak(format!("{base}{suffix}").into_boxed_str())
        };
        table.add(
            r(
                M::GET,
                path("/secrets"),
                perm(P::SecretView),
                "List secrets (metadata only)",
            )
            .page::<wire::Secret>(),
            secrets::list_secrets,
        );
        table.add(
            r(
                M::POST,
                path("/secrets"),
                perm(P::SecretCreate),
                "Create a secret (the value is never returned)",
            )
            .body::<wire::SecretCreate>()
            .reply::<wire::Secret>(201),
            secrets::create_secret,
        );
        table.add(
            r(
                M::GET,
                path("/secrets/{secret}"),
                perm(P::SecretView),
                "A secret's metadata and versions",
            )
            .reply::<wire::Secret>(200),
            secrets::get_secret,
        );
        table.add(
            r(
                M::PATCH,
                path("/secrets/{secret}"),
                perm(P::SecretEdit),
                "Rename a secret or add a version",
            )
            .body::<wire::SecretUpdate>()
            .reply::<wire::Secret>(200),
            secrets::update_secret,
        );
        table.add(
            r(
                M::DELETE,
                path("/secrets/{secret}"),
                perm(P::SecretDelete),
                "Delete a secret and all its versions",
            ),
            secrets::delete_secret,
        );
    }

    // Custom roles, user groups and their members, at each scope.
    for base in [
        "/api/v1",
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/projects/{project}",
    ] {
        let path = |suffix: &str| -> &'static str {
            Box::leak(format!("{base}{suffix}").into_boxed_str())
        };
        table.add(
            r(
                M::GET,
                path("/roles"),
                perm(P::RoleView),
                "List roles: the built-in ones first, then custom roles defined here",
            )
            .page::<wire::Role>(),
            access::list_roles,
        );
        table.add(
            r(
                M::POST,
                path("/roles"),
                perm(P::RoleCreate),
                "Create a custom role (never beyond your own permissions)",
            )
            .body::<wire::RoleCreate>()
            .reply::<wire::Role>(201),
            access::create_role,
        );
        table.add(
            r(
                M::GET,
                path("/roles/{role_id}"),
                perm(P::RoleView),
                "Read a role (built-in identifier or custom id)",
            )
            .reply::<wire::Role>(200),
            access::get_role,
        );
        table.add(
            r(
                M::PATCH,
                path("/roles/{role_id}"),
                perm(P::RoleEdit),
                "Update a custom role (built-in roles are immutable)",
            )
            .body::<wire::RoleUpdate>()
            .reply::<wire::Role>(200),
            access::update_role,
        );
        table.add(
            r(
                M::DELETE,
                path("/roles/{role_id}"),
                perm(P::RoleDelete),
                "Delete a custom role and its assignments",
            ),
            access::delete_role,
        );
        table.add(
            r(
                M::GET,
                path("/groups"),
                perm(P::GroupView),
                "List user groups defined here",
            )
            .page::<wire::Group>(),
            access::list_groups,
        );
        table.add(
            r(
                M::POST,
                path("/groups"),
                perm(P::GroupCreate),
                "Create a user group",
            )
            .body::<wire::GroupCreate>()
            .reply::<wire::Group>(201),
            access::create_group,
        );
        table.add(
            r(
                M::GET,
                path("/groups/{group_id}"),
                perm(P::GroupView),
                "Read a user group",
            )
            .reply::<wire::Group>(200),
            access::get_group,
        );
        table.add(
            r(
                M::DELETE,
                path("/groups/{group_id}"),
                perm(P::GroupDelete),
                "Delete a user group, its memberships and assignments",
            ),
            access::delete_group,
        );
        table.add(
            r(
                M::GET,
                path("/groups/{group_id}/members"),
                perm(P::GroupView),
                "List a group's members",
            )
            .page::<wire::GroupMember>(),
            access::list_group_members,
        );
        table.add(
            r(
                M::POST,
                path("/groups/{group_id}/members"),
                perm(P::GroupEdit),
                "Add a user to a group",
            )
            .body::<wire::GroupMember>()
            .reply::<wire::GroupMember>(201),
            access::add_group_member,
        );
        table.add(
            r(
                M::DELETE,
                path("/groups/{group_id}/members/{user_id}"),
                perm(P::GroupEdit),
                "Remove a user from a group",
            ),
            access::remove_group_member,
        );
        table.add(
            r(
                M::GET,
                path("/resource-groups"),
                perm(P::ResourceGroupView),
                "List resource groups defined here",
            )
            .page::<wire::ResourceGroup>(),
            access::list_resource_groups,
        );
        table.add(
            r(
                M::POST,
                path("/resource-groups"),
                perm(P::ResourceGroupCreate),
                "Create a resource group (all, some types, or named resources)",
            )
            .body::<wire::ResourceGroupCreate>()
            .reply::<wire::ResourceGroup>(201),
            access::create_resource_group,
        );
        table.add(
            r(
                M::GET,
                path("/resource-groups/{resource_group_id}"),
                perm(P::ResourceGroupView),
                "Read a resource group",
            )
            .reply::<wire::ResourceGroup>(200),
            access::get_resource_group,
        );
        table.add(
            r(
                M::DELETE,
                path("/resource-groups/{resource_group_id}"),
                perm(P::ResourceGroupDelete),
                "Delete a resource group and the assignments over it",
            ),
            access::delete_resource_group,
        );
        table.add(
            r(
                M::PATCH,
                path("/groups/{group_id}"),
                perm(P::GroupEdit),
                "Rename or re-describe a user group",
            )
            .body::<wire::ScopeUpdate>()
            .reply::<wire::Group>(200),
            access::update_group,
        );
        table.add(
            r(
                M::PATCH,
                path("/resource-groups/{resource_group_id}"),
                perm(P::ResourceGroupEdit),
                "Rename or re-describe a resource group (what it selects is fixed)",
            )
            .body::<wire::ScopeUpdate>()
            .reply::<wire::ResourceGroup>(200),
            access::update_resource_group,
        );
    }
}
