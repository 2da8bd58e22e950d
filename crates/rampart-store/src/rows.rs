//! Conversions between store columns and domain values.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

pub(crate) fn micros(timestamp: Timestamp) -> i64 {
    timestamp.as_microsecond()
}

pub(crate) fn timestamp(micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {micros} out of range")))
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|error| StoreError::Corrupt(format!("column {column}: {error}")))
}

pub(crate) fn get_timestamp(row: &AnyRow, column: &str) -> Result<Timestamp, StoreError> {
    timestamp(get::<i64>(row, column)?)
}

pub(crate) fn get_optional_timestamp(
    row: &AnyRow,
    column: &str,
) -> Result<Option<Timestamp>, StoreError> {
    get::<Option<i64>>(row, column)?.map(timestamp).transpose()
}

pub(crate) fn get_id<T: std::str::FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = get(row, column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("column {column} holds an invalid id")))
}

pub(crate) fn get_optional_id<T: std::str::FromStr>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, StoreError> {
    get::<Option<String>>(row, column)?
        .map(|text| {
            text.parse()
                .map_err(|_| StoreError::Corrupt(format!("column {column} holds an invalid id")))
        })
        .transpose()
}

pub(crate) fn get_flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    Ok(get::<i64>(row, column)? != 0)
}

pub(crate) fn parsed<T, E>(value: Result<T, E>, column: &str) -> Result<T, StoreError> {
    value.map_err(|_| StoreError::Corrupt(format!("column {column} holds an invalid value")))
}

/// A stored non-negative number (a version, a serial, a count).
pub(crate) fn number(value: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} out of range")))
}

/// A number as the store keeps it (BIGINT).
pub(crate) fn signed(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Internal("a number beyond i64".into()))
}
