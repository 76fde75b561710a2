//! Settle by sweep against DynamoDB Local (issue 13): four invocations, each
//! with a DynamoDB client of its own, sweep their quarter of the `due` shards
//! at once while a fifth, stale one sweeps every shard; every data point is
//! published exactly once and nothing is left due.

use std::sync::Arc;

use flight_aws::{aws_config, dynamodb_client, DynamoStore};
use flight_core::memory::{CollectingSink, ManualClock};
use flight_core::ports::EventStore;
use flight_core::shard::Sweep;
use flight_core::{FlightController, Settings};
use flight_testkit::aws as common;
use flight_testkit::clock::{HOUR, MINUTE, NOW};
use flight_testkit::fixtures::{catalog, event, expected, summary};

type Invocation = FlightController<DynamoStore, Arc<CollectingSink>, Arc<ManualClock>>;

#[tokio::test]
async fn parallel_sweeps_and_a_stale_one_publish_every_data_point_once() {
    let Some(reader) = common::new_store("sweeps").await else {
        return;
    };
    let config = aws_config(None).await;
    let sink = Arc::new(CollectingSink::new());
    let clock = Arc::new(ManualClock::new(NOW));
    let invocation = || -> Invocation {
        FlightController::new(
            catalog(),
            DynamoStore::new(dynamodb_client(&config, None), reader.table()),
            sink.clone(),
            clock.clone(),
            Settings {
                environment: None,
                lateness_window: 5 * MINUTE,
                lease: 2 * MINUTE,
                enforce_cloudwatch_range: false,
            },
        )
    };
    let ingest = invocation();
    let mut events = Vec::new();
    for i in 0..60 {
        let project = format!("project-{i}");
        events.push(event("ProjectRequested", &project, 0, &format!("r{i}")));
        events.push(event("ProjectCreated", &project, 90, &format!("c{i}")));
    }
    for e in &events {
        ingest.ingest(e, None).await.expect("accepted");
    }
    clock.advance(HOUR);

    let sweeps: Vec<Invocation> = (0..5).map(|_| invocation()).collect();
    let (a, b, c, d, stale) = tokio::join!(
        sweeps[0].settle_sweep(Sweep::new(0, 4).unwrap()),
        sweeps[1].settle_sweep(Sweep::new(1, 4).unwrap()),
        sweeps[2].settle_sweep(Sweep::new(2, 4).unwrap()),
        sweeps[3].settle_sweep(Sweep::new(3, 4).unwrap()),
        sweeps[4].settle_sweep(Sweep::ALL),
    );

    let settled: usize = [a, b, c, d, stale]
        .into_iter()
        .map(|r| r.expect("sweep").events)
        .sum();
    assert_eq!(settled, 60, "each project's lead time settled once");
    assert_eq!(summary(&sink.published()), expected(&events));
    let left = reader.due(NOW + 2 * HOUR, 1_000).await.expect("due");
    assert!(left.is_empty(), "{} events left due", left.len());
}
