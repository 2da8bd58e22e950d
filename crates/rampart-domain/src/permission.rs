//! The permission catalogue: every `resource:action` the system knows, including those of
//! resources whose routes come later, so that later work only uses it. The enum is
//! exhaustive on purpose: a route declares one of these where it is registered, and the
//! router test fails for a route without one.
//!
//! Each entry also declares its [`PermissionClass`] (what kind of act it is: reading,
//! the day's work, destroying, or administering) and its [`ScopeLevel`] (the innermost
//! scope where it means something). The built-in roles are derived from these two
//! (`platform::access::BuiltinRole`), so a permission cannot join the catalogue without
//! someone deciding who holds it.

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;

/// What kind of act a permission allows; the built-in roles are cut along these lines.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PermissionClass {
    /// Looking without changing anything, and without seeing secret material: what a
    /// Viewer holds (an auditor, a stakeholder).
    Read,
    /// The day's work of an operations team: creating and changing the things it works
    /// with and acting on them — acknowledging and resolving, reading and writing
    /// Terraform state, using a secret, subscribing, running a runbook. What a User holds
    /// (like PagerDuty's Responder or HCP Terraform's "write" access).
    Operational,
    /// Removing something, or discarding someone else's work: deleting, rolling state
    /// back past the serial check, breaking another holder's lock. Admins only.
    Destructive,
    /// Deciding who may do what, what may be done, and how the installation runs: roles,
    /// assignments, groups, principals and their credentials, policies and approvals,
    /// settings, keys, the tenancy itself. Admins only.
    Administrative,
}

/// The innermost scope at which a permission means something. Account-level resources
/// (the account, users, creating organisations) do not exist inside an organisation;
/// organisation-level ones (an organisation itself, creating projects, its severity
/// names) do not exist inside a project. Everything else can live in a project.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ScopeLevel {
    Account,
    Org,
    Project,
}

macro_rules! permissions {
    ($($variant:ident => $text:literal ($class:ident, $level:ident),)*) => {
        /// One `resource:action` permission.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub enum Permission {
            $($variant,)*
        }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $text,)*
                }
            }

            /// What kind of act the permission allows.
            pub const fn class(self) -> PermissionClass {
                match self {
                    $(Permission::$variant => PermissionClass::$class,)*
                }
            }

            /// The innermost scope where the permission means something.
            pub const fn level(self) -> ScopeLevel {
                match self {
                    $(Permission::$variant => ScopeLevel::$level,)*
                }
            }

            /// The position in the catalogue (a bit index for permission sets).
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl FromStr for Permission {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok(Permission::$variant),)*
                    _ => Err(ValidationError::new("permission", "is not a known permission")),
                }
            }
        }
    };
}

