//! A project's incidents: list, open by hand, read with alerts and timeline, status
//! changes, fields, action items and notes.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::ListResponse;
use rampart_api::sre as wire;
use rampart_app::sre::incidents::{IncidentAlert, IncidentListQuery, IncidentView, TimelineEntry};
use rampart_app::{AppError, Ctx};
use rampart_domain::Permission as P;
use rampart_domain::sre::incidents::ActionItem;

use super::services::labels_of;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{
    LIMIT, NUMBER_CURSOR, PROJECT, QueryParam, RouteSpec, RouteTable, Shape, join_path, perm,
};

/// The incident list's page and filters (the web UI's list keeps the same ones in its
/// address).
const INCIDENT_LIST_QUERY: &[QueryParam] = &[
    LIMIT,
    NUMBER_CURSOR,
    QueryParam::optional(
        "status",
        "`open` (every status before resolved) or a comma-separated list of statuses",
        Shape::Text,
    ),
    QueryParam::optional("severity", "SEV0 to SEV4", Shape::Text),
    QueryParam::optional(
        "service",
        "the identifier of the service whose alerts opened them",
        Shape::Text,
    ),
];

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A project's incidents.
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/incidents"),
            perm(P::IncidentView),
            "Incidents, newest first",
        )
        .page::<wire::Incident>()
        .query(INCIDENT_LIST_QUERY),
        list_incidents,
    );
    table.add(
        r(
            M::POST,
            path("/incidents"),
            perm(P::IncidentCreate),
            "Open an incident by hand",
        )
        .body::<wire::IncidentCreate>()
        .reply::<wire::Incident>(201),
        create_incident,
    );
    table.add(
        r(
            M::GET,
            path("/incidents/{number}"),
            perm(P::IncidentView),
            "An incident with its alerts and timeline",
        )
        .reply::<wire::Incident>(200),
        get_incident,
    );
    table.add(
        r(
            M::POST,
            path("/incidents/{number}/status"),
            perm(P::IncidentStatusUpdate),
            "Move an incident (acknowledge, resolve, reopen…) with a status update",
        )
        .body::<wire::IncidentStatusChange>(),
        change_incident_status,
    );
    table.add(
        r(
            M::PATCH,
            path("/incidents/{number}"),
            perm(P::IncidentEdit),
            "Change title, severity, commander, assignees, linked services, custom fields",
        )
        .body::<wire::IncidentUpdate>(),
        update_incident,
    );
    table.add(
        r(
            M::POST,
            path("/incidents/{number}/action-items"),
            perm(P::IncidentEdit),
            "Add an action item; answers it with its number",
        )
        .body::<wire::ActionItemCreate>()
        .reply::<wire::ActionItem>(201),
        add_action_item,
    );
    table.add(
        r(
            M::PATCH,
            path("/incidents/{number}/action-items/{item}"),
            perm(P::IncidentEdit),
            "Mark an action item done or open",
        )
        .body::<wire::ActionItemUpdate>(),
        update_action_item,
    );
    table.add(
        r(
            M::POST,
            path("/incidents/{number}/notes"),
            perm(P::IncidentEdit),
            "Add a note to an incident's timeline",
        )
        .body::<wire::IncidentNote>(),
        add_incident_note,
    );
}

path_params! {
    /// `…/incidents/{number}` and what hangs off an incident
    pub struct IncidentPath { number }
}

path_params! {
    /// `…/incidents/{number}/action-items/{item}`
    pub struct ActionItemPath { number, item }
}

fn wire_incident(
    view: &IncidentView,
    labels: &std::collections::BTreeMap<String, String>,
) -> wire::Incident {
    let incident = &view.incident;
    wire::Incident {
        id: incident.id.to_string(),
        number: incident.number,
        title: view.title.clone().unwrap_or_default(),
        unreadable: view.title.is_none(),
        severity: incident.severity.clone(),
        severity_label: labels
            .get(&incident.severity)
            .cloned()
            .unwrap_or_else(|| incident.severity.clone()),
        status: incident.status.as_str().to_owned(),
        created_at: incident.created_at.to_string(),
        updated_at: incident.updated_at.to_string(),
        acknowledged_at: incident.acknowledged_at.map(|t| t.to_string()),
        resolved_at: incident.resolved_at.map(|t| t.to_string()),
        alerts: None,
        timeline: None,
        description: None,
        commander: None,
        assignees: None,
        linked_services: None,
        custom_fields: None,
        action_items: None,
    }
}

fn wire_action_item(item: &ActionItem) -> wire::ActionItem {
    wire::ActionItem {
        item: item.seq,
        text: item.text.clone(),
        assignee: item.assignee.clone(),
        done: item.done,
        created_at: item.created_at.to_string(),
        updated_at: item.updated_at.to_string(),
    }
}

