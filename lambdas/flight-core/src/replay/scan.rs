//! Replay's quickest path: an entry of the commonest shape read straight from
//! its bytes, without `serde_json` building the entry first.
//!
//! It takes an object whose keys are `Source`, `DetailType`, `Detail` and
//! optionally `Time` and `EventBusName`, each once, every value a string
//! (only `Detail` may hold escapes, and no `\u` escape), and hands the
//! detail's text to [`common_event`], the fast path's own reading. Anything
//! else, or anything short of a whole entry, gives `None`, and the entry is
//! read by `serde_json` and the fast path ([`super::fast`]) instead; so an
//! entry read here is one the fast path reads the same way
//! (`tests/replay_fast.rs` compares the two over the corpora).

use crate::catalog::Catalog;
use crate::envelope::Event;
use crate::json_text::plain_len;
use crate::time::parse_time_text;

use super::fast::common_event;

/// The event of the entry at the start of `bytes` and the entry's length in
/// bytes (module documentation); `scratch` holds the unescaped detail.
pub fn scan_entry(
    catalog: &Catalog,
    bytes: &[u8],
    scratch: &mut Vec<u8>,
) -> Option<(Event, usize)> {
    let mut s = Scanner { bytes, at: 0 };
    s.eat(b'{')?;
    let (mut source, mut detail_type, mut detail) = (None, None, false);
    let (mut time, mut bus) = (false, false);
    loop {
        let key = s.plain_string()?;
        s.eat(b':')?;
        match key {
            b"Source" if source.is_none() => source = Some(s.text()?),
            b"DetailType" if detail_type.is_none() => detail_type = Some(s.text()?),
            b"Detail" if !detail => {
                detail = true;
                s.unescaped_string(scratch)?;
            }
            b"Time" if !time => {
                time = true;
                parse_time_text("Time", s.text()?).ok()?;
            }
            b"EventBusName" if !bus => {
                bus = true;
                s.text()?;
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
    if !detail {
        return None;
    }
    let detail = std::str::from_utf8(scratch).ok()?;
    Some((common_event(catalog, source?, detail)?, s.at))
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

    /// A string without escapes, as text.
    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.plain_string()?).ok()
    }

    /// A string's value into `out`, its escapes undone; `None` for a `\u`
    /// escape (left to `serde_json`) or anything that is not JSON.
    fn unescaped_string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        self.eat(b'"')?;
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
