//! The stored form of a record (an SQLite row's `record`, a Redis value): JSON
//! of types of its own, versioned, never the engine's types. Renaming or
//! reshaping an engine type cannot change what is on disk; only a new format
//! version here can, and every version ever written keeps reading. Golden files
//! (`golden/`) pin each phase's text.
//!
//! Versions:
//! - 1: the form 0.1.0 wrote, which carried no version (read as 1); written
//!   with `"v":1` first. Readers that predate the field ignore it.

mod v1;

use crate::engine::Record;
use crate::store::StoreError;

/// The version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

pub fn encode(rec: &Record) -> String {
    // Sized for a record with its history (~500–800 bytes): grown once at most.
    let mut out = Vec::with_capacity(1024);
    encode_into(&mut out, rec);
    // serde_json writes only UTF-8.
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Appends the record's text (a JSON object) to `out`.
pub fn encode_into(out: &mut Vec<u8>, rec: &Record) {
    serde_json::to_writer(out, &v1::Stored::from(rec)).expect("stored records serialise");
}

/// The record `text` holds; `key` names it in errors.
pub fn decode(key: &str, text: &str) -> Result<Record, StoreError> {
    let version = v1::version_of(text)
        .map_err(|e| StoreError::Corrupt(format!("record of {key:?} is unreadable: {e}")))?;
    if version > FORMAT_VERSION {
        return Err(StoreError::Version(format!(
            "record of {key:?} has format version {version}, newer than this task-guard's \
             {FORMAT_VERSION}; upgrade task-guard"
        )));
    }
    serde_json::from_str::<v1::Stored>(text)
        .map(Record::from)
        .map_err(|e| StoreError::Corrupt(format!("record of {key:?} is unreadable: {e}")))
}

#[cfg(test)]
mod tests;
