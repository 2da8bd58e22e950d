//! SLOs of a project: create, read, list, replace the definition, delete — each audited
//! — per-minute good/total counts pushed by a monitoring system (idempotent per minute,
//! audited per push), and the status computed from them by the domain's rules
//! ([`rampart_domain::sre::slos`]): the error budget, the burn rates of the alert
//! windows, projected exhaustion. The definition is sealed with the project's key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::openslo::{self, ExportedSlo};
use rampart_domain::sre::payload::{Action, AlertEvent, Severity};
use rampart_domain::sre::series::{METRIC_NAME_LABEL, SelectorIndex};
use rampart_domain::sre::slos::{
    Budget, Burn, BurnSeverity, HistoryPoint, HistoryRange, Indicator, MinuteDelta, MinuteSeries,
    Rollup, SeriesRole, SeriesSample, Slo, SloDefinition, SloDoc, scale_lookback, series_deltas,
};
use rampart_domain::{ErrorCode, Name, Permission, SloId, Slug, ValidationError};
use rampart_store::sealed::SealedCell;
use rampart_store::sre::slos::{SLO_DEFINITION, SLO_SERIES_INDEX, SeriesKey, SloAlerting};
use rampart_store::{Page, StoreError};
use serde_json::json;

use super::remote_write;
use crate::sealing::{BlindIndex, Resealer, SealContext, SealedPlace, key_owner};
use crate::{Access, App, AppError, AppResult, Ctx, authorize, mint};

/// The sealed definitions of SLOs, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[SealedPlace {
    column: SLO_DEFINITION,
    reseal: reseal_definition,
}];

fn reseal_definition(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    let version = u32::try_from(cell.version)
        .map_err(|_| AppError::Integrity(format!("SLO {} version", cell.id)))?;
    resealer.reseal(&definition_place(owner, &cell.id, version), &cell.sealed)
}

/// Where version `version` of SLO `id`'s definition is sealed.
fn definition_place<'a>(owner: &'a str, id: &'a str, version: u32) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "slo",
        entity_id: id,
        field: "definition",
        version: u64::from(version),
    }
}

/// A series of an SLO's indicator, blind-indexed from its role and labels.
pub(crate) const SERIES_INDEX: BlindIndex = BlindIndex {
    domain: "slo-series",
    columns: &[SLO_SERIES_INDEX],
};

/// The blind indexes of SLOs.
pub(crate) const BLIND_INDEXES: &[BlindIndex] = &[SERIES_INDEX];

/// SLOs' opened definitions by (SLO, version), for the remote-write receiver and the
/// engine: each write and each tick would otherwise read, open and parse every
/// definition. (The API's reads always open the sealed definition, so a shredded key
/// shows at once.)
pub(crate) type DefinitionCache = super::VersionCache<SloId, Arc<(SloDoc, SloDefinition)>>;

/// SLOs' minutes kept between the engine's ticks, each with the data version it was
/// read at ([`SloAlerting::data_version`]): a tick reads only the minutes written
/// since, and an SLO's whole window only the first time (or when its window grew) —
/// not every minute of every window on every tick. At most [`CACHED_MINUTES_MAX`]
/// minutes are kept in all; an SLO that would pass it is read whole on each tick, as
/// without the cache.
#[derive(Default)]
pub(crate) struct MinuteCache {
    held: std::sync::Mutex<HashMap<SloId, CachedMinutes>>,
}

/// An SLO's minutes from `from` on, as its data stood at `version` (or later).
struct CachedMinutes {
    version: i64,
    from: Timestamp,
    minutes: MinuteSeries,
}

/// At most this many minutes are kept in [`MinuteCache`] (about 32 bytes each: 4
/// million is 128 MiB — a thousand SLOs with three days of minutes each, or a hundred
/// with a full 28-day window).
const CACHED_MINUTES_MAX: usize = 4_000_000;

impl MinuteCache {
    /// Takes out what is held of `slos`, so a tick refreshes it without holding the
    /// lock.
    fn take(&self, slos: impl Iterator<Item = SloId>) -> HashMap<SloId, CachedMinutes> {
        let Ok(mut held) = self.held.lock() else {
            return HashMap::new();
        };
        slos.filter_map(|id| held.remove(&id).map(|cached| (id, cached)))
            .collect()
    }

    /// Puts back what a tick took and refreshed, while it fits.
    fn put_back(&self, refreshed: HashMap<SloId, CachedMinutes>) {
        let Ok(mut held) = self.held.lock() else {
            return;
        };
        let mut kept: usize = held.values().map(|cached| cached.minutes.len()).sum();
        for (id, cached) in refreshed {
            if kept + cached.minutes.len() <= CACHED_MINUTES_MAX {
                kept += cached.minutes.len();
                held.insert(id, cached);
            }
        }
    }

    /// Forgets the SLOs a whole tick did not see (deleted ones).
    fn keep_only(&self, seen: &std::collections::HashSet<SloId>) {
        if let Ok(mut held) = self.held.lock() {
            held.retain(|id, _| seen.contains(id));
        }
    }
}

/// How long the last sample of a series no longer sent is kept (its next sample after
/// that is a counter's new baseline), and how long minutes are kept past the longest
/// window.
const SERIES_RETENTION: SignedDuration = SignedDuration::from_hours(7 * 24);
const MINUTES_RETENTION: SignedDuration = SignedDuration::from_hours(401 * 24);

/// What one remote write did with what it carried. Prometheus reads only the status;
/// the counts are for the person wiring it up (and the tests): a sample is taken,
/// dropped for a reason, or in a series no SLO selects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteWriteOutcome {
    pub series: u64,
    pub samples: u64,
    /// Series no SLO of the project selects (dropped at one look at their name).
    pub unmatched_series: u64,
    /// Samples counted into an SLO's minutes (a series several SLOs select counts for
    /// each).
    pub taken: u64,
    /// NaN (including Prometheus' staleness marker) and infinities.
    pub dropped_not_finite: u64,
    /// More than 400 days old or more than 5 minutes ahead of the server's clock.
    pub dropped_out_of_range: u64,
    /// At or before the last sample taken of their series: a retried or reordered write.
    pub dropped_stale: u64,
    /// A count below zero, or a label that is not UTF-8.
    pub dropped_invalid: u64,
    /// The SLOs whose minutes changed.
    pub slos: u64,
}

