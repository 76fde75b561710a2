//! Reading an entry file's array a chunk at a time: each entry's bytes are
//! found by a scan of the JSON structure (brackets outside strings) and
//! parsed from memory, borrowing its text from the chunk, so a file of any
//! size is read with one buffer of about a megabyte and at the speed of
//! parsing from memory.
//!
//! The scan only finds where an entry ends; `serde_json` still parses it.
//! Anything the scan does not expect (a file that is not an array, a
//! malformed entry, text after the array) is handed, from the end of the
//! last entry passed on, to the streaming parser
//! ([`super::entries::for_each_raw_entry_streamed`]) behind a prefix that
//! puts it at the same line and column: the entries passed on and the error
//! are those of parsing the whole file with `serde_json`, by construction.

use std::io::{BufReader, Cursor, Read};

use super::entries::{for_each_raw_entry_streamed, EntriesError};
use super::fast::RawEntry;

/// Bytes read at a time; an entry larger than this grows the buffer.
const CHUNK: usize = 1 << 20;

/// An entry as the chunked reader passes it on.
pub(super) enum Item<'b, Q> {
    /// Read by the quick reader (`quick`).
    Quick(Q),
    /// Read by `serde_json`.
    Raw(RawEntry<'b>),
}

/// Calls `each` with every entry of a PutEvents entry file as it is read
/// (module documentation); `each` returns `false` to stop. `quick` may read
/// an entry from its bytes first (then giving its length); when it gives
/// `None`, `serde_json` reads the entry.
pub(super) fn for_each_raw_entry<R: Read, Q>(
    reader: R,
    quick: impl FnMut(&[u8]) -> Option<(Q, usize)>,
    each: impl for<'b> FnMut(Item<'b, Q>) -> bool,
) -> Result<(), EntriesError> {
    read_in_chunks(reader, CHUNK, quick, each)
}

/// [`for_each_raw_entry`] reading `chunk` bytes at a time.
fn read_in_chunks<R: Read, Q>(
    reader: R,
    chunk: usize,
    mut quick: impl FnMut(&[u8]) -> Option<(Q, usize)>,
    mut each: impl for<'b> FnMut(Item<'b, Q>) -> bool,
) -> Result<(), EntriesError> {
    let mut file = Chunks::new(reader, chunk);
    match file.scan(&mut quick, &mut each)? {
        Scanned::Done => Ok(()),
        Scanned::Unexpected { element_before } => file.hand_over(element_before, each),
    }
}

/// How the scan ended.
enum Scanned {
    /// The array and the file ended as expected, or `each` asked to stop.
    Done,
    /// Something the scan leaves to `serde_json`, from `file.resume_at`.
    Unexpected {
        /// Whether an entry was passed on before that point.
        element_before: bool,
    },
}

/// The file being read: a buffer holding its bytes from `resume_at` on.
struct Chunks<R> {
    reader: R,
    /// Bytes read at a time (at least).
    chunk: usize,
    /// The bytes read, in `buf[..end]`.
    buf: Vec<u8>,
    end: usize,
    /// Where the unread part of `buf` starts.
    pos: usize,
    /// Where the streaming parser would take over (the end of the last entry
    /// passed on, or the start of the file's content); never dropped from `buf`.
    resume_at: usize,
    /// Lines ended, and the file offset where the current line starts, in
    /// the bytes dropped from the buffer (for the hand-over's position).
    lines_dropped: usize,
    line_start_dropped: Option<usize>,
    /// File offset of `buf[0]`.
    offset: usize,
    eof: bool,
}

impl<R: Read> Chunks<R> {
    fn new(reader: R, chunk: usize) -> Self {
        Chunks {
            reader,
            chunk,
            buf: Vec::new(),
            end: 0,
            pos: 0,
            resume_at: 0,
            lines_dropped: 0,
            line_start_dropped: None,
            offset: 0,
            eof: false,
        }
    }

