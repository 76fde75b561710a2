//! The catalog is checked twice — by `flightctl validate` (Rust) and by the
//! Terraform catalog module when it is planned — and the names of AWS
//! resources are derived twice — by `flight_core::names` and by the module.
//! This test holds them together:
//!
//! - every catalog of `terraform/modules/catalog/tests/corpus/` (its first
//!   line says `# valid: ...` or `# invalid: what is wrong`) and the default
//!   catalog get the same verdict from `flightctl validate` and from
//!   `terraform plan` of the module, and that verdict is the one the file states;
//! - for every valid catalog, in environment `dev`, the names, slugs,
//!   functions and statistics Rust derives are the module's outputs, and so
//!   are the burn-rate alarms: `flight_core::alerting::alarm_definitions`
//!   (what `flightctl report` and `flightctl alerts backtest` evaluate) equal
//!   the module's `slo_window_alarms` and `slo_composite_alarms` field by
//!   field, and its `lateness_window_seconds` is the catalog's lateness window.
//!
//! It needs the `terraform` binary on PATH; the module has no provider, so it
//! runs offline. Each Terraform root is initialised once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flight_core::alerting::{alarm_definitions, TREAT_MISSING_DATA};
use flight_core::catalog::{Catalog, Severity};
use flight_core::names::{slug, Deployment, CHECKED_ENVIRONMENTS};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

fn module_dir() -> PathBuf {
    repo_root().join("terraform/modules/catalog")
}

/// The corpus, then the default catalog, each with the verdict it states.
fn cases() -> Vec<(PathBuf, bool)> {
    let corpus = module_dir().join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", corpus.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut cases: Vec<(PathBuf, bool)> = files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a corpus file");
            let first = text.lines().next().unwrap_or_default();
            let valid = if first.starts_with("# valid:") {
                true
            } else if first.starts_with("# invalid:") {
                false
            } else {
                panic!(
                    "{}: the first line must say `# valid: ...` or `# invalid: what is wrong`",
                    path.display()
                )
            };
            (path, valid)
        })
        .collect();
    cases.push((repo_root().join("events/catalog.yaml"), true));
    cases
}

/// A Terraform root calling the catalog module, initialised once, in a
/// directory of its own (removed when dropped).
struct Root {
    dir: PathBuf,
}

impl Root {
    fn new(name: &str) -> Root {
        let dir = std::env::temp_dir().join(format!(
            "fc-catalog-agreement-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let main = format!(
            r#"variable "catalog_path" {{ type = string }}
variable "environment" {{ type = string }}

module "catalog" {{
  source         = "{}"
  catalog_path   = var.catalog_path
  environment    = var.environment
  region         = "us-east-1"
  enable_capture = true
}}

output "names" {{ value = module.catalog.names }}
output "event_types" {{ value = module.catalog.event_types }}
output "functions" {{ value = module.catalog.functions }}
output "metrics" {{ value = module.catalog.metrics }}
output "slo_window_alarms" {{ value = module.catalog.slo_window_alarms }}
output "slo_composite_alarms" {{ value = module.catalog.slo_composite_alarms }}
output "lateness_window_seconds" {{ value = module.catalog.lateness_window_seconds }}
output "dashboard_body" {{ value = module.catalog.dashboard_body }}
"#,
            module_dir().display()
        );
        std::fs::write(dir.join("main.tf"), main).expect("the root module");
        let root = Root { dir };
        let init = root.terraform(&["init", "-input=false", "-no-color"]);
        assert!(
            init.status.success(),
            "terraform init failed:\n{}",
            String::from_utf8_lossy(&init.stderr)
        );
        root
    }

    fn terraform(&self, args: &[&str]) -> Output {
        match Command::new("terraform")
            .args(args)
            .current_dir(&self.dir)
            .env("TF_IN_AUTOMATION", "1")
            .output()
        {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`terraform` is not on PATH: this test plans the Terraform catalog module \
                 (terraform/modules/catalog, no provider needed) to compare its verdicts and \
                 names with Rust's; install Terraform >= 1.7 and put it on PATH"
            ),
            Err(e) => panic!("cannot run terraform: {e}"),
        }
    }

    fn vars(catalog: &Path, environment: &str) -> [String; 2] {
        [
            format!("-var=catalog_path={}", catalog.display()),
            format!("-var=environment={environment}"),
        ]
    }