/// The matched series of one write: which SLO and role, its key, its samples.
struct MatchedSeries {
    slo: usize,
    role: SeriesRole,
    key: SeriesKey,
    samples: Arc<[SeriesSample]>,
}

/// The most minutes one push carries (a day).
pub const MINUTES_PER_PUSH_MAX: usize = 1440;

/// How far back a pushed minute may be (the longest window), and ahead (clock skew).
const PUSH_PAST_MAX: SignedDuration = SignedDuration::from_hours(400 * 24);
pub(super) const PUSH_FUTURE_MAX: SignedDuration = SignedDuration::from_mins(5);

/// A new SLO.
#[derive(Clone, Debug)]
pub struct SloInput {
    pub identifier: String,
    pub name: String,
    pub definition: serde_json::Value,
}

/// A new definition for an SLO (and perhaps a new name).
#[derive(Clone, Debug)]
pub struct SloUpdate {
    pub name: Option<String>,
    pub definition: serde_json::Value,
    /// The version the author edited: a newer one answers a conflict.
    pub expected_version: Option<u32>,
}

/// One minute's counts as sent.
#[derive(Clone, Debug)]
pub struct MinuteInput {
    pub minute: String,
    pub good: f64,
    pub total: f64,
}

/// An SLO with its definition, opened and parsed.
#[derive(Clone, Debug)]
pub struct SloView {
    pub slo: Slo,
    /// As its author wrote it (defaults left out).
    pub document: SloDoc,
    pub definition: SloDefinition,
}

/// An SLO's state at an instant.
#[derive(Clone, Debug)]
pub struct SloStatus {
    pub view: SloView,
    pub at: Timestamp,
    pub budget: Budget,
    /// Each alert window, with its burn rates.
    pub burns: Vec<Burn>,
    /// When the budget runs out at the burn rate of the last hour (scaled like the
    /// fastest page window's long lookback); `None` when it does not burn.
    pub exhaustion_at: Option<Timestamp>,
}

/// An SLO's history over a range.
#[derive(Clone, Debug)]
pub struct SloHistory {
    pub view: SloView,
    pub range: HistoryRange,
    /// One per interval, in time order.
    pub points: Vec<HistoryPoint>,
}

fn not_found() -> AppError {
    AppError::NotFound { what: "SLO" }
}

/// How many SLOs the engine reads at a time.
const ALERTING_PAGE: u32 = 200;

/// The first minute an SLO's status at `at` looks at: its window's start or its
/// longest alert lookback, whichever reaches further back.
fn minutes_needed_from(definition: &SloDefinition, at: Timestamp) -> Timestamp {
    let (start, _) = definition.objective.window.period_at(at);
    let longest = definition
        .burn_windows
        .iter()
        .map(|window| window.long)
        .max()
        .unwrap_or_default();
    start.min(at - longest)
}

/// An SLO's status at `at` from its minutes (at least those from
/// [`minutes_needed_from`]; later ones than `at` do not count).
fn status_from(view: SloView, at: Timestamp, minutes: &MinuteSeries) -> SloStatus {
    let objective = &view.definition.objective;
    let budget = objective.budget(minutes, at);
    let burns = objective.evaluate(&view.definition.burn_windows, minutes, at);
    // The fastest default page window's long lookback, whatever the alert windows.
    let hour = scale_lookback(SignedDuration::from_hours(1), objective.window.nominal());
    let exhaustion_at = objective
        .burn_rate(minutes, hour, at)
        .and_then(|rate| objective.exhaustion_at(&budget, rate, at));
    SloStatus {
        view,
        at,
        budget,
        burns,
        exhaustion_at,
    }
}

/// One SLO's trouble in the engine's tick (a deleted service, shredded keys) is logged
/// and must not stop the others' alerts; the store being unavailable or contended
/// ends the tick.
pub(super) fn tolerate_one_slo(error: AppError, slo: SloId) -> AppResult<()> {
    match error {
        AppError::Unavailable(_) | AppError::Contention(_) => Err(error),
        error => {
            tracing::error!(?error, %slo, "evaluating an SLO failed");
            Ok(())
        }
    }
}

/// The alerts an SLO's status calls for: `page` or `ticket` when a window of that
/// severity fires, `budget_exhausted` when the budget is spent — sorted.
fn wanted_alerts(status: &SloStatus) -> Vec<&'static str> {
    let mut wanted = Vec::new();
    if status.budget.exhausted() {
        wanted.push("budget_exhausted");
    }
    for (severity, name) in [
        (BurnSeverity::Page, "page"),
        (BurnSeverity::Ticket, "ticket"),
    ] {
        if status
            .burns
            .iter()
            .any(|burn| burn.firing && burn.window.severity == severity)
        {
            wanted.push(name);
        }
    }
    wanted
}

/// An event of an SLO's alert of `kind` (`page`, `ticket`, `budget_exhausted`): its
/// dedup key, source and labels name the SLO and the kind, whoever sends it.
fn slo_alert_event(
    slo: &Slo,
    kind: &str,
    action: Action,
    (summary, severity): (String, Severity),
    details: serde_json::Value,
) -> AlertEvent {
    let identifier = slo.identifier.as_str();
    AlertEvent {
        dedup_key: format!("rampart-slo:{}:{kind}", slo.id),
        action,
        summary,
        severity,
        source: format!("rampart slo {identifier}"),
        group_key: None,
        labels: [
            ("slo".to_owned(), identifier.to_owned()),
            ("alert".to_owned(), kind.to_owned()),
        ]
        .into(),
        annotations: Default::default(),
        links: Vec::new(),
        details,
    }
}

