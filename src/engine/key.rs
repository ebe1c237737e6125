use std::borrow::Cow;

use super::error::InvalidArg;
use super::limits::MAX_NAMESPACE_BYTES;

/// Separates a namespace from a key in storage. Namespaces may not contain it,
/// so `(ns, key)` pairs never collide.
pub const NAMESPACE_SEPARATOR: char = '/';

pub fn validate_key(key: &str, max_bytes: usize) -> Result<(), InvalidArg> {
    if key.is_empty() {
        return Err(InvalidArg::new("key must be a non-empty string"));
    }
    if key.len() > max_bytes {
        return Err(InvalidArg::new(format!(
            "key is {} bytes, over maxKeyBytes ({max_bytes})",
            key.len()
        )));
    }
    if key.contains('\0') {
        return Err(InvalidArg::new("key must not contain NUL characters"));
    }
    Ok(())
}

/// A namespace as given: `None` (no `namespace` option) is no namespace; an empty
/// one is refused rather than read as none, so a mistake (an unset variable) shows.
pub fn validate_namespace(ns: &str) -> Result<(), InvalidArg> {
    if ns.is_empty() {
        return Err(InvalidArg::new(
            "namespace must not be empty (leave the option out for no namespace)",
        ));
    }
    if ns.len() > MAX_NAMESPACE_BYTES {
        return Err(InvalidArg::new(format!(
            "namespace is over {MAX_NAMESPACE_BYTES} bytes"
        )));
    }
    let ok = ns
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if !ok {
        return Err(InvalidArg::new(
            "namespace may contain only ASCII letters, digits, '_', '-', '.' and ':'",
        ));
    }
    Ok(())
}

/// The key as stored: `<namespace>/<key>`, or the bare key without a namespace.
pub fn storage_key<'a>(namespace: &str, key: &'a str) -> Cow<'a, str> {
    if namespace.is_empty() {
        Cow::Borrowed(key)
    } else {
        let mut s = String::with_capacity(namespace.len() + 1 + key.len());
        s.push_str(namespace);
        s.push(NAMESPACE_SEPARATOR);
        s.push_str(key);
        Cow::Owned(s)
    }
}

/// Caller-supplied text (owner, meta, reason) within a byte limit.
pub fn validate_text(name: &str, s: &str, max_bytes: usize) -> Result<(), InvalidArg> {
    if s.len() > max_bytes {
        return Err(InvalidArg::new(format!(
            "{name} is {} bytes, over the limit of {max_bytes}",
            s.len()
        )));
    }
    Ok(())
}

/// A run id as the stores mint them (`store::new_run_id`): a UUID v7 in its
/// lowercase hyphenated form. Anything else names no run, and is far more likely
/// a mistake (`release(key, 'succeeded')`, a runId forgotten) than a stale id,
/// so it is refused instead of answered `not_owner` / `not_running`.
pub fn validate_run_id(id: &str) -> Result<(), InvalidArg> {
    let b = id.as_bytes();
    let hex = |c: &u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'7',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => hex(c),
        });
    if ok {
        return Ok(());
    }
    let shown: String = id.chars().take(40).collect();
    let more = if shown.len() < id.len() { "…" } else { "" };
    Err(InvalidArg::new(format!(
        "runId must be a run id as acquire returned it (a lowercase UUID v7), not {shown:?}{more}"
    )))
}