// `Variant => "resource:action" (class, level)`. The class is a decision about who should
// hold the permission; README "Access control" gives the reasons for the ones that are
// not obvious from the action's name.
permissions! {
    // Platform.
    AccountManage => "account:manage" (Administrative, Account),
    OrgView => "org:view" (Read, Org),
    OrgCreate => "org:create" (Administrative, Account),
    OrgEdit => "org:edit" (Administrative, Org),
    OrgDelete => "org:delete" (Destructive, Org),
    ProjectView => "project:view" (Read, Project),
    ProjectCreate => "project:create" (Administrative, Org),
    ProjectEdit => "project:edit" (Administrative, Project),
    ProjectDelete => "project:delete" (Destructive, Project),
    UserView => "user:view" (Read, Account),
    UserInvite => "user:invite" (Administrative, Account),
    UserEdit => "user:edit" (Administrative, Account),
    UserDelete => "user:delete" (Administrative, Account),
    GroupView => "group:view" (Read, Project),
    GroupCreate => "group:create" (Administrative, Project),
    GroupEdit => "group:edit" (Administrative, Project),
    GroupDelete => "group:delete" (Administrative, Project),
    ServiceAccountView => "service_account:view" (Read, Project),
    ServiceAccountCreate => "service_account:create" (Administrative, Project),
    ServiceAccountEdit => "service_account:edit" (Administrative, Project),
    ServiceAccountDelete => "service_account:delete" (Administrative, Project),
    TokenView => "token:view" (Read, Project),
    TokenCreate => "token:create" (Administrative, Project),
    TokenRevoke => "token:revoke" (Administrative, Project),
    RoleView => "role:view" (Read, Project),
    RoleCreate => "role:create" (Administrative, Project),
    RoleEdit => "role:edit" (Administrative, Project),
    RoleDelete => "role:delete" (Administrative, Project),
    ResourceGroupView => "resource_group:view" (Read, Project),
    ResourceGroupCreate => "resource_group:create" (Administrative, Project),
    ResourceGroupEdit => "resource_group:edit" (Administrative, Project),
    ResourceGroupDelete => "resource_group:delete" (Administrative, Project),
    RoleAssignmentView => "role_assignment:view" (Read, Project),
    RoleAssignmentCreate => "role_assignment:create" (Administrative, Project),
    RoleAssignmentDelete => "role_assignment:delete" (Administrative, Project),
    SecretView => "secret:view" (Read, Project),
    SecretCreate => "secret:create" (Operational, Project),
    SecretEdit => "secret:edit" (Operational, Project),
    SecretDelete => "secret:delete" (Destructive, Project),
    SecretAccess => "secret:access" (Operational, Project),
    AuditView => "audit:view" (Read, Project),
    AuditExport => "audit:export" (Read, Project),
    SettingsView => "settings:view" (Administrative, Project),
    SettingsEdit => "settings:edit" (Administrative, Project),
    DelegateView => "delegate:view" (Read, Project),
    DelegateCreate => "delegate:create" (Administrative, Project),
    DelegateEdit => "delegate:edit" (Administrative, Project),
    DelegateDelete => "delegate:delete" (Administrative, Project),
    // SRE.
    IncidentView => "incident:view" (Read, Project),
    IncidentCreate => "incident:create" (Operational, Project),
    IncidentEdit => "incident:edit" (Operational, Project),
    IncidentConfigure => "incident:configure" (Administrative, Org),
    IncidentStatusUpdate => "incident:status_update" (Operational, Project),
    AlertView => "alert:view" (Read, Project),
    AlertCreate => "alert:create" (Operational, Project),
    AlertEdit => "alert:edit" (Operational, Project),
    AlertRuleView => "alert_rule:view" (Read, Project),
    AlertRuleCreate => "alert_rule:create" (Operational, Project),
    AlertRuleEdit => "alert_rule:edit" (Operational, Project),
    AlertRuleDelete => "alert_rule:delete" (Destructive, Project),
    EscalationPolicyView => "escalation_policy:view" (Read, Project),
    EscalationPolicyCreate => "escalation_policy:create" (Operational, Project),
    EscalationPolicyEdit => "escalation_policy:edit" (Operational, Project),
    EscalationPolicyDelete => "escalation_policy:delete" (Destructive, Project),
    ScheduleView => "schedule:view" (Read, Project),
    ScheduleCreate => "schedule:create" (Operational, Project),
    ScheduleEdit => "schedule:edit" (Operational, Project),
    ScheduleDelete => "schedule:delete" (Destructive, Project),
    ScheduleOverrideView => "schedule_override:view" (Read, Project),
    ScheduleOverrideCreate => "schedule_override:create" (Operational, Project),
    ScheduleOverrideEdit => "schedule_override:edit" (Operational, Project),
    ScheduleOverrideDelete => "schedule_override:delete" (Destructive, Project),
    SloView => "slo:view" (Read, Project),
    SloCreate => "slo:create" (Operational, Project),
    SloEdit => "slo:edit" (Operational, Project),
    SloDelete => "slo:delete" (Destructive, Project),
    SloWriteData => "slo:write_data" (Operational, Project),
    RunbookView => "runbook:view" (Read, Project),
    RunbookCreate => "runbook:create" (Operational, Project),
    RunbookEdit => "runbook:edit" (Operational, Project),
    RunbookDelete => "runbook:delete" (Destructive, Project),
    RunbookExecute => "runbook:execute" (Operational, Project),
    RunbookAuthorScripts => "runbook:author_scripts" (Administrative, Project),
    ServiceView => "service:view" (Read, Project),
    ServiceCreate => "service:create" (Operational, Project),
    ServiceEdit => "service:edit" (Operational, Project),
    ServiceDelete => "service:delete" (Destructive, Project),
    ServiceSubscribe => "service:subscribe" (Operational, Project),
    IntegrationView => "integration:view" (Read, Project),
    IntegrationCreate => "integration:create" (Operational, Project),
    IntegrationEdit => "integration:edit" (Operational, Project),
    IntegrationDelete => "integration:delete" (Destructive, Project),
    // IaCM.
    WorkspaceView => "workspace:view" (Read, Project),
    WorkspaceCreate => "workspace:create" (Operational, Project),
    WorkspaceEdit => "workspace:edit" (Operational, Project),
    WorkspaceDelete => "workspace:delete" (Destructive, Project),
    WorkspaceEditVariables => "workspace:edit_variables" (Operational, Project),
    WorkspaceApprove => "workspace:approve" (Administrative, Project),
    WorkspaceAccessState => "workspace:access_state" (Operational, Project),
    WorkspacePlan => "workspace:plan" (Operational, Project),
    WorkspaceApply => "workspace:apply" (Operational, Project),
    WorkspaceDestroy => "workspace:destroy" (Destructive, Project),
    WorkspaceWriteState => "workspace:write_state" (Operational, Project),
    WorkspaceRollbackState => "workspace:rollback_state" (Destructive, Project),
    WorkspaceForceUnlock => "workspace:force_unlock" (Destructive, Project),
    PolicySetView => "policy_set:view" (Read, Project),
    PolicySetCreate => "policy_set:create" (Administrative, Project),
    PolicySetEdit => "policy_set:edit" (Administrative, Project),
    PolicySetDelete => "policy_set:delete" (Administrative, Project),
    PolicySetOverride => "policy_set:override" (Administrative, Project),
    VariableSetView => "variable_set:view" (Read, Project),
    VariableSetCreate => "variable_set:create" (Operational, Project),
    VariableSetEdit => "variable_set:edit" (Operational, Project),
    VariableSetDelete => "variable_set:delete" (Destructive, Project),
}

