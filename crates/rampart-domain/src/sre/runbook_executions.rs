//! Executions of runbooks: one run of one version of a runbook's definition with bound
//! inputs, perhaps on an incident. It waits for a second person's approval when the
//! runbook is sensitive, then runs its steps in order — a delegate's steps as tasks, the
//! incident actions on the server — and ends when a step fails or the last succeeds.

use jiff::Timestamp;

use crate::platform::tenancy::Scope;
use crate::{IncidentId, RunbookExecutionId, RunbookId, ValidationError};

/// Where an execution is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// A sensitive runbook's execution, until someone other than its starter approves.
    AwaitingApproval,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

impl ExecutionStatus {
    pub const ALL: [Self; 5] = [
        Self::AwaitingApproval,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Canceled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingApproval => "awaiting_approval",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| ValidationError::new("status", "is not an execution status"))
    }

    pub const fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

/// Where one step of an execution is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    /// Not reached yet.
    Pending,
    /// Its task is queued for, or running on, a delegate.
    Running,
    Succeeded,
    Failed,
    /// Never ran: an earlier step failed, or the execution was canceled.
    Skipped,
}

impl StepStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Skipped,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| ValidationError::new("status", "is not a step status"))
    }
}

/// What started an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionTrigger {
    /// Someone with `runbook:execute` asked for it.
    Manual,
    /// An incident opened, or changed, and matched one of the runbook's triggers.
    IncidentOpened,
    IncidentChanged,
}

impl ExecutionTrigger {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::IncidentOpened => "incident.opened",
            Self::IncidentChanged => "incident.changed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        [Self::Manual, Self::IncidentOpened, Self::IncidentChanged]
            .into_iter()
            .find(|trigger| trigger.as_str() == text)
            .ok_or_else(|| ValidationError::new("trigger", "is not an execution trigger"))
    }
}

/// One execution (its bound inputs are sealed, kept apart).
#[derive(Clone, Debug, PartialEq)]
pub struct RunbookExecution {
    pub id: RunbookExecutionId,
    /// The runbook's project.
    pub scope: Scope,
    pub runbook_id: RunbookId,
    /// The runbook's identifier when the execution started (it outlives the runbook).
    pub runbook_identifier: String,
    pub runbook_version: u32,
    pub incident_id: Option<IncidentId>,
    pub trigger: ExecutionTrigger,
    pub status: ExecutionStatus,
    /// The actor text of who started it (the runbook's service account, `service_account:<id>`, for a trigger).
    pub started_by: String,
    pub approved_by: Option<String>,
    pub canceled_by: Option<String>,
    /// The step running, or the next one to run.
    pub current_step: u32,
    pub error_code: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// One step of an execution.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionStep {
    pub index: u32,
    pub name: String,
    /// `script`, `http_request`, `add_note` or `set_status`.
    pub kind: String,
    pub status: StepStatus,
    /// The delegate task that runs it (delegate steps, once reached).
    pub task_id: Option<crate::DelegateTaskId>,
    pub error_code: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_as_written() {
        for status in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(status.as_str()), Ok(status));
        }
        for status in StepStatus::ALL {
            assert_eq!(StepStatus::parse(status.as_str()), Ok(status));
        }
        assert!(ExecutionStatus::parse("done").is_err());
        assert!(ExecutionTrigger::parse("incident.opened").is_ok());
    }
}
