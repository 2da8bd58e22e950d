//! Plans of a workspace: one row per upload, listed newest first, read one at a time
//! with their sealed parts. Everything a plan holds arrives sealed (the JSON, its
//! summary with the JSON's digest, the binary plan file and its digest); this module
//! never sees plaintext.

use rampart_domain::iacm::plans::{ActionCounts, PlanStateRef, StoredPlan};
use rampart_domain::iacm::policy_sets::PolicyStatus;
use rampart_domain::{PlanId, WorkspaceId};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_id, get_optional_timestamp, get_timestamp, micros, number, parsed, signed,
};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const PLAN_COLUMNS: &str = "id, workspace_id, format_version, terraform_version, \
     json_size_bytes, add_count, change_count, replace_count, destroy_count, read_count, \
     no_op_count, forget_count, state_version, state_serial, state_lineage, state_sha256, \
     file_size_bytes, file_uploaded_at, policy_status, created_by, created_at";

/// A plan's sealed column: keyed by the plan id, the key owner is the workspace's
/// project, and the seal also names the workspace.
const fn plan_column(sealed_column: &'static str, optional: bool) -> SealedColumn {
    SealedColumn {
        table: "plans",
        id_column: "id",
        version_column: None,
        sealed_column,
        optional,
        owner: SealedOwner::Parent {
            table: "workspaces",
            foreign_key: "workspace_id",
            column: "project_id",
        },
        extra_columns: &["workspace_id"],
    }
}

/// The plan JSON as uploaded.
pub const PLAN_JSON: SealedColumn = plan_column("json_sealed", false);
/// The plan's summary (resources and outputs by action) with the JSON's SHA-256.
pub const PLAN_SUMMARY: SealedColumn = plan_column("summary_sealed", false);
/// The binary plan file, once uploaded.
pub const PLAN_FILE: SealedColumn = plan_column("file_sealed", true);
/// The binary plan file's SHA-256 (hex), once uploaded.
pub const PLAN_FILE_SHA256: SealedColumn = plan_column("file_sha256_sealed", true);

fn count(row: &AnyRow, column: &str) -> StoreResult<u64> {
    number(get(row, column)?, column)
}

fn optional_number(row: &AnyRow, column: &str) -> StoreResult<Option<u64>> {
    get::<Option<i64>>(row, column)?
        .map(|value| number(value, column))
        .transpose()
}

fn plan_from(row: &AnyRow) -> StoreResult<StoredPlan> {
    let state = match optional_number(row, "state_version")? {
        None => None,
        Some(version) => {
            let sha256: Vec<u8> = get::<Option<Vec<u8>>>(row, "state_sha256")?.unwrap_or_default();
            Some(PlanStateRef {
                version,
                serial: optional_number(row, "state_serial")?.unwrap_or(0),
                lineage: get::<Option<String>>(row, "state_lineage")?.unwrap_or_default(),
                sha256: sha256
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("state_sha256 is not 32 bytes".into()))?,
            })
        }
    };
    Ok(StoredPlan {
        id: get_id(row, "id")?,
        workspace_id: get_id(row, "workspace_id")?,
        format_version: get(row, "format_version")?,
        terraform_version: get(row, "terraform_version")?,
        json_size_bytes: count(row, "json_size_bytes")?,
        counts: ActionCounts {
            add: count(row, "add_count")?,
            change: count(row, "change_count")?,
            replace: count(row, "replace_count")?,
            destroy: count(row, "destroy_count")?,
            read: count(row, "read_count")?,
            no_op: count(row, "no_op_count")?,
            forget: count(row, "forget_count")?,
        },
        state,
        file_size_bytes: optional_number(row, "file_size_bytes")?,
        file_uploaded_at: get_optional_timestamp(row, "file_uploaded_at")?,
        policy_status: parsed(
            PolicyStatus::parse(&get::<String>(row, "policy_status")?).ok_or(()),
            "policy_status",
        )?,
        created_by: get(row, "created_by")?,
        created_at: get_timestamp(row, "created_at")?,
    })
}

/// Which sealed part of a plan to read with its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanPart {
    Json,
    Summary,
    File,
    FileSha256,
}

