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

pub fn validate_namespace(ns: &str) -> Result<(), InvalidArg> {
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
