//! Rows from before migration 15 held in clear what senders and people wrote: alert
//! dedup and group keys, incidents' open groups and custom fields, action item texts.
//! [`App::seal_legacy_plaintext`] seals and blind-indexes them exactly as the use cases
//! now write them, at the server's start before any request is served.
//!
//! An open incident kept a long group key as `sha256:` and its digest, which cannot be
//! indexed again; its group key is recovered from its alerts (every alert of a group
//! joined that group's incident). When none is left (its integration was deleted), the
//! incident stops collecting alerts: the group's next alert opens a new incident.
//!
//! A project crypto-shredded before the upgrade: what its rows from before the shred
//! kept in clear is not sealed under the ring made since (that would make it readable
//! again) but replaced by a stand-in that reads as shredded, and random blind indexes
//! that match nothing.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use rampart_domain::{IncidentId, ProjectId};
use serde_json::json;

use super::alerts::{DEDUP_KEY_INDEX, GROUP_KEY_INDEX, alert_dedup_key_place};
use super::incidents::{action_item_place, custom_fields_place};
use crate::sealing::{SealContext, Sealer};
use crate::{App, AppError, AppResult, Ctx};

/// How an incident from before migration 15 kept a group key longer than 255 bytes.
const LEGACY_OPEN_GROUP_DIGEST_PREFIX: &str = "sha256:";

/// How many rows a conversion wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegacyConverted {
    pub alerts: u64,
    pub incidents: u64,
    pub action_items: u64,
}

fn digest_of(group_key: &str) -> String {
    format!(
        "{LEGACY_OPEN_GROUP_DIGEST_PREFIX}{}",
        rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(group_key.as_bytes()))
    )
}

/// A project's ring as the conversion needs it.
struct ProjectRing {
    /// When the ring was last crypto-shredded: values kept in clear from before are dead.
    shredded_at: Option<Timestamp>,
    /// What a dead value becomes (it reads as shredded).
    stand_in: Option<Vec<u8>>,
    /// Seals and indexes the living values (loaded only when there are some).
    sealer: Option<Sealer>,
}

/// What becomes of one legacy value.
enum Fate<'a> {
    Sealed(&'a Sealer),
    Shredded(&'a [u8]),
}

impl ProjectRing {
    fn is_dead(&self, created_at: Timestamp) -> bool {
        self.shredded_at
            .is_some_and(|shredded| created_at < shredded)
    }

    fn fate(&self, created_at: Timestamp) -> AppResult<Fate<'_>> {
        let missing = || AppError::Internal("a legacy value without its ring".into());
        if self.is_dead(created_at) {
            return Ok(Fate::Shredded(
                self.stand_in.as_deref().ok_or_else(missing)?,
            ));
        }
        Ok(Fate::Sealed(self.sealer.as_ref().ok_or_else(missing)?))
    }
}

impl Fate<'_> {
    fn seal(&self, place: &SealContext<'_>, plaintext: &[u8]) -> AppResult<Vec<u8>> {
        match self {
            Fate::Sealed(sealer) => sealer.seal(place, plaintext),
            Fate::Shredded(stand_in) => Ok(stand_in.to_vec()),
        }
    }

    fn blind_index(&self, index: &crate::sealing::BlindIndex, value: &str) -> AppResult<String> {
        match self {
            Fate::Sealed(sealer) => Ok(sealer.blind_index(index, value)),
            Fate::Shredded(_) => Ok(rampart_crypto::digest::hex(
                &rampart_crypto::random::bytes::<32>()?,
            )),
        }
    }
}

impl App {
    async fn project_ring(
        &self,
        project: ProjectId,
        created: impl Iterator<Item = Timestamp>,
    ) -> AppResult<ProjectRing> {
        let owner = project.to_string();
        let shredded_at = self
            .store()
            .key_versions(&owner)
            .await?
            .iter()
            .filter_map(|row| row.destroyed_at)
            .max();
        let mut ring = ProjectRing {
            shredded_at,
            stand_in: None,
            sealer: None,
        };
        let (mut dead, mut alive) = (false, false);
        for at in created {
            if ring.is_dead(at) {
                dead = true;
            } else {
                alive = true;
            }
        }
        if dead {
            ring.stand_in = self.opener(&owner).await?.shredded_stand_in();
        }
        if alive {
            ring.sealer = Some(self.sealer(&owner).await?);
        }
        Ok(ring)
    }

