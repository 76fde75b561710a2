//! Why an event was refused: [`Rejection`] names the field at fault and the
//! reason. It sits below everything that reads events (the time parser, the
//! envelope), so they share one error without importing each other.

use std::fmt;

use serde_json::Value;

/// Why an event was refused: the field at fault and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejection {
    /// The field at fault, e.g. `detail.aggregate_id` or `detail.payload.guardrail_id`.
    pub field: String,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// A rejection of `field` for `reason`.
pub(crate) fn reject(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    Rejection {
        field: field.into(),
        reason: reason.into(),
    }
}

/// What a JSON value is, for messages: `a string`, `an array`, ...
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
