//! Scalars named as DESIGN.md names them.
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date as `YYYY-MM-DD` (RFC 3339 `full-date`), e.g. `2022-04-11`.
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, RFC 3339 in UTC (`2025-01-15T00:00:00Z`); input may carry any offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

/// An instant as an RFC 3339 `date-time` in UTC with millisecond precision, e.g.
/// `2025-01-15T00:00:00.000Z`; input may carry any offset and precision.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DateTime::parse_from_rfc3339(text)
                .map(|t| Timestamp(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(
                        "expected an RFC 3339 date-time, e.g. 2025-01-15T00:00:00Z",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        // Milliseconds: JavaScript's Date keeps no more, and would cut the rest silently.
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

/// A JSON value: the state of a record as the audit log keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonValue(pub serde_json::Value);

/// Any JSON value (RFC 8259): an object, array, string, number, boolean or null, given
/// as it is, not as a string. The audit log's `before` and `after` hold a record's fields
/// by their API names, e.g. `{"version": 3, "summary": "…", …}`.
#[Scalar(
    name = "JSON",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259"
)]
impl ScalarType for JsonValue {
    fn parse(value: Value) -> InputValueResult<Self> {
        value
            .into_json()
            .map(JsonValue)
            .map_err(|e| InputValueError::custom(format!("not a JSON value: {e}")))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}
