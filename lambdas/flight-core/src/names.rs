//! The names of an environment's AWS resources, derived in one place for the
//! Rust side. They follow `terraform/modules/catalog/main.tf` (its `prefix`,
//! `slug`, `names` and `functions`); `lambdas/flightctl/tests/catalog_agreement.rs`
//! checks that both derive the same names.
//!
//! | part | name |
//! |---|---|
//! | bus, dashboard | `PREFIX-ENV` |
//! | event store, capture table | `PREFIX-ENV-events`, `PREFIX-ENV-capture` |
//! | alert topics | `PREFIX-ENV-page`, `PREFIX-ENV-ticket` |
//! | function (and its rule) | `PREFIX-ENV-ingest-<event type slug>`, `PREFIX-ENV-settle`, `PREFIX-ENV-capture` |
//! | dead-letter queue, log group | `<function>-dlq`, `/aws/lambda/<function>` |
//! | SLO window alarm | `PREFIX-ENV-slo-<slo name>-burn-<window>-x<factor>` |
//! | SLO composite alarm | `PREFIX-ENV-slo-<slo name>-<severity>` |

use crate::duration::{decimal_text, duration_text, Seconds};

/// The prefix of every resource name (Terraform's `name_prefix` default).
pub const DEFAULT_NAME_PREFIX: &str = "flight-controller";
/// The longest name AWS takes for a Lambda function, an IAM role or a rule.
pub const MAX_FUNCTION_NAME: usize = 64;
/// The environments the project deploys (`local` is the local stack). A catalog
/// is checked against each: its function names must fit in all of them.
pub const CHECKED_ENVIRONMENTS: &[&str] = &["dev", "prod", "local"];
/// The environment of the local stack (`scripts/local.sh`), which
/// `flightctl` targets by default when a local endpoint is set.
pub const LOCAL_ENVIRONMENT: &str = "local";
/// The bus scheduled rules live on (the settle function's trigger).
pub const DEFAULT_BUS: &str = "default";
/// The key of the scheduled function that settles and publishes.
const SETTLE: &str = "settle";
/// The key of the function that captures the events of test runs.
const CAPTURE: &str = "capture";

/// An event type's name as AWS resource names hold it: `ProjectRequested` and
/// `project_requested` both become `project-requested` (Terraform's `slug`).
pub fn slug(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        out.push(*c);
        let next_upper = chars.get(i + 1).is_some_and(char::is_ascii_uppercase);
        if (c.is_ascii_lowercase() || c.is_ascii_digit()) && next_upper {
            out.push('-');
        }
    }
    out.replace('_', "-").to_lowercase()
}

/// Whether `name` is an environment name Terraform accepts (1-12 characters:
/// lower-case letters, digits and hyphens, starting with a letter).
pub fn valid_environment(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 12
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// One deployment of Flight Controller: a name prefix and an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub name_prefix: String,
    pub environment: String,
}

/// A Lambda function of a deployment, with its trigger, queue and log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    /// `ingest-<slug>`, `settle` or `capture`, as Terraform's `functions` output keys it.
    pub key: String,
    /// The event type an ingest function serves.
    pub event_type: Option<String>,
    pub function_name: String,
    /// The EventBridge rule that triggers it (named as the function).
    pub rule_name: String,
    /// The bus of that rule: the deployment's, or [`DEFAULT_BUS`] for the settle schedule.
    pub rule_bus: String,
    pub dead_letter_queue: String,
    pub log_group: String,
}

impl FunctionName {
    /// Whether this is the scheduled settle function.
    pub fn is_settle(&self) -> bool {
        self.key == SETTLE
    }

    /// Whether this is the capture function of test runs.
    pub fn is_capture(&self) -> bool {
        self.key == CAPTURE
    }
}

impl Deployment {
    /// The deployment of `environment` under [`DEFAULT_NAME_PREFIX`].
    pub fn new(environment: &str) -> Deployment {
        Deployment::with_prefix(DEFAULT_NAME_PREFIX, environment)
    }

    /// The deployment of `environment` under another name prefix.
    pub fn with_prefix(name_prefix: &str, environment: &str) -> Deployment {
        Deployment {
            name_prefix: name_prefix.to_string(),
            environment: environment.to_string(),
        }
    }

