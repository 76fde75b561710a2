//! An entry's `Detail` read where it lies: inside the entry's JSON string,
//! its quotes still escaped (`{\"event_id\":\"e-1\",...}`), without
//! unescaping it into a copy and without `serde_json`.
//!
//! It takes the commonest detail only: an object of the envelope's
//! `event_id`, `event_type`, `aggregate_id`, `aggregate_type` and `time`,
//! each once and each a string without escapes, and optionally `payload`, an
//! object whose values are such strings or scalars (numbers, `true`,
//! `false`, `null`); spaces between tokens, no other whitespace. Anything
//! else gives `None`, and the scan reads the detail the general way
//! ([`super::scan`]), so a detail read here is one that way reads the same
//! (`tests/replay_fast.rs` compares them over the corpora).

use crate::json_text::plain_len;

/// The parts of a detail of the commonest shape, borrowed from the entry:
/// as bytes where they lie, then as text once the entry is known to be
/// UTF-8 ([`Detail::texts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Detail<'a, T: ?Sized = str> {
    pub event_id: &'a T,
    pub event_type: &'a T,
    pub aggregate_id: &'a T,
    pub aggregate_type: Option<&'a T>,
    pub time: &'a T,
    /// The payload object's bytes as they lie, each quote escaped; `None`
    /// without a payload.
    pub payload: Option<&'a [u8]>,
}

impl<'a> Detail<'a, [u8]> {
    /// The parts as text, given the entry's text, which holds their bytes
    /// (one UTF-8 check for the whole entry rather than one per part).
    pub fn texts(&self, entry: &'a str) -> Option<Detail<'a>> {
        let text = |part: &[u8]| within(entry, part);
        Some(Detail {
            event_id: text(self.event_id)?,
            event_type: text(self.event_type)?,
            aggregate_id: text(self.aggregate_id)?,
            aggregate_type: match self.aggregate_type {
                Some(part) => Some(text(part)?),
                None => None,
            },
            time: text(self.time)?,
            payload: self.payload,
        })
    }
}

/// `part`, bytes of `whole`, as text; `None` if `part` does not lie in
/// `whole` or does not start and end at character boundaries.
pub(super) fn within<'a>(whole: &'a str, part: &[u8]) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    whole.get(start..start.checked_add(part.len())?)
}

/// The detail whose string content starts `bytes` (just after its opening
/// quote), and the length of that content with the closing quote.
pub(super) fn read_detail(bytes: &[u8]) -> Option<(Detail<'_, [u8]>, usize)> {
    let mut d = Escaped { bytes, at: 0 };
    d.token(b'{')?;
    let mut fields: [Option<&[u8]>; 5] = [None; 5];
    let mut payload = None;
    if !d.peek_token(b'}') {
        loop {
            let slot = d.key()?;
            d.token(b':')?;
            if slot == PAYLOAD {
                if payload.is_some() {
                    return None;
                }
                payload = Some(d.flat_object()?);
            } else {
                if fields[slot].is_some() {
                    return None;
                }
                fields[slot] = Some(d.quoted()?);
            }
            if !d.next_is(b',') {
                break;
            }
        }
    }
    d.token(b'}')?;
    d.spaces();
    d.literal(b"\"")?;
    let [event_id, event_type, aggregate_id, aggregate_type, time] = fields;
    let detail = Detail {
        event_id: event_id?,
        event_type: event_type?,
        aggregate_id: aggregate_id?,
        aggregate_type,
        time: time?,
        payload,
    };
    Some((detail, d.at))
}

/// The envelope fields a detail of the commonest shape holds, as texts.
const ENVELOPE: [&str; 5] = [
    "event_id",
    "event_type",
    "aggregate_id",
    "aggregate_type",
    "time",
];

/// [`Escaped::key`]'s answer for `payload`, past the [`ENVELOPE`] fields.
const PAYLOAD: usize = ENVELOPE.len();

