//! A data point as the engine finds it: the metric, the event that completes
//! it and its value, borrowed. It becomes a [`Measurement`] when one is
//! needed ([`Point::measurement`]); `flightctl replay` writes its line
//! straight from it instead ([`Point::write_line`]), without the five strings
//! and the map a measurement allocates (a million events: ~850,000 points).

use super::Partition;
use crate::catalog::Metric;
use crate::json_text::plain_len;

use super::{data_point, for_each_dimension, EventFacts, Measurement};

/// A data point of `metric` that `event` completes, with this value.
#[derive(Debug, Clone, Copy)]
pub struct Point<'a, E> {
    pub metric: &'a Metric,
    pub event: &'a E,
    pub value: f64,
    /// The `Environment` dimension, when one is configured.
    pub environment: Option<&'a str>,
}

impl<E: EventFacts> Point<'_, E> {
    /// The point as a measurement ([`data_point`]).
    pub fn measurement(&self) -> Measurement {
        data_point(self.metric, self.event, self.value, self.environment)
    }

    /// The measurement's line ([`write_measurement`](super::write_measurement)
    /// of [`Point::measurement`], byte for byte: `tests/replay_grouped.rs`
    /// compares the two for every point of its corpora), without a newline.
    pub fn write_line(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        out.reserve(256);
        out.extend_from_slice(b"{\"metric\":");
        json_string(out, &self.metric.name)?;
        out.extend_from_slice(b",\"value\":");
        serde_json::to_writer(&mut *out, &self.value)?;
        out.extend_from_slice(b",\"unit\":");
        json_string(out, &self.metric.unit)?;
        out.extend_from_slice(b",\"timestamp\":\"");
        out.extend_from_slice(crate::time::TimeText::new(self.event.time()).as_bytes());
        out.extend_from_slice(b"\",\"aggregate_id\":");
        json_string(out, self.event.aggregate_id())?;
        out.extend_from_slice(b",\"dimensions\":{");
        let mut first = true;
        let mut pair = |out: &mut Vec<u8>, key: &str, value: &str| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            json_string(out, key)?;
            out.push(b':');
            json_string(out, value)
        };
        // [`dimensions`](super::dimensions)' pairs, in its order.
        let partition = Partition::of(self.event.payload(), self.metric);
        for_each_dimension(partition.fields(), self.environment, |name, value| {
            pair(out, name, value)
        })?;
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// `text` as a JSON string, as `serde_json` writes it.
fn json_string(out: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    if plain_len(text.as_bytes()) == text.len() {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(out, text).map_err(std::io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::Point;
    use crate::catalog::Catalog;
    use crate::engine::write_measurement;
    use crate::envelope::Event;

    fn catalog(partition_by: &str) -> Catalog {
        Catalog::parse(&format!(
            "namespace: T\nevent_types:\n  - name: Done\n    description: d\n    payload_fields: {partition_by}\nmetrics:\n  - name: Dones\n    description: d\n    kind: count\n    event: Done\n    unit: Count\n    partition_by: {partition_by}\n"
        ))
        .expect("a valid catalog")
    }

    fn event(payload: Value) -> Event {
        let Value::Object(payload) = payload else {
            panic!("a payload is an object")
        };
        Event {
            event_id: "e-1".into(),
            event_type: "Done".into(),
            event_version: 1,
            aggregate_id: "agg \"quoted\" \u{1} é".into(),
            aggregate_type: None,
            aggregate_version: None,
            time: 1_793_491_200_123,
            payload: payload as Map<String, Value>,
        }
    }

    fn line(point: &Point<'_, Event>) -> String {
        let mut out = Vec::new();
        point.write_line(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn dimensions_are_the_partition_with_environment_over_a_field_of_that_name() {
        let dims = |partition_by: &str, payload: Value, environment: Option<&str>| {
            let catalog = catalog(partition_by);
            let found =
                crate::engine::dimensions(&catalog.metrics[0], &event(payload), environment);
            found.into_iter().collect::<Vec<_>>()
        };
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let payload = json!({"b": "x", "a": 7, "Environment": "from-payload"});
        assert_eq!(
            dims("[b, Environment, a]", payload.clone(), None),
            pairs(&[("Environment", "from-payload"), ("a", "7"), ("b", "x")])
        );
        assert_eq!(
            dims("[b, Environment, a]", payload.clone(), Some("prod")),
            pairs(&[("Environment", "prod"), ("a", "7"), ("b", "x")])
        );
        assert_eq!(dims("[b]", payload.clone(), None), pairs(&[("b", "x")]));
        assert_eq!(
            dims("[]", payload, Some("dev")),
            pairs(&[("Environment", "dev")])
        );
        // A partition that cannot be read gives no partition dimension.
        assert_eq!(
            dims("[b, a]", json!({"a": "y"}), Some("dev")),
            pairs(&[("Environment", "dev")])
        );
        assert_eq!(dims("[b]", json!({"b": ""}), None), pairs(&[]));
    }

    #[test]
    fn a_points_line_is_its_measurements_line_whatever_its_dimensions() {
        let payloads = [
            json!({}),
            json!({"b": "x", "a": "y", "Environment": "from-payload"}),
            json!({"b": 7, "a": 1.5, "Environment": "e"}),
            json!({"b": "tab\there \"q\" \\ é", "a": "z", "Environment": "e"}),
            json!({"b": "", "a": "z", "Environment": "e"}),
            json!({"b": ["not", "text"], "a": "z", "Environment": "e"}),
            json!({"a": "missing b", "Environment": "e"}),
        ];
        let mut compared = 0;
        for partition_by in ["[]", "[b]", "[b, a]", "[b, Environment, a]"] {
            let catalog = catalog(partition_by);
            let metric = &catalog.metrics[0];
            for payload in &payloads {
                let event = event(payload.clone());
                for environment in [None, Some("prod"), Some("with \"quote\"")] {
                    for value in [0.0, 1.0, 7200.0, 0.1, 1e300, -2.5e-7, f64::NAN] {
                        let point = Point {
                            metric,
                            event: &event,
                            value,
                            environment,
                        };
                        let mut expected = Vec::new();
                        write_measurement(&mut expected, &point.measurement()).unwrap();
                        assert_eq!(line(&point), String::from_utf8(expected).unwrap());
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 4 * 7 * 3 * 7);
    }
}