    /// Reads more of the file, dropping what is before `resume_at`; `false` at its end.
    fn fill(&mut self) -> Result<bool, EntriesError> {
        if self.eof {
            return Ok(false);
        }
        let dropped = &self.buf[..self.resume_at];
        self.lines_dropped += memchr::memchr_iter(b'\n', dropped).count();
        if let Some(i) = memchr::memrchr(b'\n', dropped) {
            self.line_start_dropped = Some(self.offset + i + 1);
        }
        self.buf.copy_within(self.resume_at..self.end, 0);
        self.offset += self.resume_at;
        self.end -= self.resume_at;
        self.pos -= self.resume_at;
        self.resume_at = 0;
        // Room for a chunk; the buffer grows only for an entry larger than that.
        if self.buf.len() < self.end + self.chunk {
            self.buf.resize(self.end + self.chunk, 0);
        }
        let read = loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(EntriesError::Io(e)),
            }
        };
        self.end += read;
        self.eof = read == 0;
        Ok(read > 0)
    }

    /// The next byte that is not JSON whitespace, reading more as needed.
    fn peek(&mut self) -> Result<Option<u8>, EntriesError> {
        loop {
            while let Some(&b) = self.buf[..self.end].get(self.pos) {
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Passes entries to `each` until the array ends or something unexpected.
    fn scan<Q>(
        &mut self,
        quick: &mut impl FnMut(&[u8]) -> Option<(Q, usize)>,
        each: &mut impl for<'b> FnMut(Item<'b, Q>) -> bool,
    ) -> Result<Scanned, EntriesError> {
        let unexpected = |element_before| Ok(Scanned::Unexpected { element_before });
        if self.peek()? != Some(b'[') {
            return unexpected(false);
        }
        self.pos += 1;
        self.resume_at = self.pos;
        let mut element_before = false;
        loop {
            match self.peek()? {
                Some(b']') if !element_before => break,
                Some(_) if !element_before => {}
                Some(b',') => {
                    self.pos += 1;
                    if matches!(self.peek()?, Some(b']') | None) {
                        return unexpected(true);
                    }
                }
                Some(b']') => break,
                _ => return unexpected(element_before),
            }
            // An entry that reaches the end of the bytes read may go on
            // (or be cut short): read more and start it again.
            loop {
                let bytes = &self.buf[self.pos..self.end];
                if let Some((item, len)) = quick(bytes).filter(|(_, len)| *len < bytes.len()) {
                    if !each(Item::Quick(item)) {
                        return Ok(Scanned::Done);
                    }
                    self.pos += len;
                    break;
                }
                let mut stream =
                    serde_json::Deserializer::from_slice(bytes).into_iter::<RawEntry>();
                let parsed = stream.next();
                let len = stream.byte_offset();
                match parsed {
                    Some(Ok(_)) | Some(Err(_)) | None if len >= bytes.len() && !self.eof => {}
                    Some(Err(e)) if e.is_eof() && !self.eof => {}
                    Some(Ok(entry)) => {
                        if !each(Item::Raw(entry)) {
                            return Ok(Scanned::Done);
                        }
                        self.pos += len;
                        break;
                    }
                    _ => return unexpected(element_before),
                }
                // `fill` moves the bytes and `pos` with them.
                if !self.fill()? {
                    return unexpected(element_before);
                }
            }
            self.resume_at = self.pos;
            element_before = true;
        }
        self.pos += 1;
        if self.peek()?.is_some() {
            return unexpected(element_before);
        }
        Ok(Scanned::Done)
    }

    /// Hands the rest of the file, from `resume_at`, to the streaming parser.
    fn hand_over<Q>(
        self,
        element_before: bool,
        mut each: impl for<'b> FnMut(Item<'b, Q>) -> bool,
    ) -> Result<(), EntriesError> {
        let prefix = self.prefix(element_before);
        let mut rest = self.buf;
        rest.truncate(self.end);
        rest.drain(..self.resume_at);
        let rest = Cursor::new(prefix)
            .chain(Cursor::new(rest))
            .chain(BufReader::with_capacity(1 << 16, self.reader));
        // The prefix's placeholder entry (after one passed on) is not passed on.
        let mut skip = element_before;
        for_each_raw_entry_streamed(rest, |entry| {
            if std::mem::take(&mut skip) {
                return true;
            }
            each(Item::Raw(entry))
        })
    }

    /// Text that leaves the parser where it was at `resume_at` (inside the
    /// array, after an entry or at its start, or at the file's start) and at
    /// the same line and column, so its errors name the file's positions.
    fn prefix(&self, element_before: bool) -> Vec<u8> {
        let before = &self.buf[..self.resume_at];
        let lines = self.lines_dropped + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = match before.iter().rposition(|&b| b == b'\n') {
            Some(i) => self.offset + i + 1,
            None => self.line_start_dropped.unwrap_or(0),
        };
        let column = self.offset + self.resume_at - line_start;
        if self.offset + self.resume_at == 0 {
            return Vec::new();
        }
        let opening: &[u8] = if element_before { b"[0" } else { b"[" };
        let mut prefix = Vec::with_capacity(opening.len() + lines + column);
        if lines == 0 {
            // On the first line: `[`, spaces, and the placeholder fill the columns before.
            prefix.push(b'[');
            prefix.resize(column.max(opening.len()) - (opening.len() - 1), b' ');
            prefix.extend_from_slice(&opening[1..]);
        } else {
            prefix.extend_from_slice(opening);
            prefix.extend(std::iter::repeat_n(b'\n', lines));
            prefix.extend(std::iter::repeat_n(b' ', column));
        }
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::super::entries::drive_entries;
    use super::*;
    use serde_json::Value;

    /// What a reader passed on and how it ended: the entries, then the error.
    fn outcome(
        read: impl FnOnce(&mut dyn FnMut(Value)) -> Result<(), EntriesError>,
    ) -> Vec<String> {
        let mut seen = Vec::new();
        let result = read(&mut |entry| seen.push(entry.to_string()));
        seen.push(match result {
            Ok(()) => "ok".into(),
            Err(EntriesError::Io(e)) => format!("io: {e}"),
            Err(EntriesError::Invalid(reason)) => format!("invalid: {reason}"),
        });
        seen
    }

    /// The whole file parsed from memory by `serde_json`: the reference.
    fn whole_file(bytes: &[u8]) -> Vec<String> {
        outcome(|each| {
            drive_entries(
                serde_json::Deserializer::from_slice(bytes),
                |entry: RawEntry| {
                    each(entry.into_value());
                    true
                },
            )
        })
    }

    fn chunked(bytes: &[u8], chunk: usize) -> Vec<String> {
        outcome(|each| {
            read_in_chunks(
                bytes,
                chunk,
                |_| None::<((), usize)>,
                |item| {
                    if let Item::Raw(entry) = item {
                        each(entry.into_value());
                    }
                    true
                },
            )
        })
    }

    const FILE: &str = "[\n{\"Source\":\"s\",\"Detail\":\"{\\\"a\\\":[1,\\\"]\\\"]}\"},\n  {\"k\": [ {\"x\": \"}\\\\\"}, 2.5e3, true, null]} , \"text\",7 ,[]\n]\n";

    #[test]
    fn a_file_is_read_as_serde_json_reads_it_whole_whatever_the_chunk_size() {
        for chunk in [1, 2, 3, 7, 64, CHUNK] {
            assert_eq!(
                chunked(FILE.as_bytes(), chunk),
                whole_file(FILE.as_bytes()),
                "chunk {chunk}"
            );
        }
        assert_eq!(
            whole_file(FILE.as_bytes()).len(),
            6,
            "five entries and `ok`"
        );
        assert_eq!(chunked(b" {\"Entries\": [1, 2]} ", 4), vec!["1", "2", "ok"]);
    }

    #[test]
    fn a_file_cut_short_or_spoilt_anywhere_gives_the_entries_and_error_of_the_whole_parse() {
        let file = FILE.as_bytes();
        let mut cases = 0;
        for at in 0..=file.len() {
            let mut variants = vec![file[..at].to_vec()];
            for insert in [&b","[..], b"]", b"}", b"\"", b"x", b"\\", b"[", b"\n"] {
                let mut spoilt = file.to_vec();
                spoilt.splice(at..at, insert.iter().copied());
                variants.push(spoilt);
            }
            for bytes in variants {
                let expected = whole_file(&bytes);
                for chunk in [1, 5, CHUNK] {
                    assert_eq!(
                        chunked(&bytes, chunk),
                        expected,
                        "chunk {chunk}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                    cases += 1;
                }
            }
        }
        assert!(cases > 2500, "{cases}");
    }

    #[test]
    fn a_file_that_is_not_an_array_of_entries_is_refused_as_before() {
        for text in [
            "",
            "  ",
            "{}",
            "{\"Entries\": 3}",
            "3",
            "[1] 2",
            "[1,]",
            "[,1]",
            "nul",
            "[1 2]",
        ] {
            assert_eq!(
                chunked(text.as_bytes(), 2),
                whole_file(text.as_bytes()),
                "{text}"
            );
        }
    }
}
