//! `lib/contract.json`, the one list of error codes, options and defaults the
//! JS facade and the types are checked against. The binding takes the code
//! strings it throws from it; the tests below hold the engine's and the
//! stores' defaults to it.

use std::sync::LazyLock;

static CONTRACT: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../lib/contract.json")).expect("lib/contract.json is JSON")
});

/// The `ERR_TASK_GUARD_*` string of the code named `name` (e.g. `INVALID_ARG`).
pub fn code(name: &str) -> &'static str {
    CONTRACT["codes"][name]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("lib/contract.json has no code {name}"))
}

#[cfg(test)]
fn option(kind: &str, name: &str, what: &str) -> serde_json::Value {
    CONTRACT["options"][kind][name][what].clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{
        DEFAULT_MAX_KEY_BYTES, DEFAULT_RETENTION_MS, DEFAULT_TTL_MS, MAX_FINGERPRINT_BYTES,
        MAX_MAX_KEY_BYTES, MAX_TTL_MS,
    };
    use crate::store::redis::{DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS};
    use crate::store::{DEFAULT_PAGE, MAX_PAGE};

    #[test]
    fn defaults_and_limits_are_the_contracts() {
        let n = |kind, name, what| {
            option(kind, name, what)
                .as_u64()
                .unwrap_or_else(|| panic!("{kind}.{name}.{what}"))
        };
        assert_eq!(n("open", "defaultTtlMs", "default"), DEFAULT_TTL_MS);
        assert_eq!(n("open", "defaultTtlMs", "max"), MAX_TTL_MS);
        assert_eq!(n("acquire", "ttlMs", "max"), MAX_TTL_MS);
        assert_eq!(n("open", "retentionMs", "default"), DEFAULT_RETENTION_MS);
        assert_eq!(
            n("open", "maxKeyBytes", "default"),
            DEFAULT_MAX_KEY_BYTES as u64
        );
        assert_eq!(n("open", "maxKeyBytes", "max"), MAX_MAX_KEY_BYTES as u64);
        assert_eq!(
            n("open", "connectTimeoutMs", "default"),
            DEFAULT_CONNECT_TIMEOUT_MS
        );
        assert_eq!(
            n("open", "commandTimeoutMs", "default"),
            DEFAULT_COMMAND_TIMEOUT_MS
        );
        assert_eq!(n("inspect", "limit", "default"), DEFAULT_PAGE as u64);
        assert_eq!(n("inspect", "limit", "max"), MAX_PAGE as u64);
        assert_eq!(
            n("acquire", "fingerprint", "maxBytes"),
            MAX_FINGERPRINT_BYTES as u64
        );
        assert_eq!(
            option("open", "onStale", "values"),
            serde_json::json!(["heal", "fail"])
        );
        assert_eq!(
            option("open", "durability", "values"),
            serde_json::json!(["full", "normal"])
        );
    }

    #[test]
    fn every_code_is_an_err_task_guard_string() {
        for name in [
            "INVALID_ARG",
            "CLOSED",
            "STORE_UNAVAILABLE",
            "STORE_CORRUPT",
            "STORE_VERSION",
            "INTERNAL",
        ] {
            assert_eq!(code(name), format!("ERR_TASK_GUARD_{name}"));
        }
    }
}