    /// Seals and blind-indexes every value that rows from before migration 15 hold in
    /// clear, in one transaction with one `sre.seal_legacy` audit event, then has the
    /// store drop what it still keeps of the overwritten values. Idempotent: each row is
    /// written only if still legacy, and with none left this reads three empty results
    /// and writes nothing. Run by the server at every start, before serving.
    pub async fn seal_legacy_plaintext(&self) -> AppResult<LegacyConverted> {
        let store = self.store();
        let alerts = store.legacy_alerts().await?;
        let incidents = store.legacy_incidents().await?;
        let items = store.legacy_action_items().await?;
        if alerts.is_empty() && incidents.is_empty() && items.is_empty() {
            return Ok(LegacyConverted::default());
        }
        // The rings first: creating one is a write of its own, never inside another.
        let mut created: BTreeMap<ProjectId, Vec<Timestamp>> = BTreeMap::new();
        let rows = alerts
            .iter()
            .map(|a| (a.project_id, a.created_at))
            .chain(incidents.iter().map(|i| (i.project_id, i.created_at)))
            .chain(items.iter().map(|i| (i.project_id, i.incident_created_at)));
        for (project, at) in rows {
            created.entry(project).or_default().push(at);
        }
        let mut rings = BTreeMap::new();
        for (project, times) in created {
            let ring = self.project_ring(project, times.into_iter()).await?;
            rings.insert(project, ring);
        }
        let ring_of = |project: &ProjectId| {
            rings
                .get(project)
                .ok_or_else(|| AppError::Internal("a project without its ring".into()))
        };
        // What each incident's alerts say their group key is, by its legacy form.
        let mut group_keys: HashMap<(IncidentId, String), &str> = HashMap::new();
        for alert in &alerts {
            if let Some(incident) = alert.incident_id {
                group_keys.insert((incident, alert.group_key.clone()), &alert.group_key);
                group_keys.insert((incident, digest_of(&alert.group_key)), &alert.group_key);
            }
        }
        let mut converted = LegacyConverted::default();
        let now = self.now();
        let mut tx = store.write().await?;
        for alert in &alerts {
            let fate = ring_of(&alert.project_id)?.fate(alert.created_at)?;
            let owner = alert.project_id.to_string();
            let dedup_key_sealed = fate.seal(
                &alert_dedup_key_place(&owner, &alert.id.to_string()),
                alert.dedup_key.as_bytes(),
            )?;
            if tx
                .convert_legacy_alert(
                    alert.id,
                    &fate.blind_index(&DEDUP_KEY_INDEX, &alert.dedup_key)?,
                    &dedup_key_sealed,
                    &fate.blind_index(&GROUP_KEY_INDEX, &alert.group_key)?,
                )
                .await?
            {
                converted.alerts += 1;
            }
        }
        for incident in &incidents {
            let ring = ring_of(&incident.project_id)?;
            let fate = ring.fate(incident.created_at)?;
            let owner = incident.project_id.to_string();
            let id = incident.id.to_string();
            let custom_fields_sealed = incident
                .custom_fields
                .as_ref()
                .map(|json| fate.seal(&custom_fields_place(&owner, &id), json.as_bytes()))
                .transpose()?;
            let group_key = match (&fate, incident.open_group.as_deref()) {
                // A dead incident collects nothing more.
                (Fate::Shredded(_), _) | (_, None) => None,
                (Fate::Sealed(_), Some(group)) => {
                    match group_keys.get(&(incident.id, group.to_owned())) {
                        Some(key) => Some(*key),
                        None if group.starts_with(LEGACY_OPEN_GROUP_DIGEST_PREFIX) => {
                            tracing::warn!(
                                incident = %incident.id,
                                "an open incident's long group key has no alert left to \
                                 recover it from: the group's next alert opens a new incident"
                            );
                            None
                        }
                        None => Some(group),
                    }
                }
            };
            let group_index = group_key
                .map(|key| fate.blind_index(&GROUP_KEY_INDEX, key))
                .transpose()?;
            if tx
                .convert_legacy_incident(
                    incident.id,
                    custom_fields_sealed.as_deref(),
                    group_index.as_deref(),
                )
                .await?
            {
                converted.incidents += 1;
            }
        }
        for item in &items {
            let fate = ring_of(&item.project_id)?.fate(item.incident_created_at)?;
            let owner = item.project_id.to_string();
            let text_sealed = fate.seal(
                &action_item_place(&owner, &item.incident_id.to_string(), item.seq),
                item.text.as_bytes(),
            )?;
            if tx
                .convert_legacy_action_item(item.incident_id, item.seq, &text_sealed)
                .await?
            {
                converted.action_items += 1;
            }
        }
        tx.commit(
            Ctx::system()
                .audit(now, "sre.seal_legacy", "database")
                .details(json!({
                    "alerts": converted.alerts,
                    "incidents": converted.incidents,
                    "action_items": converted.action_items,
                }))
                .build(),
        )
        .await?;
        store.purge_overwritten_values().await?;
        tracing::info!(
            alerts = converted.alerts,
            incidents = converted.incidents,
            action_items = converted.action_items,
            "values written before migration 15 sealed and blind-indexed"
        );
        Ok(converted)
    }
}
