//! Forward-only migrations, one list per engine, applied at start.
//!
//! Each migration is recorded with a SHA-256-free but stable checksum (its length and
//! FNV-1a hash) so that an edited, already-applied migration is detected. A database
//! that has migrations this binary does not know (it was upgraded by a newer binary) is
//! refused rather than run against. On PostgreSQL an advisory lock keeps two replicas
//! starting at once from migrating twice.

use sqlx::{Executor, Row};

use crate::{Engine, Store, StoreError, StoreResult};

#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS_SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "platform",
        sql: include_str!("../migrations/sqlite/0001_platform.sql"),
    },
    Migration {
        version: 2,
        name: "access",
        sql: include_str!("../migrations/sqlite/0002_access.sql"),
    },
    Migration {
        version: 3,
        name: "token_cidrs",
        sql: include_str!("../migrations/sqlite/0003_token_cidrs.sql"),
    },
    Migration {
        version: 4,
        name: "audit_log",
        sql: include_str!("../migrations/sqlite/0004_audit_log.sql"),
    },
    Migration {
        version: 5,
        name: "keys_secrets",
        sql: include_str!("../migrations/sqlite/0005_keys_secrets.sql"),
    },
    Migration {
        version: 6,
        name: "ip_allowlists",
        sql: include_str!("../migrations/sqlite/0006_ip_allowlists.sql"),
    },
    Migration {
        version: 7,
        name: "workspaces",
        sql: include_str!("../migrations/sqlite/0007_workspaces.sql"),
    },
    Migration {
        version: 8,
        name: "sre",
        sql: include_str!("../migrations/sqlite/0008_sre.sql"),
    },
    Migration {
        version: 9,
        name: "oncall",
        sql: include_str!("../migrations/sqlite/0009_oncall.sql"),
    },
    Migration {
        version: 10,
        name: "alert_rules",
        sql: include_str!("../migrations/sqlite/0010_alert_rules.sql"),
    },
    Migration {
        version: 11,
        name: "incident_fields",
        sql: include_str!("../migrations/sqlite/0011_incident_fields.sql"),
    },
    Migration {
        version: 12,
        name: "service_ownership",
        sql: include_str!("../migrations/sqlite/0012_service_ownership.sql"),
    },
    Migration {
        version: 13,
        name: "incident_description",
        sql: include_str!("../migrations/sqlite/0013_incident_description.sql"),
    },
    Migration {
        version: 14,
        name: "incident_integrity",
        sql: include_str!("../migrations/sqlite/0014_incident_integrity.sql"),
    },
    Migration {
        version: 15,
        name: "sealed_incident_fields",
        sql: include_str!("../migrations/sqlite/0015_sealed_incident_fields.sql"),
    },
    Migration {
        version: 16,
        name: "integration_routing_keys",
        sql: include_str!("../migrations/sqlite/0016_integration_routing_keys.sql"),
    },
    Migration {
        version: 17,
        name: "root_key_and_replicas",
        sql: include_str!("../migrations/sqlite/0017_root_key_and_replicas.sql"),
    },
    Migration {
        version: 18,
        name: "webhook_rate_counts",
        sql: include_str!("../migrations/sqlite/0018_webhook_rate_counts.sql"),
    },
    Migration {
        version: 19,
        name: "role_assignments_once",
        sql: include_str!("../migrations/sqlite/0019_role_assignments_once.sql"),
    },
    Migration {
        version: 20,
        name: "plans",
        sql: include_str!("../migrations/sqlite/0020_plans.sql"),
    },
    Migration {
        version: 21,
        name: "policy_sets",
        sql: include_str!("../migrations/sqlite/0021_policy_sets.sql"),
    },
    Migration {
        version: 22,
        name: "runs",
        sql: include_str!("../migrations/sqlite/0022_runs.sql"),
    },
    Migration {
        version: 23,
        name: "variables",
        sql: include_str!("../migrations/sqlite/0023_variables.sql"),
    },
    Migration {
        version: 24,
        name: "drift_checks",
        sql: include_str!("../migrations/sqlite/0024_drift_checks.sql"),
    },
    Migration {
        version: 25,
        name: "run_credentials",
        sql: include_str!("../migrations/sqlite/0025_run_credentials.sql"),
    },
    Migration {
        version: 26,
        name: "workspace_drift_alerts",
        sql: include_str!("../migrations/sqlite/0026_workspace_drift_alerts.sql"),
    },
    Migration {
        version: 27,
        name: "delegates",
        sql: include_str!("../migrations/sqlite/0027_delegates.sql"),
    },
    Migration {
        version: 28,
        name: "contact_methods",
        sql: include_str!("../migrations/sqlite/0028_contact_methods.sql"),
    },
    Migration {
        version: 29,
        name: "run_credential_sessions",
        sql: include_str!("../migrations/sqlite/0029_run_credential_sessions.sql"),
    },
    Migration {
        version: 30,
        name: "delegate_sandbox",
        sql: include_str!("../migrations/sqlite/0030_delegate_sandbox.sql"),
    },
    Migration {
        version: 31,
        name: "runbooks",
        sql: include_str!("../migrations/sqlite/0031_runbooks.sql"),
    },
    Migration {
        version: 32,
        name: "runbook_executions",
        sql: include_str!("../migrations/sqlite/0032_runbook_executions.sql"),
    },
    Migration {
        version: 33,
        name: "slos",
        sql: include_str!("../migrations/sqlite/0033_slos.sql"),
    },
    Migration {
        version: 34,
        name: "slo_series",
        sql: include_str!("../migrations/sqlite/0034_slo_series.sql"),
    },
    Migration {
        version: 35,
        name: "slo_data_versions",
        sql: include_str!("../migrations/sqlite/0035_slo_data_versions.sql"),
    },
    Migration {
        version: 36,
        name: "slo_pulls",
        sql: include_str!("../migrations/sqlite/0036_slo_pulls.sql"),
    },
    Migration {
        version: 37,
        name: "sso",
        sql: include_str!("../migrations/sqlite/0037_sso.sql"),
    },
    Migration {
        version: 38,
        name: "reauthentication",
        sql: include_str!("../migrations/sqlite/0038_reauthentication.sql"),
    },
    Migration {
        version: 39,
        name: "saml",
        sql: include_str!("../migrations/sqlite/0039_saml.sql"),
    },
    Migration {
        version: 40,
        name: "derived_csrf",
        sql: include_str!("../migrations/sqlite/0040_derived_csrf.sql"),
    },
];

