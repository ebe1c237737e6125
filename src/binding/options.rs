use std::path::PathBuf;

use napi_derive::napi;

use super::errors::{invalid, Result};
use crate::engine::{
    validate_namespace, validate_text, OnStale, Policy, DEFAULT_MAX_KEY_BYTES,
    DEFAULT_MAX_RESULT_BYTES, DEFAULT_RETENTION_MS, DEFAULT_TTL_MS, MAX_MAX_KEY_BYTES,
    MAX_MAX_RESULT_BYTES, MAX_OWNER_BYTES, MAX_TTL_MS,
};
use crate::store::redis::{DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS};
use crate::store::sqlite::Durability;

/// Options as the JS facade passes them: already type-checked there, range-checked here.
#[napi(object)]
pub struct NativeOptions {
    pub store: Option<String>,
    pub namespace: Option<String>,
    /// The guard's default owner: the facade records it with each acquire that
    /// names none; checked here, at open, so such acquires cannot all be refused later.
    pub owner: Option<String>,
    pub max_key_bytes: Option<f64>,
    pub default_ttl_ms: Option<f64>,
    pub on_stale: Option<String>,
    pub retention_ms: Option<f64>,
    /// How long a success is replayed to duplicates (0: off); at most `retentionMs`.
    pub replay_ms: Option<f64>,
    /// The largest result (as JSON, in bytes) a release may store.
    pub max_result_bytes: Option<f64>,
    /// SQLite: 'full' (default) or 'normal'.
    pub durability: Option<String>,
    /// SQLite: false commits every call on its own (for measurement).
    pub group_commit: Option<bool>,
    /// Redis: how long connecting may take.
    pub connect_timeout_ms: Option<f64>,
    /// Redis: how long one command may take before the call is unavailable.
    pub command_timeout_ms: Option<f64>,
    /// `rediss://`: whom to trust and who we are, as PEM text.
    pub tls: Option<NativeTls>,
}

#[napi(object)]
pub struct NativeTls {
    /// CA certificates the server's certificate must chain to, instead of the
    /// public roots.
    pub ca: Option<String>,
    /// A client certificate (chain) and its private key, for servers that ask for one.
    pub cert: Option<String>,
    pub key: Option<String>,
}

pub enum StoreUrl {
    Memory,
    Sqlite(PathBuf),
    Redis(String),
}

