//! The capture table's configuration: functions of test environments get
//! `CAPTURE_TABLE_NAME` (and may get `CAPTURE_TTL_HOURS`); production ones get neither.

fn variables(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// A configuration as the local stack has it; no request is sent.
async fn local_config() -> flight_aws::SdkConfig {
    flight_aws::aws_config(Some("http://127.0.0.1:9")).await
}

#[tokio::test]
async fn without_a_capture_table_nothing_is_captured() {
    let config = local_config().await;
    assert!(flight_lambda::capture_table(&config, variables(&[]))
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_capture_table_and_its_ttl_come_from_the_environment() {
    let config = local_config().await;
    let capture = flight_lambda::capture_table(
        &config,
        variables(&[
            ("CAPTURE_TABLE_NAME", "fc-dev-capture"),
            ("CAPTURE_TTL_HOURS", "6"),
        ]),
    )
    .unwrap()
    .expect("a capture table");
    assert_eq!(capture.table(), "fc-dev-capture");

    let error = flight_lambda::capture_table(
        &config,
        variables(&[
            ("CAPTURE_TABLE_NAME", "fc-dev-capture"),
            ("CAPTURE_TTL_HOURS", "soon"),
        ]),
    )
    .err()
    .expect("refused");
    assert_eq!(
        error.to_string(),
        "CAPTURE_TTL_HOURS: `soon` is not a whole number of hours from 1"
    );
}
