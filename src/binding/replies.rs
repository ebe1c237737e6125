//! What crosses to JS besides answers to commands (those are `answer`'s):
//! inspections, events, and a durable store's batches of completions.

use napi::bindgen_prelude::{
    check_status, sys, Either, Float64Array, ToNapiValue, TypeName, ValueType,
};
use napi_derive::napi;

use crate::engine::{Event, EventKind, GuardInfo};
use crate::store::Inspection;

pub fn inspect_out(found: Inspection) -> InspectOut {
    InspectOut {
        now: found.now as f64,
        guards: found
            .guards
            .into_iter()
            .map(|(k, v)| GuardInfoOut::new(k, v))
            .collect(),
        counts: found.counts.map(|c| CountsOut {
            running: c.running as f64,
            stale: c.stale as f64,
            failed: c.failed as f64,
            approved: c.approved as f64,
        }),
        next: found.next,
    }
}

/// A durable store's batch of answers, in as few JS values as carry it: per
/// answer `STRIDE` numbers in `numbers` (its call's id, the length in UTF-16
/// units of its strings in `texts` or -1 for none, then its `SLOTS` numbers:
/// see `answer`), all answers' strings one after another in `texts`, and as
/// objects in `extras` only the answers that carry more (an error, events, an
/// inspection). An object per answer cost as much as the rest of a call's
/// crossing; a JS array of numbers per answer, a native call per number.
#[napi(object, object_from_js = false)]
pub struct BatchOut {
    pub numbers: Float64Array,
    #[napi(ts_type = "string")]
    pub texts: Either<Latin1, String>,
    pub extras: Option<Vec<ExtraOut>>,
}

/// Numbers per answer in a batch: its id, its strings' length, its slots.
pub const STRIDE: usize = 2 + crate::answer::SLOTS;

/// What an answer of a batch carries besides numbers and strings. Absent
/// fields are left unset.
#[napi(object, object_from_js = false)]
pub struct ExtraOut {
    /// The answer's place in the batch.
    pub index: u32,
    pub inspection: Option<InspectOut>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Only while the guard has event listeners, and only if there are any.
    pub events: Option<Vec<EventOut>>,
}

/// Bytes as a Latin-1 string, each byte one character. V8 copies them and
/// decodes nothing: an ASCII string made so skips UTF-8's decoding, and bytes
/// to write (`socket.write(s, 'latin1')` writes back the same bytes) skip a
/// Buffer over native memory, whose backing store and finalizer cost ~3× as
/// much for a call's few hundred bytes.
pub struct Latin1(pub Vec<u8>);

impl TypeName for Latin1 {
    fn type_name() -> &'static str {
        "string"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ToNapiValue for Latin1 {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut value = std::ptr::null_mut();
        // SAFETY: the caller's env, as given.
        check_status!(unsafe { latin1_value(env, &val.0, &mut value) })?;
        Ok(value)
    }
}

/// `bytes` as a Latin-1 string (see `Latin1`) in `value`; the status N-API gives.
///
/// # Safety
/// `env` must be the env of the current call.
pub unsafe fn latin1_value(
    env: sys::napi_env,
    bytes: &[u8],
    value: &mut sys::napi_value,
) -> sys::napi_status {
    // SAFETY: as the caller promises; the bytes are copied.
    unsafe {
        sys::napi_create_string_latin1(env, bytes.as_ptr().cast(), bytes.len() as isize, value)
    }
}

/// `text` as a JS string, made from Latin-1 when it is ASCII.
pub fn text(text: String) -> Either<Latin1, String> {
    if text.is_ascii() {
        Either::A(Latin1(text.into_bytes()))
    } else {
        Either::B(text)
    }
}

/// A guard as `inspect` lists it. Absent fields are left unset, not null:
/// each property native code sets costs more than the facade building the
/// public object (measured: null fields made a full paged walk ~35% slower).
#[napi(object)]
pub struct GuardInfoOut {
    pub key: String,
    pub state: String,
    pub run_id: String,
    pub fencing_token: f64,
    pub owner: Option<String>,
    pub started_at: f64,
    pub expires_at: f64,
    pub attempt: u32,
    /// JSON text; the facade parses it.
    pub meta: Option<String>,
    pub failed_at: Option<f64>,
    pub error: Option<String>,
    pub approved_at: Option<f64>,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

impl GuardInfoOut {
    pub fn new(key: String, v: GuardInfo) -> Self {
        GuardInfoOut {
            key,
            state: v.state.as_str().to_owned(),
            run_id: v.run_id,
            fencing_token: v.fencing_token as f64,
            owner: v.owner,
            started_at: v.started_at as f64,
            expires_at: v.expires_at as f64,
            attempt: v.attempt,
            meta: v.meta,
            failed_at: v.failed_at.map(|t| t as f64),
            error: v.error,
            approved_at: v.approved_at.map(|t| t as f64),
            approved_by: v.approved_by,
            reason: v.reason,
        }
    }
}

#[napi(object)]
pub struct CountsOut {
    pub running: f64,
    pub stale: f64,
    pub failed: f64,
    pub approved: f64,
}

#[napi(object, use_nullable = true)]
pub struct InspectOut {
    pub now: f64,
    pub guards: Vec<GuardInfoOut>,
    /// Null when not asked for.
    pub counts: Option<CountsOut>,
    /// The cursor of the next page, or null at the end.
    pub next: Option<String>,
}

#[napi(object)]
pub struct EventOut {
    #[napi(js_name = "type")]
    pub kind: String,
    pub key: String,
    pub run_id: String,
    pub at: f64,
    /// conflict: why the caller was turned away.
    pub status: Option<String>,
    /// released: how the run ended.
    pub release_status: Option<String>,
    /// healed: the run that replaced the stale one.
    pub healed_by: Option<String>,
    /// failed: 'released' or 'stale'.
    pub cause: Option<String>,
}

impl EventOut {
    pub fn new(e: Event, key: &str, at: i64) -> Self {
        let mut out = EventOut {
            kind: e.kind.as_str().to_owned(),
            key: key.to_owned(),
            run_id: e.run_id.to_string(),
            at: at as f64,
            status: None,
            release_status: None,
            healed_by: None,
            cause: None,
        };
        match e.kind {
            EventKind::Conflict => out.status = e.detail,
            EventKind::Released => out.release_status = e.detail,
            EventKind::Healed => out.healed_by = e.detail,
            EventKind::Failed => out.cause = e.detail,
            EventKind::Acquired | EventKind::Approved => {}
        }
        out
    }
}
