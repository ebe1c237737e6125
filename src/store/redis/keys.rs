//! Key layout: one Redis key per guard, `tg:{<namespace>/<key>}` (or
//! `tg:{<key>}` without a namespace). The braces make the whole name the
//! Redis Cluster hash tag, so anything ever stored for one guard sits in one slot.

const PREFIX: &str = "tg:{";

pub fn guard_key(storage_key: &str) -> String {
    let mut s = String::with_capacity(PREFIX.len() + storage_key.len() + 1);
    s.push_str(PREFIX);
    s.push_str(storage_key);
    s.push('}');
    s
}

pub fn storage_key_of(redis_key: &str) -> Option<&str> {
    redis_key.strip_prefix(PREFIX)?.strip_suffix('}')
}

/// A SCAN MATCH pattern for guards whose storage key starts with `prefix`,
/// with glob characters in the prefix taken literally.
pub fn scan_pattern(prefix: &str) -> String {
    let mut p = String::from("tg:\\{");
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '{' | '}' | '^' | '-') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push_str("*}");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_patterns_escape_globs() {
        assert_eq!(guard_key("ns/a::b"), "tg:{ns/a::b}");
        assert_eq!(storage_key_of("tg:{ns/a::b}"), Some("ns/a::b"));
        assert_eq!(storage_key_of("other"), None);
        assert_eq!(scan_pattern("ns/a*"), "tg:\\{ns/a\\**}");
    }
}