    /// `PREFIX-ENV`, the start of every name.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.name_prefix, self.environment)
    }

    /// The custom event bus.
    pub fn event_bus(&self) -> String {
        self.prefix()
    }

    /// The event store table.
    pub fn event_table(&self) -> String {
        format!("{}-events", self.prefix())
    }

    /// The capture table of test runs (where capture is enabled).
    pub fn capture_table(&self) -> String {
        format!("{}-capture", self.prefix())
    }

    /// The CloudWatch dashboard.
    pub fn dashboard(&self) -> String {
        self.prefix()
    }

    /// The KMS key alias.
    pub fn kms_alias(&self) -> String {
        format!("alias/{}", self.prefix())
    }

    /// The SNS topic alarms of a severity (`page`, `ticket`) notify.
    pub fn alert_topic(&self, severity: &str) -> String {
        format!("{}-{severity}", self.prefix())
    }

    /// What every SLO alarm's name starts with; the SLO's name follows.
    pub fn slo_alarm_prefix(&self) -> String {
        format!("{}-slo-", self.prefix())
    }

    /// The burn-rate alarm of one SLO window: `PREFIX-ENV-slo-SLO-burn-1h-x13.44`
    /// (the window's canonical text, the factor with at most 2 decimals).
    pub fn slo_window_alarm(&self, slo: &str, window: Seconds, factor: f64) -> String {
        format!(
            "{}{slo}-burn-{}-x{}",
            self.slo_alarm_prefix(),
            duration_text(window),
            decimal_text(factor, 2)
        )
    }

    /// The composite alarm of an SLO and a severity (`page`, `ticket`):
    /// `PREFIX-ENV-slo-SLO-page`.
    pub fn slo_composite_alarm(&self, slo: &str, severity: &str) -> String {
        format!("{}{slo}-{severity}", self.slo_alarm_prefix())
    }

    /// The function ingesting events of the type named `event_type`.
    pub fn ingest_function(&self, event_type: &str) -> FunctionName {
        self.function(
            format!("ingest-{}", slug(event_type)),
            Some(event_type),
            self.event_bus(),
        )
    }

    /// Every function: one ingest function per event type (in the order
    /// given), settle, and capture when `capture` is enabled.
    pub fn functions<'a>(
        &self,
        event_types: impl IntoIterator<Item = &'a str>,
        capture: bool,
    ) -> Vec<FunctionName> {
        let mut functions: Vec<FunctionName> = event_types
            .into_iter()
            .map(|t| self.ingest_function(t))
            .collect();
        functions.push(self.function(SETTLE.into(), None, DEFAULT_BUS.into()));
        if capture {
            functions.push(self.function(CAPTURE.into(), None, self.event_bus()));
        }
        functions
    }

    fn function(&self, key: String, event_type: Option<&str>, rule_bus: String) -> FunctionName {
        let function_name = format!("{}-{key}", self.prefix());
        FunctionName {
            key,
            event_type: event_type.map(str::to_string),
            rule_name: function_name.clone(),
            rule_bus,
            dead_letter_queue: format!("{function_name}-dlq"),
            log_group: format!("/aws/lambda/{function_name}"),
            function_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_split_words_with_hyphens_in_lower_case() {
        assert_eq!(slug("ProjectRequested"), "project-requested");
        assert_eq!(slug("project_requested"), "project-requested");
        assert_eq!(slug("Patch2Run"), "patch2-run");
        assert_eq!(slug("ABCRun"), "abcrun");
        assert_eq!(
            slug("ResourceFoundNonCompliant"),
            "resource-found-non-compliant"
        );
        assert_eq!(slug("IPv4Seen"), "ipv4-seen");
    }

    #[test]
    fn environment_names_are_those_terraform_accepts() {
        assert!(valid_environment("dev") && valid_environment("t-1"));
        assert!(valid_environment(LOCAL_ENVIRONMENT));
        assert!(
            !valid_environment("Dev")
                && !valid_environment("1x")
                && !valid_environment("thirteen-char")
        );
    }

    #[test]
    fn the_default_catalog_has_an_ingest_function_per_event_type_then_settle_and_capture() {
        let catalog = crate::catalog::Catalog::default_catalog();
        let dev = Deployment::new("dev");
        assert_eq!(dev.slo_alarm_prefix(), "flight-controller-dev-slo-");
        assert_eq!(
            dev.slo_window_alarm("guardrail-lead-time", 3_600, 13.44),
            "flight-controller-dev-slo-guardrail-lead-time-burn-1h-x13.44"
        );
        assert_eq!(
            dev.slo_window_alarm("s", 5_400, 5.0),
            "flight-controller-dev-slo-s-burn-90m-x5"
        );
        assert_eq!(
            dev.slo_composite_alarm("s", "ticket"),
            "flight-controller-dev-slo-s-ticket"
        );
        let functions = dev.functions(catalog.type_names(), true);
        let first = &functions[0];
        assert_eq!(first.key, "ingest-project-requested");
        assert_eq!(
            first.function_name,
            "flight-controller-dev-ingest-project-requested"
        );
        assert_eq!(first.rule_bus, "flight-controller-dev");
        let settle = functions.iter().find(|f| f.is_settle()).unwrap();
        assert_eq!(settle.rule_bus, "default");
        assert!(functions.last().unwrap().is_capture());
        assert_eq!(functions.len(), 12 + 2);
    }

    #[test]
    fn a_deployment_names_its_parts_after_its_prefix() {
        let dev = Deployment::new("dev");
        assert_eq!(dev.event_bus(), "flight-controller-dev");
        assert_eq!(dev.event_table(), "flight-controller-dev-events");
        let functions = dev.functions(["ProjectRequested"], true);
        let keys: Vec<&str> = functions.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["ingest-project-requested", "settle", "capture"]);
        assert_eq!(
            functions[0].dead_letter_queue,
            "flight-controller-dev-ingest-project-requested-dlq"
        );
        assert_eq!(functions[1].rule_bus, "default");
        assert!(valid_environment("dev") && !valid_environment("Dev"));
    }
}
