//! The audit log: query, export (streamed NDJSON or CSV) and the public key, at account,
//! organisation and project scope.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::ListResponse;
use rampart_api::platform as wire;
use rampart_app::platform::audit_log::{AuditQuery, ExportFormat};
use rampart_app::{AppError, Ctx};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::routes::{LIMIT, NUMBER_CURSOR, QueryParam as Q, RouteSpec, RouteTable, Shape, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // The audit log at each scope: an organisation or project sees its own events.
    const SINCE: Q = Q::optional("since", "RFC 3339 time: events at or after", Shape::Time);
    const UNTIL: Q = Q::optional("until", "RFC 3339 time: events before", Shape::Time);
    const ACTOR: Q = Q::optional("actor", "user:<id> or service_account:<id>", Shape::Text);
    const ACTION: Q = Q::optional("action", "e.g. org.create", Shape::Text);
    const RESOURCE_TYPE: Q = Q::optional("resource_type", "e.g. organization", Shape::Text);
    const RESOURCE_ID: Q = Q::optional("resource_id", "one resource's id", Shape::Text);
    const OUTCOME: Q = Q::optional(
        "outcome",
        "success, failure or denied",
        Shape::OneOf(&["success", "failure", "denied"]),
    );
    const AUDIT_LIST_QUERY: &[Q] = &[
        SINCE,
        UNTIL,
        ACTOR,
        ACTION,
        RESOURCE_TYPE,
        RESOURCE_ID,
        OUTCOME,
        LIMIT,
        NUMBER_CURSOR,
    ];
    const AUDIT_EXPORT_QUERY: &[Q] = &[
        Q::optional(
            "format",
            "ndjson (default: entries, checkpoints, proofs) or csv",
            Shape::OneOf(&["ndjson", "csv"]),
        ),
        SINCE,
        UNTIL,
        ACTOR,
        ACTION,
        RESOURCE_TYPE,
        RESOURCE_ID,
        OUTCOME,
    ];
    for (events, export) in [
        ("/api/v1/audit-events", "/api/v1/audit-events/export"),
        (
            "/api/v1/orgs/{org}/audit-events",
            "/api/v1/orgs/{org}/audit-events/export",
        ),
        (
            "/api/v1/orgs/{org}/projects/{project}/audit-events",
            "/api/v1/orgs/{org}/projects/{project}/audit-events/export",
        ),
    ] {
        table.add(
            r(
                M::GET,
                events,
                perm(P::AuditView),
                "Query audit events here, newest first",
            )
            .page::<wire::AuditEvent>()
            .query(AUDIT_LIST_QUERY),
            list_audit_events,
        );
        table.add(
            r(
                M::GET,
                export,
                perm(P::AuditExport),
                "Export audit events (signs a checkpoint; NDJSON with proofs, or CSV)",
            )
            .text(&["application/x-ndjson", "text/csv"])
            .query(AUDIT_EXPORT_QUERY),
            export_audit_events,
        );
    }
    table.add(
        r(
            M::GET,
            "/api/v1/audit-events/public-key",
            perm(P::AuditView),
            "The audit log's Ed25519 public key",
        )
        .reply::<wire::AuditPublicKey>(200),
        audit_public_key,
    );

    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/audit-retention",
            perm(P::AuditView),
            "How long this organisation's audit events keep their bodies",
        )
        .reply::<wire::AuditRetention>(200),
        get_audit_retention,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/orgs/{org}/audit-retention",
            perm(P::OrgEdit),
            "Set audit retention (pruned events keep their hashes)",
        )
        .step_up()
        .body::<wire::AuditRetention>()
        .reply::<wire::AuditRetention>(200),
        set_audit_retention,
    );
}

fn query_of(params: &wire::AuditParams) -> AuditQuery {
    AuditQuery {
        since: params.since.clone(),
        until: params.until.clone(),
        actor: params.actor.clone(),
        action: params.action.clone(),
        resource_type: params.resource_type.clone(),
        resource_id: params.resource_id.clone(),
        outcome: params.outcome.clone(),
    }
}

pub async fn list_audit_events(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<wire::AuditParams>,
) -> ApiResult<Json<ListResponse<wire::AuditEvent>>> {
    if params.format.is_some() {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "format applies to the export route only",
        )
        .into());
    }
    Ok(Json(
        audit_page(
            &state,
            &ctx,
            scope.scope(),
            &query_of(&params),
            params.limit,
            params.cursor.as_deref(),
        )
        .await?,
    ))
}

