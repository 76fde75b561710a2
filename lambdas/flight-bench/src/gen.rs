//! Generated events: a mix of every domain of the default catalog, as short
//! stories on their own aggregates, and one long guardrail history.

use std::io::Write;

use flight_core::envelope::format_time;
use flight_core::Millis;
use serde_json::{json, Map, Value};

/// One event: its type and its EventBridge `detail`.
pub struct Generated {
    pub detail_type: &'static str,
    pub detail: Value,
}

const GUARDRAILS: [&str; 4] = [
    "s3-bucket-public-read",
    "s3-bucket-encryption",
    "iam-no-inline-policy",
    "ec2-imdsv2-required",
];

/// Events per round of [`stories`]: one story of each domain.
pub const EVENTS_PER_ROUND: usize = 13;

fn detail(
    event_type: &'static str,
    aggregate: &str,
    aggregate_type: &str,
    time: Millis,
    event_id: String,
    payload: Value,
) -> Generated {
    let mut d = Map::new();
    d.insert("event_id".into(), json!(event_id));
    d.insert("event_type".into(), json!(event_type));
    d.insert("aggregate_id".into(), json!(aggregate));
    d.insert("aggregate_type".into(), json!(aggregate_type));
    d.insert("time".into(), json!(format_time(time)));
    if payload.as_object().is_some_and(|p| !p.is_empty()) {
        d.insert("payload".into(), payload);
    }
    Generated {
        detail_type: event_type,
        detail: Value::Object(d),
    }
}

/// Round `round` of stories, one per domain, starting at `start`: a project
/// requested, assigned and created; a guardrail activated twice, then passed;
/// an account and an identity requested and created; a resource found
/// non-compliant, then compliant; a patch run summary. `tag` keeps the ids of
/// one run apart from another's.
pub fn round(tag: &str, round: usize, start: Millis) -> Vec<Generated> {
    const MIN: Millis = 60_000;
    let t = start;
    let id = |i: usize| format!("{tag}-{round:08}-{i:02}");
    let guardrail = json!({ "guardrail_id": GUARDRAILS[round % GUARDRAILS.len()] });
    let container = json!({ "container_id": format!("ou-{}", round % 16) });
    let project = format!("project-{tag}-{round}");
    let bucket = format!("arn:aws:s3:::bucket-{tag}-{round}");
    let account = format!("account-request-{tag}-{round}");
    let identity = format!("identity-{tag}-{round}");
    let instance = format!("arn:aws:ec2:us-east-1:000000000000:instance/i-{tag}{round:x}");
    let patch = format!("patch-run-{tag}-{round}");
    vec![
        detail("ProjectRequested", &project, "Project", t, id(0), json!({})),
        detail(
            "ProjectAssigned",
            &project,
            "Project",
            t + 90 * MIN,
            id(1),
            json!({}),
        ),
        detail(
            "ProjectCreated",
            &project,
            "Project",
            t + 26 * 60 * MIN,
            id(2),
            json!({}),
        ),
        detail(
            "GuardrailActivated",
            &bucket,
            "Resource",
            t,
            id(3),
            guardrail.clone(),
        ),
        detail(
            "GuardrailActivated",
            &bucket,
            "Resource",
            t + 30 * MIN,
            id(4),
            guardrail.clone(),
        ),
        detail(
            "GuardrailPassed",
            &bucket,
            "Resource",
            t + 75 * MIN,
            id(5),
            guardrail,
        ),
        detail("AccountRequested", &account, "Account", t, id(6), json!({})),
        detail(
            "AccountCreated",
            &account,
            "Account",
            t + 120 * MIN,
            id(7),
            json!({}),
        ),
        detail(
            "IdentityRequested",
            &identity,
            "Identity",
            t,
            id(8),
            json!({}),
        ),
        detail(
            "IdentityCreated",
            &identity,
            "Identity",
            t + 10 * MIN,
            id(9),
            json!({}),
        ),
        detail(
            "ResourceFoundNonCompliant",
            &instance,
            "Resource",
            t,
            id(10),
            container.clone(),
        ),
        detail(
            "ResourceFoundCompliant",
            &instance,
            "Resource",
            t + 45 * MIN,
            id(11),
            container,
        ),
        detail(
            "PatchRunSummary",
            &patch,
            "PatchRun",
            t + 5 * MIN,
            id(12),
            json!({ "successful_instances": "i-01,i-02,i-03,i-04,i-05,i-06,i-07", "failed_instances": "i-08" }),
        ),
    ]
}

