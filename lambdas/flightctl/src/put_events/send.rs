//! Sending entries with retries: calls of at most [`MAX_ENTRIES_PER_CALL`]
//! entries and [`MAX_REQUEST_BYTES`], and the entries EventBridge reports as
//! failed sent again with exponential backoff and jitter, unless their error
//! code says no retry can help (`flight_aws::eventbridge::is_permanent`).

use std::ops::Range;
use std::time::Duration;

use flight_aws::eventbridge::is_permanent;

use super::{EntryResult, EventBus, OutgoingEntry, MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES};

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