pub const MIGRATIONS_POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "platform",
        sql: include_str!("../migrations/postgres/0001_platform.sql"),
    },
    Migration {
        version: 2,
        name: "access",
        sql: include_str!("../migrations/postgres/0002_access.sql"),
    },
    Migration {
        version: 3,
        name: "token_cidrs",
        sql: include_str!("../migrations/postgres/0003_token_cidrs.sql"),
    },
    Migration {
        version: 4,
        name: "audit_log",
        sql: include_str!("../migrations/postgres/0004_audit_log.sql"),
    },
    Migration {
        version: 5,
        name: "keys_secrets",
        sql: include_str!("../migrations/postgres/0005_keys_secrets.sql"),
    },
    Migration {
        version: 6,
        name: "ip_allowlists",
        sql: include_str!("../migrations/postgres/0006_ip_allowlists.sql"),
    },
    Migration {
        version: 7,
        name: "workspaces",
        sql: include_str!("../migrations/postgres/0007_workspaces.sql"),
    },
    Migration {
        version: 8,
        name: "sre",
        sql: include_str!("../migrations/postgres/0008_sre.sql"),
    },
    Migration {
        version: 9,
        name: "oncall",
        sql: include_str!("../migrations/postgres/0009_oncall.sql"),
    },
    Migration {
        version: 10,
        name: "alert_rules",
        sql: include_str!("../migrations/postgres/0010_alert_rules.sql"),
    },
    Migration {
        version: 11,
        name: "incident_fields",
        sql: include_str!("../migrations/postgres/0011_incident_fields.sql"),
    },
    Migration {
        version: 12,
        name: "service_ownership",
        sql: include_str!("../migrations/postgres/0012_service_ownership.sql"),
    },
    Migration {
        version: 13,
        name: "incident_description",
        sql: include_str!("../migrations/postgres/0013_incident_description.sql"),
    },
    Migration {
        version: 14,
        name: "incident_integrity",
        sql: include_str!("../migrations/postgres/0014_incident_integrity.sql"),
    },
    Migration {
        version: 15,
        name: "sealed_incident_fields",
        sql: include_str!("../migrations/postgres/0015_sealed_incident_fields.sql"),
    },
    Migration {
        version: 16,
        name: "integration_routing_keys",
        sql: include_str!("../migrations/postgres/0016_integration_routing_keys.sql"),
    },
    Migration {
        version: 17,
        name: "root_key_and_replicas",
        sql: include_str!("../migrations/postgres/0017_root_key_and_replicas.sql"),
    },
    Migration {
        version: 18,
        name: "webhook_rate_counts",
        sql: include_str!("../migrations/postgres/0018_webhook_rate_counts.sql"),
    },
    Migration {
        version: 19,
        name: "role_assignments_once",
        sql: include_str!("../migrations/postgres/0019_role_assignments_once.sql"),
    },
    Migration {
        version: 20,
        name: "plans",
        sql: include_str!("../migrations/postgres/0020_plans.sql"),
    },
    Migration {
        version: 21,
        name: "policy_sets",
        sql: include_str!("../migrations/postgres/0021_policy_sets.sql"),
    },
    Migration {
        version: 22,
        name: "runs",
        sql: include_str!("../migrations/postgres/0022_runs.sql"),
    },
    Migration {
        version: 23,
        name: "variables",
        sql: include_str!("../migrations/postgres/0023_variables.sql"),
    },
    Migration {
        version: 24,
        name: "drift_checks",
        sql: include_str!("../migrations/postgres/0024_drift_checks.sql"),
    },
    Migration {
        version: 25,
        name: "run_credentials",
        sql: include_str!("../migrations/postgres/0025_run_credentials.sql"),
    },
    Migration {
        version: 26,
        name: "workspace_drift_alerts",
        sql: include_str!("../migrations/postgres/0026_workspace_drift_alerts.sql"),
    },
    Migration {
        version: 27,
        name: "delegates",
        sql: include_str!("../migrations/postgres/0027_delegates.sql"),
    },
    Migration {
        version: 28,
        name: "contact_methods",
        sql: include_str!("../migrations/postgres/0028_contact_methods.sql"),
    },
    Migration {
        version: 29,
        name: "run_credential_sessions",
        sql: include_str!("../migrations/postgres/0029_run_credential_sessions.sql"),
    },
    Migration {
        version: 30,
        name: "delegate_sandbox",
        sql: include_str!("../migrations/postgres/0030_delegate_sandbox.sql"),
    },
    Migration {
        version: 31,
        name: "runbooks",
        sql: include_str!("../migrations/postgres/0031_runbooks.sql"),
    },
    Migration {
        version: 32,
        name: "runbook_executions",
        sql: include_str!("../migrations/postgres/0032_runbook_executions.sql"),
    },
    Migration {
        version: 33,
        name: "slos",
        sql: include_str!("../migrations/postgres/0033_slos.sql"),
    },
    Migration {
        version: 34,
        name: "slo_series",
        sql: include_str!("../migrations/postgres/0034_slo_series.sql"),
    },
    Migration {
        version: 35,
        name: "slo_data_versions",
        sql: include_str!("../migrations/postgres/0035_slo_data_versions.sql"),
    },
    Migration {
        version: 36,
        name: "slo_pulls",
        sql: include_str!("../migrations/postgres/0036_slo_pulls.sql"),
    },
    Migration {
        version: 37,
        name: "sso",
        sql: include_str!("../migrations/postgres/0037_sso.sql"),
    },
    Migration {
        version: 38,
        name: "reauthentication",
        sql: include_str!("../migrations/postgres/0038_reauthentication.sql"),
    },
    Migration {
        version: 39,
        name: "saml",
        sql: include_str!("../migrations/postgres/0039_saml.sql"),
    },
    Migration {
        version: 40,
        name: "derived_csrf",
        sql: include_str!("../migrations/postgres/0040_derived_csrf.sql"),
    },
];

