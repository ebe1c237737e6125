use std::sync::Arc;

use std::cell::RefCell;

use napi::bindgen_prelude::{Either, External, Float64Array};
use napi_derive::napi;

use super::errors::{invalid, store_error, Code, Result};
use super::options::{duration, ttl, NativeOptions, Settings, StoreUrl};
use super::replies::*;
use crate::engine::{
    events_of, release_events, storage_key, validate_key, validate_text, Acquire, AcquireReply,
    ApproveReply, ApproveRetry, Command, DerivedState, Event, Heartbeat, Release, ReleaseStatus,
    Reply, RunSummary, MAX_META_BYTES, MAX_OWNER_BYTES, MAX_REASON_BYTES,
};
use crate::store::{inspect, Executed, InspectFilter, MemoryStore, Store};

/// The native half of `TaskGuard`. Its calls are synchronous free functions on
/// an external handle, made on the JS thread for the memory store: a thread
/// hop per call would cost far more than the work, and napi-rs class methods
/// cost about twice as much per call as free functions (measured; see README).
pub struct Guard {
    store: Arc<MemoryStore>,
    settings: Settings,
    local: RefCell<Local>,
}

/// What the JS thread alone touches.
struct Local {
    /// Scratch numbers shared with the facade (see `replies`).
    out: Float64Array,
    closed: bool,
    events_enabled: bool,
    events: Vec<EventOut>,
}

type Handle = External<Guard>;

fn closed() -> super::errors::Error {
    napi::Error::new(Code::Closed, "the guard is closed".to_owned())
}

#[napi]
pub fn guard_open(options: NativeOptions, out: Float64Array) -> Result<Handle> {
    let settings = Settings::from_options(options)?;
    if out.len() < 6 {
        return Err(invalid("out must be a Float64Array of at least 6 numbers"));
    }
    let store = match settings.store {
        StoreUrl::Memory => Arc::new(MemoryStore::new(settings.policy.retention_ms)),
    };
    Ok(External::new(Guard {
        store,
        settings,
        local: RefCell::new(Local {
            out,
            closed: false,
            events_enabled: false,
            events: Vec::new(),
        }),
    }))
}

impl Guard {
    fn execute(&self, key: &str, command: Command) -> Result<Executed> {
        if self.local.borrow().closed {
            return Err(closed());
        }
        validate_key(key, self.settings.max_key_bytes)?;
        let full = storage_key(&self.settings.namespace, key);
        let done = self
            .store
            .execute(&full, command, &self.settings.policy)
            .map_err(store_error)?;
        self.record_events(|| events_of(&done.reply), key, done.now);
        Ok(done)
    }

    /// Events cost an allocation each, so they are derived only while the
    /// facade has listeners.
    fn record_events(&self, events: impl FnOnce() -> Vec<Event>, key: &str, at: i64) {
        let mut local = self.local.borrow_mut();
        if local.events_enabled {
            local
                .events
                .extend(events().into_iter().map(|e| EventOut::new(e, key, at)));
        }
    }

    fn compact(&self, run: RunSummary, status: f64) -> String {
        self.with_out(|out| {
            out[0] = run.fencing_token as f64;
            out[1] = run.started_at as f64;
            out[2] = run.expires_at as f64;
            out[3] = run.attempt as f64;
            out[4] = status;
            out[5] = if run.owner.is_some() { 1.0 } else { 0.0 };
        });
        match run.owner {
            // A run id is always 36 characters, so the facade splits at 36.
            Some(owner) if status == RUN_ALREADY_RUNNING => run.run_id + &owner,
            _ => run.run_id,
        }
    }

    fn with_out<T>(&self, f: impl FnOnce(&mut [f64]) -> T) -> T {
        let mut local = self.local.borrow_mut();
        // SAFETY: the array is the facade's private scratch space, read by the
        // facade on this same thread right after this call returns.
        f(unsafe { local.out.as_mut() })
    }
}

/// A plain grant and a conflict return the run id, followed by the owner for a
/// conflict, with numbers in `out`: fencingToken, startedAt, expiresAt,
/// attempt, then 0 (acquired) or 1 (already_running), then 1 if an owner
/// follows. A heal and `awaiting_approval` return an object.
#[napi]
pub fn guard_acquire(
    g: &Handle,
    key: String,
    owner: Option<String>,
    ttl_ms: Option<f64>,
    meta: Option<String>,
) -> Result<Either<String, AcquireDetail>> {
    let ttl_ms = ttl("ttlMs", ttl_ms)?;
    if let Some(o) = &owner {
        validate_text("owner", o, MAX_OWNER_BYTES)?;
    }
    if let Some(m) = &meta {
        validate_text("meta (as JSON)", m, MAX_META_BYTES)?;
    }
    let cmd = Command::Acquire(Acquire {
        owner,
        ttl_ms,
        meta,
    });
    let Reply::Acquire(reply) = g.execute(&key, cmd)?.reply else {
        unreachable!("acquire answers with an acquire reply")
    };
    Ok(match reply {
        AcquireReply::Acquired {
            run,
            healed_from: None,
        } => Either::A(g.compact(run, RUN_ACQUIRED)),
        AcquireReply::AlreadyRunning(run) => Either::A(g.compact(run, RUN_ALREADY_RUNNING)),
        AcquireReply::Acquired { run, healed_from } => Either::B(AcquireDetail {
            status: "acquired".into(),
            run: Some(run.into()),
            healed_from: healed_from.map(Into::into),
            failed_run_id: None,
            failed_at: None,
            error: None,
            attempt: None,
        }),
        AcquireReply::AwaitingApproval {
            failed_run_id,
            failed_at,
            error,
            attempt,
            ..
        } => Either::B(AcquireDetail {
            status: "awaiting_approval".into(),
            run: None,
            healed_from: None,
            failed_run_id: Some(failed_run_id),
            failed_at: Some(failed_at as f64),
            error,
            attempt: Some(attempt),
        }),
    })
}

