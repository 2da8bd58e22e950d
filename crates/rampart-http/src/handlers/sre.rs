//! Services, integrations and incidents of a project; and the webhook endpoint
//! `POST /hooks/v1/{integration_id}`, mounted beside the route table because its
//! authentication is the integration's own (bearer `rmp_whk_` token, Basic, or an HMAC
//! signature), not an API token.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::sre::alerts::WebhookRequest;
use rampart_app::sre::incidents::{IncidentView, TimelineEntry};
use rampart_app::sre::integrations::{IntegrationCredential, IntegrationInput};
use rampart_app::sre::services::ServiceInput;
use rampart_app::{AppError, Ctx, RequestMeta};
use rampart_domain::sre::incident::{Integration, Service};
use rampart_domain::sre::payload::WEBHOOK_BODY_BYTES_MAX;

use super::access::id_param;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};

fn wire_service(service: &Service) -> wire::Service {
    wire::Service {
        id: service.id.to_string(),
        identifier: service.identifier.to_string(),
        name: service.name.to_string(),
        description: service.description.to_string(),
        auto_resolve: service.auto_resolve,
        created_at: service.created_at.to_string(),
        ownership: None,
    }
}

fn wire_ownership(
    ownership: rampart_app::sre::services::ServiceOwnership,
) -> wire::ServiceOwnership {
    wire::ServiceOwnership {
        owner_group: ownership.owner_group,
        subscribers: ownership.subscribers,
        tags: ownership.tags,
    }
}

fn wire_integration(integration: &Integration, service: &str) -> wire::Integration {
    wire::Integration {
        id: integration.id.to_string(),
        service: service.to_owned(),
        name: integration.name.to_string(),
        format: integration.format.as_str().to_owned(),
        auth_mode: integration.auth_mode.as_str().to_owned(),
        source_cidrs: integration.source_cidrs.clone(),
        rate_limit_per_minute: integration.rate_limit_per_minute,
        url_path: format!("/hooks/v1/{}", integration.id),
        created_at: integration.created_at.to_string(),
    }
}

