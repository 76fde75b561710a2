//! Every metric kind under in-order, reordered and duplicated delivery, cycles,
//! partitions, an end before its start, a missing start and a late start.
//! Each scenario runs through the service (in-memory store) and is checked
//! against `measure_all`, the definition over the set of events.

use flight_testkit::clock::{HOUR, MINUTE, NOW};
use flight_testkit::fixtures::*;
use serde_json::json;

fn project_story() -> Vec<serde_json::Value> {
    vec![
        event("ProjectRequested", "p1", 0, "r1"),
        event("ProjectAssigned", "p1", 60, "a1"),
        event("ProjectCreated", "p1", 180, "c1"),
    ]
}

#[tokio::test]
async fn durations_in_order() {
    let published = published_for(&project_story()).await;
    assert_eq!(
        metric_values(&published, "ProjectAssignedLeadTime"),
        vec![3600.0]
    );
    assert_eq!(metric_values(&published, "ProjectLeadTime"), vec![10800.0]);
    assert_eq!(published, expected(&project_story()));
}

#[tokio::test]
async fn durations_reordered_give_the_same_numbers() {
    let mut story = project_story();
    story.reverse();
    let published = published_for(&story).await;
    assert_eq!(metric_values(&published, "ProjectLeadTime"), vec![10800.0]);
    assert_eq!(published, expected(&project_story()));
}

#[tokio::test]
async fn duplicated_deliveries_count_once() {
    let story = project_story();
    let doubled: Vec<_> = story
        .iter()
        .chain(story.iter())
        .chain(story.iter().rev())
        .cloned()
        .collect();
    let published = published_for(&doubled).await;
    assert_eq!(published.len(), 2, "{published:?}");
    assert_eq!(published, expected(&story));
}

#[tokio::test]
async fn a_retried_put_events_without_event_id_is_the_same_event() {
    let mut requested = event("ProjectRequested", "p1", 0, "x");
    requested["detail"]
        .as_object_mut()
        .unwrap()
        .remove("event_id");
    let mut created = event("ProjectCreated", "p1", 30, "x");
    created["detail"]
        .as_object_mut()
        .unwrap()
        .remove("event_id");
    let mut retried = created.clone();
    retried["id"] = json!("another-eventbridge-id");
    let published = published_for(&[requested, created, retried]).await;
    assert_eq!(metric_values(&published, "ProjectLeadTime"), vec![1800.0]);
}

fn guardrail_cycles() -> Vec<serde_json::Value> {
    vec![
        guardrail("GuardrailActivated", "res-1", "g1", 0, "a1"),
        guardrail("GuardrailActivated", "res-1", "g1", 10, "a2"),
        guardrail("GuardrailActivated", "res-1", "g1", 20, "a3"),
        guardrail("GuardrailPassed", "res-1", "g1", 30, "p1"),
        guardrail("GuardrailActivated", "res-1", "g1", 100, "a4"),
        guardrail("GuardrailPassed", "res-1", "g1", 105, "p2"),
    ]
}

#[tokio::test]
async fn guardrail_cycles_yield_one_lead_time_and_one_maximum_per_pass() {
    let published = published_for(&guardrail_cycles()).await;
    assert_eq!(
        metric_values(&published, "GuardrailLeadTime"),
        vec![1800.0, 300.0]
    );
    assert_eq!(
        metric_values(&published, "GuardrailMaxActivation"),
        vec![3.0, 1.0]
    );
    assert_eq!(
        metric_values(&published, "GuardrailActivationCount"),
        vec![1.0; 4]
    );
    assert!(published
        .iter()
        .all(|p| p.3 == vec![("guardrail_id".to_string(), "g1".to_string())]));
    assert_eq!(published, expected(&guardrail_cycles()));
}

#[tokio::test]
async fn guardrail_cycles_in_any_rotation_and_reversal_agree() {
    let story = guardrail_cycles();
    let want = expected(&story);
    for shift in 0..story.len() {
        let mut rotated = story.clone();
        rotated.rotate_left(shift);
        assert_eq!(published_for(&rotated).await, want, "rotation {shift}");
        rotated.reverse();
        assert_eq!(
            published_for(&rotated).await,
            want,
            "reversed rotation {shift}"
        );
    }
}

#[tokio::test]
async fn two_partitions_in_one_aggregate_do_not_mix() {
    let story = vec![
        guardrail("GuardrailActivated", "res-1", "g1", 0, "a1"),
        guardrail("GuardrailActivated", "res-1", "g2", 5, "b1"),
        guardrail("GuardrailPassed", "res-1", "g2", 15, "b2"),
        guardrail("GuardrailPassed", "res-1", "g1", 60, "a2"),
    ];
    let published = published_for(&story).await;
    let lead: Vec<_> = published
        .iter()
        .filter(|p| p.0 == "GuardrailLeadTime")
        .collect();
    assert_eq!(lead.len(), 2);
    assert!(lead.iter().any(|p| p.1 == 3600.0 && p.3[0].1 == "g1"));
    assert!(lead.iter().any(|p| p.1 == 600.0 && p.3[0].1 == "g2"));
    assert_eq!(published, expected(&story));
}

#[tokio::test]
async fn an_end_before_any_start_has_no_duration_but_counts_zero_occurrences() {
    let story = vec![
        guardrail("GuardrailPassed", "res-1", "g1", 0, "p0"),
        guardrail("GuardrailActivated", "res-1", "g1", 10, "a1"),
        guardrail("GuardrailPassed", "res-1", "g1", 20, "p1"),
    ];
    let published = published_for(&story).await;
    assert_eq!(metric_values(&published, "GuardrailLeadTime"), vec![600.0]);
    assert_eq!(
        metric_values(&published, "GuardrailMaxActivation"),
        vec![0.0, 1.0]
    );
    assert_eq!(published, expected(&story));
}

