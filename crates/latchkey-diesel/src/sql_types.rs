//! The two column types whose storage differs between the backends, mapped so that one schema, one set of rows and
//! one body of queries serve both.
//!
//! - [`UtcTimestamp`]: `timestamptz` on PostgreSQL; integer microseconds since the Unix epoch on SQLite (exact for
//!   what the domain keeps, and ordered like the instants, so comparisons in SQL stay correct).
//! - [`JsonObject`]: `jsonb` on PostgreSQL; JSON text on SQLite.
//!
//! Rows hold the Rust side as [`Timestamp`] and [`Metadata`]; queries bind instants as `Timestamp(now)`.

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, Jsonb, Text, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteValue};
use serde_json::{Map, Value};

/// SQL type of every instant column.
#[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Long"))]
pub struct UtcTimestamp;

/// SQL type of a JSON object column.
#[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 3802, array_oid = 3807))]
#[diesel(sqlite_type(name = "Text"))]
pub struct JsonObject;

/// An instant as stored in a [`UtcTimestamp`] column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = UtcTimestamp)]
pub(crate) struct Timestamp(pub(crate) DateTime<Utc>);

impl From<Timestamp> for DateTime<Utc> {
    fn from(Timestamp(at): Timestamp) -> Self {
        at
    }
}

impl ToSql<UtcTimestamp, Pg> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<UtcTimestamp, Pg> for Timestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value).map(Self)
    }
}

impl ToSql<UtcTimestamp, Sqlite> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.timestamp_micros());
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTimestamp, Sqlite> for Timestamp {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let micros = <i64 as FromSql<BigInt, Sqlite>>::from_sql(value)?;
        DateTime::from_timestamp_micros(micros)
            .map(Self)
            .ok_or_else(|| "stored timestamp is out of range".into())
    }
}

/// A user's free-form metadata as stored in a [`JsonObject`] column. Anything but an object is refused on read: the
/// database was then written by something else, and guessing would be worse than failing.
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = JsonObject)]
pub(crate) struct Metadata(pub(crate) Map<String, Value>);

fn object(value: Value) -> deserialize::Result<Metadata> {
    match value {
        Value::Object(map) => Ok(Metadata(map)),
        _ => Err("stored metadata is not a JSON object".into()),
    }
}

impl ToSql<JsonObject, Pg> for Metadata {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        // jsonb's binary input: a version byte, then the JSON text.
        use std::io::Write;
        out.write_all(&[1])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl FromSql<JsonObject, Pg> for Metadata {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        object(<Value as FromSql<Jsonb, Pg>>::from_sql(value)?)
    }
}

impl ToSql<JsonObject, Sqlite> for Metadata {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl FromSql<JsonObject, Sqlite> for Metadata {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        object(serde_json::from_str(&text)?)
    }
}