/// `count` events of [`round`]s, the rounds `spacing` apart from `start`, in
/// an order shuffled within blocks of 1024 (so some stories arrive out of
/// order, as EventBridge may deliver them).
pub fn stories(tag: &str, count: usize, start: Millis, spacing: Millis) -> Vec<Generated> {
    let mut out = Vec::with_capacity(count);
    let mut r = 0;
    while out.len() < count {
        out.extend(round(tag, r, start + r as Millis * spacing));
        r += 1;
    }
    out.truncate(count);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for block in out.chunks_mut(1024) {
        shuffle(block, &mut rng);
    }
    out
}

/// `cycles` cycles of one resource's guardrail: activated, then passed a minute later.
pub fn long_guardrail(tag: &str, cycles: std::ops::Range<usize>, start: Millis) -> Vec<Generated> {
    let aggregate = format!("arn:aws:s3:::long-lived-{tag}");
    let payload = json!({ "guardrail_id": GUARDRAILS[0] });
    cycles
        .flat_map(|c| {
            let t = start + c as Millis * 120_000;
            [
                detail(
                    "GuardrailActivated",
                    &aggregate,
                    "Resource",
                    t,
                    format!("{tag}-long-a{c}"),
                    payload.clone(),
                ),
                detail(
                    "GuardrailPassed",
                    &aggregate,
                    "Resource",
                    t + 60_000,
                    format!("{tag}-long-p{c}"),
                    payload.clone(),
                ),
            ]
        })
        .collect()
}

/// The EventBridge event a rule's target receives for a generated event.
pub fn eventbridge(g: &Generated, eventbridge_id: &str) -> Value {
    json!({
        "version": "0",
        "id": eventbridge_id,
        "detail-type": g.detail_type,
        "source": "flight-controller.bench",
        "account": "000000000000",
        "time": g.detail["time"],
        "region": "us-east-1",
        "resources": [],
        "detail": g.detail,
    })
}

/// How [`write_entries`] orders a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// Rounds shuffled within groups of 64 rounds (832 events), the long
    /// aggregate's events spread evenly through the file.
    Shuffled,
    /// Each aggregate's entries together (`flightctl replay` streams them): the
    /// same events, grouped by aggregate, the long aggregate last.
    Grouped,
}

/// Writes `count` events as one PutEvents entry file (a JSON array), a group
/// of rounds at a time, so that a million events never sit in memory at
/// once: `2 × long_cycles` of them are one long-lived guardrail resource
/// ([`long_guardrail`]), the others short stories ([`round`]).
pub fn write_entries(
    out: &mut impl Write,
    count: usize,
    long_cycles: usize,
    order: Order,
    start: Millis,
) -> std::io::Result<()> {
    let long_cycles = long_cycles.min(count / 2);
    let long_events = 2 * long_cycles;
    let short = count - long_events;
    let long_at = |c: usize| long_guardrail("replay", c..c + 1, start);
    out.write_all(b"[\n")?;
    let mut written = 0;
    let mut put = |out: &mut dyn Write, g: Generated| -> std::io::Result<()> {
        if written > 0 {
            out.write_all(b",\n")?;
        }
        let entry = json!({
            "Source": "flight-controller.bench",
            "DetailType": g.detail_type,
            "Detail": g.detail.to_string(),
            "EventBusName": "flight-controller",
        });
        serde_json::to_writer(&mut *out, &entry)?;
        written += 1;
        Ok(())
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut r, mut shorts, mut longs) = (0, 0, 0);
    while shorts < short {
        let mut group: Vec<Generated> = Vec::with_capacity(64 * EVENTS_PER_ROUND);
        for _ in 0..64 {
            group.extend(round("replay", r, start + r as Millis * 7_000));
            r += 1;
        }
        group.truncate(short - shorts);
        match order {
            Order::Shuffled => shuffle(&mut group, &mut rng),
            // Stable: each aggregate's events stay in time order.
            Order::Grouped => group.sort_by(|a, b| aggregate(a).cmp(aggregate(b))),
        }
        for g in group {
            put(out, g)?;
            shorts += 1;
            // The long aggregate's events, in order, spread through the file.
            while order == Order::Shuffled
                && longs < long_events
                && longs * short < shorts * long_events
            {
                let cycle = long_at(longs / 2).swap_remove(longs % 2);
                put(out, cycle)?;
                longs += 1;
            }
        }
    }
    for g in long_guardrail("replay", longs / 2..long_cycles, start)
        .into_iter()
        .skip(longs % 2)
    {
        put(out, g)?;
    }
    out.write_all(b"\n]\n")?;
    Ok(())
}

fn aggregate(g: &Generated) -> &str {
    g.detail["aggregate_id"].as_str().unwrap_or_default()
}

/// A small deterministic generator (xorshift64*), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
