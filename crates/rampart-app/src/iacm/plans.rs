//! Plans of a workspace: upload (`terraform show -json PLANFILE`, and optionally the
//! binary plan file kept for a later apply), history, summary, the masked view and raw
//! downloads.
//!
//! Everything a plan holds is sealed with the project's key ring ([`App::seal_value`];
//! AAD: the project, entity `plan`, `{workspace id}/{plan id}` and the field), so a
//! plan's parts copied to another plan or workspace do not open. SHA-256 digests of the
//! JSON and of the binary file are computed on upload and kept sealed too (inside the
//! sealed summary; beside the sealed file): a digest in clear would let anyone who
//! reads the database confirm a guessed plan body. The API returns them opened.
//!
//! Permissions, per workspace: `workspace:plan` uploads; `workspace:view` lists and
//! reads summaries and the masked view; `workspace:access_state` downloads the raw JSON
//! or file (plans hold the same secrets as states), and every download is audited.
//!
//! On upload, the policy sets checking plans that apply to the workspace are evaluated
//! ([`App::evaluate_policies`]) and their results stored with the plan, in the same
//! transaction; the plan's `policy_status` sums them up.

use rampart_domain::iacm::plans::{
    Plan, PlanError, PlanStateRef, PlanSummary, StateAssertion, StoredPlan, mask_plan_document,
};
use rampart_domain::iacm::policy_sets::{PolicyEntity, PolicyStatus};
use rampart_domain::iacm::workspaces::Workspace;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{ErrorCode, Permission, PlanId};
use rampart_store::Page;
use rampart_store::iacm::plans::{
    PLAN_FILE, PLAN_FILE_SHA256, PLAN_JSON, PLAN_SUMMARY, PlanPart, SealedPlan,
};
use rampart_store::sealed::SealedCell;
use serde_json::{Value, json};

use super::policy_sets::Subject;
use crate::sealing::{Resealer, SealContext, SealedPlace};
use crate::{App, AppError, AppResult, Ctx, mint};

/// The sealed parts of plans, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: PLAN_JSON,
        reseal: |resealer, owner, cell| reseal_plan_part(resealer, owner, cell, "json"),
    },
    SealedPlace {
        column: PLAN_SUMMARY,
        reseal: |resealer, owner, cell| reseal_plan_part(resealer, owner, cell, "summary"),
    },
    SealedPlace {
        column: PLAN_FILE,
        reseal: |resealer, owner, cell| reseal_plan_part(resealer, owner, cell, "file"),
    },
    SealedPlace {
        column: PLAN_FILE_SHA256,
        reseal: |resealer, owner, cell| reseal_plan_part(resealer, owner, cell, "file_sha256"),
    },
];

fn reseal_plan_part(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
    field: &'static str,
) -> AppResult<Option<Vec<u8>>> {
    let workspace = cell
        .extra("workspace_id")
        .ok_or_else(|| AppError::Integrity(format!("plan {} has no workspace", cell.id)))?;
    let entity = plan_entity_text(workspace, &cell.id);
    resealer.reseal(&plan_place(owner, &entity, field), &cell.sealed)
}

pub(crate) fn plan_entity_text(workspace: &str, plan: &str) -> String {
    format!("{workspace}/{plan}")
}

/// Where a part (`json`, `summary`, `file`, `file_sha256`) of a plan is sealed.
pub(crate) fn plan_place<'a>(
    owner: &'a str,
    entity: &'a str,
    field: &'static str,
) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "plan",
        entity_id: entity,
        field,
        version: 0,
    }
}

fn plan_not_found() -> AppError {
    AppError::NotFound { what: "plan" }
}

fn plan_error(error: PlanError) -> AppError {
    let code = match error {
        PlanError::Invalid(_) => ErrorCode::InvalidPlan,
        PlanError::UnsupportedFormat(_) => ErrorCode::PlanFormatUnsupported,
    };
    AppError::bad_request(code, error.to_string())
}

fn too_large(what: &str, limit: usize) -> AppError {
    AppError::TooLarge {
        code: ErrorCode::BodyTooLarge,
        message: format!("{what} holds at most {limit} bytes"),
    }
}

/// A plan id from a path: the one UUID form, or nothing (404).
fn plan_id(text: &str) -> AppResult<PlanId> {
    rampart_domain::parse_uuid(text)
        .map(PlanId::from_uuid)
        .ok_or_else(plan_not_found)
}

