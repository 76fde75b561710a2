//! Integration tests of the CloudWatch sinks: `PutMetricData` against moto
//! (`scripts/services.sh start`, then `eval "$(scripts/services.sh env)"`), and
//! the Embedded Metric Format lines read back as JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
use flight_aws::{aws_config, cloudwatch_client, CloudWatchSink, EmfSink, AWS_ENDPOINT_ENV};
use flight_core::engine::{Delivery, Measurement};
use flight_core::ports::{MetricSink, SystemClock};
use flight_core::{Clock, Millis};
// `common::…`: the local stack's endpoints, unique names, stores and polling.
use flight_testkit::aws as common;
use serde_json::{json, Value};

fn measurement(
    metric: &str,
    unit: &str,
    value: f64,
    timestamp: Millis,
    dimensions: &[(&str, &str)],
    id: usize,
) -> Measurement {
    Measurement {
        metric: metric.into(),
        value,
        unit: unit.into(),
        timestamp,
        aggregate_id: format!("res-{id}"),
        event_id: format!("e-{id}"),
        dimensions: dimensions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        delivery: Delivery::Published,
        test_run_id: None,
        refusal: None,
    }
}

#[tokio::test]
async fn integration_put_metric_data_is_batched_and_lands_in_cloudwatch() {
    let Some(endpoint) = common::endpoint(AWS_ENDPOINT_ENV, "put_metric_data") else {
        return;
    };
    let config = aws_config(Some(&endpoint)).await;
    let client = cloudwatch_client(&config, Some(&endpoint));
    let namespace = common::unique_name("FlightController", "batches");
    let sink = CloudWatchSink::new(client.clone(), &namespace);

    let now = SystemClock.now();
    let dims = [("Environment", "test")];
    let measurements: Vec<_> = (0..2500)
        .map(|i| {
            measurement(
                "GuardrailActivationCount",
                "Count",
                1.0,
                now - 60_000 - i as Millis,
                &dims,
                i,
            )
        })
        .collect();
    sink.publish(&measurements).await.expect("publish");
    assert_eq!(
        sink.put_metric_data_calls(),
        3,
        "2,500 data points take three requests of at most 1,000"
    );
    sink.publish(&[]).await.expect("publish nothing");
    assert_eq!(
        sink.put_metric_data_calls(),
        3,
        "nothing to publish, no request"
    );

    // ListMetrics shows the metric with its dimensions (moto lists one entry
    // per data point, CloudWatch one per metric: compare the distinct ones).
    let listed = client
        .list_metrics()
        .namespace(&namespace)
        .send()
        .await
        .expect("ListMetrics");
    let distinct: BTreeSet<(String, Vec<(String, String)>)> = listed
        .metrics()
        .iter()
        .map(|m| {
            let mut dims: Vec<_> = m
                .dimensions()
                .iter()
                .map(|d| {
                    (
                        d.name().unwrap_or_default().to_string(),
                        d.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            dims.sort();
            (m.metric_name().unwrap_or_default().to_string(), dims)
        })
        .collect();
    let expected_dims: Vec<_> = dims
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        distinct,
        BTreeSet::from([("GuardrailActivationCount".to_string(), expected_dims)])
    );

    // GetMetricData sums every data point. (No dimensions in the query: with
    // dimensions, moto 5.1 matches them across all namespaces.)
    let metric = Metric::builder()
        .namespace(&namespace)
        .metric_name("GuardrailActivationCount")
        .build();
    let query = MetricDataQuery::builder()
        .id("total")
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(3600)
                .stat("Sum")
                .build(),
        )
        .build();
    let client = &client;
    let total = common::eventually(
        "the data points in GetMetricData",
        Duration::from_secs(10),
        || {
            let query = query.clone();
            async move {
                let data = client
                    .get_metric_data()
                    .metric_data_queries(query)
                    .start_time(DateTime::from_millis(now - 3_600_000))
                    .end_time(DateTime::from_millis(now + 600_000))
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let total: f64 = data
                    .metric_data_results()
                    .iter()
                    .flat_map(|r| r.values())
                    .sum();
                if total == 2500.0 {
                    Ok(total)
                } else {
                    Err(format!("sum {total}"))
                }
            }
        },
    )
    .await;
    assert_eq!(total, 2500.0);
}

#[tokio::test]
async fn integration_publish_fails_as_a_whole_when_cloudwatch_is_unreachable() {
    if common::endpoint(AWS_ENDPOINT_ENV, "unreachable").is_none() {
        return;
    }
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = aws_config(Some(&endpoint)).await;
    let sink = CloudWatchSink::new(
        cloudwatch_client(&config, Some(&endpoint)),
        "FlightController/unreachable",
    );
    let m = measurement(
        "GuardrailLeadTime",
        "Seconds",
        1.0,
        SystemClock.now(),
        &[],
        0,
    );
    let err = sink.publish(&[m]).await.expect_err("nothing listens there");
    assert!(err.message.contains("PutMetricData"), "{err}");
    assert!(err.message.contains("retryable"), "{err}");
}

/// A writer whose bytes the test can read afterwards.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

#[tokio::test]
async fn integration_partitioned_data_points_also_go_out_as_an_environment_rollup() {
    let Some(endpoint) = common::endpoint(AWS_ENDPOINT_ENV, "rollups") else {
        return;
    };
    let config = aws_config(Some(&endpoint)).await;
    let client = cloudwatch_client(&config, Some(&endpoint));
    let namespace = common::unique_name("FlightController", "rollups");
    let sink = CloudWatchSink::new(client.clone(), &namespace);
    let now = SystemClock.now();
    let measurements: Vec<_> = ["g1", "g2"]
        .iter()
        .enumerate()
        .map(|(i, g)| {
            measurement(
                "GuardrailLeadTime",
                "Seconds",
                60.0,
                now - 60_000,
                &[("Environment", "test"), ("guardrail_id", g)],
                i,
            )
        })
        .collect();
    sink.publish(&measurements).await.expect("publish");
    assert_eq!(sink.put_metric_data_calls(), 1);
    let listed = client
        .list_metrics()
        .namespace(&namespace)
        .send()
        .await
        .expect("ListMetrics");
    let dimension_sets: BTreeSet<Vec<String>> = listed
        .metrics()
        .iter()
        .map(|m| {
            m.dimensions()
                .iter()
                .map(|d| {
                    format!(
                        "{}={}",
                        d.name().unwrap_or_default(),
                        d.value().unwrap_or_default()
                    )
                })
                .collect()
        })
        .collect();
    let expected: BTreeSet<Vec<String>> = [
        vec!["Environment=test", "guardrail_id=g1"],
        vec!["Environment=test", "guardrail_id=g2"],
        vec!["Environment=test"],
    ]
    .iter()
    .map(|set| set.iter().map(|d| d.to_string()).collect())
    .collect();
    assert_eq!(dimension_sets, expected);
}

#[tokio::test]
async fn emf_lines_parse_back_with_the_right_structure() {
    let buffer = Buffer::default();
    let sink = EmfSink::new("FlightController/test", Box::new(buffer.clone()));
    let t = 1_793_491_200_000;
    let g1 = [("Environment", "test"), ("guardrail_id", "g1")];
    sink.publish(&[
        measurement("GuardrailLeadTime", "Seconds", 1800.0, t, &g1, 1),
        measurement("GuardrailMaxActivation", "Count", 2.0, t, &g1, 1),
        // Same metric, time and dimensions again: another line.
        measurement("GuardrailMaxActivation", "Count", 3.0, t, &g1, 2),
        // Other dimensions: another line.
        measurement(
            "GuardrailLeadTime",
            "Seconds",
            60.0,
            t,
            &[("Environment", "test"), ("guardrail_id", "g2")],
            3,
        ),
        // No dimensions.
        measurement("PatchCompliancePercentage", "Percent", 87.5, t + 1, &[], 4),
    ])
    .await
    .expect("publish");

    let lines = buffer.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(
        lines[0],
        json!({
            "_aws": {
                "Timestamp": t,
                "CloudWatchMetrics": [{
                    "Namespace": "FlightController/test",
                    "Dimensions": [["Environment", "guardrail_id"], ["Environment"]],
                    "Metrics": [
                        {"Name": "GuardrailLeadTime", "Unit": "Seconds"},
                        {"Name": "GuardrailMaxActivation", "Unit": "Count"},
                    ],
                }],
            },
            "Environment": "test",
            "guardrail_id": "g1",
            "GuardrailLeadTime": 1800.0,
            "GuardrailMaxActivation": 2.0,
        })
    );
    assert_eq!(lines[1]["GuardrailMaxActivation"], json!(3.0));
    assert_eq!(lines[2]["guardrail_id"], json!("g2"));
    assert_eq!(
        lines[3]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([[]]),
        "an unpartitioned line declares no rollup"
    );
    assert_eq!(lines[3]["_aws"]["Timestamp"], json!(t + 1));
    assert_eq!(lines[3]["PatchCompliancePercentage"], json!(87.5));
    // Every metric a line declares has its value at the root, and every dimension too.
    for line in &lines {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        for m in directive["Metrics"].as_array().expect("Metrics") {
            let name = m["Name"].as_str().expect("Name");
            assert!(line[name].is_number(), "{name} in {line}");
        }
        for d in directive["Dimensions"][0].as_array().expect("Dimensions") {
            assert!(line[d.as_str().expect("key")].is_string(), "{d} in {line}");
        }
    }
}

#[tokio::test]
async fn emf_lines_hold_at_most_100_metrics() {
    let buffer = Buffer::default();
    let sink = EmfSink::new("FlightController/test", Box::new(buffer.clone()));
    let measurements: Vec<_> = (0..250)
        .map(|i| {
            measurement(
                &format!("Metric{i}"),
                "Count",
                i as f64,
                1_000,
                &[("Environment", "test")],
                i,
            )
        })
        .collect();
    sink.publish(&measurements).await.expect("publish");
    let lines = buffer.lines();
    let per_line: Vec<_> = lines
        .iter()
        .map(|l| {
            l["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(per_line, [100, 100, 50]);
    let values: BTreeMap<String, f64> = lines
        .iter()
        .flat_map(|l| l.as_object().expect("object").iter())
        .filter(|(k, _)| k.starts_with("Metric"))
        .map(|(k, v)| (k.clone(), v.as_f64().expect("number")))
        .collect();
    assert_eq!(values.len(), 250);
    assert_eq!(values["Metric249"], 249.0);
}
