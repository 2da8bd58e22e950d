//! A workspace's state versions through the API: a version's body (a verified read,
//! audited) and rollback. Terraform itself reads and writes state through
//! [`super::tf_backend`].

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_app::{Access, AppError, Ctx};
use rampart_domain::Permission;
use rampart_domain::Permission as P;
use rampart_domain::iacm::state_versions::StateVersion;

use super::workspaces::{WorkspacePath, workspace};
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, path_params};
use crate::routes::{RouteSpec, RouteTable, join_path};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A workspace's state versions: verified reads and rollback.
    const BASE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces";
    let path = |suffix| join_path(BASE, suffix);
    table.add(
        r(
            M::GET,
            path("/{workspace}/state-versions/{version}"),
            Access::PerResource(P::WorkspaceAccessState),
            "Download a state version, or `current` (audited)",
        )
        .text(&["application/json"]),
        download_state,
    );
    table.add(
        r(
            M::POST,
            path("/{workspace}/state-rollback"),
            Access::PerResource(P::WorkspaceRollbackState),
            "Roll forward to an old version's content",
        )
        .body::<wire::StateRollback>()
        .reply::<wire::StateVersion>(201),
        rollback_state,
    );
}

path_params! {
    /// `…/workspaces/{workspace}/state-versions/{version}`
    pub struct StateVersionPath { workspace, version }
}

pub(super) fn wire_version(row: &StateVersion) -> wire::StateVersion {
    wire::StateVersion {
        version: row.version,
        serial: row.serial,
        lineage: row.lineage.clone(),
        sha256: rampart_app::platform::audit_log::hex(&row.sha256),
        size_bytes: row.size_bytes,
        resource_count: row.resource_count,
        lock_id: row.lock_id.clone(),
        created_by: row.created_by.clone(),
        created_at: row.created_at.to_string(),
        reason: row.reason.clone(),
    }
}

fn version_param(text: &str) -> ApiResult<Option<u64>> {
    if text.is_empty() || text == "current" {
        return Ok(None);
    }
    rampart_domain::parse_number(text).map(Some).ok_or_else(|| {
        AppError::NotFound {
            what: "state version",
        }
        .into()
    })
}

/// The state body of one version (`current` for the newest), as stored.
pub async fn download_state(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<StateVersionPath>,
) -> ApiResult<Response> {
    let workspace = workspace(
        &state,
        &ctx,
        &scope,
        &path.workspace,
        Permission::WorkspaceView,
    )
    .await?;
    let (_, body) = state
        .app
        .read_state(&ctx, &workspace, version_param(&path.version)?)
        .await?
        .ok_or(AppError::NotFound {
            what: "state version",
        })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

pub async fn rollback_state(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiJson(body): ApiJson<wire::StateRollback>,
) -> ApiResult<(StatusCode, Json<wire::StateVersion>)> {
    let workspace = workspace(
        &state,
        &ctx,
        &scope,
        &path.workspace,
        Permission::WorkspaceView,
    )
    .await?;
    let version = state
        .app
        .rollback_state(&ctx, &workspace, body.version, &body.reason)
        .await?;
    let history = state.app.state_history(&workspace, Some(1), None).await?;
    let newest = history
        .items
        .iter()
        .find(|row| row.version == version)
        .ok_or(AppError::NotFound {
            what: "state version",
        })?;
    Ok((StatusCode::CREATED, Json(wire_version(newest))))
}
