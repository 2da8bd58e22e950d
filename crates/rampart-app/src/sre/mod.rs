//! Incident-response use cases: the service directory and integrations
//! ([`services`]), incoming webhooks ([`ingest`]) and incidents ([`incidents`]).

pub mod incidents;
pub mod ingest;
pub(crate) mod ingest_queue;
pub mod oncall;
pub mod services;

use rampart_store::sre::{SealedCell, SealedColumn};

use crate::sealing::SealPlace;

/// Where a stored incident-response value is sealed (the rewrap job reseals it there).
pub(crate) fn sealed_place<'a>(owner: &'a str, cell: &'a SealedCell) -> SealPlace<'a> {
    match cell.column {
        SealedColumn::AlertPayload => ingest::alert_place(owner, &cell.id),
        SealedColumn::IncidentTitle => ingest::incident_title_place(owner, &cell.id),
        SealedColumn::IncidentDescription => ingest::incident_description_place(owner, &cell.id),
        SealedColumn::TimelineBody => ingest::timeline_place(owner, &cell.id, cell.version),
        SealedColumn::IntegrationCredentials => services::credentials_place(owner, &cell.id),
    }
}