impl Permission {
    /// The resource half of `resource:action`.
    pub fn resource(self) -> &'static str {
        self.as_str().split(':').next().unwrap_or_default()
    }

    /// The action half of `resource:action`.
    pub fn action(self) -> &'static str {
        self.as_str().split(':').nth(1).unwrap_or_default()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_round_trips_and_has_no_duplicates() {
        let mut seen = HashSet::new();
        for permission in Permission::ALL {
            assert!(seen.insert(permission.as_str()), "{permission} twice");
            assert_eq!(
                permission.as_str().parse::<Permission>().unwrap(),
                *permission
            );
            assert!(!permission.resource().is_empty() && !permission.action().is_empty());
        }
        assert!("incident:fly".parse::<Permission>().is_err());
    }

    #[test]
    fn classes_follow_a_few_rules_that_need_no_judgement() {
        for permission in Permission::ALL {
            // Removing something is never the day's work.
            if permission.action() == "delete" {
                assert!(
                    matches!(
                        permission.class(),
                        PermissionClass::Destructive | PermissionClass::Administrative
                    ),
                    "{permission}"
                );
            }
            // Reading is `view` or `export`, and never of secret material.
            if permission.class() == PermissionClass::Read {
                assert!(
                    matches!(permission.action(), "view" | "export"),
                    "{permission}"
                );
            }
            // Who may do what is administration, whatever the action.
            if matches!(
                permission.resource(),
                "role" | "role_assignment" | "resource_group" | "group" | "user" | "token"
            ) && permission.action() != "view"
            {
                assert_eq!(
                    permission.class(),
                    PermissionClass::Administrative,
                    "{permission}"
                );
            }
        }
    }
}