#[tokio::test]
async fn a_missing_start_gives_no_data_point() {
    let story = vec![event("AccountCreated", "acc-1", 10, "c1")];
    let published = published_for(&story).await;
    assert!(published.is_empty(), "{published:?}");
    assert_eq!(published, expected(&story));
}

#[tokio::test]
async fn a_start_that_arrives_after_its_end_but_within_the_window_is_counted() {
    let story = [
        event("IdentityCreated", "id-1", 15, "c1"),
        event("IdentityRequested", "id-1", 0, "r1"),
    ];
    let service = service(5 * MINUTE);
    service.ingest(&story[0], None).await.unwrap();
    service.clock().advance(4 * MINUTE);
    let report = service.ingest(&story[1], None).await.unwrap();
    assert!(!report.late);
    service.clock().advance(MINUTE);
    service.settle().await.unwrap();
    assert_eq!(
        metric_values(&summary(&service.sink().published()), "IdentityLeadTime"),
        vec![900.0]
    );
}

#[tokio::test]
async fn a_start_that_arrives_after_the_window_is_late_and_changes_nothing_published() {
    let service = service(5 * MINUTE);
    service
        .ingest(&event("IdentityRequested", "id-1", 10, "r2"), None)
        .await
        .unwrap();
    service
        .ingest(&event("IdentityCreated", "id-1", 15, "c1"), None)
        .await
        .unwrap();
    service.clock().advance(5 * MINUTE);
    service.settle().await.unwrap();
    assert_eq!(
        metric_values(&summary(&service.sink().published()), "IdentityLeadTime"),
        vec![300.0]
    );

    // An earlier request turns up an hour later: it is stored and counted as late.
    service.clock().advance(HOUR);
    let report = service
        .ingest(&event("IdentityRequested", "id-1", 0, "r1"), None)
        .await
        .unwrap();
    assert!(report.late);
    service.clock().advance(5 * MINUTE);
    service.settle().await.unwrap();
    let published = summary(&service.sink().published());
    assert_eq!(metric_values(&published, "IdentityLeadTime"), vec![300.0]);
    let late: Vec<_> = service
        .sink()
        .published()
        .into_iter()
        .filter(|m| m.metric == "LateEvents")
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].dimensions["EventType"], "IdentityRequested");

    // Redelivering the late event neither counts it twice nor changes anything.
    service
        .ingest(&event("IdentityRequested", "id-1", 0, "r1"), None)
        .await
        .unwrap();
    service.clock().advance(10 * MINUTE);
    service.settle().await.unwrap();
    assert_eq!(service.sink().published().len(), 2);
}

#[tokio::test]
async fn counts_and_ratios_are_published_per_event() {
    let story = vec![
        event_with(
            "PatchRunSummary",
            "run-1",
            0,
            "s1",
            json!({"successful_instances": "i-1,i-2,i-3", "failed_instances": "i-4"}),
        ),
        event_with(
            "PatchRunSummary",
            "run-2",
            0,
            "s2",
            json!({"successful_instances": "", "failed_instances": "i-4,i-5"}),
        ),
        event_with(
            "PatchRunSummary",
            "run-3",
            0,
            "s3",
            json!({"successful_instances": ["i-1"], "failed_instances": []}),
        ),
        event_with(
            "PatchRunSummary",
            "run-4",
            0,
            "s4",
            json!({"successful_instances": "", "failed_instances": ""}),
        ),
    ];
    let published = published_for(&story).await;
    // run-4 patched nothing and failed nothing: 0 / 0 is no data point.
    assert_eq!(
        metric_values(&published, "PatchCompliancePercentage"),
        vec![75.0, 0.0, 100.0]
    );
    assert_eq!(published, expected(&story));
}

#[tokio::test]
async fn data_points_wait_for_their_window_and_carry_the_event_time() {
    let service = service(5 * MINUTE);
    for e in project_story() {
        service.ingest(&e, None).await.unwrap();
    }
    service.clock().advance(4 * MINUTE);
    assert!(service.settle().await.unwrap().published.is_empty());
    service.clock().advance(MINUTE);
    let report = service.settle().await.unwrap();
    assert_eq!(report.published.len(), 2);
    let created = report
        .published
        .iter()
        .find(|m| m.metric == "ProjectLeadTime")
        .unwrap();
    assert_eq!(created.timestamp, NOW - 10 * 24 * HOUR + 180 * MINUTE);
    // Settling again publishes nothing more.
    service.clock().advance(HOUR);
    assert!(service.settle().await.unwrap().published.is_empty());
}

#[tokio::test]
async fn data_points_older_than_cloudwatch_accepts_are_kept_but_not_sent() {
    let service = service(0);
    let mut old = event("AccountRequested", "acc-1", 0, "r1");
    old["detail"]["time"] = json!("2026-01-01T00:00:00Z");
    let mut created = event("AccountCreated", "acc-1", 0, "c1");
    created["detail"]["time"] = json!("2026-01-01T01:00:00Z");
    service.ingest(&old, None).await.unwrap();
    let report = service.ingest(&created, None).await.unwrap();
    assert!(report.published.is_empty());
    assert!(service.sink().published().is_empty());
    let kept = service.store().measurements();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].delivery, flight_core::Delivery::TooOld);
    assert_eq!(kept[0].value, 3600.0);
}
