//! Every verb that talks to an environment, as a user runs it, against
//! DynamoDB Local and moto (started by scripts/test.sh or scripts/services.sh),
//! each test in an environment of its own.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{count_in, event, eventually, ingest, shown, text, Env, SMALL_CATALOG};
use flight_core::ports::{EventStore, StoredEvent};
use flight_core::{Delivery, Millis};
use serde_json::{json, Value};

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

fn now() -> Millis {
    flight_core::replay::system_now()
}

#[tokio::test]
async fn put_events_sends_valid_entries_through_the_rules_and_refuses_the_rest() {
    let Some(env) = Env::new("put_events", SMALL_CATALOG).await else {
        return;
    };
    env.create_bus_and_functions().await;
    let entry = |i: usize| {
        json!({
            "Source": "tests", "DetailType": "Test Event", "EventBusName": "some-other-bus",
            "Detail": json!({"event_type": "account_requested", "aggregate_id": format!("acct-{i}"),
                             "event_id": format!("req-{i}"), "time": "2026-11-01T10:00:00Z"}).to_string(),
        })
    };
    let mut entries: Vec<Value> = (0..12).map(entry).collect();
    entries.insert(
        5,
        json!({"Source": "tests", "DetailType": "AccountCreated", "Detail": "{\"time\": 1700000000}"}),
    );
    let file = env.file("entries.json", &Value::Array(entries).to_string());

    let dry = env.flightctl("put-events", &["--dry-run", &file]);
    assert_eq!(dry.status.code(), Some(1), "{}", shown(&dry));
    assert_eq!(
        text(&dry.stdout)
            .matches(": valid: AccountRequested event req-")
            .count(),
        12
    );

    let out = env.flightctl("put-events", &[&file]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 13, "{stdout}");
    assert!(stdout.contains(&format!(
        "{file}: entry 0: sent: AccountRequested event req-0 (EventBridge id "
    )));
    assert!(
        stdout.contains(&format!(
            "{file}: entry 5: refused, not sent: detail.aggregate_id: missing"
        )),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "12 sent to bus {}, 1 refused, 0 failed (2 PutEvents calls",
            env.deployment.event_bus()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("entries name bus some-other-bus"),
        "{stderr}"
    );

    // The rule of AccountRequested delivered all twelve to its function's queue.
    let sqs = env.sqs();
    let queue = sqs
        .get_queue_url()
        .queue_name(&env.functions[0].function_name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let received = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    eventually(
        "12 events in the function's queue",
        Duration::from_secs(20),
        || {
            let (sqs, queue, received) = (sqs.clone(), queue.clone(), received.clone());
            async move {
                let out = sqs
                    .receive_message()
                    .queue_url(&queue)
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let mut received = received.lock().unwrap();
                for m in out.messages() {
                    let body: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap();
                    received.insert(
                        body["detail"]["event_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                (received.len() == 12)
                    .then_some(())
                    .ok_or(format!("{} so far", received.len()))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn report_counts_the_measurement_records_exactly() {
    let Some(env) = Env::new("report", SMALL_CATALOG).await else {
        return;
    };
    env.create_table().await;
    let t = now();
    let mut events = Vec::new();
    // Lead times 10m, 20m, 30m (good: at most 1h) and 2h (bad), all in the last day;
    // one of 5m two days ago, outside the SLO's 24h window.
    for (i, (minutes, ago)) in [
        (10, 3 * HOUR),
        (20, 4 * HOUR),
        (30, 5 * HOUR),
        (120, 6 * HOUR),
        (5, 2 * DAY),
    ]
    .into_iter()
    .enumerate()
    {
        let created = t - ago;
        events.push(event(
            "AccountRequested",
            &format!("a{i}"),
            &format!("r{i}"),
            created - minutes * 60_000,
        ));
        events.push(event(
            "AccountCreated",
            &format!("a{i}"),
            &format!("c{i}"),
            created,
        ));
    }
    ingest(&env, env.catalog.clone(), &events).await;

    let out = env.flightctl("report", &["--json"]);
    assert!(out.status.success(), "{}", shown(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let slo = &report["slos"][0];
    assert_eq!(slo["name"], "account-lead-time");
    assert_eq!(
        (
            slo["values"].as_u64(),
            slo["good"].as_u64(),
            slo["bad"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(slo["attainment_percent"], 75.0);
    assert_eq!(slo["status"], "breached");
    // 4 values at 90%: 0.4 bad allowed, 1 bad: 0.6 over, -150% of the budget.
    assert!((slo["error_budget"]["allowed_bad"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    assert!((slo["error_budget"]["left_percent"].as_f64().unwrap() + 150.0).abs() < 1e-6);

    let wider = env.flightctl("report", &["--since", "3d"]);
    assert!(wider.status.success(), "{}", shown(&wider));
    let table = text(&wider.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("account-lead-time"))
        .unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    // SLO, metric, objective (3 words), window, values, good, bad, attainment, budget, status.
    assert_eq!(&cells[5..10], ["3d", "5", "4", "1", "80.00%"], "{table}");
    assert!(row.ends_with("breached"), "{table}");
}

#[tokio::test]
async fn backfill_publishes_what_was_never_published_once() {
    let Some(env) = Env::new("backfill", SMALL_CATALOG).await else {
        return;
    };
    env.create_table().await;
    let t = now();
    ingest(
        &env,
        env.catalog.clone(),
        &[
            event("AccountRequested", "a1", "r1", t - 3 * HOUR),
            event("AccountCreated", "a1", "c1", t - 2 * HOUR),
            event("AccountRequested", "a2", "r2", t - 20 * DAY),
            event("AccountCreated", "a2", "c2", t - 15 * DAY),
            event("AccountCreated", "a3", "c3", t - HOUR),
        ],
    )
    .await;
    let changed = env.file("catalog-changed.yaml", &common::catalog_with_new_metric());
    let backfill = |extra: &[&str]| {
        let mut args = vec!["--metric", "AccountCreatedCount"];
        args.extend_from_slice(extra);
        env.flightctl_with_catalog("backfill", &changed, &args)
    };

    let dry = backfill(&["--dry-run"]);
    assert!(dry.status.success(), "{}", shown(&dry));
    assert_eq!(text(&dry.stdout).lines().count(), 3, "{}", shown(&dry));

    let first = backfill(&[]);
    assert!(first.status.success(), "{}", shown(&first));
    let summary = text(&first.stdout);
    assert_eq!(count_in(&summary, "published now"), 2, "{summary}");
    assert_eq!(count_in(&summary, "kept, not sent"), 1, "{summary}");
    assert_eq!(count_in(&summary, "already published"), 0, "{summary}");
    assert!(
        summary.contains("not sent (too_old): AccountCreatedCount 1 at "),
        "{summary}"
    );

    // Recorded as the settle function records: a record per data point, with its delivery.
    let records = env
        .store()
        .measurements("AccountCreatedCount", 0, t + HOUR)
        .await
        .unwrap();
    let deliveries: BTreeMap<String, Delivery> = records
        .iter()
        .map(|m| (m.event_id.clone(), m.delivery))
        .collect();
    assert_eq!(
        deliveries,
        BTreeMap::from([
            ("c1".to_string(), Delivery::Published),
            ("c2".to_string(), Delivery::TooOld),
            ("c3".to_string(), Delivery::Published),
        ])
    );
    assert_eq!(
        records[2].timestamp,
        t - HOUR - (t - HOUR) % 1000,
        "original timestamps"
    );

    let second = backfill(&[]);
    assert!(second.status.success(), "{}", shown(&second));
    let summary = text(&second.stdout);
    assert_eq!(count_in(&summary, "published now"), 0, "{summary}");
    assert_eq!(count_in(&summary, "already published"), 3, "{summary}");
    assert!(summary.contains("nothing to publish"), "{summary}");

    // CloudWatch got each data point once: two, with the environment's dimension.
    let stats = env
        .cloudwatch()
        .get_metric_statistics()
        .namespace("FlightControllerTest")
        .metric_name("AccountCreatedCount")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("Environment")
                .value(&env.name)
                .build(),
        )
        .statistics(aws_sdk_cloudwatch::types::Statistic::SampleCount)
        .period(86_400)
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            t - 2 * DAY,
        ))
        .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            t + HOUR,
        ))
        .send()
        .await
        .unwrap();
    let samples: f64 = stats
        .datapoints()
        .iter()
        .filter_map(|d| d.sample_count())
        .sum();
    assert_eq!(samples, 2.0, "{stats:?}");

    // A metric the functions already published: nothing to backfill.
    let existing = env.flightctl("backfill", &["--metric", "AccountLeadTime"]);
    assert!(existing.status.success(), "{}", shown(&existing));
    assert_eq!(
        count_in(&text(&existing.stdout), "published now"),
        0,
        "{}",
        shown(&existing)
    );
    let unknown = env.flightctl("backfill", &["--metric", "AccountCreatedCount"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", shown(&unknown));
    assert!(text(&unknown.stderr).contains("no metric `AccountCreatedCount` in the catalog"));
}

#[tokio::test]
async fn health_is_green_on_a_sound_environment_and_names_each_broken_part() {
    let Some(env) = Env::new("health", SMALL_CATALOG).await else {
        return;
    };
    env.create_table().await;
    env.create_bus_and_functions().await;
    let healthy = env.flightctl("health", &["--json"]);
    assert_eq!(healthy.status.code(), Some(0), "{}", shown(&healthy));
    let parts: BTreeMap<String, Value> = serde_json::from_slice(&healthy.stdout).unwrap();
    let requested = &env.functions[0];
    for name in [
        format!("bus:{}", env.deployment.event_bus()),
        format!("table:{}", env.deployment.event_table()),
        format!("rule:{}", requested.rule_name),
        format!("function:{}", requested.function_name),
        format!("dlq:{}", requested.dead_letter_queue),
        format!("backlog:{}", env.deployment.event_table()),
    ] {
        assert_eq!(parts[&name]["healthy"], true, "{name}: {}", shown(&healthy));
    }
    assert!(parts.values().all(|p| p["status"].is_string()));

    // Break three parts: a message in a dead-letter queue, a rule disabled,
    // and an event whose data points have been due for an hour.
    let created = &env.functions[1];
    let dlq = env.queue(&requested.dead_letter_queue, None).await.0;
    env.sqs()
        .send_message()
        .queue_url(&dlq)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    env.events()
        .disable_rule()
        .name(&created.rule_name)
        .event_bus_name(env.deployment.event_bus())
        .send()
        .await
        .unwrap();
    let raw = event("AccountCreated", "stuck", "c-stuck", now() - 2 * HOUR);
    let stuck = flight_core::Event::from_eventbridge(&raw, &env.catalog).unwrap();
    env.store()
        .append(&StoredEvent {
            event: stuck,
            stored_at: now() - HOUR,
            timeline: Some(String::new()),
            todo: ["AccountLeadTime".to_string()].into(),
            done: Default::default(),
            due: Some(now() - HOUR),
            lease: None,
            sealed_at: None,
        })
        .await
        .unwrap();

    let sick = env.flightctl("health", &["--json"]);
    assert_eq!(sick.status.code(), Some(1), "{}", shown(&sick));
    let parts: BTreeMap<String, Value> = serde_json::from_slice(&sick.stdout).unwrap();
    let unhealthy: Vec<&String> = parts
        .iter()
        .filter(|(_, p)| p["healthy"] == false)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        unhealthy,
        vec![
            &format!("backlog:{}", env.deployment.event_table()),
            &format!("dlq:{}", requested.dead_letter_queue),
            &format!("rule:{}", created.rule_name),
        ],
        "{}",
        shown(&sick)
    );
    let status = |name: String| {
        parts[&name]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(status(format!("dlq:{}", requested.dead_letter_queue)).starts_with("1 message(s)"));
    assert!(status(format!("rule:{}", created.rule_name)).starts_with("DISABLED"));
    assert!(status(format!("backlog:{}", env.deployment.event_table())).starts_with("1 event(s)"));
    let table = env.flightctl("health", &[]);
    assert_eq!(table.status.code(), Some(1));
    assert!(text(&table.stdout).contains("3 of "), "{}", shown(&table));
    assert!(
        text(&table.stdout).contains("  FAIL  dlq:"),
        "{}",
        shown(&table)
    );
}

/// Deployed environments: the Lambda function's state and its recent Errors.
#[tokio::test]
async fn a_lambda_function_is_healthy_when_active_without_recent_errors() {
    let Some(env) = Env::new("lambda_health", SMALL_CATALOG).await else {
        return;
    };
    create_role(&env.moto, "flightctl-test");
    let lambda = aws_sdk_lambda::Client::new(&env.config);
    let cloudwatch = env.cloudwatch();
    for name in ["ok", "failing"].map(|n| format!("{}-{n}", env.name)) {
        lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .role("arn:aws:iam::123456789012:role/flightctl-test")
            .handler("bootstrap")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(
                        b"not a real zip".to_vec(),
                    ))
                    .build(),
            )
            .send()
            .await
            .expect("function created");
    }
    cloudwatch
        .put_metric_data()
        .namespace("AWS/Lambda")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("Errors")
                .value(2.0)
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("FunctionName")
                        .value(format!("{}-failing", env.name))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let options = flightctl::health::Options {
        errors_since: 15 * 60_000,
        backlog_after: 0,
        now: now() + 60_000,
    };
    let check = |name: String| {
        let (lambda, cloudwatch) = (lambda.clone(), cloudwatch.clone());
        async move { flightctl::health::lambda_function(&lambda, &cloudwatch, &name, options).await }
    };
    let ok = check(format!("{}-ok", env.name)).await;
    assert!(ok.healthy, "{ok:?}");
    assert_eq!(ok.status, "Active, 0 errors in the last 15m");
    let failing = check(format!("{}-failing", env.name)).await;
    assert!(!failing.healthy, "{failing:?}");
    assert!(
        failing.status.starts_with("2 error(s) in the last 15m"),
        "{failing:?}"
    );
    let missing = check(format!("{}-missing", env.name)).await;
    assert!(
        !missing.healthy && missing.status.starts_with("missing"),
        "{missing:?}"
    );
}

/// Creates an IAM role on moto (Lambda's CreateFunction wants one), with a
/// query-protocol request: no IAM client is needed for one call.
fn create_role(endpoint: &str, name: &str) {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument=%7B%7D"
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(address).expect("moto answers");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.contains("EntityAlreadyExists"),
        "{answer}"
    );
}