/// What the sealed `summary` column holds: the summary and the JSON's digest (hex).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSummary {
    json_sha256: String,
    summary: PlanSummary,
}

/// A plan's summary with what is kept sealed beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanDetails {
    pub summary: PlanSummary,
    /// SHA-256 of the plan JSON as uploaded.
    pub json_sha256: String,
    /// SHA-256 of the binary plan file, once uploaded.
    pub file_sha256: Option<String>,
}

impl App {
    /// Uploads a plan to workspace `identifier`: checks it is a plan
    /// ([`Plan::parse`]), records the state version it was made against (the
    /// workspace's current one; `assertion`, when given, must match it: 409
    /// `plan_state_mismatch` otherwise), seals the JSON and its summary and stores them
    /// with the audit event in one transaction. Needs `workspace:plan`.
    pub async fn upload_plan(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        body: &[u8],
        assertion: StateAssertion,
    ) -> AppResult<StoredPlan> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let limit = self.settings().plan_json_bytes_max;
        if body.len() > limit {
            return Err(too_large("a plan's JSON", limit));
        }
        if rampart_domain::json_has_nul(body) {
            return Err(AppError::bad_request(
                ErrorCode::NulCharacter,
                "the plan must not contain a NUL character (\\u0000)",
            ));
        }
        // Parsing a large plan is CPU work: off the async workers.
        // The copy comes back for the policy sets, which read it on the blocking pool too.
        let owned = std::sync::Arc::new(body.to_vec());
        let (plan, owned) = tokio::task::spawn_blocking(move || (Plan::parse(&owned), owned))
            .await
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let plan = plan.map_err(plan_error)?;
        let summary = plan.summary();
        let json_sha256 = rampart_crypto::digest::sha256(body);

        // The policy sets that apply decide now (a plan checked later could meet other
        // sets); their results are stored with the plan, whatever they say: a blocked
        // plan is kept, marked, so the history shows what was refused.
        let evaluated = self
            .evaluate_policies(&workspace, PolicyEntity::Plan, Subject::PlanJson(owned))
            .await?;
        let policy_status = PolicyStatus::of(evaluated.iter().map(|evaluated| {
            (
                evaluated.result.enforcement,
                evaluated.result.outcome,
                false,
            )
        }));

        let now = self.now();
        let id = mint(now, PlanId::mint)?;
        let owner = workspace.project_id.to_string();
        let entity = plan_entity_text(&workspace.id.to_string(), &id.to_string());
        let stored_summary = serde_json::to_vec(&StoredSummary {
            json_sha256: rampart_crypto::digest::hex(&json_sha256),
            summary: summary.clone(),
        })
        .map_err(|error| AppError::Internal(error.to_string()))?;
        // Sealing may create the project's key ring in a write of its own: before the
        // transaction.
        let sealer = self.sealer(&owner).await?;
        let sealed = SealedPlan {
            json: sealer.seal(&plan_place(&owner, &entity, "json"), body)?,
            summary: sealer.seal(&plan_place(&owner, &entity, "summary"), &stored_summary)?,
        };
        let results = self.seal_plan_results(&workspace, id, &evaluated).await?;

