//! `flightctl put-events`: PutEvents entry files onto an environment's bus,
//! safely. Each entry is validated as the ingest function would validate it
//! (envelope, catalog, payload fields) and refused with the reason when it
//! would be rejected; the others go in PutEvents calls of at most
//! [`MAX_ENTRIES_PER_CALL`] entries and [`MAX_REQUEST_BYTES`]; entries that
//! EventBridge reports as failed (`FailedEntryCount`) are sent again with
//! exponential backoff. Every entry gets a receipt: its event id, or why not.
//!
//! The bus is behind `flight_aws::eventbridge`'s [`EventBus`] port (its
//! adapter, classification and entry types live there), so tests can inject
//! partial failures. `flightctl test-run` sends through [`send`] too.

use std::fmt;

pub use flight_aws::eventbridge::{
    CallError, EntryResult, EventBridgeBus, EventBus, OutgoingEntry,
};
use flight_core::envelope::parse_time;
use flight_core::replay::{entry_to_event, read_entries};
use flight_core::{Catalog, Event, Millis};
use serde_json::Value;

mod send;

pub use send::{batches, send, Delivery, RetryPolicy, SendStats};

/// PutEvents takes at most 10 entries per call...
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// ...and at most 256 KB per call, entry sizes counted as AWS counts them.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// An entry that passed validation, with what the ingest function will make of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub entry: OutgoingEntry,
    /// The event's idempotency key (the producer's, or the hash of its detail).
    pub event_id: String,
    pub event_type: String,
    pub aggregate_id: String,
    /// The bus the entry names (`EventBusName`), if any; it goes to the environment's bus.
    pub named_bus: Option<String>,
}

/// One entry of a file and what validation said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub file: String,
    /// Its index in the file (0-based).
    pub index: usize,
    /// The entry ready to send, or why the ingest function (or EventBridge) would refuse it.
    pub check: Result<Checked, String>,
}

/// Validates every entry of a PutEvents entry file (a JSON array, or an
/// object with `Entries`); `Err` when the file itself cannot be read as one.
pub fn prepare(
    catalog: &Catalog,
    file: &str,
    text: &str,
    now: Millis,
) -> Result<Vec<Prepared>, String> {
    let entries = read_entries(text)?;
    Ok(entries
        .iter()
        .enumerate()
        .map(|(index, entry)| Prepared {
            file: file.to_string(),
            index,
            check: check(catalog, entry, now),
        })
        .collect())
}

