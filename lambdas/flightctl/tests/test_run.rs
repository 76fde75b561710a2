//! `flightctl test-run` as a user runs it: what it says when it cannot run,
//! and, against moto and DynamoDB Local (scripts/services.sh), that a run
//! puts its stamped entries on the environment's bus and, when nothing
//! captures them, reports every expected measurement missing and exits 1.
//! (The run proven end to end, through the local stack's functions, is
//! scripts/e2e.sh.)

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::Target as RuleTarget;
use aws_sdk_sqs::types::QueueAttributeName;
use flight_core::names::Deployment;
use serde_json::Value;

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name)
        .display()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// flightctl with no environment and no local endpoint configured.
fn flightctl_nowhere(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(args)
        .env_remove("FC_AWS_ENDPOINT")
        .env_remove("FC_DYNAMODB_ENDPOINT")
        .env_remove("FC_ENV")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("flightctl runs")
}

#[test]
fn test_run_help_explains_the_run_with_examples() {
    let out = flightctl_nowhere(&["test-run", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for needle in [
        "Examples:",
        "flightctl test-run events/guardrail.json",
        "--env",
        "--json",
        "--timeout",
        "capture table",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn a_test_run_without_files_or_environment_says_what_to_give() {
    let out = flightctl_nowhere(&["test-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no entry files given: name the PutEvents entry files"),
        "{}",
        text(&out.stderr)
    );

    let out = flightctl_nowhere(&["test-run", &sample("guardrail.json")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("which environment? Give --env NAME"),
        "{stderr}"
    );

    let out = flightctl_nowhere(&["test-run", "--env", "dev", "/nonexistent.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent.json"));
}

/// The local services' endpoints, `None` when FC_SKIP_INTEGRATION=1; unset
/// otherwise, the test fails rather than pass without what it tests.
fn endpoints() -> Option<(String, String)> {
    if std::env::var("FC_SKIP_INTEGRATION").is_ok_and(|v| v == "1") {
        eprintln!("skipped (FC_SKIP_INTEGRATION=1)");
        return None;
    }
    let get = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "{name} is not set: run `scripts/services.sh start` and \
                 `eval \"$(scripts/services.sh env)\"` first (or set FC_SKIP_INTEGRATION=1)"
                )
            })
    };
    Some((get("FC_AWS_ENDPOINT"), get("FC_DYNAMODB_ENDPOINT")))
}

/// An environment name no other run uses (at most 12 characters).
fn unique_environment() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("r{:08x}", (nanos / 1000) % 0xffff_ffff)
}

#[tokio::test]
async fn integration_a_run_nothing_captures_puts_its_stamped_entries_and_reports_them_missing() {
    let Some((moto, dynamodb)) = endpoints() else {
        return;
    };
    let env = unique_environment();
    let deployment = Deployment::new(&env);
    let (bus, capture_table) = (deployment.event_bus(), deployment.capture_table());
    let config = flight_aws::aws_config(Some(&moto)).await;
    flight_aws::DynamoCapture::create_table(
        &flight_aws::dynamodb_client(&config, Some(&dynamodb)),
        &capture_table,
    )
    .await
    .expect("capture table created");
    // The bus, and a rule that copies the run's events to a queue we read.
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("{bus}-all"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("all")
        .event_bus_name(&bus)
        .event_pattern(r#"{"detail": {"test_run_id": ["run-it"]}}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all")
        .event_bus_name(&bus)
        .targets(
            RuleTarget::builder()
                .id("q")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(["test-run", "--env", &env, "--endpoint-url", &moto])
        .args(["--dynamodb-endpoint-url", &dynamodb])
        .args(["--run-id", "run-it", "--timeout", "0", "--json"])
        .arg(sample("guardrail.json"))
        .output()
        .expect("flightctl runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("putting 5 entries on bus {bus}")),
        "{stderr}"
    );
    assert!(stderr.contains("FAILED: run run-it"), "{stderr}");
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(outcome["run_id"], "run-it");
    assert_eq!(outcome["passed"], false);
    assert_eq!(outcome["capture_table"], capture_table.as_str());
    assert_eq!(outcome["expected_measurements"], 7);
    assert_eq!(outcome["missing"].as_array().unwrap().len(), 7);
    assert_eq!(outcome["events_not_captured"].as_array().unwrap().len(), 5);

    // The entries reached the bus stamped for the run.
    let mut details = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while details.len() < 5 && Instant::now() < deadline {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in received.messages() {
            let event: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            details.push(event["detail"].clone());
        }
    }
    assert_eq!(details.len(), 5, "{details:?}");
    for detail in &details {
        assert_eq!(detail["test_run_id"], "run-it", "{detail}");
        assert!(
            detail["aggregate_id"]
                .as_str()
                .unwrap()
                .ends_with("~run-it"),
            "{detail}"
        );
    }
}
