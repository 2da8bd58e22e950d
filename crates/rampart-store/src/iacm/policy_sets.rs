//! Policy sets of organisations and projects, and what they decided about plans.
//!
//! A set's modules arrive as one sealed document (sealed with its scope's key); a
//! plan's results arrive with their messages and override reasons sealed with the plan's
//! project key. This module never sees Rego or messages in clear.

use rampart_domain::iacm::policy_sets::{
    Attachment, Enforcement, PolicyEntity, PolicyResult, PolicySet, PolicyStatus, SetOutcome,
};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, Name, OrgId, PlanId, PolicySetId, ProjectId, Slug};
use sqlx::any::AnyRow;

use crate::platform::access::{scope_columns, scope_from};
use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_flag, get_id, get_optional_timestamp, get_timestamp, micros, number, parsed, signed,
};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str = "id, org_id, project_id, identifier, name, description, entity, \
     enforcement, rego_syntax, input_shape, attach_kind, attach_values, enabled, version, \
     module_count, created_at, updated_at";

/// A policy set's modules (a JSON list of names and sources), sealed with the key of
/// the set's scope (its project, or its organisation), per version.
pub const POLICY_SET_MODULES: SealedColumn = SealedColumn {
    table: "policy_sets",
    id_column: "id",
    version_column: Some("version"),
    sealed_column: "modules_sealed",
    optional: false,
    owner: SealedOwner::Column("scope_key"),
    extra_columns: &[],
};

/// A plan's policy result's sealed column: keyed by (plan, seq), owned by the plan's
/// workspace's project; the seal also names the workspace.
const fn result_column(sealed_column: &'static str, optional: bool) -> SealedColumn {
    SealedColumn {
        table: "plan_policy_results",
        id_column: "plan_id",
        version_column: Some("seq"),
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

/// What each module of the set decided (messages quote the plan), or the error.
pub const POLICY_RESULT_MODULES: SealedColumn = result_column("modules_sealed", false);
/// The reason an override gave.
pub const POLICY_RESULT_OVERRIDE_REASON: SealedColumn =
    result_column("override_reason_sealed", true);

fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} holds an invalid value"))
}

