//! The `next` / `after` cursor of paged `inspect`: opaque to callers, stable
//! across processes (the CLI passes one from one run to the next), and tied to
//! the filter it came from so a cursor of another listing is refused rather
//! than silently skipping guards.
//!
//! `k1.<filter>.<key>`: key-ordered stores (memory, SQLite) resume after `key`.
//! `r1.<filter>.<scan cursor>.<count>.<key>`: Redis resumes its SCAN at
//! `scan cursor`; a page ends inside a batch only when one batch holds more than
//! a page, and then `key` is where in that batch (scanned again with `count`).
//! `<filter>` is a hash of namespace, prefix and state; keys are hex, so any
//! key survives any transport (a shell, a chat message).

use crate::engine::{GuardState, InvalidArg};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum After {
    /// Resume after this storage key (namespace included).
    Key(String),
    /// Resume the SCAN at `cursor`; with `last` (a storage key), scan that batch
    /// again with the same `count` and skip its keys up to `last`.
    Scan {
        cursor: u64,
        count: u32,
        last: Option<String>,
    },
}

/// FNV-1a: stable across processes and versions, unlike std's hasher.
fn fingerprint(namespace_prefix: &str, prefix: &str, state: Option<GuardState>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let state = state.map_or("", |s| s.as_str());
    for part in [namespace_prefix, "\0", prefix, "\0", state] {
        for b in part.bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    format!("{h:08x}")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

pub struct CursorFilter<'a> {
    pub namespace_prefix: &'a str,
    pub prefix: &'a str,
    pub state: Option<GuardState>,
}

impl CursorFilter<'_> {
    pub fn encode(&self, after: &After) -> String {
        let f = fingerprint(self.namespace_prefix, self.prefix, self.state);
        let ns = self.namespace_prefix.len();
        match after {
            After::Key(k) => format!("k1.{f}.{}", hex(&k[ns..])),
            After::Scan {
                cursor,
                count,
                last,
            } => {
                let last = last.as_deref().map_or(String::new(), |k| hex(&k[ns..]));
                format!("r1.{f}.{cursor}.{count}.{last}")
            }
        }
    }

    pub fn decode(&self, cursor: &str) -> Result<After, InvalidArg> {
        let bad = |why: &str| {
            let shown: String = cursor.chars().take(40).collect();
            InvalidArg::new(format!(
                "after must be the `next` cursor of an inspect() with the same prefix and state ({why}): {shown:?}"
            ))
        };
        let parts: Vec<&str> = cursor.split('.').collect();
        let f = fingerprint(self.namespace_prefix, self.prefix, self.state);
        let key = |hexed: &str| -> Result<String, InvalidArg> {
            let k = unhex(hexed).ok_or_else(|| bad("not a cursor"))?;
            let full = format!("{}{k}", self.namespace_prefix);
            if !k.starts_with(self.prefix) {
                return Err(bad("it is of another listing"));
            }
            Ok(full)
        };
        match parts.as_slice() {
            ["k1", fp, k] => {
                if *fp != f {
                    return Err(bad("it is of another listing"));
                }
                Ok(After::Key(key(k)?))
            }
            ["r1", fp, c, n, k] => {
                if *fp != f {
                    return Err(bad("it is of another listing"));
                }
                let cursor = c.parse::<u64>().map_err(|_| bad("not a cursor"))?;
                let count = n.parse::<u32>().map_err(|_| bad("not a cursor"))?;
                let last = if k.is_empty() { None } else { Some(key(k)?) };
                Ok(After::Scan {
                    cursor,
                    count,
                    last,
                })
            }
            _ => Err(bad("not a cursor")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_listings() {
        let f = CursorFilter {
            namespace_prefix: "ns/",
            prefix: "a::",
            state: None,
        };
        for after in [
            After::Key("ns/a::ключ.x".into()),
            After::Scan {
                cursor: 17,
                count: 100,
                last: Some("ns/a::b".into()),
            },
            After::Scan {
                cursor: 0,
                count: 0,
                last: None,
            },
        ] {
            let c = f.encode(&after);
            assert!(c.is_ascii());
            assert_eq!(f.decode(&c).unwrap(), after);
            let other = CursorFilter {
                state: Some(GuardState::Failed),
                ..f
            };
            assert!(other.decode(&c).is_err());
        }
        for bad in ["", "k1", "k1..", "k1.00000000.zz", "x.y.z", "r1.a.b.c.d.e"] {
            assert!(f.decode(bad).is_err(), "{bad}");
        }
        // A forged cursor naming a key outside the prefix is refused too.
        let forged = format!("k1.{}.{}", fingerprint("ns/", "a::", None), hex("b::x"));
        assert!(f.decode(&forged).is_err());
    }
}
