//! Per-event work stays bounded when an aggregate grows long: a resource that
//! has activated and passed a guardrail ten thousand times reads, per new
//! event, only the span since its last pass.

use flight_testkit::fixtures::*;

#[tokio::test]
async fn ten_thousand_cycles_on_one_resource_cost_the_same_reads_per_event_as_the_first_few() {
    let service = service(0);
    let cycles = 10_000;
    let mut reads_per_cycle = Vec::with_capacity(cycles);
    let mut requests_per_cycle = Vec::with_capacity(cycles);
    for cycle in 0..cycles as i64 {
        let (read_before, requests_before) =
            (service.store().entries_read(), service.store().requests());
        let activated = guardrail(
            "GuardrailActivated",
            "res-long",
            "g1",
            2 * cycle,
            &format!("a{cycle}"),
        );
        let passed = guardrail(
            "GuardrailPassed",
            "res-long",
            "g1",
            2 * cycle + 1,
            &format!("p{cycle}"),
        );
        service.ingest(&activated, None).await.unwrap();
        service.ingest(&passed, None).await.unwrap();
        reads_per_cycle.push(service.store().entries_read() - read_before);
        requests_per_cycle.push(service.store().requests() - requests_before);
    }
    // Once a few cycles exist, every cycle reads the same few entries, whether
    // the resource has ten passes behind it or ten thousand.
    let steady = reads_per_cycle[10];
    assert!(
        reads_per_cycle[10..].iter().all(|&reads| reads == steady),
        "entries read per cycle changed as the aggregate grew: {:?}",
        &reads_per_cycle[10..20]
    );
    let most = *reads_per_cycle.iter().max().unwrap();
    assert!(
        most <= 4,
        "a cycle reads at most the span since the last pass, read {most}"
    );
    assert_eq!(
        requests_per_cycle[10],
        requests_per_cycle[cycles - 1],
        "requests per cycle stay flat"
    );
    // And the numbers are right: every cycle's lead time is one minute.
    let lead: Vec<_> = service
        .store()
        .measurements()
        .into_iter()
        .filter(|m| m.metric == "GuardrailLeadTime")
        .collect();
    assert_eq!(lead.len(), cycles);
    assert!(lead.iter().all(|m| m.value == 60.0));
}