fn policy_set_from(row: &AnyRow) -> StoreResult<PolicySet> {
    let values: Vec<String> = serde_json::from_str(&get::<String>(row, "attach_values")?)
        .map_err(|_| corrupt("attach_values"))?;
    Ok(PolicySet {
        id: get_id(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        entity: parsed(
            PolicyEntity::parse(&get::<String>(row, "entity")?),
            "entity",
        )?,
        enforcement: parsed(
            Enforcement::parse(&get::<String>(row, "enforcement")?),
            "enforcement",
        )?,
        rego_syntax: get(row, "rego_syntax")?,
        input_shape: get(row, "input_shape")?,
        attachment: parsed(
            Attachment::parse(&get::<String>(row, "attach_kind")?, &values),
            "attach_kind",
        )?,
        enabled: get_flag(row, "enabled")?,
        version: number(get(row, "version")?, "version")?,
        module_count: number(get(row, "module_count")?, "module_count")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn with_modules(row: &AnyRow) -> StoreResult<(PolicySet, Vec<u8>)> {
    Ok((policy_set_from(row)?, get(row, "modules_sealed")?))
}

const RESULT_COLUMNS: &str = "seq, policy_set_id, policy_set_identifier, policy_set_scope, \
     policy_set_version, enforcement, outcome, duration_us, evaluated_at, overridden_by, \
     overridden_at, modules_sealed, override_reason_sealed";

/// A stored result with its sealed parts: the modules' decisions, and the override's
/// reason once overridden.
pub type StoredPolicyResult = (PolicyResult, Vec<u8>, Option<Vec<u8>>);

fn result_from(row: &AnyRow) -> StoreResult<StoredPolicyResult> {
    let result = PolicyResult {
        seq: number(get(row, "seq")?, "seq")?,
        policy_set_id: get_id(row, "policy_set_id")?,
        policy_set_identifier: get(row, "policy_set_identifier")?,
        policy_set_scope: get(row, "policy_set_scope")?,
        policy_set_version: number(get(row, "policy_set_version")?, "policy_set_version")?,
        enforcement: parsed(
            Enforcement::parse(&get::<String>(row, "enforcement")?),
            "enforcement",
        )?,
        outcome: SetOutcome::parse(&get::<String>(row, "outcome")?)
            .ok_or_else(|| corrupt("outcome"))?,
        duration_us: number(get(row, "duration_us")?, "duration_us")?,
        evaluated_at: get_timestamp(row, "evaluated_at")?,
        overridden_by: get(row, "overridden_by")?,
        overridden_at: get_optional_timestamp(row, "overridden_at")?,
    };
    Ok((
        result,
        get(row, "modules_sealed")?,
        get(row, "override_reason_sealed")?,
    ))
}

impl Store {
    /// A policy set of `scope` with its sealed modules.
    pub async fn policy_set_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<(PolicySet, Vec<u8>)>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {COLUMNS}, modules_sealed FROM policy_sets \
             WHERE scope_key = $1 AND identifier = $2"
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(with_modules)
            .transpose()
    }

    /// The policy sets defined at `scope` (not those of its organisation), by id.
    pub async fn list_policy_sets(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<PolicySet>> {
        self.list_defined_at(
            "policy_sets",
            COLUMNS,
            scope,
            page,
            policy_set_from,
            |set| set.id.to_string(),
        )
        .await
    }

    /// The enabled sets checking `entity` that a workspace of project `project` could
    /// fall under: the organisation's and the project's, organisation's first, each by
    /// id (the caller applies their attachments).
    pub async fn policy_sets_checking(
        &self,
        org: OrgId,
        project: ProjectId,
        entity: PolicyEntity,
    ) -> StoreResult<Vec<(PolicySet, Vec<u8>)>> {
        let sql = format!(
            "SELECT {COLUMNS}, modules_sealed FROM policy_sets \
             WHERE org_id = $1 AND (project_id IS NULL OR project_id = $2) \
             AND entity = $3 AND enabled = 1 \
             ORDER BY CASE WHEN project_id IS NULL THEN 0 ELSE 1 END, id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(project.to_string())
            .bind(entity.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(with_modules).collect()
    }

    /// What the policy sets decided about a plan, in evaluation order.
    pub async fn plan_policy_results(&self, plan: PlanId) -> StoreResult<Vec<StoredPolicyResult>> {
        let sql = format!(
            "SELECT {RESULT_COLUMNS} FROM plan_policy_results WHERE plan_id = $1 ORDER BY seq"
        );
        let rows = sqlx::query(&sql)
            .bind(plan.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(result_from).collect()
    }
}

fn attach_values(set: &PolicySet) -> StoreResult<String> {
    serde_json::to_string(&set.attachment.values())
        .map_err(|error| StoreError::Internal(error.to_string()))
}

impl WriteTx {
    pub async fn insert_policy_set(&mut self, set: &PolicySet, modules: &[u8]) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(set.scope);
        sqlx::query(
            "INSERT INTO policy_sets (id, org_id, project_id, scope_key, identifier, name, \
             description, entity, enforcement, rego_syntax, input_shape, attach_kind, \
             attach_values, enabled, version, module_count, modules_sealed, created_at, \
             updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19)",
        )
        .bind(set.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(set.identifier.as_str())
        .bind(set.name.as_str())
        .bind(set.description.as_str())
        .bind(set.entity.as_str())
        .bind(set.enforcement.as_str())
        .bind(set.rego_syntax.clone())
        .bind(set.input_shape.clone())
        .bind(set.attachment.kind())
        .bind(attach_values(set)?)
        .bind(i64::from(set.enabled))
        .bind(signed(set.version)?)
        .bind(signed(set.module_count)?)
        .bind(modules.to_vec())
        .bind(micros(set.created_at))
        .bind(micros(set.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes a changed set (its version one above the stored one), only if the stored
    /// version is still `set.version - 1`: false when another change came first.
    pub async fn update_policy_set(
        &mut self,
        set: &PolicySet,
        modules: &[u8],
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE policy_sets SET name = $2, description = $3, enforcement = $4, \
             rego_syntax = $5, input_shape = $6, attach_kind = $7, attach_values = $8, \
             enabled = $9, version = $10, module_count = $11, modules_sealed = $12, \
             updated_at = $13 WHERE id = $1 AND version = $14",
        )
        .bind(set.id.to_string())
        .bind(set.name.as_str())
        .bind(set.description.as_str())
        .bind(set.enforcement.as_str())
        .bind(set.rego_syntax.clone())
        .bind(set.input_shape.clone())
        .bind(set.attachment.kind())
        .bind(attach_values(set)?)
        .bind(i64::from(set.enabled))
        .bind(signed(set.version)?)
        .bind(signed(set.module_count)?)
        .bind(modules.to_vec())
        .bind(micros(set.updated_at))
        .bind(signed(set.version.saturating_sub(1))?)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_policy_set(&mut self, id: PolicySetId) -> StoreResult<()> {
        sqlx::query("DELETE FROM policy_sets WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Stores what the sets decided about a new plan (each with its sealed decisions).
    pub async fn insert_plan_policy_results(
        &mut self,
        plan: PlanId,
        workspace: rampart_domain::WorkspaceId,
        results: &[(PolicyResult, Vec<u8>)],
    ) -> StoreResult<()> {
        for (result, modules) in results {
            sqlx::query(
                "INSERT INTO plan_policy_results (plan_id, seq, workspace_id, policy_set_id, \
                 policy_set_identifier, policy_set_scope, policy_set_version, enforcement, \
                 outcome, duration_us, modules_sealed, evaluated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(plan.to_string())
            .bind(signed(result.seq)?)
            .bind(workspace.to_string())
            .bind(result.policy_set_id.to_string())
            .bind(result.policy_set_identifier.clone())
            .bind(result.policy_set_scope.clone())
            .bind(signed(result.policy_set_version)?)
            .bind(result.enforcement.as_str())
            .bind(result.outcome.as_str())
            .bind(signed(result.duration_us)?)
            .bind(modules.clone())
            .bind(micros(result.evaluated_at))
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Records an override of result `seq` of a plan, only if it has none yet; false
    /// when another override came first.
    pub async fn override_plan_policy_result(
        &mut self,
        plan: PlanId,
        seq: u64,
        by: &str,
        reason_sealed: &[u8],
        at: jiff::Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE plan_policy_results SET overridden_by = $3, override_reason_sealed = $4, \
             overridden_at = $5 WHERE plan_id = $1 AND seq = $2 AND overridden_by IS NULL",
        )
        .bind(plan.to_string())
        .bind(signed(seq)?)
        .bind(by.to_owned())
        .bind(reason_sealed.to_vec())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn set_plan_policy_status(
        &mut self,
        plan: PlanId,
        status: PolicyStatus,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE plans SET policy_status = $2 WHERE id = $1")
            .bind(plan.to_string())
            .bind(status.as_str())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