pub struct Settings {
    pub store: StoreUrl,
    pub durability: Durability,
    pub group_commit: bool,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
    pub tls: Option<redis::TlsCertificates>,
    pub namespace: String,
    pub max_key_bytes: usize,
    /// Recorded for runs acquired without an owner.
    pub default_owner: Option<String>,
    pub max_result_bytes: usize,
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

/// `duration` for an option that may be absent, with its default.
fn or_default(name: &str, v: Option<f64>, min: u64, max: u64, default: u64) -> Result<u64> {
    v.map_or(Ok(default), |v| duration(name, v, min, max))
}

pub fn ttl(name: &str, v: Option<f64>) -> Result<Option<u64>> {
    v.map(|v| duration(name, v, 1, MAX_TTL_MS)).transpose()
}

fn parse_store(url: &str) -> Result<StoreUrl> {
    if url == "memory:" {
        return Ok(StoreUrl::Memory);
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        // 'sqlite:///abs/path' as well as 'sqlite:/abs/path' and 'sqlite:rel/path'.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path == ":memory:" {
            return Err(invalid(
                "store 'sqlite::memory:' is refused: it would be private to one connection and lost on close; use 'memory:'",
            ));
        }
        if path.starts_with("file:") {
            // SQLite reads such a name as a URI: `file::memory:`, `?mode=memory`,
            // `?vfs=memdb` make a database private to one process and lost on
            // close, `?nolock=1` drops the locking other processes rely on.
            return Err(invalid(format!(
                "store {url:?} is an SQLite URI, refused: its parameters can make the database in-memory (not durable) or unlocked; \
                 give a file path, as in 'sqlite:./guards.db', or use 'memory:'"
            )));
        }
        if path.is_empty() || path.contains('\0') {
            return Err(invalid(format!(
                "store {url:?} needs a file path, as in 'sqlite:./guards.db'"
            )));
        }
        return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        // Parsed in full (host, port, db, credentials) by the client, here, so a
        // malformed URL is refused before anything connects.
        redis::Client::open(url).map_err(|e| {
            invalid(format!(
                "store {:?} is not a valid Redis URL: {e}",
                redact(url)
            ))
        })?;
        return Ok(StoreUrl::Redis(url.to_owned()));
    }
    Err(invalid(format!(
        "store must be 'memory:', 'sqlite:<path>' or 'redis://host:port[/db]', not {:?}",
        redact(url)
    )))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

impl Settings {
    pub fn from_options(o: NativeOptions) -> Result<Self> {
        let namespace = match o.namespace {
            Some(ns) => {
                validate_namespace(&ns)?;
                ns
            }
            None => String::new(),
        };
        if let Some(owner) = &o.owner {
            validate_text("owner", owner, MAX_OWNER_BYTES)?;
        }
        let on_stale = match o.on_stale.as_deref() {
            None | Some("heal") => OnStale::Heal,
            Some("fail") => OnStale::Fail,
            Some(other) => {
                return Err(invalid(format!(
                    "onStale must be 'heal' or 'fail', not {other:?}"
                )))
            }
        };
        let max_key_bytes = or_default(
            "maxKeyBytes",
            o.max_key_bytes,
            1,
            MAX_MAX_KEY_BYTES as u64,
            DEFAULT_MAX_KEY_BYTES as u64,
        )? as usize;
        let mut policy = Policy {
            default_ttl_ms: ttl("defaultTtlMs", o.default_ttl_ms)?.unwrap_or(DEFAULT_TTL_MS),
            on_stale,
            retention_ms: or_default(
                "retentionMs",
                o.retention_ms,
                0,
                u64::MAX >> 12,
                DEFAULT_RETENTION_MS,
            )?,
            replay_ms: 0,
        };
        policy.replay_ms = or_default("replayMs", o.replay_ms, 0, policy.retention_ms, 0)
            .map_err(|_| {
                invalid(format!(
                    "replayMs must be an integer from 0 to retentionMs ({}): a success is replayed from its record, which retention keeps that long",
                    policy.retention_ms
                ))
            })?;
        let max_result_bytes = or_default(
            "maxResultBytes",
            o.max_result_bytes,
            0,
            MAX_MAX_RESULT_BYTES as u64,
            DEFAULT_MAX_RESULT_BYTES as u64,
        )? as usize;
        let durability = match o.durability.as_deref() {
            None | Some("full") => Durability::Full,
            Some("normal") => Durability::Normal,
            Some(other) => {
                return Err(invalid(format!(
                    "durability must be 'full' or 'normal', not {other:?}"
                )))
            }
        };
        let store = parse_store(o.store.as_deref().unwrap_or("memory:"))?;
        let tls = o.tls.map(|t| tls_certificates(&store, t)).transpose()?;
        Ok(Settings {
            store,
            tls,
            durability,
            group_commit: o.group_commit.unwrap_or(true),
            connect_timeout_ms: or_default(
                "connectTimeoutMs",
                o.connect_timeout_ms,
                1,
                MAX_TTL_MS,
                DEFAULT_CONNECT_TIMEOUT_MS,
            )?,
            command_timeout_ms: or_default(
                "commandTimeoutMs",
                o.command_timeout_ms,
                1,
                MAX_TTL_MS,
                DEFAULT_COMMAND_TIMEOUT_MS,
            )?,
            namespace,
            max_key_bytes,
            default_owner: o.owner,
            max_result_bytes,
            policy,
        })
    }
}

/// Checks the PEM texts now, so a wrong file is refused at open, naming which.
fn tls_certificates(store: &StoreUrl, t: NativeTls) -> Result<redis::TlsCertificates> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    if !matches!(store, StoreUrl::Redis(url) if url.starts_with("rediss://")) {
        return Err(invalid(
            "tls is for a Redis store over TLS: give a 'rediss://' URL",
        ));
    }
    let certificates = |name: &str, pem: &str| -> Result<()> {
        let found = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("tls.{name} is not PEM certificates: {e}")))?;
        if found.is_empty() {
            return Err(invalid(format!(
                "tls.{name} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)"
            )));
        }
        Ok(())
    };
    if let Some(ca) = &t.ca {
        certificates("ca", ca)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()).flatten() {
            roots.add(cert).map_err(|e| {
                invalid(format!(
                    "tls.ca holds a certificate that cannot be a trust anchor: {e}"
                ))
            })?;
        }
    }
    let client_tls = match (t.cert, t.key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            certificates("cert", &cert)?;
            PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| invalid(format!("tls.key is not a PEM private key: {e}")))?;
            Some(redis::ClientTlsConfig {
                client_cert: cert.into_bytes(),
                client_key: key.into_bytes(),
            })
        }
        _ => {
            return Err(invalid(
                "tls.cert and tls.key go together: give both or neither",
            ))
        }
    };
    Ok(redis::TlsCertificates {
        client_tls,
        root_cert: t.ca.map(String::into_bytes),
    })
}
