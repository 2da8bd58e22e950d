//! Users' contact methods per organisation. Addresses and webhook signing secrets
//! arrive sealed with the organisation's key; this module never sees them in clear.

use jiff::Timestamp;
use rampart_domain::sre::contact_methods::ContactKind;
use rampart_domain::{ContactMethodId, OrgId, UserId};
use sqlx::any::AnyRow;

use crate::rows::{get, get_id, get_timestamp, micros, number, parsed};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreResult, WriteTx};

const COLUMNS: &str = "id, org_id, user_id, kind, label, address_sealed, secret_sealed, created_at";

/// Contact addresses, sealed with the organisation's key.
pub const CONTACT_ADDRESS: SealedColumn = SealedColumn {
    table: "contact_methods",
    id_column: "id",
    version_column: None,
    sealed_column: "address_sealed",
    optional: false,
    owner: SealedOwner::Column("org_id"),
    extra_columns: &[],
};

/// Generic webhooks' signing secrets, sealed with the organisation's key.
pub const CONTACT_SECRET: SealedColumn = SealedColumn {
    table: "contact_methods",
    id_column: "id",
    version_column: None,
    sealed_column: "secret_sealed",
    optional: true,
    owner: SealedOwner::Column("org_id"),
    extra_columns: &[],
};

/// A stored contact method.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactMethodRow {
    pub id: ContactMethodId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub kind: ContactKind,
    pub label: String,
    pub address_sealed: Vec<u8>,
    pub secret_sealed: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

fn contact_method_from(row: &AnyRow) -> StoreResult<ContactMethodRow> {
    Ok(ContactMethodRow {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        user_id: get_id(row, "user_id")?,
        kind: parsed(ContactKind::parse(&get::<String>(row, "kind")?), "kind")?,
        label: get(row, "label")?,
        address_sealed: get(row, "address_sealed")?,
        secret_sealed: get(row, "secret_sealed")?,
        created_at: get_timestamp(row, "created_at")?,
    })
}

impl Store {
    /// A user's contact methods in an organisation, oldest first.
    pub async fn contact_methods_of(
        &self,
        org: OrgId,
        user: UserId,
    ) -> StoreResult<Vec<ContactMethodRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM contact_methods WHERE org_id = $1 AND user_id = $2 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(user.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(contact_method_from).collect()
    }
}

impl WriteTx {
    /// How many contact methods a user has in an organisation (read in the
    /// transaction that adds one, so the cap holds under concurrent adds on PostgreSQL
    /// as far as the unique label allows; SQLite serialises writers).
    pub async fn count_contact_methods(&mut self, org: OrgId, user: UserId) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM contact_methods WHERE org_id = $1 AND user_id = $2",
        )
        .bind(org.to_string())
        .bind(user.to_string())
        .fetch_one(self.conn())
        .await?;
        number(get(&row, "n")?, "n")
    }

    /// Adds a contact method; a label the user already has in the organisation is a
    /// unique violation for the caller to map.
    pub async fn insert_contact_method(&mut self, row: &ContactMethodRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO contact_methods (id, org_id, user_id, kind, label, address_sealed, \
             secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(row.id.to_string())
        .bind(row.org_id.to_string())
        .bind(row.user_id.to_string())
        .bind(row.kind.as_str())
        .bind(row.label.clone())
        .bind(row.address_sealed.clone())
        .bind(row.secret_sealed.clone())
        .bind(micros(row.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Removes one of a user's contact methods; false when it is not theirs.
    pub async fn delete_contact_method(
        &mut self,
        org: OrgId,
        user: UserId,
        id: ContactMethodId,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM contact_methods WHERE id = $1 AND org_id = $2 AND user_id = $3",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(user.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
