use napi_derive::napi;

use super::errors::{invalid, Result};
use crate::engine::{
    validate_namespace, OnStale, Policy, DEFAULT_MAX_KEY_BYTES, DEFAULT_RETENTION_MS,
    DEFAULT_TTL_MS, MAX_MAX_KEY_BYTES, MAX_TTL_MS,
};

/// Options as the JS facade passes them: already type-checked there, range-checked here.
#[napi(object)]
pub struct NativeOptions {
    pub store: Option<String>,
    pub namespace: Option<String>,
    pub max_key_bytes: Option<f64>,
    pub default_ttl_ms: Option<f64>,
    pub on_stale: Option<String>,
    pub retention_ms: Option<f64>,
}

pub enum StoreUrl {
    Memory,
}

pub struct Settings {
    pub store: StoreUrl,
    pub namespace: String,
    pub max_key_bytes: usize,
    pub policy: Policy,
}

/// A whole number of milliseconds within `[min, max]`.
pub fn duration(name: &str, v: f64, min: u64, max: u64) -> Result<u64> {
    if !v.is_finite() || v.fract() != 0.0 || v < min as f64 || v > max as f64 {
        return Err(invalid(format!(
            "{name} must be an integer from {min} to {max}, not {v}"
        )));
    }
    Ok(v as u64)
}

pub fn ttl(name: &str, v: Option<f64>) -> Result<Option<u64>> {
    v.map(|v| duration(name, v, 1, MAX_TTL_MS)).transpose()
}

fn parse_store(url: &str) -> Result<StoreUrl> {
    match url {
        "memory:" => Ok(StoreUrl::Memory),
        _ => {
            let scheme = url.split_once(':').map(|(s, _)| s);
            match scheme {
                Some("sqlite") | Some("redis") | Some("rediss") => Err(invalid(format!(
                    "store {url:?}: this build supports only 'memory:'"
                ))),
                _ => Err(invalid(format!(
                    "store must be a URL such as 'memory:', not {url:?}"
                ))),
            }
        }
    }
}

impl Settings {
    pub fn from_options(o: NativeOptions) -> Result<Self> {
        let namespace = o.namespace.unwrap_or_default();
        validate_namespace(&namespace)?;
        let on_stale = match o.on_stale.as_deref() {
            None | Some("heal") => OnStale::Heal,
            Some("fail") => OnStale::Fail,
            Some(other) => {
                return Err(invalid(format!(
                    "onStale must be 'heal' or 'fail', not {other:?}"
                )))
            }
        };
        let max_key_bytes = match o.max_key_bytes {
            None => DEFAULT_MAX_KEY_BYTES,
            Some(v) => duration("maxKeyBytes", v, 1, MAX_MAX_KEY_BYTES as u64)? as usize,
        };
        let policy = Policy {
            default_ttl_ms: ttl("defaultTtlMs", o.default_ttl_ms)?.unwrap_or(DEFAULT_TTL_MS),
            on_stale,
            retention_ms: match o.retention_ms {
                None => DEFAULT_RETENTION_MS,
                Some(v) => duration("retentionMs", v, 0, u64::MAX >> 12)?,
            },
        };
        Ok(Settings {
            store: parse_store(o.store.as_deref().unwrap_or("memory:"))?,
            namespace,
            max_key_bytes,
            policy,
        })
    }
}
