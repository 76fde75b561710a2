//! YAML to JSON with positions: the catalog is YAML (Terraform reads it with
//! `yamldecode`), and every error about it must say on which line it is.
//!
//! [`parse`] turns a YAML document into a [`serde_json::Value`] and a map from
//! each node's path (`metrics[3].start`) to its line and column.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A line and column in the source, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where each node of a parsed document came from.
#[derive(Debug, Default, Clone)]
pub struct Positions {
    by_path: HashMap<String, Position>,
}

impl Positions {
    /// The position of the node at `path`, or of its nearest ancestor that has one.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(position) = self.by_path.get(path) {
                return Some(*position);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {message}", position.line, position.column)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Parses one YAML document into JSON and the positions of its nodes.
pub fn parse(source: &str) -> Result<(Value, Positions), SyntaxError> {
    let mut builder = Builder::default();
    Parser::new_from_str(source)
        .load(&mut builder, false)
        .map_err(|e| SyntaxError {
            position: position(e.marker()),
            message: e.info().to_string(),
        })?;
    if let Some(message) = builder.error {
        return Err(message);
    }
    let value = builder.root.unwrap_or(Value::Null);
    Ok((value, builder.positions))
}

fn position(marker: &Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

enum Frame {
    Sequence {
        path: String,
        anchor: usize,
        items: Vec<Value>,
    },
    Mapping {
        path: String,
        anchor: usize,
        entries: Map<String, Value>,
        key: Option<String>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    positions: Positions,
    /// Anchored values, with how many nodes each holds.
    anchors: HashMap<usize, (Value, usize)>,
    /// Nodes copied by aliases so far (see [`MAX_ALIASED_NODES`]).
    aliased: usize,
    error: Option<SyntaxError>,
}

/// The most nodes aliases may copy in one document: a catalog needs a few,
/// and nested aliases grow tenfold per level (a 500-byte "billion laughs"
/// document would otherwise take minutes and gigabytes).
const MAX_ALIASED_NODES: usize = 100_000;

/// How many nodes a value holds (its depth is bounded by the YAML parser's
/// recursion limit).
fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(entries) => entries.values().map(nodes).sum(),
        _ => 0,
    }
}

impl Builder {
    /// The path the next value will have.
    fn next_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Sequence { path, items, .. }) => format!("{path}[{}]", items.len()),
            Some(Frame::Mapping { path, key, .. }) => match key {
                Some(key) if path.is_empty() => key.clone(),
                Some(key) => format!("{path}.{key}"),
                None => path.clone(),
            },
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    fn push_value(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), nodes(&value)));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { entries, key, .. }) => {
                if let Some(key) = key.take() {
                    entries.insert(key, value);
                }
            }
        }
    }

    /// Starts a sequence or a mapping at the next path.
    fn open(&mut self, mark: Marker, frame: impl FnOnce(String) -> Frame) {
        if self.expecting_key() {
            self.fail(mark, "a mapping key must be a plain value".into());
            return;
        }
        let path = self.next_path();
        self.positions
            .by_path
            .entry(path.clone())
            .or_insert(position(&mark));
        self.stack.push(frame(path));
    }

    fn fail(&mut self, mark: Marker, message: String) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                position: position(&mark),
                message,
            });
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                if self.expecting_key() {
                    let path = self.next_path();
                    let key_path = if path.is_empty() {
                        text.clone()
                    } else {
                        format!("{path}.{text}")
                    };
                    self.positions.by_path.insert(key_path, position(&mark));
                    if let Some(Frame::Mapping { entries, key, .. }) = self.stack.last_mut() {
                        if entries.contains_key(&text) {
                            let message = format!("duplicate key `{text}`");
                            self.fail(mark, message);
                            return;
                        }
                        *key = Some(text);
                    }
                    return;
                }
                let path = self.next_path();
                self.positions
                    .by_path
                    .entry(path)
                    .or_insert(position(&mark));
                self.push_value(scalar(text, style), anchor);
            }
            Event::SequenceStart(anchor, _) => self.open(mark, |path| Frame::Sequence {
                path,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.open(mark, |path| Frame::Mapping {
                path,
                anchor,
                entries: Map::new(),
                key: None,
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Sequence { anchor, items, .. }) = self.stack.pop() {
                    self.push_value(Value::Array(items), anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Mapping {
                    anchor, entries, ..
                }) = self.stack.pop()
                {
                    self.push_value(Value::Object(entries), anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, size)) if self.aliased + size > MAX_ALIASED_NODES => {
                    let message = format!(
                        "aliases expand to more than {MAX_ALIASED_NODES} values; write the catalog out instead"
                    );
                    self.fail(mark, message);
                }
                Some((value, size)) if !self.expecting_key() => {
                    self.aliased += size;
                    let value = value.clone();
                    self.push_value(value, 0);
                }
                _ => self.fail(mark, "this alias cannot be used here".into()),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Reads a scalar as YAML 1.2's core schema does: quoted text is a string,
/// plain text may be null, a boolean or a number.
fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Number(i.into());
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if looks_numeric && text.chars().any(|c| c.is_ascii_digit()) {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_yaml_to_json_and_remembers_where_each_node_is() {
        let source = "namespace: X\nmetrics:\n  - name: A\n    start: B\n    scale: 1.5\n    quoted: \"7\"\n";
        let (value, positions) = parse(source).unwrap();
        assert_eq!(value["metrics"][0]["start"], "B");
        assert_eq!(value["metrics"][0]["scale"], 1.5);
        assert_eq!(value["metrics"][0]["quoted"], "7");
        assert_eq!(positions.find("metrics[0].start").unwrap().line, 4);
        assert_eq!(positions.find("metrics[0].missing").unwrap().line, 3);
        assert_eq!(positions.find("namespace").unwrap().line, 1);
    }

    #[test]
    fn reports_syntax_errors_and_duplicate_keys_with_their_line() {
        let err = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.position.line >= 2, "{err}");
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.position.line, 3);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn refuses_aliases_that_expand_without_bound() {
        // Ten times more values per level: 10^8 at the eighth, from 500 bytes.
        let mut source = String::from("x0: &a0 [a, a, a, a, a, a, a, a, a, a]\n");
        for level in 1..=8 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            source.push_str(&format!("x{level}: &a{level} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let err = parse(&source).unwrap_err();
        assert!(err.message.contains("aliases expand to more than"), "{err}");
        assert_eq!(err.position.line, 5, "at the level that passes 100000");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn resolves_aliases() {
        let (value, _) = parse("x: &f [a, b]\ny: *f\n").unwrap();
        assert_eq!(value["y"], serde_json::json!(["a", "b"]));
    }
}
