//! A Redis value is the record's text with a stamp first, `{"w":"<16 hex>",…`:
//! 64 random bits drawn for each write. A check compares the stamp the key
//! holds (GETRANGE of its first bytes) instead of the whole text: the server
//! hashes every byte of each string its scripts see, and the text was seen
//! twice a key (sent as expected, read back by GET) — over a third of its
//! CPU a call. Stamps are drawn, not counted, so a key that expired and was
//! written afresh never holds a stamp seen before. Readers take the stamp for
//! a field they do not know and ignore it (JSON), so the text is still the
//! codec's: 0.1.0 and every later reader read it as before. A value without a
//! stamp (written by an earlier task-guard) is checked whole, as before.

use crate::engine::Record;
use crate::store::codec;

/// Bytes of a value's stamp as a check compares it: `{"w":"<16 hex>"`.
pub const LEN: usize = 23;

const HEAD: &[u8] = b"{\"w\":\"";

/// What a check expects a key to hold.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    Absent,
    /// A value with a stamp: its first `LEN` bytes.
    Stamp([u8; LEN]),
    /// A value without one: the whole text.
    Whole(String),
}

impl Expected {
    /// What a check of a key holding `text` (None: absent) compares.
    pub fn of(text: Option<String>) -> Self {
        match text {
            None => Expected::Absent,
            Some(t) => match stamp_of(t.as_bytes()) {
                Some(stamp) => Expected::Stamp(stamp),
                None => Expected::Whole(t),
            },
        }
    }
}

fn stamp_of(text: &[u8]) -> Option<[u8; LEN]> {
    let stamp: [u8; LEN] = text.get(..LEN)?.try_into().ok()?;
    let well_formed = stamp.starts_with(HEAD)
        && stamp[HEAD.len()..LEN - 1].iter().all(u8::is_ascii_hexdigit)
        && stamp[LEN - 1] == b'"'
        && text.get(LEN) == Some(&b',');
    well_formed.then_some(stamp)
}

/// `rec`'s text with a new stamp first.
pub fn stamped(rec: &Record) -> String {
    let mut out = Vec::with_capacity(1024);
    let random: u64 = rand::random();
    out.extend_from_slice(HEAD);
    out.extend_from_slice(format!("{random:016x}\"").as_bytes());
    codec::encode_into(&mut out, rec);
    // The record's own opening brace becomes the comma after the stamp.
    debug_assert_eq!(out[LEN], b'{');
    out[LEN] = b',';
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_text_decodes_as_the_record_and_is_checked_by_its_stamp() {
        let rec = Record::default();
        let text = stamped(&rec);
        assert!(text.starts_with("{\"w\":\""), "{text}");
        let stamp: [u8; LEN] = text.as_bytes()[..LEN].try_into().unwrap();
        assert_eq!(codec::decode("k", &text).unwrap(), rec);
        assert_eq!(Expected::of(Some(text.clone())), Expected::Stamp(stamp));
        // Drawn afresh each write, even of the same record.
        assert_ne!(stamped(&rec).as_bytes()[..LEN], stamp);
        // The text less its stamp is the codec's own.
        assert_eq!(format!("{{{}", &text[LEN + 1..]), codec::encode(&rec));
    }

    #[test]
    fn a_text_without_a_well_formed_stamp_is_checked_whole() {
        let plain = codec::encode(&Record::default());
        assert_eq!(Expected::of(Some(plain.clone())), Expected::Whole(plain));
        for odd in [
            "{\"w\":\"0123456789abcdeg\",\"v\":1}",
            "{\"w\":\"0123456789abcdef\"}",
            "{\"w\":\"0123456789abcdef",
            "{\"w\":\"0123456789abcdef\" ,\"v\":1}",
            "",
        ] {
            assert_eq!(
                Expected::of(Some(odd.into())),
                Expected::Whole(odd.into()),
                "{odd}"
            );
        }
        assert_eq!(Expected::of(None), Expected::Absent);
    }
}