/// `status` indexes `ReleaseStatus::ALL`. Answers 0 released (endedAt in `out`), 1 lost, 2 not_owner, 3 already_released.
#[napi]
pub fn guard_release(
    g: &Handle,
    key: String,
    run_id: String,
    status: u32,
    error: Option<String>,
) -> Result<u32> {
    let status = *ReleaseStatus::ALL
        .get(status as usize)
        .ok_or_else(|| invalid(format!("unknown release status index {status}")))?;
    let cmd = Command::Release(Release {
        run_id: run_id.clone(),
        status,
        error,
    });
    let done = g.execute(&key, cmd)?;
    let Reply::Release(reply) = done.reply else {
        unreachable!("release answers with a release reply")
    };
    g.record_events(|| release_events(&reply, &run_id), &key, done.now);
    Ok(g.with_out(|out| release_code(&reply, out)))
}

/// Answers 0 extended (expiresAt in `out`), 1 lost, 2 not_owner.
#[napi]
pub fn guard_heartbeat(
    g: &Handle,
    key: String,
    run_id: String,
    ttl_ms: Option<f64>,
) -> Result<u32> {
    let ttl_ms = ttl("ttlMs", ttl_ms)?;
    let cmd = Command::Heartbeat(Heartbeat { run_id, ttl_ms });
    let Reply::Heartbeat(reply) = g.execute(&key, cmd)?.reply else {
        unreachable!("heartbeat answers with a heartbeat reply")
    };
    Ok(g.with_out(|out| heartbeat_code(&reply, out)))
}

#[napi]
pub fn guard_approve_retry(
    g: &Handle,
    key: String,
    approved_by: Option<String>,
    reason: Option<String>,
) -> Result<ApproveOut> {
    if let Some(b) = &approved_by {
        validate_text("approvedBy", b, MAX_OWNER_BYTES)?;
    }
    if let Some(r) = &reason {
        validate_text("reason", r, MAX_REASON_BYTES)?;
    }
    let cmd = Command::ApproveRetry(ApproveRetry {
        approved_by,
        reason,
    });
    let Reply::ApproveRetry(reply) = g.execute(&key, cmd)?.reply else {
        unreachable!("approveRetry answers with an approve reply")
    };
    Ok(match reply {
        ApproveReply::Approved {
            failed_run_id,
            approved_at,
            next_attempt,
            ..
        } => ApproveOut {
            status: "approved".into(),
            failed_run_id: Some(failed_run_id),
            approved_at: Some(approved_at as f64),
            next_attempt: Some(next_attempt),
        },
        ApproveReply::NotFailed => ApproveOut {
            status: "not_failed".into(),
            failed_run_id: None,
            approved_at: None,
            next_attempt: None,
        },
    })
}

#[napi]
pub fn guard_inspect(
    g: &Handle,
    prefix: Option<String>,
    state: Option<String>,
    limit: Option<f64>,
) -> Result<InspectOut> {
    if g.local.borrow().closed {
        return Err(closed());
    }
    let state = state.as_deref().map(DerivedState::parse).transpose()?;
    let limit = match limit {
        None => usize::MAX,
        Some(v) => duration("limit", v, 0, u32::MAX as u64)? as usize,
    };
    let ns_prefix = storage_key(&g.settings.namespace, "").into_owned();
    let filter = InspectFilter {
        prefix: prefix.as_deref().unwrap_or(""),
        state,
        limit,
    };
    let found = inspect(g.store.as_ref(), &ns_prefix, &filter).map_err(store_error)?;
    Ok(InspectOut {
        now: found.now as f64,
        guards: found
            .guards
            .into_iter()
            .map(|(k, v)| GuardOut::new(k, v))
            .collect(),
        counts: CountsOut {
            running: found.counts.running as f64,
            stale: found.counts.stale as f64,
            failed: found.counts.failed as f64,
            approved: found.counts.approved as f64,
        },
    })
}

#[napi]
pub fn guard_set_events_enabled(g: &Handle, on: bool) {
    let mut local = g.local.borrow_mut();
    local.events_enabled = on;
    if !on {
        local.events.clear();
    }
}

/// Events recorded since the last call, oldest first.
#[napi]
pub fn guard_take_events(g: &Handle) -> Vec<EventOut> {
    std::mem::take(&mut g.local.borrow_mut().events)
}

#[napi]
pub fn guard_close(g: &Handle) {
    g.local.borrow_mut().closed = true;
}

/// Moves this store's clock forward, so tests make runs stale without sleeping.
#[napi]
pub fn guard_advance_clock(g: &Handle, ms: f64) -> Result<()> {
    let ms = duration("ms", ms, 0, i64::MAX as u64 >> 12)?;
    g.store.clock().advance(ms as i64);
    Ok(())
}
