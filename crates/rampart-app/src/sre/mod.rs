//! Incident-response use cases: the service directory and integrations
//! ([`services`]), incoming webhooks ([`ingest`]) and incidents ([`incidents`]).

pub mod incidents;
pub mod ingest;
pub(crate) mod ingest_queue;
pub mod oncall;
pub mod services;

use rampart_store::sealed::{SealedCell, SealedColumn};
use rampart_store::sre::alerts::ALERT_PAYLOAD;
use rampart_store::sre::incidents::{INCIDENT_DESCRIPTION, INCIDENT_TITLE, TIMELINE_BODY};
use rampart_store::sre::integrations::INTEGRATION_CREDENTIALS;

use crate::AppError;
use crate::sealing::SealPlace;

/// The sealed columns of the incident-response tables, in the order the rewrap job walks
/// them.
pub(crate) const SEALED_COLUMNS: [SealedColumn; 5] = [
    ALERT_PAYLOAD,
    INCIDENT_TITLE,
    INCIDENT_DESCRIPTION,
    TIMELINE_BODY,
    INTEGRATION_CREDENTIALS,
];

/// Where a stored incident-response value is sealed (the rewrap job reseals it there).
pub(crate) fn sealed_place<'a>(
    owner: &'a str,
    cell: &'a SealedCell,
) -> Result<SealPlace<'a>, AppError> {
    Ok(match cell.column {
        ALERT_PAYLOAD => ingest::alert_place(owner, &cell.id),
        INCIDENT_TITLE => ingest::incident_title_place(owner, &cell.id),
        INCIDENT_DESCRIPTION => ingest::incident_description_place(owner, &cell.id),
        TIMELINE_BODY => ingest::timeline_place(owner, &cell.id, cell.version),
        INTEGRATION_CREDENTIALS => services::credentials_place(owner, &cell.id),
        other => {
            return Err(AppError::Internal(format!(
                "no seal place for {}.{}",
                other.table, other.sealed_column
            )));
        }
    })
}