        let mut tx = self.store().write().await?;
        tx.lock_workspace(workspace.id).await?;
        let state = tx
            .latest_state_version(workspace.id)
            .await?
            .map(|row| PlanStateRef {
                version: row.version,
                serial: row.serial,
                lineage: row.lineage,
                sha256: row.sha256,
            });
        if let Err(message) = assertion.check(state.as_ref()) {
            tx.rollback().await?;
            return Err(AppError::conflict(ErrorCode::PlanStateMismatch, message));
        }
        let stored = StoredPlan {
            id,
            workspace_id: workspace.id,
            format_version: plan.format_version.clone(),
            terraform_version: plan.terraform_version.clone(),
            json_size_bytes: body.len() as u64,
            counts: summary.counts,
            state,
            file_size_bytes: None,
            file_uploaded_at: None,
            policy_status,
            created_by: ctx.actor.actor_text(),
            created_at: now,
        };
        tx.insert_plan(&stored, &sealed).await?;
        tx.insert_plan_policy_results(id, workspace.id, &results)
            .await?;
        tx.commit(
            ctx.audit(now, "plan.upload", "plan")
                .scope(scope)
                .resource_id(id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "format_version": stored.format_version,
                    "terraform_version": stored.terraform_version,
                    "size_bytes": stored.json_size_bytes,
                    "counts": summary.counts,
                    "state_serial": stored.state.as_ref().map(|state| state.serial),
                    "policy_status": policy_status.as_str(),
                    "policy_results": evaluated.iter().map(|evaluated| json!({
                        "policy_set": evaluated.result.policy_set_identifier,
                        "enforcement": evaluated.result.enforcement.as_str(),
                        "outcome": evaluated.result.outcome.as_str(),
                    })).collect::<Vec<_>>(),
                }))
                .build(),
        )
        .await?;
        Ok(stored)
    }

    /// Stores the binary plan file of a plan (`terraform plan -out`), once: the same
    /// bytes again change nothing; other bytes are refused (409 `plan_file_exists`).
    /// Needs `workspace:plan`.
    pub async fn upload_plan_file(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
        body: &[u8],
    ) -> AppResult<StoredPlan> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let limit = self.settings().plan_file_bytes_max;
        if body.len() > limit {
            return Err(too_large("a binary plan file", limit));
        }
        if body.is_empty() {
            return Err(AppError::bad_request(
                ErrorCode::InvalidBody,
                "the plan file is empty (send the file `terraform plan -out` wrote)",
            ));
        }
        let id = plan_id(plan)?;
        let (stored, parts) = self
            .store()
            .plan(workspace.id, id, &[PlanPart::FileSha256])
            .await?
            .ok_or_else(plan_not_found)?;
        let sha256 = rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(body));
        let owner = workspace.project_id.to_string();
        let entity = plan_entity_text(&workspace.id.to_string(), &id.to_string());
        if let Some(Some(existing)) = parts.first() {
            return self
                .same_file_again(&owner, &entity, existing, &sha256, stored)
                .await;
        }
        let sealer = self.sealer(&owner).await?;
        let file_sealed = sealer.seal(&plan_place(&owner, &entity, "file"), body)?;
        let sha_sealed = sealer.seal(
            &plan_place(&owner, &entity, "file_sha256"),
            sha256.as_bytes(),
        )?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx
            .set_plan_file(
                workspace.id,
                id,
                body.len() as u64,
                &file_sealed,
                &sha_sealed,
                now,
            )
            .await?
        {
            // Another upload came first.
            tx.rollback().await?;
            return Err(AppError::conflict(
                ErrorCode::PlanFileExists,
                "this plan already has its binary plan file",
            ));
        }
        tx.commit(
            ctx.audit(now, "plan.upload_file", "plan")
                .scope(scope)
                .resource_id(id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "size_bytes": body.len(),
                }))
                .build(),
        )
        .await?;
        Ok(StoredPlan {
            file_size_bytes: Some(body.len() as u64),
            file_uploaded_at: Some(now),
            ..stored
        })
    }

    /// A file uploaded again: the same bytes are a retry, other bytes a conflict.
    async fn same_file_again(
        &self,
        owner: &str,
        entity: &str,
        existing: &[u8],
        sha256: &str,
        stored: StoredPlan,
    ) -> AppResult<StoredPlan> {
        let opened = self
            .open_sealed(&plan_place(owner, entity, "file_sha256"), existing)
            .await?;
        if rampart_crypto::digest::constant_time_eq(&opened, sha256.as_bytes()) {
            return Ok(stored);
        }
        Err(AppError::conflict(
            ErrorCode::PlanFileExists,
            "this plan already has a different binary plan file; upload a new plan",
        ))
    }

    /// A workspace's plans, newest first. Needs `workspace:view`.
    pub async fn list_plans(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<StoredPlan>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().plans(workspace.id, &page).await?)
    }

    /// A plan with its summary and digests. Needs `workspace:view`.
    pub async fn plan_details(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
    ) -> AppResult<(StoredPlan, PlanDetails)> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let id = plan_id(plan)?;
        let (stored, parts) = self
            .store()
            .plan(workspace.id, id, &[PlanPart::Summary, PlanPart::FileSha256])
            .await?
            .ok_or_else(plan_not_found)?;
        let owner = workspace.project_id.to_string();
        let entity = plan_entity_text(&workspace.id.to_string(), &id.to_string());
        let opener = self.opener(&owner).await?;
        let mut parts = parts.into_iter();
        let summary_sealed = parts
            .next()
            .flatten()
            .ok_or_else(|| AppError::Integrity(format!("plan {id} has no summary")))?;
        let opened = opener.open(&plan_place(&owner, &entity, "summary"), &summary_sealed)?;
        let StoredSummary {
            json_sha256,
            summary,
        } = serde_json::from_slice(&opened)
            .map_err(|_| AppError::Integrity(format!("plan {id}'s summary does not read")))?;
        let file_sha256 = match parts.next().flatten() {
            None => None,
            Some(sealed) => {
                let opened = opener.open(&plan_place(&owner, &entity, "file_sha256"), &sealed)?;
                Some(String::from_utf8_lossy(&opened).into_owned())
            }
        };
        Ok((
            stored,
            PlanDetails {
                summary,
                json_sha256,
                file_sha256,
            },
        ))
    }

    /// The plan JSON with every sensitive value masked
    /// ([`rampart_domain::iacm::plans::masked_plan`]). Needs `workspace:view`.
    pub async fn masked_plan(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
    ) -> AppResult<Value> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        self.masked_plan_document(&workspace, plan).await
    }

    /// A plan of `workspace` with every value the plan marks sensitive masked, and
    /// every sensitive variable value of the workspace too.
    pub(crate) async fn masked_plan_document(
        &self,
        workspace: &Workspace,
        plan: &str,
    ) -> AppResult<Value> {
        let body = self.open_plan_part(workspace, plan, PlanPart::Json).await?;
        // Terraform masks the variables the configuration declares sensitive; the
        // workspace's sensitive variables are masked too, declared or not.
        let secrets = self.sensitive_values(workspace).await?;
        tokio::task::spawn_blocking(move || {
            let mut document: Value = serde_json::from_slice(&body)
                .map_err(|_| AppError::Integrity("a stored plan is not JSON".into()))?;
            mask_plan_document(&mut document);
            let secrets: Vec<&str> = secrets.iter().map(|secret| secret.as_str()).collect();
            rampart_domain::iacm::variables::mask_json(&mut document, &secrets);
            Ok::<Value, AppError>(document)
        })
        .await
        .map_err(|error| AppError::Internal(error.to_string()))?
    }

    /// The plan JSON as uploaded (`PlanPart::Json`) or the binary plan file
    /// (`PlanPart::File`). Needs `workspace:access_state`; audited.
    pub async fn download_plan(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
        file: bool,
    ) -> AppResult<Vec<u8>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceAccessState)
            .await?;
        let part = if file { PlanPart::File } else { PlanPart::Json };
        let body = self.open_plan_part(&workspace, plan, part).await?;
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "plan.download", "plan")
                    .scope(scope)
                    .resource_id(plan)
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "part": if file { "file" } else { "json" },
                    }))
                    .build(),
            )
            .await?;
        Ok(body)
    }

    /// Plan `plan` of `workspace` with the sealed parts asked for; 404 when it has none.
    pub(crate) async fn plan_in(
        &self,
        workspace: &Workspace,
        plan: &str,
        parts: &[PlanPart],
    ) -> AppResult<(StoredPlan, Vec<Option<Vec<u8>>>)> {
        let id = plan_id(plan)?;
        self.store()
            .plan(workspace.id, id, parts)
            .await?
            .ok_or_else(plan_not_found)
    }

    pub(crate) async fn open_plan_part(
        &self,
        workspace: &Workspace,
        plan: &str,
        part: PlanPart,
    ) -> AppResult<Vec<u8>> {
        let id = plan_id(plan)?;
        let (_, parts) = self.plan_in(workspace, plan, &[part]).await?;
        let (field, missing) = match part {
            PlanPart::File => ("file", AppError::NotFound { what: "plan file" }),
            _ => ("json", plan_not_found()),
        };
        let sealed = parts.into_iter().next().flatten().ok_or(missing)?;
        let owner = workspace.project_id.to_string();
        let entity = plan_entity_text(&workspace.id.to_string(), &id.to_string());
        Ok(self
            .open_sealed(&plan_place(&owner, &entity, field), &sealed)
            .await?
            .to_vec())
    }
}