fn wire_incident(
    view: &IncidentView,
    labels: &std::collections::BTreeMap<String, String>,
) -> wire::Incident {
    let incident = &view.incident;
    wire::Incident {
        id: incident.id.to_string(),
        number: incident.number,
        title: view.title.clone(),
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

pub async fn list_services(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Service>>> {
    let page = state
        .app
        .list_services(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.iter().map(wire_service).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ServiceCreate>,
) -> ApiResult<(StatusCode, Json<wire::Service>)> {
    let service = state
        .app
        .create_service(
            &ctx,
            scope.scope(),
            ServiceInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                auto_resolve: body.auto_resolve,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_service(&service))))
}

pub async fn get_service(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<Json<wire::Service>> {
    let service = state
        .app
        .service_at(scope.scope(), id_param(&params, "service"))
        .await?;
    let mut wired = wire_service(&service);
    wired.ownership = Some(wire_ownership(
        state.app.service_ownership(service.id).await?,
    ));
    Ok(Json(wired))
}

pub async fn set_service_ownership(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::ServiceOwnership>,
) -> ApiResult<Json<wire::ServiceOwnership>> {
    let ownership = state
        .app
        .set_service_ownership(
            &ctx,
            scope.scope(),
            id_param(&params, "service"),
            rampart_app::sre::services::ServiceOwnership {
                owner_group: body.owner_group,
                subscribers: body.subscribers,
                tags: body.tags,
            },
        )
        .await?;
    Ok(Json(wire_ownership(ownership)))
}

async fn labels_of(
    state: &AppState,
    scope: &rampart_app::platform::tenancy::ResolvedScope,
) -> ApiResult<std::collections::BTreeMap<String, String>> {
    match scope.scope().org_id() {
        Some(org) => Ok(state.app.severity_labels(org).await?),
        None => Ok(Default::default()),
    }
}

pub async fn get_severity_labels(
    State(state): State<AppState>,
    Extension(scope): Scope,
) -> ApiResult<Json<wire::SeverityLabels>> {
    Ok(Json(wire::SeverityLabels {
        labels: labels_of(&state, &scope).await?,
    }))
}

pub async fn set_severity_labels(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::SeverityLabels>,
) -> ApiResult<Json<wire::SeverityLabels>> {
    let labels = state
        .app
        .set_severity_labels(&ctx, scope.scope(), body.labels)
        .await?;
    Ok(Json(wire::SeverityLabels { labels }))
}

pub async fn list_integrations(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<Json<ListResponse<wire::Integration>>> {
    let service = id_param(&params, "service");
    let integrations = state.app.list_integrations(scope.scope(), service).await?;
    Ok(Json(ListResponse {
        items: integrations
            .iter()
            .map(|integration| wire_integration(integration, service))
            .collect(),
        next_cursor: None,
    }))
}

pub async fn create_integration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::IntegrationCreate>,
) -> ApiResult<(StatusCode, Json<wire::IntegrationCreated>)> {
    let service = id_param(&params, "service");
    let (integration, credential) = state
        .app
        .create_integration(
            &ctx,
            scope.scope(),
            service,
            IntegrationInput {
                name: body.name,
                format: body.format,
                auth_mode: body.auth_mode,
                source_cidrs: body.source_cidrs,
                rate_limit_per_minute: body.rate_limit_per_minute,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_created(&integration, service, credential)),
    ))
}

/// A new or rotated integration with its credential, shown once.
fn wire_created(
    integration: &Integration,
    service: &str,
    credential: IntegrationCredential,
) -> wire::IntegrationCreated {
    let mut created = wire::IntegrationCreated {
        integration: wire_integration(integration, service),
        token: None,
        username: None,
        password: None,
        secret: None,
    };
    match credential {
        IntegrationCredential::Bearer { token } => created.token = Some(token),
        IntegrationCredential::Basic { username, password } => {
            created.username = Some(username);
            created.password = Some(password);
        }
        IntegrationCredential::Hmac { secret } => created.secret = Some(secret),
    }
    created
}

pub async fn rotate_integration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<Json<wire::IntegrationCreated>> {
    let service = id_param(&params, "service");
    let (integration, credential) = state
        .app
        .rotate_integration_credential(
            &ctx,
            scope.scope(),
            service,
            id_param(&params, "integration"),
        )
        .await?;
    Ok(Json(wire_created(&integration, service, credential)))
}

pub async fn list_incidents(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Incident>>> {
    let page = state
        .app
        .list_incidents(scope.scope(), params.limit, params.cursor.as_deref())
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

fn number_param(params: &[(String, String)]) -> ApiResult<u64> {
    id_param(params, "number")
        .parse()
        .map_err(|_| AppError::NotFound { what: "incident" }.into())
}

pub async fn get_incident(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<Json<wire::Incident>> {
    let detail = state
        .app
        .get_incident(scope.scope(), number_param(&params)?)
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
    incident.action_items = Some(
        detail
            .action_items
            .iter()
            .map(|item| wire::ActionItem {
                item: item.seq,
                text: item.text.clone(),
                assignee: item.assignee.clone(),
                done: item.done,
                created_at: item.created_at.to_string(),
                updated_at: item.updated_at.to_string(),
            })
            .collect(),
    );
    incident.alerts = Some(
        detail
            .alerts
            .iter()
            .map(|alert| wire::Alert {
                id: alert.id.to_string(),
                dedup_key: alert.dedup_key.clone(),
                status: alert.status.as_str().to_owned(),
                severity: alert.severity.clone(),
                event_count: alert.event_count,
                created_at: alert.created_at.to_string(),
                resolved_at: alert.resolved_at.map(|t| t.to_string()),
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
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::IncidentStatusChange>,
) -> ApiResult<StatusCode> {
    state
        .app
        .set_incident_status(
            &ctx,
            scope.scope(),
            number_param(&params)?,
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
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::IncidentUpdate>,
) -> ApiResult<StatusCode> {
    state
        .app
        .update_incident(
            &ctx,
            scope.scope(),
            number_param(&params)?,
            rampart_app::sre::incidents::IncidentPatch {
                title: body.title,
                description: body.description,
                severity: body.severity,
                commander: body.commander,
                assignees: body.assignees,
                linked_services: body.linked_services,
                custom_fields: body.custom_fields,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_action_item(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::ActionItemCreate>,
) -> ApiResult<StatusCode> {
    state
        .app
        .add_action_item(
            &ctx,
            scope.scope(),
            number_param(&params)?,
            &body.text,
            body.assignee.as_deref(),
        )
        .await?;
    Ok(StatusCode::CREATED)
}

pub async fn update_action_item(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::ActionItemUpdate>,
) -> ApiResult<StatusCode> {
    let item = id_param(&params, "item")
        .parse()
        .map_err(|_| AppError::NotFound {
            what: "action item",
        })?;
    state
        .app
        .set_action_item_done(&ctx, scope.scope(), number_param(&params)?, item, body.done)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_incident_note(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::IncidentNote>,
) -> ApiResult<StatusCode> {
    state
        .app
        .add_incident_note(&ctx, scope.scope(), number_param(&params)?, &body.text)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /hooks/v1/{integration_id}`: 202 with what each event did.
pub async fn webhook(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    headers: HeaderMap,
    request_meta: Option<Extension<RequestMeta>>,
    body: Body,
) -> Response {
    let body = match axum::body::to_bytes(body, WEBHOOK_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a webhook body holds at most {WEBHOOK_BODY_BYTES_MAX} bytes"),
            )
            .into_response();
        }
    };
    let header_text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let request = WebhookRequest {
        integration_id: &integration_id,
        meta: request_meta.map(|m| m.0).unwrap_or_default(),
        authorization: header_text(header::AUTHORIZATION.as_str()),
        signature: header_text(rampart_app::sre::alerts::SIGNATURE_HEADER),
        body: &body,
    };
    match state.app.ingest_webhook(request).await {
        Ok(outcome) => (
            StatusCode::ACCEPTED,
            Json(wire::WebhookAccepted {
                status: "accepted".into(),
                alerts: outcome
                    .alerts
                    .into_iter()
                    .map(|alert| wire::WebhookAlert {
                        dedup_key: alert.dedup_key,
                        alert_id: alert.alert_id.map(|id| id.to_string()),
                        outcome: alert.outcome.to_owned(),
                        incident: alert.incident_number,
                    })
                    .collect(),
                truncated_alerts: outcome.truncated,
                dedup_key: outcome.generated_dedup_key,
            }),
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

fn wire_definition(record: &DefinitionRecord) -> wire::Definition {
    wire::Definition {
        id: record.id.clone(),
        identifier: record.identifier.to_string(),
        name: record.name.to_string(),
        definition: serde_json::from_str(&record.definition).unwrap_or(serde_json::Value::Null),
        created_at: record.created_at.to_string(),
        updated_at: record.updated_at.to_string(),
    }
}

use rampart_app::sre::oncall::{DefinitionKind, DefinitionRecord};

fn time_param(text: &str, field: &'static str) -> ApiResult<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().map_err(|_| {
        AppError::bad_request(
            if field == "at" {
                "invalid_at"
            } else {
                "invalid_range"
            },
            format!("{field} must be an RFC 3339 time"),
        )
        .into()
    })
}

macro_rules! definition_handlers {
    ($kind:expr, $param:literal, $list:ident, $create:ident, $get:ident, $replace:ident) => {
        pub async fn $list(
            State(state): State<AppState>,
            Extension(scope): Scope,
            ApiQuery(params): ApiQuery<ListParams>,
        ) -> ApiResult<Json<ListResponse<wire::Definition>>> {
            let page = state
                .app
                .list_definitions($kind, scope.scope(), params.limit, params.cursor.as_deref())
                .await?;
            Ok(Json(ListResponse {
                items: page.items.iter().map(wire_definition).collect(),
                next_cursor: page.next_cursor,
            }))
        }

        pub async fn $create(
            State(state): State<AppState>,
            Extension(ctx): Extension<Ctx>,
            Extension(scope): Scope,
            ApiJson(body): ApiJson<wire::DefinitionCreate>,
        ) -> ApiResult<(StatusCode, Json<wire::Definition>)> {
            let record = state
                .app
                .create_definition(
                    &ctx,
                    $kind,
                    scope.scope(),
                    &body.identifier,
                    &body.name,
                    &body.definition,
                )
                .await?;
            Ok((StatusCode::CREATED, Json(wire_definition(&record))))
        }

        pub async fn $get(
            State(state): State<AppState>,
            Extension(scope): Scope,
            Path(params): Path<Vec<(String, String)>>,
        ) -> ApiResult<Json<wire::Definition>> {
            let record = state
                .app
                .get_definition($kind, scope.scope(), id_param(&params, $param))
                .await?;
            Ok(Json(wire_definition(&record)))
        }

        pub async fn $replace(
            State(state): State<AppState>,
            Extension(ctx): Extension<Ctx>,
            Extension(scope): Scope,
            Path(params): Path<Vec<(String, String)>>,
            ApiJson(body): ApiJson<wire::DefinitionUpdate>,
        ) -> ApiResult<Json<wire::Definition>> {
            let record = state
                .app
                .replace_definition(
                    &ctx,
                    $kind,
                    scope.scope(),
                    id_param(&params, $param),
                    &body.name,
                    &body.definition,
                )
                .await?;
            Ok(Json(wire_definition(&record)))
        }
    };
}

definition_handlers!(
    DefinitionKind::Schedule,
    "schedule",
    list_schedules,
    create_schedule,
    get_schedule,
    replace_schedule
);
definition_handlers!(
    DefinitionKind::EscalationPolicy,
    "policy",
    list_policies,
    create_policy,
    get_policy,
    replace_policy
);

pub async fn on_call(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiQuery(query): ApiQuery<wire::OnCallQuery>,
) -> ApiResult<Json<wire::OnCall>> {
    let at = match &query.at {
        Some(text) => time_param(text, "at")?,
        None => state.app.now(),
    };
    let schedule = id_param(&params, "schedule");
    let user = state.app.on_call(scope.scope(), schedule, at).await?;
    Ok(Json(wire::OnCall {
        schedule: schedule.to_owned(),
        at: at.to_string(),
        user,
    }))
}

pub async fn schedule_timeline(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiQuery(query): ApiQuery<wire::RangeQuery>,
) -> ApiResult<Json<wire::OnCallTimeline>> {
    let schedule = id_param(&params, "schedule");
    let record = state
        .app
        .get_definition(DefinitionKind::Schedule, scope.scope(), schedule)
        .await?;
    let layer_names: Vec<String> =
        serde_json::from_str::<rampart_domain::sre::documents::ScheduleDoc>(&record.definition)
            .map(|doc| doc.layers.into_iter().map(|layer| layer.name).collect())
            .unwrap_or_default();
    let timeline = state
        .app
        .schedule_timeline(
            scope.scope(),
            schedule,
            time_param(&query.from, "from")?,
            time_param(&query.to, "to")?,
        )
        .await?;
    let segment = |s: &rampart_domain::sre::schedule::Segment| wire::OnCallSegment {
        start: s.start.to_string(),
        end: s.end.to_string(),
        user: s.user.clone(),
        source: s.source.map(|source| match source {
            rampart_domain::sre::schedule::Source::Override(_) => "override".to_owned(),
            rampart_domain::sre::schedule::Source::Layer(index) => format!(
                "layer:{}",
                layer_names.get(index).map(String::as_str).unwrap_or("")
            ),
        }),
    };
    Ok(Json(wire::OnCallTimeline {
        schedule: schedule.to_owned(),
        segments: timeline.segments.iter().map(segment).collect(),
        gaps: timeline.gaps().map(segment).collect(),
    }))
}

pub async fn schedule_ical(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiQuery(query): ApiQuery<wire::RangeQuery>,
) -> ApiResult<Response> {
    let ical = state
        .app
        .schedule_ical(
            scope.scope(),
            id_param(&params, "schedule"),
            time_param(&query.from, "from")?,
            time_param(&query.to, "to")?,
        )
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        ical,
    )
        .into_response())
}

pub async fn set_service_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::ServiceEscalationPolicy>,
) -> ApiResult<StatusCode> {
    state
        .app
        .set_service_escalation_policy(
            &ctx,
            scope.scope(),
            id_param(&params, "service"),
            body.escalation_policy.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn my_notifications(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Notification>>> {
    let page = state
        .app
        .my_notifications(&ctx, params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|n| wire::Notification {
                id: n.id.to_string(),
                kind: n.kind.clone(),
                project_id: n.project_id.to_string(),
                incident_id: n.incident_id.to_string(),
                incident_number: n.incident_number,
                level: n.level,
                round: n.round,
                created_at: n.created_at.to_string(),
                read_at: n.read_at.map(|t| t.to_string()),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn read_notification(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    state
        .app
        .mark_notification_read(&ctx, id_param(&params, "notification"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn wire_rules(rules: &[rampart_domain::sre::rules::AlertRule]) -> wire::AlertRules {
    wire::AlertRules {
        rules: serde_json::to_value(rules).unwrap_or(serde_json::Value::Null),
    }
}

pub async fn get_alert_rules(
    State(state): State<AppState>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<Json<wire::AlertRules>> {
    let rules = state
        .app
        .alert_rules(scope.scope(), id_param(&params, "service"))
        .await?;
    Ok(Json(wire_rules(&rules)))
}

pub async fn set_alert_rules(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::AlertRules>,
) -> ApiResult<Json<wire::AlertRules>> {
    let rules = state
        .app
        .set_alert_rules(
            &ctx,
            scope.scope(),
            id_param(&params, "service"),
            &body.rules,
        )
        .await?;
    Ok(Json(wire_rules(&rules)))
}

pub async fn update_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
    ApiJson(body): ApiJson<wire::ServiceUpdate>,
) -> ApiResult<Json<wire::Service>> {
    let service = state
        .app
        .update_service(
            &ctx,
            scope.scope(),
            id_param(&params, "service"),
            body.name.as_deref(),
            body.description.as_deref(),
            body.auto_resolve,
        )
        .await?;
    Ok(Json(wire_service(&service)))
}

pub async fn delete_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_service(&ctx, scope.scope(), id_param(&params, "service"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_integration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_integration(
            &ctx,
            scope.scope(),
            id_param(&params, "service"),
            id_param(&params, "integration"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_schedule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_definition(
            &ctx,
            DefinitionKind::Schedule,
            scope.scope(),
            id_param(&params, "schedule"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_definition(
            &ctx,
            DefinitionKind::EscalationPolicy,
            scope.scope(),
            id_param(&params, "policy"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
