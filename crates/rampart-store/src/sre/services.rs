//! The service directory: services (name, description, auto-resolve), who owns them
//! and who subscribes to their incidents, and the organisation's names for the SEV
//! levels. Deleting a service takes its integrations and alerts with it.

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::services::Service;
use rampart_domain::sre::services::ServiceOwnership;
use rampart_domain::{Name, ServiceId, Slug};
use sqlx::any::AnyRow;

use super::corrupt;
use crate::platform::access::scope_columns;
use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_flag, get_id, get_timestamp, micros, parsed};
use crate::{Store, StoreResult, WriteTx};

const SERVICE_COLUMNS: &str =
    "id, org_id, project_id, identifier, name, description, auto_resolve, created_at, updated_at";

fn service_from(row: &AnyRow) -> StoreResult<Service> {
    Ok(Service {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_id(row, "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            rampart_domain::Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        auto_resolve: get_flag(row, "auto_resolve")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn ownership_from(row: &AnyRow) -> StoreResult<ServiceOwnership> {
    let list = |column: &str| -> StoreResult<Vec<String>> {
        serde_json::from_str(&get::<String>(row, column)?).map_err(|_| corrupt(column))
    };
    Ok(ServiceOwnership {
        owner_group: get(row, "owner_group")?,
        subscribers: list("subscribers")?,
        tags: list("tags")?,
    })
}

/// A service with what a delivery of alerts to it needs, read together in one statement
/// (a delivery reads them before its transaction; one read instead of four per
/// delivery).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceForDelivery {
    pub service: Service,
    /// The escalation policy's identifier, if the service pages.
    pub escalation_policy: Option<String>,
    /// The alert rules as stored (JSON, see [`Store::service_alert_rules`]).
    pub alert_rules: String,
    pub ownership: ServiceOwnership,
}

impl Store {
    /// The service `id` with its escalation policy, alert rules and ownership.
    pub async fn service_for_delivery(
        &self,
        id: ServiceId,
    ) -> StoreResult<Option<ServiceForDelivery>> {
        let sql = format!(
            "SELECT {SERVICE_COLUMNS}, escalation_policy_id, alert_rules, owner_group, \
             subscribers, tags FROM services WHERE id = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ServiceForDelivery {
            service: service_from(&row)?,
            escalation_policy: get(&row, "escalation_policy_id")?,
            alert_rules: get(&row, "alert_rules")?,
            ownership: ownership_from(&row)?,
        }))
    }

    pub async fn service_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<Service>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM services WHERE scope_key = $1 AND identifier = $2"
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(service_from)
            .transpose()
    }

    pub async fn service(&self, id: ServiceId) -> StoreResult<Option<Service>> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(service_from)
            .transpose()
    }

    pub async fn list_services(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Service>> {
        self.list_defined_at(
            "services",
            SERVICE_COLUMNS,
            scope,
            page,
            service_from,
            |s| s.id.to_string(),
        )
        .await
    }

    pub async fn service_ownership(&self, service: ServiceId) -> StoreResult<ServiceOwnership> {
        let row = sqlx::query("SELECT owner_group, subscribers, tags FROM services WHERE id = $1")
            .bind(service.to_string())
            .fetch_one(self.pool())
            .await?;
        ownership_from(&row)
    }

    /// An organisation's names for the SEV levels (JSON object, SEV0…SEV4 → label).
    pub async fn severity_labels(&self, org: rampart_domain::OrgId) -> StoreResult<String> {
        let row = sqlx::query("SELECT severity_labels FROM organizations WHERE id = $1")
            .bind(org.to_string())
            .fetch_one(self.pool())
            .await?;
        get(&row, "severity_labels")
    }
}

impl WriteTx {
    pub async fn insert_service(&mut self, service: &Service) -> StoreResult<()> {
        let (org, project, scope_key) =
            scope_columns(Scope::Project(service.org_id, service.project_id));
        sqlx::query(
            "INSERT INTO services (id, org_id, project_id, scope_key, identifier, name, \
             description, auto_resolve, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(service.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(service.identifier.as_str())
        .bind(service.name.as_str())
        .bind(service.description.as_str())
        .bind(i64::from(service.auto_resolve))
        .bind(micros(service.created_at))
        .bind(micros(service.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Name, description and auto-resolve of a service.
    pub async fn update_service(&mut self, service: &Service) -> StoreResult<()> {
        sqlx::query(
            "UPDATE services SET name = $2, description = $3, auto_resolve = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(service.id.to_string())
        .bind(service.name.as_str())
        .bind(service.description.as_str())
        .bind(i64::from(service.auto_resolve))
        .bind(micros(service.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A service's ownership read inside this transaction, its row locked until the
    /// transaction ends (PostgreSQL `FOR UPDATE`; SQLite writers are already
    /// serialised), so that adding or removing one subscriber cannot lose a concurrent
    /// change. `None` when the service is gone.
    pub async fn service_ownership_for_update(
        &mut self,
        service: ServiceId,
    ) -> StoreResult<Option<ServiceOwnership>> {
        let lock = if self.engine() == crate::Engine::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql =
            format!("SELECT owner_group, subscribers, tags FROM services WHERE id = $1{lock}");
        sqlx::query(&sql)
            .bind(service.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(ownership_from)
            .transpose()
    }

    pub async fn set_service_ownership(
        &mut self,
        service: ServiceId,
        ownership: &ServiceOwnership,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE services SET owner_group = $2, subscribers = $3, tags = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(service.to_string())
        .bind(ownership.owner_group.clone())
        .bind(serde_json::Value::from(ownership.subscribers.clone()).to_string())
        .bind(serde_json::Value::from(ownership.tags.clone()).to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_severity_labels(
        &mut self,
        org: rampart_domain::OrgId,
        labels: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE organizations SET severity_labels = $2 WHERE id = $1")
            .bind(org.to_string())
            .bind(labels)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes a service with its integrations and alerts; its incidents stay (their
    /// service link is cleared).
    pub async fn delete_service(&mut self, service: ServiceId) -> StoreResult<()> {
        for sql in [
            "UPDATE incidents SET service_id = NULL, open_group = NULL WHERE service_id = $1",
            "DELETE FROM alerts WHERE service_id = $1",
            "DELETE FROM integrations WHERE service_id = $1",
            "DELETE FROM services WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(service.to_string())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}