pub async fn list_incidents(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<wire::IncidentListParams>,
) -> ApiResult<Json<ListResponse<wire::Incident>>> {
    let query = IncidentListQuery {
        status: params.status.as_deref(),
        severity: params.severity.as_deref(),
        service: params.service.as_deref(),
    };
    let page = state
        .app
        .list_incidents(
            &ctx,
            scope.scope(),
            query,
            params.limit,
            params.cursor.as_deref(),
        )
        .await?;
    let labels = labels_of(&state, &scope).await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|view| wire_incident(view, &labels))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_incident(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::IncidentCreate>,
) -> ApiResult<(StatusCode, Json<wire::Incident>)> {
    let view = state
        .app
        .create_incident(&ctx, scope.scope(), &body.title, &body.severity)
        .await?;
    let labels = labels_of(&state, &scope).await?;
    Ok((StatusCode::CREATED, Json(wire_incident(&view, &labels))))
}

/// An incident number in a path; one that does not parse names no incident.
fn number_param(text: &str) -> ApiResult<u64> {
    rampart_domain::parse_number(text).ok_or_else(|| AppError::NotFound { what: "incident" }.into())
}

pub async fn get_incident(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IncidentPath>,
) -> ApiResult<Json<wire::Incident>> {
    let detail = state
        .app
        .get_incident(&ctx, scope.scope(), number_param(&path.number)?)
        .await?;
    let labels = labels_of(&state, &scope).await?;
    let mut incident = wire_incident(&detail.view, &labels);
    incident.description = Some(detail.description.clone());
    incident.commander = detail.fields.commander.clone();
    incident.assignees = Some(detail.fields.assignees.clone());
    incident.linked_services = Some(detail.fields.linked_services.clone());
    incident.custom_fields = Some(serde_json::Value::Object(
        detail.fields.custom_fields.clone(),
    ));
    incident.action_items = Some(detail.action_items.iter().map(wire_action_item).collect());
    incident.alerts = Some(
        detail
            .alerts
            .iter()
            .map(|IncidentAlert { alert, dedup_key }| wire::Alert {
                id: alert.id.to_string(),
                dedup_key: dedup_key.clone(),
                status: alert.status.as_str().to_owned(),
                severity: alert.severity.clone(),
                event_count: alert.event_count,
                created_at: alert.created_at.to_string(),
                resolved_at: alert.resolved_at.map(|t| t.to_string()),
                service: None,
                incident: None,
                updated_at: None,
                payload: None,
            })
            .collect(),
    );
    incident.timeline = Some(
        detail
            .timeline
            .into_iter()
            .map(|entry: TimelineEntry| wire::TimelineEntry {
                seq: entry.seq,
                at: entry.at.to_string(),
                actor: entry.actor,
                kind: entry.kind,
                body: entry.body,
            })
            .collect(),
    );
    Ok(Json(incident))
}

pub async fn change_incident_status(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(body): ApiJson<wire::IncidentStatusChange>,
) -> ApiResult<StatusCode> {
    state
        .app
        .set_incident_status(
            &ctx,
            scope.scope(),
            number_param(&path.number)?,
            &body.status,
            body.message.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn update_incident(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(body): ApiJson<wire::IncidentUpdate>,
) -> ApiResult<StatusCode> {
    state
        .app
        .update_incident(
            &ctx,
            scope.scope(),
            number_param(&path.number)?,
            rampart_app::sre::incidents::IncidentPatch {
                title: body.title,
                description: body.description,
                severity: body.severity,
                commander: body.commander,
                assignees: body.assignees,
                linked_services: body.linked_services,
                custom_fields: body.custom_fields,
                expected: body
                    .expected
                    .map(|expected| rampart_app::sre::incidents::IncidentExpected {
                        title: expected.title,
                        description: expected.description,
                        severity: expected.severity,
                        commander: expected.commander,
                        assignees: expected.assignees,
                    })
                    .unwrap_or_default(),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_action_item(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(body): ApiJson<wire::ActionItemCreate>,
) -> ApiResult<(StatusCode, Json<wire::ActionItem>)> {
    let item = state
        .app
        .add_action_item(
            &ctx,
            scope.scope(),
            number_param(&path.number)?,
            &body.text,
            body.assignee.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_action_item(&item))))
}

pub async fn update_action_item(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ActionItemPath>,
    ApiJson(body): ApiJson<wire::ActionItemUpdate>,
) -> ApiResult<StatusCode> {
    let item = rampart_domain::parse_number(&path.item).ok_or(AppError::NotFound {
        what: "action item",
    })?;
    state
        .app
        .set_action_item_done(
            &ctx,
            scope.scope(),
            number_param(&path.number)?,
            item,
            body.done,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_incident_note(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(body): ApiJson<wire::IncidentNote>,
) -> ApiResult<StatusCode> {
    state
        .app
        .add_incident_note(&ctx, scope.scope(), number_param(&path.number)?, &body.text)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