/// One page of audit events in their wire shape (the web UI's audit page reads it too).
pub async fn audit_page(
    state: &AppState,
    ctx: &Ctx,
    scope: rampart_domain::platform::tenancy::Scope,
    query: &AuditQuery,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> ApiResult<ListResponse<wire::AuditEvent>> {
    let page = state
        .app
        .list_audit_events(ctx, scope, query, limit, cursor)
        .await?;
    Ok(ListResponse {
        // The one audit-event shape (`rampart_store::AuditEvent`) to its wire type. The
        // app lists only events that still have their body, so `?` drops nothing.
        items: page
            .items
            .into_iter()
            .filter_map(|event| {
                let record = event.record?;
                Some(wire::AuditEvent {
                    index: event.index,
                    id: record.id,
                    occurred_at: record.occurred_at.to_string(),
                    actor: record.actor,
                    auth_method: record.auth_method,
                    token_id: record.token_id,
                    client_ip: record.client_ip,
                    org_id: record.org_id,
                    project_id: record.project_id,
                    action: record.action,
                    resource_type: record.resource_type,
                    resource_id: record.resource_id,
                    outcome: record.outcome,
                    request_id: record.request_id,
                    details: serde_json::from_str(&record.details).unwrap_or_default(),
                })
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn audit_public_key(State(state): State<AppState>) -> Json<wire::AuditPublicKey> {
    Json(wire::AuditPublicKey {
        public_key: rampart_app::platform::audit_log::hex(&state.app.audit_public_key()),
        algorithm: "ed25519".into(),
    })
}

/// Streams the export. Errors found before the first line (bad filters, an empty log)
/// are ordinary error responses; a failure after that aborts the stream, so a client
/// never mistakes a cut-off export for a whole one.
pub async fn export_audit_events(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<wire::AuditParams>,
) -> ApiResult<Response> {
    let format = match params.format.as_deref() {
        None | Some("ndjson") => ExportFormat::Ndjson,
        Some("csv") => ExportFormat::Csv,
        Some(_) => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidFormat,
                "format must be ndjson or csv",
            )
            .into());
        }
    };
    if params.limit.is_some() || params.cursor.is_some() {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "an export is not paginated: limit and cursor do not apply",
        )
        .into());
    }
    state.app.authorize_audit_export(&ctx, scope.scope())?;
    let (sink, mut lines) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let app = state.app.clone();
    let query = query_of(&params);
    let scope_value = scope.scope();
    let mut exporter = tokio::spawn(async move {
        app.write_audit_export(&ctx, scope_value, &query, format, sink)
            .await
    });
    // Wait for the first line or for the export to end before it wrote one.
    enum Start {
        Line(Option<Vec<u8>>),
        Ended(Result<rampart_app::AppResult<()>, tokio::task::JoinError>),
    }
    let start = tokio::select! {
        line = lines.recv() => Start::Line(line),
        finished = &mut exporter => Start::Ended(finished),
    };
    let (first, exporter) = match start {
        Start::Line(Some(line)) => (Some(line), Some(exporter)),
        // The sink closed before a line: the export has ended (a refused filter drops
        // the sink first and may win this race); its result decides the answer, so a bad
        // request is a 400, never a cut-off 200.
        Start::Line(None) => match exporter.await {
            Ok(Ok(())) => (None, None),
            Ok(Err(error)) => return Err(error.into()),
            Err(error) => return Err(AppError::Internal(error.to_string()).into()),
        },
        Start::Ended(Ok(Ok(()))) => (lines.recv().await, None),
        Start::Ended(Ok(Err(error))) => return Err(error.into()),
        Start::Ended(Err(error)) => return Err(AppError::Internal(error.to_string()).into()),
    };
    let stream = futures_util::stream::unfold(
        (first, lines, exporter),
        |(pending, mut lines, exporter)| async move {
            if let Some(chunk) = pending {
                let next = lines.recv().await;
                return Some((Ok(Bytes::from(chunk)), (next, lines, exporter)));
            }
            let exporter = exporter?;
            match exporter.await {
                Ok(Ok(())) => None,
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "audit export failed mid-stream");
                    Some((
                        Err(std::io::Error::other("the export failed")),
                        (None, lines, None),
                    ))
                }
                Err(error) => {
                    tracing::error!(error = %error, "audit export task failed");
                    Some((
                        Err(std::io::Error::other("the export failed")),
                        (None, lines, None),
                    ))
                }
            }
        },
    );
    let (content_type, extension) = match format {
        ExportFormat::Ndjson => ("application/x-ndjson", "ndjson"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"rampart-audit.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

fn org_of(
    scope: &rampart_app::platform::tenancy::ResolvedScope,
) -> ApiResult<rampart_domain::OrgId> {
    match scope {
        rampart_app::platform::tenancy::ResolvedScope::Org(org) => Ok(org.id),
        _ => Err(AppError::NotFound {
            what: "organization",
        }
        .into()),
    }
}

pub async fn get_audit_retention(
    State(state): State<AppState>,
    Extension(scope): Scope,
) -> ApiResult<Json<wire::AuditRetention>> {
    let days = state.app.audit_retention(&org_of(&scope)?).await?;
    Ok(Json(wire::AuditRetention { days }))
}

pub async fn set_audit_retention(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    crate::extract::ApiJson(body): crate::extract::ApiJson<wire::AuditRetention>,
) -> ApiResult<Json<wire::AuditRetention>> {
    let days = state
        .app
        .set_audit_retention(&ctx, org_of(&scope)?, body.days)
        .await?;
    Ok(Json(wire::AuditRetention { days }))
}
