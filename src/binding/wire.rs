//! The Redis store's wire (`store::redis::wire`) as `lib/redis-socket.js`
//! drives it: where to connect, the handshake, and one call per socket event
//! that takes what was read and gives the answers and what to write.

use napi::bindgen_prelude::{Buffer, BufferSlice, Unknown};
use napi_derive::napi;
use redis::{ConnectionAddr, IntoConnectionInfo};

use super::errors::{guarded, invalid, Result};
use super::handle;
use super::options::StoreUrl;
use super::replies::{BatchOut, Latin1};

/// Where and how to connect, from the store's URL.
#[napi(object)]
pub struct WireAddress {
    pub host: String,
    pub port: u32,
    pub tls: bool,
    /// `rediss://…#insecure`: the server's name is not checked against its certificate.
    pub insecure: bool,
    /// The handshake's bytes (AUTH, SELECT, the cluster-mode question).
    pub handshake: Buffer,
    pub connect_timeout_ms: f64,
    pub command_timeout_ms: f64,
}

#[napi(object, object_from_js = false)]
pub struct WireIo {
    /// Answers, if any are ready.
    pub batch: Option<BatchOut>,
    /// Bytes to write, if any, as a Latin-1 string (see `replies::Latin1`).
    #[napi(ts_type = "string")]
    pub output: Option<Latin1>,
    /// The handshake has been answered: the connection is ready.
    pub opened: bool,
    /// Calls still await replies.
    pub busy: bool,
    /// The server broke the protocol or refused the handshake: the connection
    /// is of no further use (call `guardWireReset`).
    pub broken: Option<String>,
}

/// A new connection: its address and handshake (the wire forgets the last one's state).
#[napi]
pub fn guard_wire_connect(h: Unknown<'_>) -> Result<WireAddress> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let StoreUrl::Redis(url) = &g.settings().store else {
            return Err(invalid("guardWireConnect is for the Redis store"));
        };
        let info = url
            .as_str()
            .into_connection_info()
            .map_err(|e| invalid(format!("bad Redis URL: {e}")))?;
        let redis = info.redis_settings();
        let handshake = g
            .durable("guardWireConnect")?
            .with_wire(|w, _| w.handshake(redis.username(), redis.password(), redis.db()))?;
        let (host, port, tls, insecure) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (host, port, false, false),
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure,
                ..
            } => (host, port, true, *insecure),
            // The store's URLs are redis:// and rediss:// only (see options).
            other => {
                return Err(invalid(format!(
                    "a Redis address this store cannot reach: {other:?}"
                )))
            }
        };
        Ok(WireAddress {
            host: host.clone(),
            port: u32::from(*port),
            tls,
            insecure,
            handshake: handshake.into(),
            connect_timeout_ms: g.settings().connect_timeout_ms as f64,
            command_timeout_ms: g.settings().command_timeout_ms as f64,
        })
    })
}

/// Takes what the socket read (if anything); gives the answers ready and the bytes to write.
#[napi]
pub fn guard_wire_io(h: Unknown<'_>, input: Option<BufferSlice<'_>>) -> Result<WireIo> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.durable("guardWireIo")?.with_wire(|w, d| {
            let broken = match input {
                Some(bytes) => w.input(&bytes).err().map(|b| b.0),
                None => None,
            };
            let output = if broken.is_none() {
                w.output()
            } else {
                Vec::new()
            };
            let done = w.take_done();
            WireIo {
                batch: (!done.is_empty()).then(|| d.converted(done)),
                output: (!output.is_empty()).then_some(Latin1(output)),
                opened: w.take_opened(),
                busy: w.busy(),
                broken,
            }
        })
    })
}

/// The connection is gone (`why`; `panicked`: `why` is the wire's own panic):
/// every call not answered fails.
#[napi]
pub fn guard_wire_reset(h: Unknown<'_>, why: String, panicked: bool) -> Result<Option<BatchOut>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.durable("guardWireReset")?.with_wire(|w, d| {
            w.reset(&why, panicked);
            let done = w.take_done();
            (!done.is_empty()).then(|| d.converted(done))
        })
    })
}
