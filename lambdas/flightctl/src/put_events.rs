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
use std::ops::Range;
use std::time::Duration;

use flight_aws::eventbridge::is_permanent;
pub use flight_aws::eventbridge::{
    CallError, EntryResult, EventBridgeBus, EventBus, OutgoingEntry,
};
use flight_core::envelope::parse_time;
use flight_core::replay::{entry_to_event, read_entries};
use flight_core::{Catalog, Event, Millis};
use serde_json::Value;

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
    let parsed = Event::from_eventbridge(&event, catalog).map_err(|r| r.to_string())?;
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

/// How failed entries are retried: up to `max_attempts` sends of each entry,
/// waiting `first_delay`, doubling each time up to `max_delay`, with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before round `round` (2 is the first retry): half the
    /// exponential delay, plus a random part of the other half.
    pub fn delay(&self, round: u32) -> Duration {
        let doubling = 2u32.saturating_pow(round.saturating_sub(2));
        let full = self
            .first_delay
            .saturating_mul(doubling)
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs from call to call.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What became of an entry sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent {
        eventbridge_id: String,
        attempts: u32,
    },
    Failed {
        code: String,
        message: String,
        attempts: u32,
    },
}

/// What sending cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStats {
    /// PutEvents calls made.
    pub calls: u32,
    /// Entry sends that were retries.
    pub retries: u32,
}

/// Splits entries (by their sizes) into calls of at most 10 entries and 256 KB.
pub fn batches(sizes: &[usize]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, size) in sizes.iter().enumerate() {
        if i > start && (i - start == MAX_ENTRIES_PER_CALL || bytes + size > MAX_REQUEST_BYTES) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// Sends entries, retrying failed ones as `policy` says; the delivery of each
/// entry, in order. `progress(entries settled so far)` after each call.
pub async fn send(
    bus: &dyn EventBus,
    entries: &[OutgoingEntry],
    policy: &RetryPolicy,
    mut progress: impl FnMut(usize),
) -> (Vec<Delivery>, SendStats) {
    let mut outcome: Vec<Option<Delivery>> = vec![None; entries.len()];
    let mut stats = SendStats::default();
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    let mut round = 1;
    let mut settled = 0;
    while !pending.is_empty() {
        if round > 1 {
            stats.retries += u32::try_from(pending.len()).unwrap_or(u32::MAX);
            tokio::time::sleep(policy.delay(round)).await;
        }
        let last_round = round >= policy.max_attempts.max(1);
        let mut again = Vec::new();
        let sizes: Vec<usize> = pending.iter().map(|&i| entries[i].size()).collect();
        for range in batches(&sizes) {
            let batch: Vec<usize> = pending[range].to_vec();
            let call: Vec<OutgoingEntry> = batch.iter().map(|&i| entries[i].clone()).collect();
            stats.calls += 1;
            let results = match bus.put_events(&call).await {
                Ok(results) => results,
                Err(error) => {
                    let code = if error.retryable {
                        "CallFailed"
                    } else {
                        "CallRefused"
                    };
                    vec![
                        EntryResult::Failed {
                            code: code.into(),
                            message: error.message,
                        };
                        batch.len()
                    ]
                }
            };
            for (position, &i) in batch.iter().enumerate() {
                let result = results
                    .get(position)
                    .cloned()
                    .unwrap_or(EntryResult::Failed {
                        code: "NoResult".into(),
                        message: "PutEvents returned no result for this entry".into(),
                    });
                match result {
                    EntryResult::Accepted { eventbridge_id } => {
                        outcome[i] = Some(Delivery::Sent {
                            eventbridge_id,
                            attempts: round,
                        });
                        settled += 1;
                    }
                    EntryResult::Failed { code, message } => {
                        let permanent = is_permanent(&code) || code == "CallRefused";
                        if permanent || last_round {
                            outcome[i] = Some(Delivery::Failed {
                                code,
                                message,
                                attempts: round,
                            });
                            settled += 1;
                        } else {
                            again.push(i);
                        }
                    }
                }
            }
            progress(settled);
        }
        pending = again;
        round += 1;
    }
    let deliveries = outcome
        .into_iter()
        .map(|d| {
            d.unwrap_or(Delivery::Failed {
                code: "NotSent".into(),
                message: "not sent".into(),
                attempts: 0,
            })
        })
        .collect();
    (deliveries, stats)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_hold_at_most_ten_entries_and_256_kb() {
        assert_eq!(batches(&[1; 25]), vec![0..10, 10..20, 20..25]);
        let big = 100 * 1024;
        assert_eq!(batches(&[big, big, big, 10]), vec![0..2, 2..4]);
        assert_eq!(batches(&[MAX_REQUEST_BYTES, 1]), vec![0..1, 1..2]);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn delays_grow_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            max_attempts: 9,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for (round, full) in [(2, 100), (3, 200), (4, 400), (5, 800), (6, 1000), (9, 1000)] {
            let d = policy.delay(round).as_millis();
            assert!((full / 2..=full).contains(&d), "round {round}: {d}");
        }
    }
}
