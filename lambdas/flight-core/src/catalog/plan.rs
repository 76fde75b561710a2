//! What the catalog derives once it is read: each event type's [`TypePlan`]
//! (which metrics it completes, the span metrics it takes part in, its
//! timeline's partition), and each metric's CloudWatch statistic.

use std::collections::BTreeMap;

use super::kind::Statistic;
use super::model::{Catalog, EventType, GoodWhen, Metric, TypePlan};
use super::parse::Issues;

/// Derives each event type's plan, and checks that span metrics sharing an
/// event type agree on its partition fields: each event sits on one timeline.
pub(super) fn derive_plans(
    types: &[EventType],
    metrics: &[Metric],
    issues: &mut Issues<'_>,
) -> Vec<TypePlan> {
    let mut plans = vec![TypePlan::default(); types.len()];
    let mut timeline_owner: BTreeMap<usize, usize> = BTreeMap::new();
    let index = |name: &str| types.iter().position(|t| t.name == name);
    for (m, metric) in metrics.iter().enumerate() {
        for (t, event_type) in types.iter().enumerate() {
            if metric.kind.involves(&event_type.name) {
                plans[t].involved.push(m);
            }
        }
        if let Some(t) = index(metric.kind.completer()) {
            plans[t].completes.push(m);
        }
        for (name, role) in metric.kind.span_roles() {
            let Some(t) = index(name) else { continue };
            plans[t].spans.push((m, role));
            match &plans[t].timeline {
                None => {
                    plans[t].timeline = Some(metric.partition_by.clone());
                    timeline_owner.insert(t, m);
                }
                Some(fields) if *fields != metric.partition_by => {
                    let owner = &metrics[timeline_owner[&t]];
                    issues.add(
                        format!("metrics[{m}].partition_by"),
                        format!(
                            "event type `{}` already takes part in `{}` partitioned by [{}]; duration and occurrences metrics that share an event type must use the same partition_by, because each event sits on one timeline",
                            types[t].name,
                            owner.name,
                            owner.partition_by.join(", ")
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }
    plans
}

impl Catalog {
    /// The CloudWatch statistic a metric is read with, as CloudWatch spells
    /// it (`p99`, `Sum`, ...): what the catalog module's `metrics` output says.
    pub fn statistic(&self, metric: &Metric) -> String {
        match metric.kind.statistic() {
            Statistic::SloPercentile => {
                let objective = self
                    .slos
                    .iter()
                    .find(|s| s.metric == metric.name && s.good_when == GoodWhen::AtMost)
                    .map_or_else(|| "90".to_string(), |s| percent_text(s.objective));
                format!("p{objective}")
            }
            Statistic::Sum => "Sum".into(),
            Statistic::Maximum => "Maximum".into(),
            Statistic::Average => "Average".into(),
        }
    }
}

/// A percentage as CloudWatch statistic names spell it: 10, 0.5, 99.9.
pub fn percent_text(percent: f64) -> String {
    let text = format!("{percent:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
