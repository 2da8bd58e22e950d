//! Building audit records. Every use case describes its change with [`Ctx::audit`] and
//! hands the record to `WriteTx::commit`; events without an authenticated actor (failed
//! logins) are built with [`anonymous`].

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_store::AuditRecord;
use serde_json::Value;

use crate::context::{Ctx, RequestMeta};

/// The outcome of an audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// A record under construction.
#[derive(Debug, Clone)]
pub struct AuditBuilder {
    record: AuditRecord,
}

impl AuditBuilder {
    pub fn scope(mut self, scope: Scope) -> Self {
        self.record.org_id = scope.org_id().map(|id| id.to_string());
        self.record.project_id = scope.project_id().map(|id| id.to_string());
        self
    }

    /// The actor, when it is not a principal of the context (a delegate: `delegate:<id>`).
    pub fn actor(mut self, actor: String) -> Self {
        self.record.actor = Some(actor);
        self
    }

    /// How the actor named with [`AuditBuilder::actor`] acted.
    pub fn auth_method(mut self, method: crate::AuthMethod) -> Self {
        self.record.auth_method = Some(method.as_str().into());
        self
    }

    pub fn resource_id(mut self, id: impl ToString) -> Self {
        self.record.resource_id = Some(id.to_string());
        self
    }

    /// A small JSON object of non-secret facts about the change.
    pub fn details(mut self, details: Value) -> Self {
        self.record.details = details.to_string();
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.record.outcome = outcome.as_str().into();
        self
    }

    pub fn build(self) -> AuditRecord {
        self.record
    }
}

/// A UUIDv7 from the event time: ids that grow with time keep the audit table's id
/// index appending at its right edge (random ids dirtied a page per event and cut the
/// append rate several times). The random part is taken from a v4 UUID, which cannot
/// fail.
fn time_ordered_id(at: Timestamp) -> String {
    let random = uuid::Uuid::new_v4().into_bytes();
    let mut tail = [0u8; 10];
    for (slot, byte) in tail.iter_mut().zip(random.iter().skip(6)) {
        *slot = *byte;
    }
    let millis = u64::try_from(at.as_millisecond()).unwrap_or_default();
    rampart_domain::AuditEventId::mint(millis, tail).to_string()
}

fn record(at: Timestamp, meta: &RequestMeta, action: &str, resource_type: &str) -> AuditRecord {
    AuditRecord {
        id: time_ordered_id(at),
        occurred_at: at,
        actor: None,
        auth_method: None,
        token_id: None,
        client_ip: (!meta.client_ip.is_empty()).then(|| meta.client_ip.clone()),
        org_id: None,
        project_id: None,
        action: action.into(),
        resource_type: resource_type.into(),
        resource_id: None,
        outcome: Outcome::Success.as_str().into(),
        request_id: (!meta.request_id.is_empty()).then(|| meta.request_id.clone()),
        details: "{}".into(),
    }
}

impl Ctx {
    /// Starts the record of `action` (`resource.verb`) on a `resource_type`.
    pub fn audit(&self, at: Timestamp, action: &str, resource_type: &str) -> AuditBuilder {
        let mut record = record(at, &self.meta, action, resource_type);
        record.actor = Some(self.actor.actor_text());
        record.auth_method = Some(self.actor.auth_method.as_str().into());
        record.token_id = self.actor.token_id.map(|id| id.to_string());
        AuditBuilder { record }
    }
}

/// Starts a record for an event with no authenticated actor.
pub fn anonymous(
    at: Timestamp,
    meta: &RequestMeta,
    action: &str,
    resource_type: &str,
    auth_method: &str,
) -> AuditBuilder {
    let mut record = record(at, meta, action, resource_type);
    record.auth_method = Some(auth_method.into());
    AuditBuilder { record }
}
