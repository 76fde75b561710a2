//! Putting events on an EventBridge bus: the [`EventBus`] port (one
//! `PutEvents` call, the result of each entry) and its adapter,
//! [`EventBridgeBus`]. Whole-call failures are classified as every other AWS
//! error of this crate is ([`crate::error::classify`]); per-entry error codes
//! that no retry can fix are named by [`is_permanent`].
//!
//! Retrying, batching and receipts are the caller's (`flightctl put-events`
//! and `flightctl test-run`); tests put a scripted bus behind the port.

use async_trait::async_trait;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use flight_core::Millis;

/// Error codes of failed entries (`FailedEntryCount`) that no retry can fix.
const PERMANENT_CODES: &[&str] = &[
    "MalformedDetail",
    "InvalidArgument",
    "ValidationException",
    "AccessDeniedException",
    "NotAuthorizedForSourceException",
    "NotAuthorizedForDetailTypeException",
    "ResourceNotFoundException",
];

/// Whether a failed entry's error code says that sending it again cannot help.
pub fn is_permanent(code: &str) -> bool {
    PERMANENT_CODES.contains(&code)
}

/// A PutEvents entry as sent (the bus is the [`EventBus`]'s).
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEntry {
    pub source: String,
    pub detail_type: String,
    /// The detail, as JSON text.
    pub detail: String,
    pub time: Option<Millis>,
    pub resources: Vec<String>,
    pub trace_header: Option<String>,
}

impl OutgoingEntry {
    /// The entry's size as AWS counts it against the 256 KB of a call: 14
    /// bytes for a time, and the UTF-8 bytes of source, detail type, detail
    /// and each resource.
    pub fn size(&self) -> usize {
        self.time.map_or(0, |_| 14)
            + self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// What the bus said of one entry of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryResult {
    Accepted { eventbridge_id: String },
    Failed { code: String, message: String },
}

/// A PutEvents call that failed as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub message: String,
    /// Whether the same call may succeed later (throttling, a timeout, a 5xx).
    pub retryable: bool,
}

/// An event bus that takes PutEvents calls.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// The bus's name, for messages.
    fn name(&self) -> &str;

    /// One PutEvents call with these entries (at most 10, at most 256 KB); the
    /// result of each entry, in order.
    async fn put_events(&self, entries: &[OutgoingEntry]) -> Result<Vec<EntryResult>, CallError>;
}

/// The EventBridge bus of an environment.
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    name: String,
}

impl EventBridgeBus {
    /// The bus `name`, reached through `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    fn name(&self) -> &str {
        &self.name
    }

    async fn put_events(&self, entries: &[OutgoingEntry]) -> Result<Vec<EntryResult>, CallError> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.name)
                    .source(&e.source)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .set_time(e.time.map(DateTime::from_millis))
                    .set_resources((!e.resources.is_empty()).then(|| e.resources.clone()))
                    .set_trace_header(e.trace_header.clone())
                    .build()
            })
            .collect();
        let answer = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| call_error(&self.name, &e))?;
        Ok(answer
            .entries()
            .iter()
            .map(|r| match (r.event_id(), r.error_code()) {
                (Some(id), None) => EntryResult::Accepted {
                    eventbridge_id: id.to_string(),
                },
                (_, code) => EntryResult::Failed {
                    code: code.unwrap_or("Unknown").to_string(),
                    message: r.error_message().unwrap_or("no message").to_string(),
                },
            })
            .collect())
    }
}

/// A [`CallError`] for a failed PutEvents call: classified as every AWS error
/// of this crate, with what to check when the bus is missing or silent.
fn call_error<E>(bus: &str, err: &SdkError<E>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (retryable, description) = crate::error::classify(err);
    let hint = match err {
        SdkError::ServiceError(context)
            if context.err().code() == Some("ResourceNotFoundException") =>
        {
            format!(" (bus {bus} does not exist: check --env; is the environment deployed, the local stack running?)")
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            " (no answer: check the endpoint and your network)".to_string()
        }
        _ => String::new(),
    };
    CallError {
        message: format!("PutEvents on bus {bus}: {description}{hint}"),
        retryable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_counted_as_aws_counts_them() {
        let entry = OutgoingEntry {
            source: "src".into(),
            detail_type: "dt".into(),
            detail: "{}".into(),
            time: Some(0),
            resources: vec!["arn".into()],
            trace_header: None,
        };
        assert_eq!(entry.size(), 14 + 3 + 2 + 2 + 3);
    }

    #[test]
    fn refusals_are_permanent_and_throttling_is_not() {
        assert!(is_permanent("MalformedDetail") && is_permanent("AccessDeniedException"));
        assert!(!is_permanent("ThrottlingException") && !is_permanent("InternalFailure"));
    }
}