/// Any advisory lock number will do as long as it is always the same.
const POSTGRES_MIGRATION_LOCK: i64 = 0x0052_414d_5041_5254;

fn checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{hash:016x}", sql.len())
}

pub(crate) async fn run(store: &Store, now_micros: i64) -> StoreResult<()> {
    run_up_to(store, now_micros, i64::MAX).await
}

/// Applies the migrations up to `last` (tests build a database as an older binary left
/// it, then upgrade it).
pub(crate) async fn run_up_to(store: &Store, now_micros: i64, last: i64) -> StoreResult<()> {
    let all = match store.engine() {
        Engine::Sqlite => MIGRATIONS_SQLITE,
        Engine::Postgres => MIGRATIONS_POSTGRES,
    };
    let count = all.iter().take_while(|m| m.version <= last).count();
    let migrations = all.get(..count).unwrap_or(all);
    let mut connection = store.pool().acquire().await?;
    if store.engine() == Engine::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(POSTGRES_MIGRATION_LOCK)
            .execute(&mut *connection)
            .await?;
    }
    let outcome = apply(&mut connection, migrations, now_micros).await;
    if store.engine() == Engine::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(POSTGRES_MIGRATION_LOCK)
            .execute(&mut *connection)
            .await?;
    }
    outcome
}

async fn apply(
    connection: &mut sqlx::AnyConnection,
    migrations: &[Migration],
    now_micros: i64,
) -> StoreResult<()> {
    connection
        .execute(
            "CREATE TABLE IF NOT EXISTS rampart_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .await?;
    let applied = sqlx::query("SELECT version, checksum FROM rampart_migrations ORDER BY version")
        .fetch_all(&mut *connection)
        .await?;
    for row in &applied {
        let version: i64 = row.try_get("version")?;
        let recorded: String = row.try_get("checksum")?;
        match migrations.iter().find(|m| m.version == version) {
            None => {
                return Err(StoreError::Migration(format!(
                    "the database has migration {version}, which this binary does not know; \
                     it was upgraded by a newer Rampart"
                )));
            }
            Some(known) if checksum(known.sql) != recorded => {
                return Err(StoreError::Migration(format!(
                    "migration {version} ({}) differs from the one applied to this database",
                    known.name
                )));
            }
            Some(_) => {}
        }
    }
    for migration in migrations {
        let done = applied.iter().any(|row| {
            row.try_get::<i64, _>("version")
                .is_ok_and(|version| version == migration.version)
        });
        if done {
            continue;
        }
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO rampart_migrations (version, name, checksum, applied_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(checksum(migration.sql))
        .bind(now_micros)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
    }
    Ok(())
}
