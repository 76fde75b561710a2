//! The write shards of the event store's `by-metric` index: a metric's
//! measurement records are spread over [`METRIC_SHARDS`] index keys, so that
//! no key takes more than DynamoDB's 1,000 writes per second per partition
//! key when a metric is recorded faster than that (docs/scale.md, "The
//! by-metric index"). A record's shard is a hash of the event it is kept
//! beside; a reader of a metric queries every key ([`metric_keys`]) and
//! merges what they return.
//!
//! Shard 0's key is the metric's name itself, the key every record had
//! before the index was sharded: those records are read as shard 0's, with
//! no migration. The count may only grow (readers query every shard below
//! it, so a record filed under a smaller count is still read); shrinking it
//! would hide the records of the shards dropped.

use crate::shard::fnv1a;

/// How many index keys a metric's records are spread over. 16 keeps a
/// metric recorded at 16,000 records/s under 1,000 writes/s per key: every
/// completing event of the 16-sweep budget (10,000/s) on one metric, with a
/// margin of 1.6; the story mix's busiest metric (~1,200/s at 16 sweeps)
/// takes ~75/s per key.
pub const METRIC_SHARDS: u64 = 16;

/// Separates a metric's name from its shard in an index key (metric names
/// hold letters, digits, `_`, `-` and `.` only).
const SEPARATOR: char = '#';

/// The shard of the records kept beside event `event_id` (FNV-1a of the id,
/// mod [`METRIC_SHARDS`]). Stable across processes and releases.
pub fn metric_shard(event_id: &str) -> u64 {
    fnv1a(event_id.as_bytes()) % METRIC_SHARDS
}

/// The index key of `metric`'s shard `shard`: the metric's name for shard 0,
/// `<metric>#<shard>` for the others.
pub fn metric_shard_key(metric: &str, shard: u64) -> String {
    if shard == 0 {
        metric.to_string()
    } else {
        format!("{metric}{SEPARATOR}{shard}")
    }
}

/// The index key of the record of `metric` kept beside event `event_id`.
pub fn metric_key(metric: &str, event_id: &str) -> String {
    metric_shard_key(metric, metric_shard(event_id))
}

/// Every index key of `metric`, shard 0 first: what a reader of the metric queries.
pub fn metric_keys(metric: &str) -> impl Iterator<Item = String> + '_ {
    (0..METRIC_SHARDS).map(move |shard| metric_shard_key(metric, shard))
}

/// The metric an index key belongs to: the key without its shard suffix.
pub fn metric_of_key(key: &str) -> &str {
    match key.rsplit_once(SEPARATOR) {
        Some((metric, shard)) if !shard.is_empty() && shard.bytes().all(|b| b.is_ascii_digit()) => {
            metric
        }
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_records_key_is_stable_across_releases() {
        // Pinned: the store and the load model (flight-bench) share this
        // rule, and stored records carry its keys.
        assert_eq!(metric_shard(""), 0xcbf2_9ce4_8422_2325 % METRIC_SHARDS);
        assert_eq!(metric_shard("a"), 0xaf63_dc4c_8601_ec8c % METRIC_SHARDS);
        assert_eq!(metric_key("LeadTime", "a"), "LeadTime#12");
        assert_eq!(metric_key("LeadTime", ""), "LeadTime#5");
    }

    #[test]
    fn shard_zero_keeps_the_unsharded_key() {
        // Records written before the index was sharded carry the metric's
        // name as their key; readers find them as shard 0's.
        assert_eq!(metric_shard_key("ProjectLeadTime", 0), "ProjectLeadTime");
        assert_eq!(metric_shard_key("ProjectLeadTime", 7), "ProjectLeadTime#7");
        assert_eq!(metric_keys("M").next().as_deref(), Some("M"));
    }

    #[test]
    fn a_reader_queries_every_key_a_record_can_have() {
        let keys: BTreeSet<String> = metric_keys("Guardrail.Lead-time_s").collect();
        assert_eq!(keys.len() as u64, METRIC_SHARDS);
        for i in 0..1_000 {
            let key = metric_key("Guardrail.Lead-time_s", &format!("event-{i}"));
            assert!(keys.contains(&key), "{key} is not read");
            assert_eq!(metric_of_key(&key), "Guardrail.Lead-time_s");
        }
    }

    #[test]
    fn records_spread_evenly_over_the_shards() {
        let mut per_shard = [0u32; METRIC_SHARDS as usize];
        for i in 0..16_000 {
            per_shard[metric_shard(&format!("e-{i}")) as usize] += 1;
        }
        // 1,000 each on average; no shard takes half as much again.
        assert!(
            per_shard.iter().all(|&n| (500..1_500).contains(&n)),
            "{per_shard:?}"
        );
    }

    #[test]
    fn the_metric_of_a_key_drops_only_a_shard_suffix() {
        assert_eq!(metric_of_key("LeadTime"), "LeadTime");
        assert_eq!(metric_of_key("LeadTime#15"), "LeadTime");
        assert_eq!(metric_of_key("v1.2-x_y"), "v1.2-x_y");
        assert_eq!(metric_of_key("odd#"), "odd#");
        assert_eq!(metric_of_key("odd#x"), "odd#x");
    }
}