/// A position in a JSON text that lies escaped inside a JSON string.
struct Escaped<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Escaped<'a> {
    fn spaces(&mut self) {
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn literal(&mut self, expected: &[u8]) -> Option<()> {
        let found = self.bytes.get(self.at..self.at + expected.len())?;
        (found == expected).then(|| self.at += expected.len())
    }

    /// `expected` after any spaces.
    fn token(&mut self, expected: u8) -> Option<()> {
        self.spaces();
        self.literal(&[expected])
    }

    /// Whether `expected` comes next (after spaces), consuming it if so.
    fn next_is(&mut self, expected: u8) -> bool {
        self.token(expected).is_some()
    }

    /// Whether `expected` comes next (after spaces), consuming nothing else.
    fn peek_token(&mut self, expected: u8) -> bool {
        self.spaces();
        self.bytes.get(self.at) == Some(&expected)
    }

    /// A key of the commonest detail: the place of its field in
    /// [`ENVELOPE`], or [`PAYLOAD`]; `None` for any other. (The bytes that
    /// follow are compared with each key and its closing quote, rather
    /// than scanned for the end of the string.)
    fn key(&mut self) -> Option<usize> {
        self.spaces();
        self.literal(b"\\\"")?;
        let rest = &self.bytes[self.at..];
        let (place, len) = match rest.first()? {
            b'e' if rest.starts_with(b"event_id\\\"") => (0, 8),
            b'e' if rest.starts_with(b"event_type\\\"") => (1, 10),
            b'a' if rest.starts_with(b"aggregate_id\\\"") => (2, 12),
            b'a' if rest.starts_with(b"aggregate_type\\\"") => (3, 14),
            b't' if rest.starts_with(b"time\\\"") => (4, 4),
            b'p' if rest.starts_with(b"payload\\\"") => (PAYLOAD, 7),
            _ => return None,
        };
        debug_assert!(ENVELOPE.get(place).is_none_or(|k| k.len() == len));
        self.at += len + 2;
        Some(place)
    }

    /// A string without escapes of its own (`\"text\"` as it lies), as its bytes.
    fn quoted(&mut self) -> Option<&'a [u8]> {
        self.spaces();
        self.literal(b"\\\"")?;
        let rest = &self.bytes[self.at..];
        let len = plain_len(rest);
        if rest.get(len..len + 2)? != b"\\\"" {
            return None;
        }
        self.at += len + 2;
        Some(&rest[..len])
    }

    /// An object whose values are strings without escapes or scalars, as
    /// the bytes it lies in (its quotes escaped).
    fn flat_object(&mut self) -> Option<&'a [u8]> {
        self.token(b'{')?;
        let start = self.at - 1;
        if !self.peek_token(b'}') {
            loop {
                self.quoted()?;
                self.token(b':')?;
                self.spaces();
                if self.bytes.get(self.at) == Some(&b'\\') {
                    self.quoted()?;
                } else {
                    self.scalar()?;
                }
                if !self.next_is(b',') {
                    break;
                }
            }
        }
        self.token(b'}')?;
        Some(&self.bytes[start..self.at])
    }

    /// The bytes a number, `true`, `false` or `null` may be made of (what
    /// they are is left to `serde_json`, which reads the payload).
    fn scalar(&mut self) -> Option<()> {
        let len = self.bytes[self.at..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
        (len > 0).then(|| self.at += len)
    }
}

/// The payload's JSON text: its escaped quotes unescaped (the only escapes
/// [`read_detail`] lets through), into `out`.
pub(super) fn unescape_payload(escaped: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(escaped.iter().copied().filter(|&b| b != b'\\'));
}

#[cfg(test)]
mod tests {
    use super::{read_detail, unescape_payload, within, Detail};

    /// The detail as the entry holds it: `text` escaped as a JSON string's
    /// content, then the closing quote and what follows the string.
    fn lying(text: &str) -> String {
        let quoted = serde_json::to_string(text).unwrap();
        format!("{},\"Source\":\"s\"}}", &quoted[1..])
    }

