//! Incident-response use cases, one module per resource: the service directory
//! ([`services`]) and its webhook [`integrations`] and [`alert_rules`], incoming
//! webhooks and the alerts they make ([`alerts`], group-committed by
//! [`ingest_queue`]), [`incidents`], on-call [`schedules`] and [`escalation_policies`]
//! (both stored as [`definitions`]), the [`escalations`] engine and in-app
//! [`notifications`].

pub mod alert_rules;
pub mod alerts;
pub mod definitions;
pub mod escalation_policies;
pub mod escalations;
pub mod incidents;
pub mod integrations;
pub(crate) mod ingest_queue;
pub mod notifications;
pub mod schedules;
pub mod services;

use rampart_store::sre::{SealedCell, SealedColumn};

use crate::sealing::SealPlace;

/// Where a stored incident-response value is sealed (the rewrap job reseals it there).
pub(crate) fn sealed_place<'a>(owner: &'a str, cell: &'a SealedCell) -> SealPlace<'a> {
    match cell.column {
        SealedColumn::AlertPayload => alerts::alert_place(owner, &cell.id),
        SealedColumn::IncidentTitle => incidents::incident_title_place(owner, &cell.id),
        SealedColumn::IncidentDescription => incidents::incident_description_place(owner, &cell.id),
        SealedColumn::TimelineBody => incidents::timeline_place(owner, &cell.id, cell.version),
        SealedColumn::IntegrationCredentials => integrations::credentials_place(owner, &cell.id),
    }
}

/// The paths these names had before the slices were reshaped, kept only while the HTTP
/// crate moves over (removed in the same change set).
pub mod oncall {
    pub use rampart_store::oncall::{DefinitionKind, DefinitionRecord};
}
