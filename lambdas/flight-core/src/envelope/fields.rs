//! Reading the envelope's single fields: the event type, ids, whole numbers,
//! the event time, payload quantities, and the id of an event that has none.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::MAX_ID_BYTES;
use crate::catalog::{Catalog, Quantity};
use crate::rejection::{describe, reject, Rejection};
use crate::time::{parse_time, Millis};

/// Whether CloudWatch takes this value: 0, or a finite magnitude from
/// 8.515920e-109 to 1.174271e108 (the range its documentation gives).
pub fn cloudwatch_accepts(value: f64) -> bool {
    value == 0.0 || (CLOUDWATCH_SMALLEST..=CLOUDWATCH_LARGEST).contains(&value.abs())
}

/// The smallest magnitude CloudWatch takes, apart from 0.
const CLOUDWATCH_SMALLEST: f64 = 8.515_920e-109;
/// The largest magnitude CloudWatch takes.
const CLOUDWATCH_LARGEST: f64 = 1.174_271e108;

/// Whether a text is blank: empty or all whitespace, as `str::trim` has it
/// (at once for a text with a visible ASCII character, the common case).
pub(crate) fn is_blank(text: &str) -> bool {
    !text.bytes().any(|b| b.is_ascii_graphic()) && text.trim().is_empty()
}

/// How many ids a comma-separated list holds: its parts that are not blank.
fn id_list_len(list: &str) -> usize {
    list.split(',').filter(|id| !is_blank(id)).count()
}

pub(super) fn read_quantity(value: &Value, quantity: Quantity) -> Result<f64, String> {
    let number = match (quantity, value) {
        (Quantity::Number, Value::Number(n)) => n.as_f64(),
        (Quantity::Number, Value::String(s)) => s.trim().parse::<f64>().ok(),
        (Quantity::IdList, Value::String(s)) => Some(id_list_len(s) as f64),
        (Quantity::IdList, Value::Array(ids)) => Some(ids.len() as f64),
        (Quantity::Number, other) => {
            return Err(format!("expected a number, got {}", describe(other)))
        }
        (Quantity::IdList, other) => {
            return Err(format!(
                "expected a comma-separated list of ids or an array, got {}",
                describe(other)
            ))
        }
    };
    let number = number
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{value}` is not a finite number"))?;
    // Larger quantities could only give values CloudWatch refuses (or, added
    // up, overflow to infinity).
    if number.abs() > CLOUDWATCH_LARGEST {
        return Err(format!(
            "`{value}` is outside what CloudWatch accepts (a magnitude of at most 1.17e108)"
        ));
    }
    Ok(number)
}

pub(super) fn resolve_type(
    detail: &Map<String, Value>,
    detail_type: Option<&str>,
    catalog: &Catalog,
) -> Result<String, Rejection> {
    let known = || catalog.type_names().join(", ");
    match detail.get("event_type") {
        Some(Value::String(name)) => catalog
            .event_type(name)
            .map(|t| t.name.clone())
            .ok_or_else(|| {
                reject(
                    "detail.event_type",
                    format!("unknown event type `{name}`; the catalog knows {}", known()),
                )
            }),
        Some(Value::Null) | None => match detail_type {
            Some(name) => catalog.event_type(name).map(|t| t.name.clone()).ok_or_else(|| {
                reject(
                    "detail.event_type",
                    format!(
                        "missing, and the detail-type `{name}` is not a known event type either; the catalog knows {}",
                        known()
                    ),
                )
            }),
            None => Err(reject(
                "detail.event_type",
                "missing, and the event has no detail-type",
            )),
        },
        Some(other) => Err(reject(
            "detail.event_type",
            format!("expected a string, got {}", describe(other)),
        )),
    }
}

pub(super) fn id_field(field: &str, value: &Value) -> Result<String, Rejection> {
    let id = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        other => {
            return Err(reject(
                field,
                format!("expected a string, got {}", describe(other)),
            ))
        }
    };
    if is_blank(&id) {
        return Err(reject(field, "must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(reject(
            field,
            format!("is {} bytes; at most {MAX_ID_BYTES} are accepted", id.len()),
        ));
    }
    Ok(id)
}

pub(super) fn integer(field: &str, value: &Value) -> Result<i64, Rejection> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| reject(field, format!("expected a whole number, got `{value}`")))
}

/// The id of an event that has none: a hash of its detail's content, so that
/// a producer's retried PutEvents is the same event; with the event type
/// when the detail does not name it (it came from the `detail-type`).
pub(super) fn content_id(detail: &Map<String, Value>, type_outside_detail: Option<&str>) -> String {
    let mut canonical = String::new();
    write_canonical(&mut canonical, &Value::Object(detail.clone()));
    if let Some(event_type) = type_outside_detail {
        canonical.push_str("\ndetail-type:");
        canonical.push_str(event_type);
    }
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-{hex}")
}

/// JSON with object keys sorted at every level, whatever order the map keeps.
fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

pub(super) fn event_time(
    detail: &Map<String, Value>,
    payload: &Map<String, Value>,
    eventbridge_time: Option<&Value>,
) -> Result<Millis, Rejection> {
    let candidates = [
        ("detail.time", detail.get("time")),
        ("detail.timestamp", detail.get("timestamp")),
        ("detail.payload.timestamp", payload.get("timestamp")),
        ("time", eventbridge_time),
    ];
    for (field, value) in candidates {
        match value {
            None | Some(Value::Null) => continue,
            Some(value) => return parse_time(field, value),
        }
    }
    Err(reject(
        "detail.time",
        "missing (give `time` as RFC 3339 or epoch seconds; `timestamp` is accepted too)",
    ))
}

#[cfg(test)]
mod tests {
    use super::id_list_len;

    #[test]
    fn an_id_list_counts_its_parts_that_are_not_blank_as_trim_has_blank() {
        for list in [
            "",
            "i-01",
            "i-01,i-02,i-03",
            " i-01 , ,i-02,",
            ",,,",
            "\u{a0},i-01,\u{2003}\t",
            "é,\u{a0}x\u{a0}, \n ",
        ] {
            let by_trim = list.split(',').filter(|id| !id.trim().is_empty()).count();
            assert_eq!(id_list_len(list), by_trim, "{list:?}");
        }
        assert_eq!(id_list_len("\u{a0},i-01,\u{2003}\t"), 1);
    }
}
