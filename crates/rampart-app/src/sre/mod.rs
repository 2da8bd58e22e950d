//! Incident-response use cases, one module per resource: the service directory
//! ([`services`]) and its webhook [`integrations`] and [`alert_rules`], incoming
//! webhooks and the alerts they make ([`alerts`], group-committed by
//! [`ingest_queue`]), [`incidents`], on-call [`schedules`] and [`escalation_policies`]
//! (both stored as [`definitions`]), the [`escalations`] engine, in-app
//! [`notifications`] and their delivery by delegates to users' [`contact_methods`],
//! and [`runbooks`]; [`slos`], fed by pushes, [`remote_write`] and delegates'
//! [`slo_pulls`]. [`legacy`] seals what rows from before migration 15 kept in
//! clear.

pub mod alert_rules;
pub mod alerts;
pub mod contact_methods;
pub mod definitions;
pub mod escalation_policies;
pub mod escalations;
pub mod incidents;
pub(crate) mod ingest_queue;
pub mod integrations;
pub mod legacy;
pub mod notifications;
pub mod remote_write;
pub mod runbook_executions;
pub mod runbooks;
pub mod schedules;
pub mod services;
pub mod slo_pulls;
pub mod slos;

use crate::sealing::{BlindIndex, SealedPlace};

/// A definition an author sent (a runbook's, an SLO's) as its document type `T`, which
/// must deserialize exactly: an unknown field or a wrong type is 400
/// `invalid_definition`, naming its path (`steps[1].url: …`).
pub(crate) fn author_document<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, rampart_domain::ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        rampart_domain::ValidationError::new(
            "definition",
            if path == "." {
                error.inner().to_string()
            } else {
                format!("{path}: {}", error.inner())
            },
        )
    })
}

/// Something derived from one version of a sealed definition (a runbook's triggers, an
/// SLO's indicator), by (id, version). A version's definition never changes, so an
/// entry never goes stale; a hit saves opening and parsing the definition. Bounded like
/// the policy cache: past the bound it starts again empty (a miss costs one opening).
pub(crate) struct VersionCache<Id, T> {
    versions: std::sync::Mutex<std::collections::HashMap<(Id, u32), T>>,
}

impl<Id, T> Default for VersionCache<Id, T> {
    fn default() -> Self {
        Self {
            versions: Default::default(),
        }
    }
}

const VERSION_CACHE_ENTRIES_MAX: usize = 4096;

impl<Id: Copy + Eq + std::hash::Hash, T: Clone> VersionCache<Id, T> {
    pub(crate) fn get(&self, id: Id, version: u32) -> Option<T> {
        self.versions.lock().ok()?.get(&(id, version)).cloned()
    }

    pub(crate) fn put(&self, id: Id, version: u32, value: T) {
        if let Ok(mut versions) = self.versions.lock() {
            if versions.len() >= VERSION_CACHE_ENTRIES_MAX {
                versions.clear();
            }
            // Older versions are of no use any more.
            versions.retain(|(held, _), _| *held != id);
            versions.insert((id, version), value);
        }
    }
}

/// The sealed values of the incident-response tables, for the rewrap job.
pub(crate) fn sealed_places() -> impl Iterator<Item = SealedPlace> {
    [
        alerts::SEALED_PLACES,
        contact_methods::SEALED_PLACES,
        incidents::SEALED_PLACES,
        integrations::SEALED_PLACES,
        runbook_executions::SEALED_PLACES,
        runbooks::SEALED_PLACES,
        slos::SEALED_PLACES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The blind indexes of the incident-response tables.
pub(crate) fn blind_indexes() -> impl Iterator<Item = BlindIndex> {
    alerts::BLIND_INDEXES
        .iter()
        .chain(slos::BLIND_INDEXES)
        .copied()
}
