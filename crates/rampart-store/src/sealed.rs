//! Sealed columns, generically, for the rewrap job: a [`SealedColumn`] says where a
//! feature's sealed values live (table, row key, sealed column, key owner); the store
//! lists one owner's values a page at a time in (id, version) order
//! ([`Store::sealed_cells`]) and replaces one only if it is still the ciphertext read
//! ([`Store::replace_sealed_cell`]). Each slice declares its own columns as constants
//! next to its table (e.g. `sre::alerts::ALERT_PAYLOAD`,
//! `platform::secrets::SECRET_VALUE`, `iacm::state_versions::STATE_BODY`); this module
//! names no feature. Values arrive and leave sealed: it never sees plaintext.
//!
//! Beside them, a [`BlindIndexColumn`] says where a feature keeps blind indexes (keyed
//! HMACs, computed by the app) of a value it must look up by equality but never hold in
//! clear, such as an alert's dedup key.

use crate::rows::{get, number, signed};
use crate::{Store, StoreResult};

/// Where the key owner of a sealed value (a project id, or an organisation id for the
/// organisation's own values) is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedOwner {
    /// A column of the row itself.
    Column(&'static str),
    /// A column of the parent row: `JOIN table ON table.id = row.foreign_key`.
    Parent {
        table: &'static str,
        foreign_key: &'static str,
        column: &'static str,
    },
}

/// One sealed column of one table: its row key, where its key owner is, and the other
/// columns the seal's associated data names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The row id (for child rows, the parent's id, completed by `version_column`).
    pub id_column: &'static str,
    /// The column that, with `id_column`, identifies the row (a version, a sequence
    /// number); `None` when the id alone does (cells then have version 0).
    pub version_column: Option<&'static str>,
    pub sealed_column: &'static str,
    /// Whether the sealed column may be NULL (such rows are skipped).
    pub optional: bool,
    pub owner: SealedOwner,
    /// Other columns of the row that the seal's associated data names, read as text
    /// into [`SealedCell::extras`] in this order.
    pub extra_columns: &'static [&'static str],
}

impl SealedColumn {
    /// SELECT of an owner's cells after a key: `$1` owner, `$2` id, `$3` version,
    /// `$4` limit.
    fn select_sql(&self) -> String {
        let (join, owner) = match self.owner {
            SealedOwner::Column(column) => (String::new(), format!("t.{column}")),
            SealedOwner::Parent {
                table,
                foreign_key,
                column,
            } => (
                format!(" JOIN {table} p ON p.id = t.{foreign_key}"),
                format!("p.{column}"),
            ),
        };
        let (version, version_order) = match self.version_column {
            Some(column) => (format!("t.{column}"), format!(", t.{column}")),
            None => ("0".to_owned(), String::new()),
        };
        let version_value = match self.version_column {
            Some(column) => format!("t.{column}"),
            None => "CAST(0 AS BIGINT)".to_owned(),
        };
        let extras: String = self
            .extra_columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!(", CAST(t.{column} AS TEXT) AS extra_{i}"))
            .collect();
        let present = if self.optional {
            format!(" AND t.{} IS NOT NULL", self.sealed_column)
        } else {
            String::new()
        };
        let (table, id, sealed) = (self.table, self.id_column, self.sealed_column);
        format!(
            "SELECT t.{id} AS id, {version_value} AS version, t.{sealed} AS sealed{extras} \
             FROM {table} t{join} WHERE {owner} = $1{present} \
             AND (t.{id} > $2 OR (t.{id} = $2 AND {version} > $3)) \
             ORDER BY t.{id}{version_order} LIMIT $4"
        )
    }

    /// UPDATE of one cell if its ciphertext is unchanged: `$1` id, `$2` version, `$3` the
    /// new ciphertext, `$4` the one read.
    fn replace_sql(&self) -> String {
        let (table, id, sealed) = (self.table, self.id_column, self.sealed_column);
        let version = self.version_column.unwrap_or("0");
        format!(
            "UPDATE {table} SET {sealed} = $3 \
             WHERE {id} = $1 AND {version} = $2 AND {sealed} = $4"
        )
    }
}

/// A column holding blind indexes (hex of a keyed HMAC, never the value): declared by
/// its slice next to its table, like a [`SealedColumn`], so that every such column is
/// known (the "no plaintext at rest" test writes a marker through each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindIndexColumn {
    pub table: &'static str,
    pub column: &'static str,
}

/// One sealed value, with what its seal's associated data names.
#[derive(Clone, Debug, PartialEq)]
pub struct SealedCell {
    pub column: SealedColumn,
    /// The row's id (for child rows, the parent's).
    pub id: String,
    /// The row's version or sequence number, 0 when the column has none.
    pub version: u64,
    /// The values of the column's `extra_columns`, as text, in their order.
    pub extras: Vec<String>,
    pub sealed: Vec<u8>,
}

impl SealedCell {
    /// The value of one of the column's `extra_columns`.
    pub fn extra(&self, column: &str) -> Option<&str> {
        self.column
            .extra_columns
            .iter()
            .position(|name| *name == column)
            .and_then(|i| self.extras.get(i))
            .map(String::as_str)
    }
}

impl Store {
    /// `owner`'s sealed values of `column`, a page at a time in (id, version) order after
    /// `after`.
    pub async fn sealed_cells(
        &self,
        column: &SealedColumn,
        owner: &str,
        after: Option<(String, u64)>,
        limit: u32,
    ) -> StoreResult<Vec<SealedCell>> {
        let (after_id, after_version) = match after {
            Some((id, version)) => (id, signed(version)?),
            None => (String::new(), 0),
        };
        let rows = sqlx::query(&column.select_sql())
            .bind(owner)
            .bind(after_id)
            .bind(after_version)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SealedCell {
                    column: *column,
                    id: get(row, "id")?,
                    version: number(get(row, "version")?, "version")?,
                    extras: (0..column.extra_columns.len())
                        .map(|i| get(row, &format!("extra_{i}")))
                        .collect::<StoreResult<_>>()?,
                    sealed: get(row, "sealed")?,
                })
            })
            .collect()
    }

    /// Replaces a sealed value only if it is still the one read (a shred, a delete or
    /// another replica's rewrap may have come first); false when it was not.
    pub async fn replace_sealed_cell(
        &self,
        cell: &SealedCell,
        resealed: &[u8],
    ) -> StoreResult<bool> {
        let _writer = self.writer_guard().await;
        let result = sqlx::query(&cell.column.replace_sql())
            .bind(cell.id.clone())
            .bind(signed(cell.version)?)
            .bind(resealed.to_vec())
            .bind(cell.sealed.clone())
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