    /// Whether the module plans with this catalog; the errors when it does not.
    fn plan(&self, catalog: &Path, environment: &str) -> Result<(), String> {
        let vars = Root::vars(catalog, environment);
        let output = self.terraform(&[
            "plan",
            "-input=false",
            "-no-color",
            "-lock=false",
            &vars[0],
            &vars[1],
        ]);
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// The module's outputs for this catalog (applied: there are no resources).
    fn outputs(&self, catalog: &Path, environment: &str) -> Value {
        let vars = Root::vars(catalog, environment);
        let state = format!("-state={}", self.dir.join("outputs.tfstate").display());
        let apply = self.terraform(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-lock=false",
            &state,
            &vars[0],
            &vars[1],
        ]);
        assert!(
            apply.status.success(),
            "terraform apply of {} failed:\n{}",
            catalog.display(),
            String::from_utf8_lossy(&apply.stderr)
        );
        let output = self.terraform(&["output", "-json", "-no-color", &state]);
        assert!(output.status.success(), "terraform output failed");
        serde_json::from_slice(&output.stdout).expect("terraform output -json is JSON")
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `flightctl validate --catalog FILE`: Ok when valid, the problems when not.
fn flightctl_validate(catalog: &Path) -> Result<(), String> {
    let output = Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(["validate", "--catalog"])
        .arg(catalog)
        .output()
        .expect("flightctl runs");
    match output.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        other => panic!(
            "flightctl validate {} exited with {other:?}:\n{}",
            catalog.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

fn verdict(result: &Result<(), String>) -> &'static str {
    if result.is_ok() {
        "valid"
    } else {
        "invalid"
    }
}

#[test]
fn flightctl_validate_and_terraform_plan_give_every_catalog_the_same_verdict() {
    let root = Root::new("verdicts");
    // Rust checks function names in every environment of CHECKED_ENVIRONMENTS;
    // the longest of them decides, so the module is planned with it.
    let environment = CHECKED_ENVIRONMENTS
        .iter()
        .max_by_key(|e| e.len())
        .expect("an environment");
    let cases = cases();
    assert!(
        cases.iter().filter(|(_, valid)| !valid).count() >= 10,
        "the corpus holds at least ten bad catalogs"
    );
    let mut disagreements = Vec::new();
    for (path, stated) in &cases {
        let rust = flightctl_validate(path);
        let terraform = root.plan(path, environment);
        let stated = if *stated { "valid" } else { "invalid" };
        if verdict(&rust) != stated || verdict(&terraform) != stated {
            disagreements.push(format!(
                "{}: stated {stated}, flightctl validate says {}, terraform plan says {}\n  flightctl: {}\n  terraform: {}",
                path.display(),
                verdict(&rust),
                verdict(&terraform),
                rust.err().unwrap_or_default().trim(),
                terraform
                    .err()
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains("Error") || l.contains("SLO") || l.contains("names"))
                    .collect::<Vec<_>>()
                    .join(" / "),
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} catalogs disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
}

#[test]
fn the_names_and_alarms_rust_derives_are_the_catalog_modules_outputs() {
    let root = Root::new("names");
    let deployment = Deployment::new("dev");
    for (path, _) in cases().into_iter().filter(|(_, valid)| *valid) {
        let text = std::fs::read_to_string(&path).expect("a catalog");
        let catalog = Catalog::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = root.outputs(&path, &deployment.environment);
        let at = path.display();
        let value = |name: &str| &out[name]["value"];

        let names = value("names");
        assert_eq!(names["event_bus"], deployment.event_bus().as_str(), "{at}");
        assert_eq!(
            names["event_table"],
            deployment.event_table().as_str(),
            "{at}"
        );
        assert_eq!(
            names["capture_table"],
            deployment.capture_table().as_str(),
            "{at}"
        );
        assert_eq!(names["dashboard"], deployment.dashboard().as_str(), "{at}");
        assert_eq!(names["kms_alias"], deployment.kms_alias().as_str(), "{at}");
        for severity in Severity::ALL {
            assert_eq!(
                names["alert_topics"][severity.as_str()],
                deployment.alert_topic(severity.as_str()).as_str(),
                "{at}"
            );
        }

        for t in &catalog.event_types {
            assert_eq!(
                value("event_types")[&t.name]["slug"],
                slug(&t.name).as_str(),
                "{at}"
            );
        }

        let functions = value("functions").as_object().expect("functions by key");
        let expected = deployment.functions(catalog.type_names(), true);
        let keys: BTreeSet<&str> = functions.keys().map(String::as_str).collect();
        let expected_keys: BTreeSet<&str> = expected.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, expected_keys, "{at}: function keys");
        for f in &expected {
            let module = &functions[&f.key];
            assert_eq!(module["function_name"], f.function_name.as_str(), "{at}");
            assert_eq!(module["rule_name"], f.rule_name.as_str(), "{at}");
            assert_eq!(module["event_bus"], f.rule_bus.as_str(), "{at}");
            assert_eq!(
                module["dead_letter_queue_name"],
                f.dead_letter_queue.as_str(),
                "{at}"
            );
            assert_eq!(module["log_group_name"], f.log_group.as_str(), "{at}");
            assert_eq!(
                module["event_type"].as_str(),
                f.event_type.as_deref(),
                "{at}"
            );
        }

        let metrics = value("metrics");
        for metric in &catalog.metrics {
            assert_eq!(
                metrics[&metric.name]["kind"],
                metric.kind.name().as_str(),
                "{at}"
            );
            assert_eq!(
                metrics[&metric.name]["statistic"],
                catalog.statistic(metric).as_str(),
                "{at}: statistic of {}",
                metric.name
            );
        }

        assert_alarms_agree(&catalog, &deployment, &out, &at.to_string());
    }
}

/// The burn-rate alarms flight-core defines ([`alarm_definitions`], which
/// `report` and `alerts backtest` evaluate) are the module's, field by field,
/// and so is the lateness window the publishing delay comes from.
fn assert_alarms_agree(catalog: &Catalog, deployment: &Deployment, out: &Value, at: &str) {
    let value = |name: &str| &out[name]["value"];
    let (windows, composites) = alarm_definitions(catalog, deployment);
    for slo in &catalog.slos {
        assert!(
            windows.iter().any(|w| w.slo == slo.name)
                && composites.iter().any(|c| c.slo == slo.name),
            "{at}: SLO {} has window and composite alarms",
            slo.name
        );
    }

    let module = value("slo_window_alarms")
        .as_object()
        .unwrap_or_else(|| panic!("{at}: slo_window_alarms is a map"));
    let names: BTreeSet<&str> = windows.iter().map(|a| a.name.as_str()).collect();
    let module_names: BTreeSet<&str> = module.keys().map(String::as_str).collect();
    assert_eq!(module_names, names, "{at}: window alarm names");
    for alarm in &windows {
        let tf = &module[&alarm.name];
        let field = |key: &str| format!("{at}: window alarm {}: {key}", alarm.name);
        assert_eq!(
            tf["alarm_name"],
            alarm.name.as_str(),
            "{}",
            field("alarm_name")
        );
        assert_eq!(tf["slo"], alarm.slo.as_str(), "{}", field("slo"));
        assert_eq!(
            tf["metric_name"],
            alarm.metric.as_str(),
            "{}",
            field("metric_name")
        );
        assert_eq!(
            tf["namespace"],
            alarm.namespace.as_str(),
            "{}",
            field("namespace")
        );
        assert_eq!(alarm.namespace, catalog.namespace, "{at}");
        assert_eq!(alarm.environment, deployment.environment, "{at}");
        assert_eq!(
            tf["dimensions"],
            serde_json::json!({ "Environment": alarm.environment }),
            "{}",
            field("dimensions")
        );
        assert_eq!(
            tf["window_seconds"],
            alarm.window,
            "{}",
            field("window_seconds")
        );
        assert_eq!(
            tf["factor"].as_f64(),
            Some(alarm.factor),
            "{}",
            field("factor")
        );
        assert_eq!(
            tf["min_values"],
            alarm.min_values,
            "{}",
            field("min_values")
        );
        assert_eq!(
            tf["budget_percent"].as_f64(),
            Some(alarm.budget_percent),
            "{}",
            field("budget_percent")
        );
        assert_eq!(
            tf["good_statistic"],
            alarm.good_statistic.as_str(),
            "{}",
            field("good_statistic")
        );
        assert_eq!(
            tf["expression"],
            alarm.expression.as_str(),
            "{}",
            field("expression")
        );
        assert_eq!(
            tf["treat_missing_data"],
            TREAT_MISSING_DATA,
            "{}",
            field("treat_missing_data")
        );
    }

    let module = value("slo_composite_alarms")
        .as_object()
        .unwrap_or_else(|| panic!("{at}: slo_composite_alarms is a map"));
    let names: BTreeSet<&str> = composites.iter().map(|a| a.name.as_str()).collect();
    let module_names: BTreeSet<&str> = module.keys().map(String::as_str).collect();
    assert_eq!(module_names, names, "{at}: composite alarm names");
    for alarm in &composites {
        let tf = &module[&alarm.name];
        let field = |key: &str| format!("{at}: composite alarm {}: {key}", alarm.name);
        assert_eq!(
            tf["alarm_name"],
            alarm.name.as_str(),
            "{}",
            field("alarm_name")
        );
        assert_eq!(tf["slo"], alarm.slo.as_str(), "{}", field("slo"));
        assert_eq!(
            tf["severity"],
            alarm.severity.as_str(),
            "{}",
            field("severity")
        );
        assert_eq!(tf["rule"], alarm.rule.as_str(), "{}", field("rule"));
        let pairs: Vec<Value> = alarm
            .pairs
            .iter()
            .map(|(long, short)| serde_json::json!([long, short]))
            .collect();
        assert_eq!(tf["pairs"], Value::Array(pairs), "{}", field("pairs"));
    }

    assert_eq!(
        value("lateness_window_seconds").as_u64(),
        Some(catalog.alerting.lateness_window),
        "{at}: lateness_window_seconds"
    );
}
