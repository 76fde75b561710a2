//! Replay's quickest path: an entry of the commonest shape read straight from
//! its bytes, without `serde_json` building the entry first, into the event
//! replay holds ([`Held`]).
//!
//! It takes an object whose keys are `Source`, `DetailType`, `Detail` and
//! optionally `Time` and `EventBusName`, each once, every value a string
//! (only `Detail` may hold escapes, and no `\u` escape). The commonest
//! detail is read where it lies, still escaped ([`super::detail`]); any
//! other is unescaped and handed to [`common_event`], the fast path's own
//! reading. Anything else, or anything short of a whole entry, gives `None`,
//! and the entry is read by `serde_json` and the fast path ([`super::fast`])
//! instead; so an entry read here is one the fast path reads the same way
//! (`tests/replay_fast.rs` compares the two over the corpora).

use crate::catalog::Catalog;
use crate::envelope::Event;
use crate::json_text::plain_len;
use crate::time::parse_time_text;

use super::detail::{read_detail, within, Detail};
use super::fast::common_event;
use super::held::{Held, Holder};

/// Reads entries from their bytes (module documentation) and holds the
/// events of every entry, sharing what they have in common ([`Holder`]).
/// One reader serves one catalog: what it remembers (the event types each
/// payload passed the checks for) is that catalog's.
#[derive(Default)]
pub struct QuickReader {
    /// A detail's text, unescaped, when it is not read where it lies.
    scratch: Vec<u8>,
    holder: Holder,
    /// Details read where they lie, of events held.
    in_place: usize,
}

/// How the entry's detail was read.
enum DetailRead<'a> {
    /// Where it lies, still escaped.
    Lying(Detail<'a, [u8]>),
    /// Unescaped into the scratch buffer.
    Unescaped,
}

impl QuickReader {
    /// A reader whose events share one copy of each aggregate id, whatever
    /// their order ([`Holder::keeping_aggregates`]).
    pub fn keeping_aggregates() -> Self {
        QuickReader {
            holder: Holder::keeping_aggregates(),
            ..QuickReader::default()
        }
    }

    /// The held event of the entry at the start of `bytes` and the entry's
    /// length in bytes; `None` when the entry is to be read the general way.
    pub fn read(&mut self, catalog: &Catalog, bytes: &[u8]) -> Option<(Held, usize)> {
        let mut s = Scanner { bytes, at: 0 };
        s.eat(b'{')?;
        let (mut source, mut detail_type, mut detail) = (None, None, None);
        let (mut time, mut bus) = (None, false);
        loop {
            let key = s.key()?;
            s.eat(b':')?;
            match key {
                Key::Source if source.is_none() => source = Some(s.plain_string()?),
                Key::DetailType if detail_type.is_none() => detail_type = Some(s.plain_string()?),
                Key::Detail if detail.is_none() => {
                    s.eat(b'"')?;
                    detail = Some(match read_detail(&bytes[s.at..]) {
                        Some((lying, len)) => {
                            s.at += len;
                            DetailRead::Lying(lying)
                        }
                        None => {
                            s.unescaped_rest(&mut self.scratch)?;
                            DetailRead::Unescaped
                        }
                    });
                }
                Key::Time if time.is_none() => time = Some(s.plain_string()?),
                Key::EventBusName if !bus => {
                    bus = true;
                    s.plain_string()?;
                }
                _ => return None,
            }
            match s.next_token()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        detail_type?;
        // Every text above is a part of the entry: one UTF-8 check for all.
        let entry = std::str::from_utf8(&bytes[..s.at]).ok()?;
        let source = within(entry, source?)?;
        if let Some(time) = time {
            parse_time_text("Time", within(entry, time)?).ok()?;
        }
        let held = match detail? {
            DetailRead::Lying(_) if source.starts_with("aws.") => return None,
            DetailRead::Lying(lying) => {
                let held = self.holder.hold_detail(catalog, &lying.texts(entry)?)?;
                self.in_place += 1;
                held
            }
            DetailRead::Unescaped => {
                let text = std::str::from_utf8(&self.scratch).ok()?;
                self.holder
                    .hold(catalog, common_event(catalog, source, text)?)
            }
        };
        Some((held, s.at))
    }

    /// How many of the events held had their detail read where it lies
    /// (the rest were unescaped first, or read the general way).
    pub fn details_read_in_place(&self) -> usize {
        self.in_place
    }

    /// The ordinal of the aggregate of the event held last, in the order
    /// of first appearance, when aggregate ids are kept
    /// ([`QuickReader::keeping_aggregates`]).
    pub fn last_aggregate_ordinal(&self) -> usize {
        self.holder.last_aggregate_ordinal()
    }

    /// How many aggregates were held, when aggregate ids are kept.
    pub fn aggregates_held(&self) -> usize {
        self.holder.aggregates_held()
    }

    /// The held form of an event read the general way.
    pub fn hold(&mut self, catalog: &Catalog, event: Event) -> Held {
        self.holder.hold(catalog, event)
    }
}

/// The keys of an entry this path reads.
#[derive(Clone, Copy)]
enum Key {
    Source,
    DetailType,
    Detail,
    Time,
    EventBusName,
}

/// A position in an entry's bytes.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// The next byte that is not JSON whitespace, consumed.
    fn next_token(&mut self) -> Option<u8> {
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
        }
    }

    fn eat(&mut self, expected: u8) -> Option<()> {
        (self.next_token()? == expected).then_some(())
    }

    /// One of the keys this path reads (its opening quote next, after any
    /// whitespace); `None` for any other. (The bytes that follow are
    /// compared with each key and its closing quote, rather than scanned
    /// for the end of the string.)
    fn key(&mut self) -> Option<Key> {
        self.eat(b'"')?;
        let rest = &self.bytes[self.at..];
        let (key, len) = match rest.first()? {
            b'S' if rest.starts_with(b"Source\"") => (Key::Source, 6),
            b'D' if rest.starts_with(b"DetailType\"") => (Key::DetailType, 10),
            b'D' if rest.starts_with(b"Detail\"") => (Key::Detail, 6),
            b'T' if rest.starts_with(b"Time\"") => (Key::Time, 4),
            b'E' if rest.starts_with(b"EventBusName\"") => (Key::EventBusName, 12),
            _ => return None,
        };
        self.at += len + 1;
        Some(key)
    }

    /// A string without escapes, as its bytes (checked to be JSON: no control characters).
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let rest = &self.bytes[self.at..];
        let len = string_part(rest)?;
        if rest[len] != b'"' {
            return None;
        }
        self.at += len + 1;
        Some(&rest[..len])
    }

    /// The rest of a string whose opening quote is read, into `out`, its
    /// escapes undone; `None` for a `\u` escape (left to `serde_json`) or
    /// anything that is not JSON.
    fn unescaped_rest(&mut self, out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        loop {
            let rest = &self.bytes[self.at..];
            let len = plain_len(rest);
            out.extend_from_slice(&rest[..len]);
            self.at += len + 1;
            match *rest.get(len)? {
                b'"' => return Some(()),
                b'\\' => {
                    out.push(match *rest.get(len + 1)? {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        _ => return None,
                    });
                    self.at += 1;
                }
                _ => return None,
            }
        }
    }
}

/// The length of the start of a string's content up to its closing quote or
/// next escape (`rest[len]` is `"` or a backslash); `None` if there is
/// neither, or if a control character comes first (not JSON).
fn string_part(rest: &[u8]) -> Option<usize> {
    let len = plain_len(rest);
    (*rest.get(len)? >= 0x20).then_some(len)
}