/// The event of one of an SLO's alerts (`kind` as in [`wanted_alerts`]) as its status
/// makes it.
fn slo_event(status: &SloStatus, kind: &str, action: Action) -> AlertEvent {
    let slo = &status.view.slo;
    let identifier = slo.identifier.as_str();
    let fastest = status
        .burns
        .iter()
        .filter(|burn| burn.firing && kind == severity_name(burn.window.severity))
        .max_by(|a, b| a.window.factor.total_cmp(&b.window.factor));
    let (summary, severity) = match (kind, fastest) {
        ("budget_exhausted", _) => (
            format!(
                "SLO {}: error budget exhausted ({:.0} % spent)",
                slo.name,
                status.budget.consumed * 100.0
            ),
            Severity::Error,
        ),
        (_, Some(burn)) => (
            format!(
                "SLO {}: burning its error budget at {:.1}× over {} min ({kind})",
                slo.name,
                burn.long.unwrap_or_default(),
                burn.window.long.as_mins()
            ),
            if kind == "page" {
                Severity::Critical
            } else {
                Severity::Warning
            },
        ),
        _ => (
            format!("SLO {}: {kind} burn stopped", slo.name),
            Severity::Warning,
        ),
    };
    slo_alert_event(
        slo,
        kind,
        action,
        (summary, severity),
        json!({
            "slo": identifier,
            "consumed": status.budget.consumed,
            "burn_rates": status.burns.iter().map(|burn| json!({
                "severity": severity_name(burn.window.severity),
                "long_window_minutes": burn.window.long.as_mins(),
                "short_window_minutes": burn.window.short.as_mins(),
                "factor": burn.window.factor,
                "long_burn_rate": burn.long,
                "short_burn_rate": burn.short,
            })).collect::<Vec<_>>(),
        }),
    )
}

/// A series' labels in one canonical text (sorted by name, each name and value prefixed
/// by its length, so no two label sets share a text), or `None` when a label is not
/// UTF-8.
fn canonical_labels(labels: &[(&[u8], &[u8])]) -> Option<String> {
    let mut pairs = labels
        .iter()
        .map(|(name, value)| {
            Some((
                std::str::from_utf8(name).ok()?,
                std::str::from_utf8(value).ok()?,
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    pairs.sort_unstable();
    let mut text = String::new();
    for (name, value) in pairs {
        text.push_str(&format!("{}:{name}{}:{value}", name.len(), value.len()));
    }
    Some(text)
}

fn severity_name(severity: BurnSeverity) -> &'static str {
    match severity {
        BurnSeverity::Page => "page",
        BurnSeverity::Ticket => "ticket",
    }
}

fn owner_of(scope: Scope) -> AppResult<String> {
    match scope {
        Scope::Project(..) => key_owner(scope).ok_or_else(not_found),
        _ => Err(AppError::bad_request(
            ErrorCode::InvalidScope,
            "SLOs belong to projects",
        )),
    }
}

/// `value` as a definition: its document (which must deserialize exactly, the path of
/// an error named), what it means, and its stored form.
fn parse_definition(value: serde_json::Value) -> AppResult<(SloDoc, SloDefinition)> {
    let document: SloDoc = super::author_document(value)?;
    let definition = document.parse().map_err(|error| {
        ValidationError::new("definition", format!("{}: {}", error.field, error.reason))
    })?;
    Ok((document, definition))
}

fn identifier_taken(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict { .. } => AppError::conflict(
            ErrorCode::IdentifierTaken,
            "an SLO with this identifier already exists in the project",
        ),
        other => other.into(),
    }
}

fn version_stale(identifier: &str, version: u32) -> AppError {
    AppError::conflict(
        ErrorCode::SloVersionStale,
        format!(
            "SLO {identifier} is at version {version} now: read it again and apply your change \
             to that version"
        ),
    )
}

/// The most SLOs one OpenSLO import holds.
pub const IMPORT_SLOS_MAX: usize = 500;

/// What an import did to one SLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    /// The same name and definition were there already: no new version.
    Unchanged,
}

impl ImportOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportOutcome::Created => "created",
            ImportOutcome::Updated => "updated",
            ImportOutcome::Unchanged => "unchanged",
        }
    }
}

/// A version of an SLO ready to be written: the row, its sealed definition, and the
/// version it replaces (`None` for a new SLO).
struct SloWrite {
    view: SloView,
    sealed: Vec<u8>,
    replaces: Option<u32>,
    /// A replacement naming another service than the version it replaces: its open
    /// alerts end on the old service (see [`App::write_slo`]).
    moves_service: bool,
}

/// The alerts a write took off an SLO, to resolve after the commit (see
/// [`rampart_store::WriteTx::take_slo_alerts`]).
type TakenAlerts = Option<(rampart_domain::IntegrationId, String)>;

impl App {
    /// The id of the project's service `definition` names.
    async fn slo_service(
        &self,
        scope: Scope,
        definition: &SloDefinition,
    ) -> AppResult<rampart_domain::ServiceId> {
        self.service_at(scope, definition.service.as_str())
            .await
            .map(|service| service.id)
            .map_err(|_| {
                AppError::bad_request(
                    ErrorCode::UnknownService,
                    format!(
                        "no service {:?} in this project",
                        definition.service.as_str()
                    ),
                )
            })
    }

    pub async fn create_slo(&self, ctx: &Ctx, scope: Scope, input: SloInput) -> AppResult<SloView> {
        let identifier = Slug::parse(&input.identifier)?;
        let name = Name::parse(&input.name)?;
        let (document, definition) = parse_definition(input.definition)?;
        let write = self
            .prepare_slo(scope, None, identifier, name, document, definition)
            .await?;
        let mut tx = self.store().write().await?;
        let (audit, _) = self.write_slo(&mut tx, ctx, &write).await?;
        tx.commit(audit).await?;
        Ok(write.view)
    }

