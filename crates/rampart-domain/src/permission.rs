//! The permission catalogue: every `resource:action` the system knows, including those of
//! resources whose routes come later, so that later work only uses it. The enum is
//! exhaustive on purpose: a route declares one of these where it is registered, and the
//! router test fails for a route without one.

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;

macro_rules! permissions {
    ($($variant:ident => $text:literal,)*) => {
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

permissions! {
    // Platform.
    AccountManage => "account:manage",
    OrgView => "org:view",
    OrgCreate => "org:create",
    OrgEdit => "org:edit",
    OrgDelete => "org:delete",
    ProjectView => "project:view",
    ProjectCreate => "project:create",
    ProjectEdit => "project:edit",
    ProjectDelete => "project:delete",
    UserView => "user:view",
    UserInvite => "user:invite",
    UserEdit => "user:edit",
    UserDelete => "user:delete",
    GroupView => "group:view",
    GroupCreate => "group:create",
    GroupEdit => "group:edit",
    GroupDelete => "group:delete",
    ServiceAccountView => "service_account:view",
    ServiceAccountCreate => "service_account:create",
    ServiceAccountEdit => "service_account:edit",
    ServiceAccountDelete => "service_account:delete",
    TokenView => "token:view",
    TokenCreate => "token:create",
    TokenRevoke => "token:revoke",
    RoleView => "role:view",
    RoleCreate => "role:create",
    RoleEdit => "role:edit",
    RoleDelete => "role:delete",
    ResourceGroupView => "resource_group:view",
    ResourceGroupCreate => "resource_group:create",
    ResourceGroupEdit => "resource_group:edit",
    ResourceGroupDelete => "resource_group:delete",
    RoleAssignmentView => "role_assignment:view",
    RoleAssignmentCreate => "role_assignment:create",
    RoleAssignmentDelete => "role_assignment:delete",
    SecretView => "secret:view",
    SecretCreate => "secret:create",
    SecretEdit => "secret:edit",
    SecretDelete => "secret:delete",
    SecretAccess => "secret:access",
    AuditView => "audit:view",
    AuditExport => "audit:export",
    SettingsView => "settings:view",
    SettingsEdit => "settings:edit",
    DelegateView => "delegate:view",
    DelegateCreate => "delegate:create",
    DelegateEdit => "delegate:edit",
    DelegateDelete => "delegate:delete",
    // SRE.
    IncidentView => "incident:view",
    IncidentCreate => "incident:create",
    IncidentEdit => "incident:edit",
    IncidentConfigure => "incident:configure",
    IncidentStatusUpdate => "incident:status_update",
    AlertView => "alert:view",
    AlertCreate => "alert:create",
    AlertEdit => "alert:edit",
    AlertRuleView => "alert_rule:view",
    AlertRuleCreate => "alert_rule:create",
    AlertRuleEdit => "alert_rule:edit",
    AlertRuleDelete => "alert_rule:delete",
    EscalationPolicyView => "escalation_policy:view",
    EscalationPolicyCreate => "escalation_policy:create",
    EscalationPolicyEdit => "escalation_policy:edit",
    EscalationPolicyDelete => "escalation_policy:delete",
    ScheduleView => "schedule:view",
    ScheduleCreate => "schedule:create",
    ScheduleEdit => "schedule:edit",
    ScheduleDelete => "schedule:delete",
    ScheduleOverrideView => "schedule_override:view",
    ScheduleOverrideCreate => "schedule_override:create",
    ScheduleOverrideEdit => "schedule_override:edit",
    ScheduleOverrideDelete => "schedule_override:delete",
    SloView => "slo:view",
    SloCreate => "slo:create",
    SloEdit => "slo:edit",
    SloDelete => "slo:delete",
    RunbookView => "runbook:view",
    RunbookCreate => "runbook:create",
    RunbookEdit => "runbook:edit",
    RunbookDelete => "runbook:delete",
    RunbookExecute => "runbook:execute",
    ServiceView => "service:view",
    ServiceCreate => "service:create",
    ServiceEdit => "service:edit",
    ServiceDelete => "service:delete",
    ServiceSubscribe => "service:subscribe",
    IntegrationView => "integration:view",
    IntegrationCreate => "integration:create",
    IntegrationEdit => "integration:edit",
    IntegrationDelete => "integration:delete",
    // IaCM.
    WorkspaceView => "workspace:view",
    WorkspaceCreate => "workspace:create",
    WorkspaceEdit => "workspace:edit",
    WorkspaceDelete => "workspace:delete",
    WorkspaceEditVariables => "workspace:edit_variables",
    WorkspaceApprove => "workspace:approve",
    WorkspaceAccessState => "workspace:access_state",
    WorkspaceWriteState => "workspace:write_state",
    WorkspaceRollbackState => "workspace:rollback_state",
    WorkspaceForceUnlock => "workspace:force_unlock",
    PolicySetView => "policy_set:view",
    PolicySetCreate => "policy_set:create",
    PolicySetEdit => "policy_set:edit",
    PolicySetDelete => "policy_set:delete",
    VariableSetView => "variable_set:view",
    VariableSetCreate => "variable_set:create",
    VariableSetEdit => "variable_set:edit",
    VariableSetDelete => "variable_set:delete",
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
}
