//! `flightctl report --json`: the SLOs at the instant, for scripts.

use flight_core::catalog::{GoodWhen, Period};
use flight_core::envelope::format_time;
use flight_core::{Catalog, Millis};
use serde_json::{json, Value};

use super::text::span_text;
use super::{Options, SloReport};
use crate::burn;

fn unit_of<'a>(catalog: &'a Catalog, metric: &str) -> &'a str {
    catalog.metric(metric).map_or("", |m| m.unit.as_str())
}

fn one(catalog: &Catalog, report: &SloReport) -> Value {
    let s = &report.status;
    json!({
        "name": s.slo.name,
        "metric": s.slo.metric,
        "unit": unit_of(catalog, &s.slo.metric),
        "objective_percent": s.slo.objective,
        "threshold": s.slo.threshold,
        "good_when": match s.slo.good_when { GoodWhen::AtMost => "at_most", GoodWhen::AtLeast => "at_least" },
        "period": s.slo.period.text(),
        "time_zone": match s.slo.period { Period::Calendar { time_zone, .. } => Some(time_zone.name()), Period::Rolling { .. } => None },
        "span": span_text(s),
        "since": format_time(s.since),
        "until": format_time(s.until),
        "values": s.values,
        "good": s.good,
        "bad": s.bad(),
        "attainment_percent": s.attainment(),
        "error_budget": {
            "total": s.budget(),
            "allowed_bad": s.budget(),
            "spent": s.bad(),
            "bad": s.bad(),
            "left": s.budget_left(),
            "left_percent": s.budget_left_percent(),
        },
        "status": s.verdict().as_str(),
        "burn_rates": report.burn_rates.iter().map(burn::to_json).collect::<Vec<_>>(),
        "firing": report.firing.iter().map(|c| json!({
            "severity": c.severity.as_str(),
            "alarm": c.name,
        })).collect::<Vec<_>>(),
    })
}

/// The reports as JSON, for scripts: per SLO its span (`since`, `until`
/// exclusive), counts, error budget (`total`, `spent`, `left`,
/// `left_percent`; `allowed_bad` and `bad` are the older names of total and
/// spent), burn rates at the instant and the alerts firing.
pub fn to_json(
    catalog: &Catalog,
    environment: &str,
    now: Millis,
    options: &Options,
    reports: &[SloReport],
) -> Value {
    json!({
        "environment": environment,
        "generated_at": format_time(now),
        "at": format_time(options.at),
        "publish_delay_seconds": options.publish_delay,
        "source": "measurement records in the event store",
        "slos": reports.iter().map(|r| one(catalog, r)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flight_core::slo::evaluate;

    #[test]
    fn an_slo_without_records_says_no_data_with_its_period() {
        let catalog = Catalog::default_catalog();
        let at = 1_800_000_000_000;
        let reports: Vec<SloReport> = catalog
            .slos
            .iter()
            .map(|slo| {
                let (since, until) = slo.period.bounds(at);
                SloReport {
                    status: evaluate(slo, &[], since, until),
                    burn_rates: vec![],
                    firing: vec![],
                }
            })
            .collect();
        let json = to_json(&catalog, "dev", at, &Options::at(at), &reports);
        assert_eq!(json["slos"][0]["status"], "no data");
        assert_eq!(json["slos"][0]["period"], catalog.slos[0].period.text());
        assert_eq!(json["at"], format_time(at));
    }
}
