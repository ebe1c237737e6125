//! Compact forms of the two strings every running record carries: its run id and
//! its owner. A memory store holds a million records; 36-character run ids and
//! one owner string per record were most of their size. Stored records hold
//! them as the strings they stand for (see `store::codec`).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

const HYPHENS: [usize; 4] = [8, 13, 18, 23];
const UUID_LEN: usize = 36;

/// A run's id. Ids the stores mint (UUIDs in lowercase hyphenated form) are
/// kept as their 16 bytes; any other text (a hand-written record, a test's
/// `run-1`) is kept as it is, so every id reads back exactly as written.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RunId {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl RunId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        RunId::Uuid(bytes)
    }

    /// The id `s` names. Only the canonical form becomes bytes, so formatting
    /// gives `s` back.
    pub fn parse(s: &str) -> Self {
        match uuid_bytes(s.as_bytes()) {
            Some(b) => RunId::Uuid(b),
            None => RunId::Text(s.into()),
        }
    }

    /// Formats into `buf`, without allocating for a UUID.
    pub fn as_str<'a>(&'a self, buf: &'a mut [u8; UUID_LEN]) -> &'a str {
        match self {
            RunId::Text(t) => t,
            RunId::Uuid(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for &i in &HYPHENS {
                    buf[i] = b'-';
                }
                for (byte, &at) in b.iter().zip(&DIGITS_AT) {
                    buf[at] = HEX[(byte >> 4) as usize];
                    buf[at + 1] = HEX[(byte & 0x0f) as usize];
                }
                // SAFETY: every byte was just written as a hex digit or a hyphen, all
                // ASCII (checking it again was ~1% of an acquire+release pair).
                unsafe { std::str::from_utf8_unchecked(buf) }
            }
        }
    }
}

/// Each byte's value as a lowercase hex digit, or 0xff.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Where each byte's two digits start in the hyphenated form.
const DIGITS_AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// The 16 bytes of a lowercase hyphenated UUID, or `None` for any other text.
/// Parsed on every release and heartbeat, so by table rather than by `uuid`.
fn uuid_bytes(s: &[u8]) -> Option<[u8; 16]> {
    if s.len() != UUID_LEN || HYPHENS.iter().any(|&i| s[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    for (byte, &at) in out.iter_mut().zip(&DIGITS_AT) {
        let (hi, lo) = (HEX_VALUE[s[at] as usize], HEX_VALUE[s[at + 1] as usize]);
        if (hi | lo) == 0xff {
            return None;
        }
        *byte = (hi << 4) | lo;
    }
    Some(out)
}

impl RunId {
    /// `s` if it is a run id as the stores mint them (a lowercase UUID v7),
    /// as its bytes; `None` for anything else.
    pub fn minted(s: &str) -> Option<RunId> {
        let b = uuid_bytes(s.as_bytes())?;
        (b[6] >> 4 == 7 && b[8] >> 6 == 0b10).then_some(RunId::Uuid(b))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str(&mut [0; UUID_LEN]))
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(&mut [0; UUID_LEN]), f)
    }
}

impl From<&str> for RunId {
    fn from(s: &str) -> Self {
        RunId::parse(s)
    }
}

impl From<String> for RunId {
    fn from(s: String) -> Self {
        match uuid_bytes(s.as_bytes()) {
            Some(b) => RunId::Uuid(b),
            None => RunId::Text(s.into_boxed_str()),
        }
    }
}

impl From<&RunId> for RunId {
    fn from(id: &RunId) -> Self {
        id.clone()
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        match self {
            RunId::Text(t) => &**t == other,
            RunId::Uuid(b) => uuid_bytes(other.as_bytes()).as_ref() == Some(b),
        }
    }
}

impl PartialEq<&str> for RunId {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// An owner's name, shared: one process's runs mostly name the same few owners,
/// and a store may intern them so a million records hold one copy. A thin
/// pointer (the `String` sits behind the `Arc`) keeps records small.
#[derive(Clone)]
#[allow(clippy::rc_buffer)] // thin: `Arc<str>` would be a fat pointer in every record
pub struct Owner(Arc<String>);

impl Owner {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether anything but `self` holds this name (an interner drops unused ones).
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}

impl Deref for Owner {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Owner {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Owner {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for Owner {}

/// As the `str` hashes, so a set of owners can be looked up by `&str`.
impl Hash for Owner {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl From<String> for Owner {
    fn from(s: String) -> Self {
        Owner(Arc::new(s))
    }
}

impl From<&str> for Owner {
    fn from(s: &str) -> Self {
        Owner(Arc::new(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_read_back_as_written() {
        for s in [
            "0189f7a2-3b4c-7d5e-8f60-123456789abc",
            "0189F7A2-3B4C-7D5E-8F60-123456789ABC",
            "0189f7a23b4c7d5e8f60123456789abc",
            "run-1",
            "",
            "0189f7a2-3b4c-7d5e-8f60-123456789abg",
        ] {
            let id = RunId::parse(s);
            assert_eq!(id.to_string(), s);
            assert_eq!(id, s);
        }
        assert!(matches!(
            RunId::parse("0189f7a2-3b4c-7d5e-8f60-123456789abc"),
            RunId::Uuid(_)
        ));
        assert!(matches!(
            RunId::parse("0189F7A2-3B4C-7D5E-8F60-123456789ABC"),
            RunId::Text(_)
        ));
        assert_ne!(RunId::parse("a"), "b");
        assert!(RunId::minted("0189f7a2-3b4c-7d5e-8f60-123456789abc").is_some());
        for not_v7 in [
            "0189f7a2-3b4c-4d5e-8f60-123456789abc",
            "0189f7a2-3b4c-7d5e-cf60-123456789abc",
            "run-1",
        ] {
            assert!(RunId::minted(not_v7).is_none());
            assert!(crate::engine::validate_run_id(not_v7).is_err());
        }
    }

    #[test]
    fn owners_compare_and_hash_as_their_text() {
        use std::collections::HashSet;
        let set: HashSet<Owner> = [Owner::from("gateway-1")].into_iter().collect();
        assert!(set.contains("gateway-1"));
        assert_eq!(Owner::from("a"), Owner::from("a".to_owned()));
    }
}