fn check(catalog: &Catalog, entry: &Value, now: Millis) -> Result<Checked, String> {
    let event = entry_to_event(entry, "flightctl-validation", now)?;
    // An AWS service event may become several events; the first names it.
    let parsed = Event::all_from_eventbridge(&event, catalog)
        .map_err(|r| r.to_string())?
        .into_iter()
        .next()
        .ok_or("the event becomes no event")?;
    Ok(Checked {
        entry: outgoing(entry)?,
        event_id: parsed.event_id,
        event_type: parsed.event_type,
        aggregate_id: parsed.aggregate_id,
        named_bus: entry
            .get("EventBusName")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// The entry as PutEvents takes it, or why EventBridge itself would refuse it
/// (no ingest validation: a test run also puts what the functions reject).
pub fn outgoing(entry: &Value) -> Result<OutgoingEntry, String> {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    let detail = match entry.get("Detail") {
        Some(Value::String(detail)) => detail.clone(),
        Some(other) => other.to_string(),
        None => return Err("Detail: missing".into()),
    };
    let time = match entry.get("Time") {
        None | Some(Value::Null) => None,
        Some(value) => Some(parse_time("Time", value).map_err(|e| e.to_string())?),
    };
    let resources = match entry.get("Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_string)
                    .ok_or("Resources: expected an array of ARNs (strings)")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("Resources: expected an array of ARNs (strings)".into()),
    };
    let outgoing = OutgoingEntry {
        source: text("Source").unwrap_or_default(),
        detail_type: text("DetailType").unwrap_or_default(),
        detail,
        time,
        resources,
        trace_header: text("TraceHeader"),
    };
    let size = outgoing.size();
    if size > MAX_REQUEST_BYTES {
        return Err(format!(
            "entry: {size} bytes, more than the {MAX_REQUEST_BYTES} bytes PutEvents takes; put large data elsewhere (S3) and send a reference"
        ));
    }
    Ok(outgoing)
}

/// The receipt of one entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub file: String,
    pub index: usize,
    pub outcome: Outcome,
}

/// What happened to an entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `--dry-run`: it would be sent.
    Valid {
        event_id: String,
        event_type: String,
    },
    Sent {
        event_id: String,
        event_type: String,
        eventbridge_id: String,
        attempts: u32,
    },
    /// Not sent: the ingest function (or EventBridge) would refuse it.
    Refused { reason: String },
    /// Sent, and failed every time.
    Failed {
        event_id: String,
        code: String,
        message: String,
        attempts: u32,
    },
}

impl Receipt {
    /// Whether the entry was (or, in a dry run, would be) sent.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Valid { .. } | Outcome::Sent { .. })
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: entry {}: ", self.file, self.index)?;
        match &self.outcome {
            Outcome::Valid {
                event_id,
                event_type,
            } => write!(f, "valid: {event_type} event {event_id}"),
            Outcome::Sent {
                event_id,
                event_type,
                eventbridge_id,
                attempts,
            } => {
                write!(
                    f,
                    "sent: {event_type} event {event_id} (EventBridge id {eventbridge_id}"
                )?;
                if *attempts > 1 {
                    write!(f, ", after {attempts} attempts")?;
                }
                write!(f, ")")
            }
            Outcome::Refused { reason } => write!(f, "refused, not sent: {reason}"),
            Outcome::Failed {
                event_id,
                code,
                message,
                attempts,
            } => write!(
                f,
                "failed: event {event_id}: {code}: {message} ({attempts} attempt{}); {}",
                if *attempts == 1 { "" } else { "s" },
                advice(code)
            ),
        }
    }
}

fn advice(code: &str) -> &'static str {
    match code {
        "ResourceNotFoundException" => {
            "the bus does not exist: check --env (is the environment deployed? is the local stack running?)"
        }
        "AccessDeniedException" | "NotAuthorizedForSourceException" | "NotAuthorizedForDetailTypeException" => {
            "your credentials may not put these events on this bus: check the IAM policy (events:PutEvents on the bus)"
        }
        "CallRefused" => "fix what the message says and put the file again",
        _ => "put the file again later: events already stored are not counted twice",
    }
}

/// Receipts for prepared entries, given the deliveries of those that were sent
/// (in order; `None` in a dry run).
pub fn receipts(prepared: &[Prepared], deliveries: Option<&[Delivery]>) -> Vec<Receipt> {
    let mut sent = deliveries.map(|d| d.iter());
    prepared
        .iter()
        .map(|p| {
            let outcome = match &p.check {
                Err(reason) => Outcome::Refused {
                    reason: reason.clone(),
                },
                Ok(checked) => match sent.as_mut().and_then(Iterator::next) {
                    None => Outcome::Valid {
                        event_id: checked.event_id.clone(),
                        event_type: checked.event_type.clone(),
                    },
                    Some(Delivery::Sent {
                        eventbridge_id,
                        attempts,
                    }) => Outcome::Sent {
                        event_id: checked.event_id.clone(),
                        event_type: checked.event_type.clone(),
                        eventbridge_id: eventbridge_id.clone(),
                        attempts: *attempts,
                    },
                    Some(Delivery::Failed {
                        code,
                        message,
                        attempts,
                    }) => Outcome::Failed {
                        event_id: checked.event_id.clone(),
                        code: code.clone(),
                        message: message.clone(),
                        attempts: *attempts,
                    },
                },
            };
            Receipt {
                file: p.file.clone(),
                index: p.index,
                outcome,
            }
        })
        .collect()
}