impl PlanPart {
    fn column(self) -> &'static str {
        match self {
            Self::Json => PLAN_JSON.sealed_column,
            Self::Summary => PLAN_SUMMARY.sealed_column,
            Self::File => PLAN_FILE.sealed_column,
            Self::FileSha256 => PLAN_FILE_SHA256.sealed_column,
        }
    }
}

impl Store {
    /// A workspace's plans newest first, a page at a time (the cursor is a plan id).
    pub async fn plans(
        &self,
        workspace: WorkspaceId,
        page: &PageRequest,
    ) -> StoreResult<Page<StoredPlan>> {
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM plans WHERE workspace_id = $1 \
             AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(plan_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |plan| {
            plan.id.to_string()
        }))
    }

    /// One plan of a workspace with the sealed parts asked for (`None` for a part not
    /// uploaded), or `None` when the workspace has no such plan.
    pub async fn plan(
        &self,
        workspace: WorkspaceId,
        plan: PlanId,
        parts: &[PlanPart],
    ) -> StoreResult<Option<(StoredPlan, Vec<Option<Vec<u8>>>)>> {
        let extra: String = parts
            .iter()
            .map(|part| format!(", {}", part.column()))
            .collect();
        let sql =
            format!("SELECT {PLAN_COLUMNS}{extra} FROM plans WHERE workspace_id = $1 AND id = $2");
        let Some(row) = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(plan.to_string())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let sealed = parts
            .iter()
            .map(|part| get::<Option<Vec<u8>>>(&row, part.column()))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((plan_from(&row)?, sealed)))
    }
}

/// A new plan's sealed parts.
pub struct SealedPlan {
    pub json: Vec<u8>,
    pub summary: Vec<u8>,
}

impl WriteTx {
    pub async fn insert_plan(&mut self, plan: &StoredPlan, sealed: &SealedPlan) -> StoreResult<()> {
        let state = plan.state.as_ref();
        sqlx::query(
            "INSERT INTO plans (id, workspace_id, format_version, terraform_version, \
             json_size_bytes, json_sealed, summary_sealed, add_count, change_count, \
             replace_count, destroy_count, read_count, no_op_count, forget_count, \
             state_version, state_serial, state_lineage, state_sha256, policy_status, \
             created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21)",
        )
        .bind(plan.id.to_string())
        .bind(plan.workspace_id.to_string())
        .bind(plan.format_version.clone())
        .bind(plan.terraform_version.clone())
        .bind(signed(plan.json_size_bytes)?)
        .bind(sealed.json.clone())
        .bind(sealed.summary.clone())
        .bind(signed(plan.counts.add)?)
        .bind(signed(plan.counts.change)?)
        .bind(signed(plan.counts.replace)?)
        .bind(signed(plan.counts.destroy)?)
        .bind(signed(plan.counts.read)?)
        .bind(signed(plan.counts.no_op)?)
        .bind(signed(plan.counts.forget)?)
        .bind(state.map(|state| signed(state.version)).transpose()?)
        .bind(state.map(|state| signed(state.serial)).transpose()?)
        .bind(state.map(|state| state.lineage.clone()))
        .bind(state.map(|state| state.sha256.to_vec()))
        .bind(plan.policy_status.as_str())
        .bind(plan.created_by.clone())
        .bind(micros(plan.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores a plan's binary file, only if it has none yet; false when it has one.
    pub async fn set_plan_file(
        &mut self,
        workspace: WorkspaceId,
        plan: PlanId,
        size_bytes: u64,
        file_sealed: &[u8],
        sha256_sealed: &[u8],
        uploaded_at: jiff::Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE plans SET file_size_bytes = $3, file_sealed = $4, file_sha256_sealed = $5, \
             file_uploaded_at = $6 WHERE workspace_id = $1 AND id = $2 AND file_sealed IS NULL",
        )
        .bind(workspace.to_string())
        .bind(plan.to_string())
        .bind(signed(size_bytes)?)
        .bind(file_sealed.to_vec())
        .bind(sha256_sealed.to_vec())
        .bind(micros(uploaded_at))
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