    /// Seals a definition as the next version of `current` (or version 1 of a new SLO).
    async fn prepare_slo(
        &self,
        scope: Scope,
        current: Option<&Slo>,
        identifier: Slug,
        name: Name,
        document: SloDoc,
        definition: SloDefinition,
    ) -> AppResult<SloWrite> {
        let owner = owner_of(scope)?;
        let service_id = self.slo_service(scope, &definition).await?;
        let now = self.now();
        let slo = match current {
            Some(current) => Slo {
                name,
                service_id,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            },
            None => Slo {
                id: mint(now, SloId::mint)?,
                scope,
                identifier,
                name,
                service_id,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        };
        let stored = serde_json::to_vec(&document)
            .map_err(|error| AppError::Integrity(format!("encoding an SLO definition: {error}")))?;
        let sealed = self
            .seal_value(
                &definition_place(&owner, &slo.id.to_string(), slo.version),
                &stored,
            )
            .await?;
        Ok(SloWrite {
            view: SloView {
                slo,
                document,
                definition,
            },
            sealed,
            replaces: current.map(|current| current.version),
            moves_service: false,
        })
    }

    /// Writes a prepared version (refused when the identifier is taken, or the version
    /// it replaces is no longer the current one), returning its audit record.
    async fn write_slo(
        &self,
        tx: &mut rampart_store::WriteTx,
        ctx: &Ctx,
        write: &SloWrite,
    ) -> AppResult<(rampart_store::AuditRecord, TakenAlerts)> {
        let slo = &write.view.slo;
        let action = match write.replaces {
            None => {
                tx.insert_slo(slo, &write.sealed)
                    .await
                    .map_err(identifier_taken)?;
                "slo.create"
            }
            Some(from) => {
                if !tx.update_slo(slo, &write.sealed, from).await? {
                    return Err(version_stale(slo.identifier.as_str(), slo.version));
                }
                "slo.update"
            }
        };
        // A pull the definition names is due at once (not on an older one's schedule).
        let pull_due = write
            .view
            .definition
            .pull
            .is_some()
            .then_some(slo.updated_at);
        tx.set_slo_pull_due(slo.id, pull_due).await?;
        // Moved to another service: its open alerts end on the old one, and the engine
        // raises what is still wanted on the new one.
        let taken = if write.moves_service {
            tx.take_slo_alerts(slo.id).await?
        } else {
            None
        };
        Ok((
            self.slo_audit(
                ctx,
                action,
                &write.view.slo,
                Some(write.view.definition.objective.target),
                slo.updated_at,
            ),
            taken,
        ))
    }

    /// The audit record of a change to `slo`, with its target when its definition is
    /// known (a delete does not open it).
    fn slo_audit(
        &self,
        ctx: &Ctx,
        action: &str,
        slo: &Slo,
        target: Option<f64>,
        now: Timestamp,
    ) -> rampart_store::AuditRecord {
        let mut details = serde_json::Map::new();
        details.insert("identifier".into(), json!(slo.identifier.as_str()));
        details.insert("version".into(), json!(slo.version));
        if let Some(target) = target {
            details.insert("target".into(), json!(target));
        }
        ctx.audit(now, action, "slo")
            .scope(slo.scope)
            .resource_id(slo.id)
            .details(serde_json::Value::Object(details))
            .build()
    }

    pub async fn list_slos(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Slo>> {
        owner_of(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().list_slos(scope, &page).await?)
    }

    /// An SLO with its definition.
    pub async fn slo(&self, scope: Scope, identifier: &str) -> AppResult<SloView> {
        let owner = owner_of(scope)?;
        let (slo, sealed) = self.slo_row(scope, identifier).await?;
        let (document, definition) = self.open_definition(&owner, &slo, &sealed).await?;
        Ok(SloView {
            slo,
            document,
            definition,
        })
    }

    /// An SLO's row and its sealed definition, unopened.
    async fn slo_row(&self, scope: Scope, identifier: &str) -> AppResult<(Slo, Vec<u8>)> {
        owner_of(scope)?;
        let identifier = Slug::parse(identifier).map_err(|_| not_found())?;
        self.store()
            .slo_by_identifier(scope, &identifier)
            .await?
            .ok_or_else(not_found)
    }

    async fn open_definition(
        &self,
        owner: &str,
        slo: &Slo,
        sealed: &[u8],
    ) -> AppResult<(SloDoc, SloDefinition)> {
        let opened = self
            .open_sealed(
                &definition_place(owner, &slo.id.to_string(), slo.version),
                sealed,
            )
            .await?;
        let corrupt = || {
            AppError::Integrity(format!(
                "SLO {} version {} is not valid",
                slo.id, slo.version
            ))
        };
        let document: SloDoc = serde_json::from_slice(&opened).map_err(|_| corrupt())?;
        let definition = document.parse().map_err(|_| corrupt())?;
        Ok((document, definition))
    }

    /// The definition of the version of `slo` (a row read without it), from the cache
    /// when it holds that version; `None` when the SLO is gone.
    pub(super) async fn cached_definition(
        &self,
        slo: Slo,
    ) -> AppResult<Option<(Slo, Arc<(SloDoc, SloDefinition)>)>> {
        if let Some(opened) = self.inner.slo_definitions.get(slo.id, slo.version) {
            return Ok(Some((slo, opened)));
        }
        let owner = owner_of(slo.scope)?;
        let Some((slo, sealed)) = self.store().slo_by_id(slo.id).await? else {
            return Ok(None);
        };
        let opened = Arc::new(self.open_definition(&owner, &slo, &sealed).await?);
        self.inner
            .slo_definitions
            .put(slo.id, slo.version, Arc::clone(&opened));
        Ok(Some((slo, opened)))
    }

    /// A new definition (and perhaps name) for an SLO.
    pub async fn update_slo(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        update: SloUpdate,
    ) -> AppResult<SloView> {
        let current = self.slo(scope, identifier).await?;
        let previous_service = current.definition.service.clone();
        let current = current.slo;
        let name = update
            .name
            .as_deref()
            .map(Name::parse)
            .transpose()?
            .unwrap_or_else(|| current.name.clone());
        let (document, definition) = parse_definition(update.definition)?;
        if update
            .expected_version
            .is_some_and(|expected| expected != current.version)
        {
            return Err(version_stale(identifier, current.version));
        }
        let mut write = self
            .prepare_slo(
                scope,
                Some(&current),
                current.identifier.clone(),
                name,
                document,
                definition,
            )
            .await?;
        write.moves_service = write.view.definition.service != previous_service;
        let mut tx = self.store().write().await?;
        let (audit, taken) = match self.write_slo(&mut tx, ctx, &write).await {
            Ok(written) => written,
            Err(error) => {
                tx.rollback().await?;
                return Err(error);
            }
        };
        tx.commit(audit).await?;
        self.resolve_taken_slo_alerts(&write.view.slo, taken, "moved to another service")
            .await;
        Ok(write.view)
    }

    /// Creates or replaces the SLOs of OpenSLO YAML, all in one transaction: each SLO
    /// named like an existing one replaces its definition (`slo:edit` needed), an SLO
    /// already holding the same name and definition is left as it is.
    pub async fn import_openslo(
        &self,
        ctx: &Ctx,
        scope: Scope,
        text: &str,
    ) -> AppResult<Vec<(SloView, ImportOutcome)>> {
        owner_of(scope)?;
        let unprocessable = |message: String| AppError::Unprocessable {
            code: ErrorCode::InvalidOpenslo,
            message,
        };
        let imported = openslo::import(text).map_err(|error| unprocessable(error.to_string()))?;
        if imported.len() > IMPORT_SLOS_MAX {
            return Err(unprocessable(format!(
                "{} SLOs: an import holds at most {IMPORT_SLOS_MAX}",
                imported.len()
            )));
        }
        let mut results = Vec::with_capacity(imported.len());
        let mut writes = Vec::new();
        for slo in imported {
            let current = match self.slo(scope, slo.identifier.as_str()).await {
                Ok(current) => Some(current),
                Err(AppError::NotFound { .. }) => None,
                Err(error) => return Err(error),
            };
            if let Some(current) = &current {
                if current.document == slo.document && current.slo.name == slo.name {
                    results.push((current.clone(), ImportOutcome::Unchanged));
                    continue;
                }
                authorize(
                    &ctx.actor,
                    &ctx.access,
                    Access::Permission(Permission::SloEdit),
                    scope,
                )?;
            }
            let named = slo.identifier.to_string();
            let mut write = self
                .prepare_slo(
                    scope,
                    current.as_ref().map(|current| &current.slo),
                    slo.identifier,
                    slo.name,
                    slo.document,
                    slo.definition,
                )
                .await
                .map_err(|error| match error {
                    // An unknown service: say which SLO names it.
                    AppError::BadRequest { code, message } => AppError::BadRequest {
                        code,
                        message: format!("SLO {named}: {message}"),
                    },
                    other => other,
                })?;
            write.moves_service = current
                .as_ref()
                .is_some_and(|current| current.definition.service != write.view.definition.service);
            results.push((
                write.view.clone(),
                if write.replaces.is_some() {
                    ImportOutcome::Updated
                } else {
                    ImportOutcome::Created
                },
            ));
            writes.push(write);
        }
        if writes.is_empty() {
            return Ok(results);
        }
        let mut tx = self.store().write().await?;
        let mut audits = Vec::with_capacity(writes.len());
        let mut taken = Vec::new();
        for write in &writes {
            match self.write_slo(&mut tx, ctx, write).await {
                Ok((audit, alerts)) => {
                    audits.push(audit);
                    taken.push((&write.view.slo, alerts));
                }
                Err(error) => {
                    tx.rollback().await?;
                    return Err(error);
                }
            }
        }
        tx.commit_all(&audits).await?;
        for (slo, alerts) in taken {
            self.resolve_taken_slo_alerts(slo, alerts, "moved to another service")
                .await;
        }
        Ok(results)
    }

    /// The project's SLOs (or the one named) as OpenSLO v1 YAML, in identifier order.
    pub async fn export_openslo(&self, scope: Scope, only: Option<&str>) -> AppResult<String> {
        owner_of(scope)?;
        let mut views = Vec::new();
        match only {
            Some(identifier) => views.push(self.slo(scope, identifier).await?),
            None => {
                let mut cursor = None;
                loop {
                    let page = self
                        .list_slos(
                            scope,
                            Some(rampart_domain::limits::PAGE_SIZE_MAX),
                            cursor.as_deref(),
                        )
                        .await?;
                    for slo in &page.items {
                        views.push(self.slo(scope, slo.identifier.as_str()).await?);
                    }
                    match page.next_cursor {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        // In identifier order, so that an export kept in version control changes only
        // where an SLO did (SLOs made in one import share a creation instant).
        views.sort_by(|a, b| a.slo.identifier.as_str().cmp(b.slo.identifier.as_str()));
        let slos: Vec<ExportedSlo<'_>> = views
            .iter()
            .map(|view| ExportedSlo {
                identifier: view.slo.identifier.as_str(),
                name: view.slo.name.as_str(),
                document: &view.document,
            })
            .collect();
        openslo::export(&slos)
            .map_err(|error| AppError::Integrity(format!("writing OpenSLO YAML: {error}")))
    }

    pub async fn delete_slo(&self, ctx: &Ctx, scope: Scope, identifier: &str) -> AppResult<()> {
        // Only the row: deleting needs no definition, so an SLO whose keys were
        // shredded (its definition unreadable for good) can still be deleted.
        let (slo, _) = self.slo_row(scope, identifier).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let open = tx.take_slo_alerts(slo.id).await?;
        tx.delete_slo(slo.id).await?;
        tx.commit(self.slo_audit(ctx, "slo.delete", &slo, None, now))
            .await?;
        self.resolve_taken_slo_alerts(&slo, open, "deleted").await;
        Ok(())
    }

    /// Resolves the alerts [`rampart_store::WriteTx::take_slo_alerts`] took off an SLO
    /// (deleted, or moved to another service), through the integration that raised
    /// them. The change is committed already, so a failed delivery is logged, not
    /// answered: the alerts stay open on the old service for a person to resolve.
    async fn resolve_taken_slo_alerts(&self, slo: &Slo, taken: TakenAlerts, why: &str) {
        let Some((integration, open)) = taken else {
            return;
        };
        let events: Vec<AlertEvent> = open
            .split(',')
            .filter(|name| !name.is_empty())
            .map(|kind| {
                slo_alert_event(
                    slo,
                    kind,
                    Action::Resolve,
                    (
                        format!("SLO {}: {kind} alert ended, the SLO was {why}", slo.name),
                        Severity::Info,
                    ),
                    json!({ "slo": slo.identifier.as_str(), "reason": why }),
                )
            })
            .collect();
        if let Err(error) = self
            .deliver_own_events(&Ctx::system(), integration, events)
            .await
        {
            tracing::error!(?error, slo = %slo.id, "resolving the alerts of an SLO failed");
        }
    }

    /// Stores pushed minutes of an SLO, each replacing an earlier push of the same
    /// minute. All or nothing: the first bad minute refuses the push, naming it.
    pub async fn push_slo_minutes(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        minutes: &[MinuteInput],
    ) -> AppResult<usize> {
        // The row only: a push (every minute, from every sender) needs no definition.
        owner_of(scope)?;
        let slug = Slug::parse(identifier).map_err(|_| not_found())?;
        let (slo, _) = self
            .store()
            .slo_by_identifier(scope, &slug)
            .await?
            .ok_or_else(not_found)?;
        if minutes.is_empty() || minutes.len() > MINUTES_PER_PUSH_MAX {
            return Err(ValidationError::new(
                "minutes",
                format!("a push carries 1 to {MINUTES_PER_PUSH_MAX} minutes"),
            )
            .into());
        }
        let now = self.now();
        let mut rollups = Vec::with_capacity(minutes.len());
        for (index, input) in minutes.iter().enumerate() {
            let bad = |reason: String| {
                ValidationError::new("minutes", format!("minutes[{index}]: {reason}"))
            };
            let minute: Timestamp = input
                .minute
                .parse()
                .map_err(|_| bad("minute is not an RFC 3339 time".into()))?;
            if minute < now - PUSH_PAST_MAX || minute > now + PUSH_FUTURE_MAX {
                return Err(bad(format!(
                    "{minute} is more than 400 days ago or more than 5 minutes ahead"
                ))
                .into());
            }
            let rollup =
                Rollup::new(minute, input.good, input.total).map_err(|error| bad(error.reason))?;
            rollups.push(rollup);
        }
        self.put_minutes(&slo, rollups, |now| ctx.audit(now, "slo.data", "slo"))
            .await
    }

    /// Stores `rollups` of `slo`, each replacing what its minute held (of two for the
    /// same minute, the later in the list), audited by the record `audit` starts.
    pub(super) async fn put_minutes(
        &self,
        slo: &Slo,
        mut rollups: Vec<Rollup>,
        audit: impl FnOnce(Timestamp) -> crate::audit::AuditBuilder,
    ) -> AppResult<usize> {
        let now = self.now();
        // One row per minute: the last sent wins, as if pushed one after the other.
        rollups.reverse();
        rollups.sort_by_key(|rollup| std::cmp::Reverse(rollup.minute));
        rollups.dedup_by_key(|rollup| rollup.minute);
        let mut tx = self.store().write().await?;
        let version = tx
            .next_slo_data_versions(&[slo.id])
            .await?
            .get(&slo.id)
            .copied()
            .ok_or_else(not_found)?;
        tx.put_slo_minutes(slo.id, version, &rollups).await?;
        let first = rollups.last().map(|rollup| rollup.minute.to_string());
        let last = rollups.first().map(|rollup| rollup.minute.to_string());
        tx.commit(
            audit(now)
                .scope(slo.scope)
                .resource_id(slo.id)
                .details(json!({
                    "identifier": slo.identifier.as_str(),
                    "minutes": rollups.len(),
                    "first": first,
                    "last": last,
                }))
                .build(),
        )
        .await?;
        Ok(rollups.len())
    }

    /// The project's SLOs that have an indicator, each with it (from the cache when it
    /// holds that version).
    async fn indicators(
        &self,
        scope: Scope,
    ) -> AppResult<Vec<(Slo, Arc<(SloDoc, SloDefinition)>)>> {
        owner_of(scope)?;
        let mut indicators = Vec::new();
        for slo in self.store().slos_of(scope).await? {
            if let Some((slo, opened)) = self.cached_definition(slo).await?
                && opened.1.indicator.is_some()
            {
                indicators.push((slo, opened));
            }
        }
        Ok(indicators)
    }

    /// Takes a Prometheus remote write (v1, snappy-compressed protobuf) for the
    /// project's SLOs: each series is matched to the SLO indicators' selectors by its
    /// labels, its samples become minute counts ([`series_deltas`]) — a counter's from
    /// the sample kept since its previous write, read and replaced under a row lock so
    /// replicas taking writes of the same series count each increase once — and the
    /// whole write is kept or refused together, audited once. Samples that cannot count
    /// are dropped and counted in the outcome; a body that is not a write request is
    /// 400, and nothing of it is kept.
    pub async fn remote_write(
        &self,
        ctx: &Ctx,
        scope: Scope,
        body: &[u8],
    ) -> AppResult<RemoteWriteOutcome> {
        let owner = owner_of(scope)?;
        let request = remote_write::decode(body)?;
        let slos = self.indicators(scope).await?;
        let mut selectors = SelectorIndex::default();
        for (index, (slo, opened)) in slos.iter().enumerate() {
            for (role, selector) in opened.1.indicator.iter().flat_map(Indicator::selectors) {
                selectors.add(selector, (index, slo.id, role));
            }
        }
        let now = self.now();
        let (earliest, latest) = (
            (now - PUSH_PAST_MAX).as_millisecond(),
            (now + PUSH_FUTURE_MAX).as_millisecond(),
        );
        let mut outcome = RemoteWriteOutcome::default();
        let mut matched = Vec::new();
        let mut sealer = None;
        for series in &request.timeseries {
            outcome.series += 1;
            outcome.samples += series.samples.len() as u64;
            let name = series
                .labels
                .iter()
                .find(|label| label.name == METRIC_NAME_LABEL.as_bytes())
                .map(|label| &label.value[..]);
            if !name.is_some_and(|name| selectors.has_metric(name)) {
                outcome.unmatched_series += 1;
                continue;
            }
            let labels: Vec<(&[u8], &[u8])> = series
                .labels
                .iter()
                .map(|label| (&label.name[..], &label.value[..]))
                .collect();
            let selected = selectors.select(&labels);
            if selected.is_empty() {
                outcome.unmatched_series += 1;
                continue;
            }
            let Some(canonical) = canonical_labels(&labels) else {
                outcome.dropped_invalid += series.samples.len() as u64;
                continue;
            };
            let mut samples = Vec::with_capacity(series.samples.len());
            for sample in &series.samples {
                if !sample.value.is_finite() {
                    outcome.dropped_not_finite += 1;
                } else if sample.timestamp < earliest || sample.timestamp > latest {
                    outcome.dropped_out_of_range += 1;
                } else {
                    samples.push(SeriesSample {
                        at_ms: sample.timestamp,
                        value: sample.value,
                    });
                }
            }
            samples.sort_by_key(|sample| sample.at_ms);
            let samples: Arc<[SeriesSample]> = samples.into();
            if sealer.is_none() {
                sealer = Some(self.sealer(&owner).await?);
            }
            let Some(sealer) = &sealer else { continue };
            for (slo, id, role) in selected {
                let index =
                    sealer.blind_index(&SERIES_INDEX, &format!("{}\n{canonical}", role.as_str()));
                matched.push(MatchedSeries {
                    slo: *slo,
                    role: *role,
                    key: (*id, index),
                    samples: Arc::clone(&samples),
                });
            }
        }
        if matched.is_empty() {
            return Ok(outcome);
        }
        let keys: Vec<SeriesKey> = matched.iter().map(|series| series.key.clone()).collect();
        let mut tx = self.store().write().await?;
        // The SLOs' rows before their series (see `next_slo_data_versions`); an SLO
        // deleted since its definition was read has none, and gets nothing.
        let slo_ids: Vec<SloId> = keys.iter().map(|(slo, _)| *slo).collect();
        let versions = tx.next_slo_data_versions(&slo_ids).await?;
        let kept = tx.slo_series_for_update(&keys).await?;
        let mut minutes: BTreeMap<usize, BTreeMap<Timestamp, (f64, f64)>> = BTreeMap::new();
        let mut last_samples: HashMap<SeriesKey, SeriesSample> = HashMap::new();
        for series in &matched {
            let Some((_, Some(indicator))) = slos
                .get(series.slo)
                .map(|(slo, opened)| (slo, opened.1.indicator.as_ref()))
            else {
                continue;
            };
            // A series sent twice in one write continues from its first part.
            let before = last_samples
                .get(&series.key)
                .or_else(|| kept.get(&series.key))
                .copied();
            let fold = series_deltas(indicator, series.role, before, &series.samples);
            outcome.dropped_stale += fold.stale;
            outcome.dropped_invalid += fold.invalid;
            outcome.taken += series.samples.len() as u64 - fold.stale - fold.invalid;
            let slo_minutes = minutes.entry(series.slo).or_default();
            for delta in fold.deltas {
                let sums = slo_minutes.entry(delta.minute).or_default();
                sums.0 += delta.good;
                sums.1 += delta.total;
            }
            if let Some(last) = fold.last.filter(|last| Some(*last) != before) {
                last_samples.insert(series.key.clone(), last);
            }
        }
        if last_samples.is_empty() {
            // Nothing new (a retried write, or only samples that cannot count).
            tx.rollback().await?;
            return Ok(outcome);
        }
        let series_rows: Vec<(SeriesKey, SeriesSample)> = last_samples
            .into_iter()
            .filter(|((slo, _), _)| versions.contains_key(slo))
            .collect();
        tx.put_slo_series(&series_rows).await?;
        let mut changed = Vec::new();
        let mut deltas = Vec::new();
        for (slo, slo_minutes) in &minutes {
            let Some(((slo, _), version)) = slos
                .get(*slo)
                .and_then(|held| Some((held, versions.get(&held.0.id)?)))
            else {
                continue;
            };
            if slo_minutes.is_empty() {
                continue;
            }
            deltas.extend(slo_minutes.iter().map(|(minute, (good, total))| {
                let delta = MinuteDelta {
                    minute: *minute,
                    good: *good,
                    total: *total,
                };
                (slo.id, *version, delta)
            }));
            changed.push(json!({
                "identifier": slo.identifier.as_str(),
                "minutes": slo_minutes.len(),
            }));
        }
        // Every SLO's minutes in a few statements, not one an SLO.
        tx.add_slo_minutes(&deltas).await?;
        outcome.slos = changed.len() as u64;
        tx.commit(
            ctx.audit(now, "slo.remote_write", "project")
                .scope(scope)
                .details(json!({
                    "series": outcome.series,
                    "samples": outcome.samples,
                    "taken": outcome.taken,
                    "slos": changed,
                }))
                .build(),
        )
        .await?;
        Ok(outcome)
    }

    /// Retention (the engine's tick): minutes older than the longest window and the
    /// kept samples of series not sent for a week.
    pub async fn prune_slo_data(&self) -> AppResult<u64> {
        let now = self.now();
        Ok(self
            .store()
            .prune_slo_data(now - MINUTES_RETENTION, now - SERIES_RETENTION)
            .await?)
    }

    /// Raises and resolves every SLO's alerts (the engine's tick): each SLO whose wanted
    /// alerts (see [`wanted_alerts`]) differ from those it has open sends a trigger for
    /// each new one and a resolve for each gone, through an integration of its service
    /// (made at its first alert), then records the new set if no other replica did
    /// first — sending before recording, so a failed delivery is tried again next tick
    /// and two replicas sending the same change only repeat an event the alert's dedup
    /// key absorbs. Returns how many SLOs changed.
    pub async fn evaluate_slos(&self) -> AppResult<u64> {
        let mut after = None;
        let mut changed = 0;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.store().slos_for_alerting(after, ALERTING_PAGE).await?;
            let now = self.now();
            let mut views = Vec::with_capacity(page.len());
            for row in &page {
                seen.insert(row.slo.id);
                match self.cached_definition(row.slo.clone()).await {
                    Ok(Some((slo, opened))) => {
                        let (document, definition) = opened.as_ref().clone();
                        views.push((
                            row,
                            SloView {
                                slo,
                                document,
                                definition,
                            },
                        ));
                    }
                    Ok(None) => {}
                    Err(error) => tolerate_one_slo(error, row.slo.id)?,
                }
            }
            let minutes = self.refreshed_minutes(&views, now).await?;
            for (row, view) in views {
                let held = minutes.get(&row.slo.id).map(|cached| &cached.minutes);
                let status = status_from(view, now, held.unwrap_or(&MinuteSeries::default()));
                match self.raise_slo_alerts(row, status).await {
                    Ok(true) => changed += 1,
                    Ok(false) => {}
                    Err(error) => tolerate_one_slo(error, row.slo.id)?,
                }
            }
            self.inner.slo_minutes.put_back(minutes);
            match page.last() {
                Some(last) if page.len() == ALERTING_PAGE as usize => after = Some(last.slo.id),
                _ => break,
            }
        }
        self.inner.slo_minutes.keep_only(&seen);
        Ok(changed)
    }

    /// The minutes each of `slos` needs at `now`, from the cache brought up to the
    /// data version its row was read at: the minutes written since then read for all
    /// of them in a few statements, an SLO not held (or whose window grew) read whole.
    async fn refreshed_minutes(
        &self,
        slos: &[(&SloAlerting, SloView)],
        now: Timestamp,
    ) -> AppResult<HashMap<SloId, CachedMinutes>> {
        let mut held = self
            .inner
            .slo_minutes
            .take(slos.iter().map(|(row, _)| row.slo.id));
        let mut stale = Vec::new();
        for (row, view) in slos {
            let from = minutes_needed_from(&view.definition, now);
            match held.get_mut(&row.slo.id) {
                Some(cached) if cached.from <= from => {
                    if cached.version != row.data_version {
                        stale.push((row.slo.id, cached.version));
                        cached.version = row.data_version;
                    }
                    cached.minutes.forget_before(from);
                    cached.from = from;
                }
                _ => {
                    // Minutes up to five minutes ahead may be pushed: all of them, so
                    // none is missed when the clock reaches it.
                    let rollups = self
                        .store()
                        .slo_minutes(row.slo.id, from, Timestamp::MAX)
                        .await?;
                    held.insert(
                        row.slo.id,
                        CachedMinutes {
                            version: row.data_version,
                            from,
                            minutes: MinuteSeries::new(rollups),
                        },
                    );
                }
            }
        }
        if !stale.is_empty() {
            for (slo, rollup) in self.store().slo_minutes_changed(&stale).await? {
                if let Some(cached) = held.get_mut(&slo)
                    && rollup.minute >= cached.from
                {
                    cached.minutes.put(rollup);
                }
            }
        }
        Ok(held)
    }

    /// Sends the alerts `status` calls for that the SLO (`row`) does not have open and
    /// resolves those it no longer calls for; true when the set changed.
    async fn raise_slo_alerts(&self, row: &SloAlerting, status: SloStatus) -> AppResult<bool> {
        let wanted = wanted_alerts(&status);
        let open: Vec<&str> = row
            .alerts_open
            .split(',')
            .filter(|name| !name.is_empty())
            .collect();
        if wanted == open {
            return Ok(false);
        }
        let integration = match row.integration_id {
            Some(id) => id,
            None => {
                let (integration, _credential) = self
                    .create_integration(
                        &Ctx::system(),
                        row.slo.scope,
                        status.view.definition.service.as_str(),
                        crate::sre::integrations::IntegrationInput {
                            name: format!("SLO {}", row.slo.identifier),
                            format: "generic".into(),
                            auth_mode: "bearer".into(),
                            source_cidrs: Vec::new(),
                            rate_limit_per_minute: None,
                        },
                    )
                    .await?;
                integration.id
            }
        };
        let mut events: Vec<AlertEvent> = wanted
            .iter()
            .filter(|name| !open.contains(name))
            .map(|name| slo_event(&status, name, Action::Trigger))
            .collect();
        events.extend(
            open.iter()
                .filter(|name| !wanted.contains(name))
                .map(|name| slo_event(&status, name, Action::Resolve)),
        );
        self.deliver_own_events(&Ctx::system(), integration, events)
            .await?;
        Ok(self
            .store()
            .set_slo_alerts(row.slo.id, integration, &row.alerts_open, &wanted.join(","))
            .await?)
    }

    /// An SLO's budget and burn rates at `at` (default now).
    pub async fn slo_status(
        &self,
        scope: Scope,
        identifier: &str,
        at: Option<Timestamp>,
    ) -> AppResult<SloStatus> {
        let view = self.slo(scope, identifier).await?;
        self.status_of(view, at).await
    }

    /// An SLO's history for a chart: the events, burn rate and budget of each interval
    /// of the range asked for (each part defaulted as [`HistoryRange::new`] says), from
    /// one read of the minutes it needs.
    pub async fn slo_history(
        &self,
        scope: Scope,
        identifier: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        step: Option<&str>,
    ) -> AppResult<SloHistory> {
        let view = self.slo(scope, identifier).await?;
        let objective = &view.definition.objective;
        let range = HistoryRange::new(&objective.window, self.now(), from, to, step)?;
        let rollups = self
            .store()
            .slo_minutes(view.slo.id, objective.history_needs_from(&range), range.to)
            .await?;
        // Off the async workers: a timeslices budget counts its window's slices at each
        // point (up to 1 440 points over a 400-day window).
        let objective = objective.clone();
        let points = tokio::task::spawn_blocking(move || {
            objective.history(&MinuteSeries::new(rollups), &range)
        })
        .await
        .map_err(|error| AppError::Internal(format!("computing an SLO history: {error}")))?;
        Ok(SloHistory {
            view,
            range,
            points,
        })
    }

    /// The status of an SLO already read (after a create or update, which hold it).
    pub async fn status_of(&self, view: SloView, at: Option<Timestamp>) -> AppResult<SloStatus> {
        let at = at.unwrap_or_else(|| self.now());
        let from = minutes_needed_from(&view.definition, at);
        let rollups = self.store().slo_minutes(view.slo.id, from, at).await?;
        Ok(status_from(view, at, &MinuteSeries::new(rollups)))
    }
}
