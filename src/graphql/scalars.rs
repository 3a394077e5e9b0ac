//! The contract's scalars: Date (ISO 8601 calendar date) and Rupiah (whole rupiah as a string).
//! DateTime is async-graphql's chrono scalar (RFC 3339 with offset).
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// Calendar date, ISO 8601: "2023-06-20".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// Calendar date, ISO 8601: "2023-06-20".
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) if text.len() == 10 => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a real date as YYYY-MM-DD")),
            Value::String(_) => Err(InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        // NaiveDate's Display is ISO 8601 (YYYY-MM-DD) for the years we accept, without parsing a
        // format string on every date of every response.
        Value::String(self.0.to_string())
    }
}

/// Whole rupiah, exact. Serialized as a string of decimal digits, e.g. "42000000"; inputs accept
/// that string or an integer literal, never a float. A minus sign parses, so that the service
/// that owns the field rejects it with `extensions.field` naming that field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rupiah(pub i64);

/// Whole rupiah, exact. Serialized as a string of decimal digits, e.g. "42000000". Inputs accept that string (an integer literal may also be accepted). Never a float.
#[Scalar(name = "Rupiah")]
impl ScalarType for Rupiah {
    fn parse(value: Value) -> InputValueResult<Self> {
        let invalid = || InputValueError::custom("expected whole rupiah as a string of digits, e.g. \"42000000\"");
        match &value {
            Value::String(text) => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                text.parse().map(Rupiah).map_err(|_| invalid())
            }
            Value::Number(number) => number.as_i64().map(Rupiah).ok_or_else(invalid),
            _ => Err(invalid()),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}
