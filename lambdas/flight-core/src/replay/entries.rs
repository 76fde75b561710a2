//! Reading PutEvents entry files (a JSON array of entries, or
//! `{"Entries": [...]}`) an entry at a time, from memory or from a reader,
//! each read as replay's [`RawEntry`](super::fast::RawEntry): the one
//! parser of entry files ([`super::chunks`] hands it what its scan does not
//! expect).

use std::cell::Cell;
use std::marker::PhantomData;

use serde::de::{Deserialize, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::fast::RawEntry;

/// Why a PutEvents entry file could not be read through.
#[derive(Debug)]
pub enum EntriesError {
    /// Reading failed.
    Io(std::io::Error),
    /// It is not a PutEvents entry file; the reason, as [`read_entries`](super::read_entries) gives it.
    Invalid(String),
}

const NOT_AN_ARRAY: &str = "expected a JSON array of PutEvents entries";
const NO_ENTRIES: &str = "expected a JSON array of PutEvents entries, or an object with `Entries`";

/// The streamed parser's entries, read as [`RawEntry`] (owned text): where
/// replay's chunked reader ([`super::chunks`]) hands over what it does not expect.
pub(super) fn for_each_raw_entry_streamed<R: std::io::Read>(
    reader: R,
    each: impl FnMut(RawEntry<'static>) -> bool,
) -> Result<(), EntriesError> {
    drive_entries(serde_json::Deserializer::from_reader(reader), each)
}

/// The one parser of entry files, from memory or from a reader.
pub(super) fn drive_entries<'de, R: serde_json::de::Read<'de>, T: Deserialize<'de>>(
    mut de: serde_json::Deserializer<R>,
    mut each: impl FnMut(T) -> bool,
) -> Result<(), EntriesError> {
    use serde::de::Deserializer as _;
    use serde_json::error::Category;

    let problem = Cell::new(None);
    let stopped = Cell::new(false);
    let result = (&mut de)
        .deserialize_any(EntryFile {
            each: &mut each,
            problem: &problem,
            stopped: &stopped,
            entry: PhantomData,
        })
        .and_then(|()| de.end());
    match result {
        Err(_) if stopped.get() => Ok(()),
        Ok(()) => Ok(()),
        Err(e) => Err(match e.classify() {
            Category::Io => EntriesError::Io(e.into()),
            Category::Data => EntriesError::Invalid(problem.get().unwrap_or(NOT_AN_ARRAY).into()),
            Category::Syntax | Category::Eof => EntriesError::Invalid(format!("not JSON: {e}")),
        }),
    }
}

/// The top of an entry file: the array of entries, or an object holding it.
struct EntryFile<'a, F, T> {
    each: &'a mut F,
    problem: &'a Cell<Option<&'static str>>,
    /// Set when `each` asked to stop (the parse then ends with an error).
    stopped: &'a Cell<bool>,
    entry: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> bool> Visitor<'de> for EntryFile<'_, F, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(NOT_AN_ARRAY)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Visitor::visit_seq(
            Entries {
                each: self.each,
                stopped: self.stopped,
                entry: PhantomData,
            },
            seq,
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Entries" && !found {
                found = true;
                self.problem.set(Some(NO_ENTRIES));
                map.next_value_seed(Entries {
                    each: &mut *self.each,
                    stopped: self.stopped,
                    entry: PhantomData,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        if !found {
            self.problem.set(Some(NO_ENTRIES));
            return Err(serde::de::Error::custom(NO_ENTRIES));
        }
        Ok(())
    }
}

/// The `Entries` array of `{"Entries": [...]}`.
struct Entries<'a, F, T> {
    each: &'a mut F,
    stopped: &'a Cell<bool>,
    entry: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> bool> DeserializeSeed<'de> for Entries<'_, F, T> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> bool> Visitor<'de> for Entries<'_, F, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(NO_ENTRIES)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<T>()? {
            if !(self.each)(entry) {
                self.stopped.set(true);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}