    #[test]
    fn reads_the_commonest_detail_where_it_lies() {
        let text = r#"{"aggregate_id":"a-1","aggregate_type":"Account","event_id":"e-1","event_type":"AccountRequested","time":"2026-11-01T00:00:00Z","payload":{"container_id":"ou-0","n":12.5,"ok":true,"none":null}}"#;
        let bytes = lying(text);
        let (detail, len) = read_detail(bytes.as_bytes()).expect("read");
        assert_eq!(&bytes[len..], ",\"Source\":\"s\"}");
        let payload = detail.payload.expect("a payload");
        assert_eq!(
            detail.texts(&bytes),
            Some(Detail {
                event_id: "e-1",
                event_type: "AccountRequested",
                aggregate_id: "a-1",
                aggregate_type: Some("Account"),
                time: "2026-11-01T00:00:00Z",
                payload: Some(payload),
            })
        );
        let mut json = Vec::new();
        unescape_payload(payload, &mut json);
        assert_eq!(
            json,
            br#"{"container_id":"ou-0","n":12.5,"ok":true,"none":null}"#
        );
    }

    #[test]
    fn takes_spaces_between_tokens_and_no_payload() {
        let text = r#" { "event_id" : "e" , "event_type":"T", "aggregate_id":"a","time":"t" } "#;
        let bytes = lying(text);
        let (detail, _) = read_detail(bytes.as_bytes()).expect("read");
        let detail = detail.texts(&bytes).expect("text");
        assert_eq!(
            (detail.event_id, detail.aggregate_type, detail.payload),
            ("e", None, None)
        );
    }

    #[test]
    fn leaves_every_other_shape_to_the_general_reading() {
        let base = r#""event_id":"e","event_type":"T","aggregate_id":"a","time":"t""#;
        for text in [
            format!("{{{base},\"extra\":1}}"), // a field beside the envelope's
            format!("{{{base},\"event_ids\":\"x\"}}"), // a key that starts as one of them
            r#"{"event_id":"e","event_type":"T","aggregate_id":"a","tim":"t"}"#.into(),
            r#"{"event_id":"e","event_type":"T","aggregate_id":"a","Time":"t"}"#.into(),
            format!("{{{base},\"event_id\":\"f\"}}"), // a repeated field
            format!("{{{base},\"payload\":{{}},\"payload\":{{}}}}"), // a repeated payload
            format!("{{{base},\"payload\":{{\"a\":{{\"b\":1}}}}}}"), // a nested payload
            format!("{{{base},\"payload\":{{\"a\":[1]}}}}"), // an array in the payload
            format!("{{{base},\"payload\":null}}"),   // a payload that is not an object
            format!("{{{base},\"payload\":{{\"a\":\"x\\\"y\"}}}}"), // an escape in a payload text
            r#"{"event_id":"e\"f","event_type":"T","aggregate_id":"a","time":"t"}"#.into(),
            r#"{"event_id":"e","event_type":"T","aggregate_id":"a","time":1}"#.into(),
            r#"{"event_id":"e","event_type":"T","aggregate_id":"a"}"#.into(), // no time
            format!("{{{base}}}\n"), // whitespace other than spaces
            format!("{{\n{base}}}"),
            "[]".into(),
        ] {
            assert_eq!(read_detail(lying(&text).as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn needs_the_whole_detail_and_its_closing_quote() {
        let bytes = lying(r#"{"event_id":"e","event_type":"T","aggregate_id":"a","time":"t"}"#);
        for end in 0..bytes.find(",\"Source").unwrap() {
            assert_eq!(
                read_detail(&bytes.as_bytes()[..end]),
                None,
                "{}",
                &bytes[..end]
            );
        }
    }

    #[test]
    fn takes_parts_as_text_only_where_they_lie_in_the_text_at_boundaries() {
        let whole = "ab\u{e9}cd";
        let bytes = whole.as_bytes();
        assert_eq!(within(whole, &bytes[1..4]), Some("b\u{e9}"));
        assert_eq!(within(whole, &bytes[..0]), Some(""));
        assert_eq!(within(whole, &bytes[1..3]), None, "inside a character");
        assert_eq!(within(whole, b"ab"), None, "other bytes");
        assert_eq!(within(&whole[1..], &bytes[..1]), None, "before the text");
    }
}
