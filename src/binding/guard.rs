use std::cell::RefCell;
use std::time::Duration;

use napi::bindgen_prelude::{External, Float64Array};
use napi_derive::napi;

use super::commands;
use super::errors::{closed, guarded, invalid, store_error, Result};
use super::options::{NativeOptions, Settings, StoreUrl};
use super::replies::*;
use crate::answer;
use crate::engine::{events_of, Command, Event};
use crate::store::{Executed, MemoryInspect, MemoryStore};

/// The native half of `TaskGuard` on the memory store. Its calls are
/// synchronous free functions on an external handle, made on the JS thread:
/// a thread hop per call would cost far more than the work, and napi-rs class
/// methods cost about twice as much per call as free functions (measured; see
/// README).
pub struct Guard {
    store: MemoryStore,
    settings: Settings,
    local: RefCell<JsThreadState>,
}

/// What the JS thread alone touches.
struct JsThreadState {
    /// Scratch numbers shared with the facade (see `replies`).
    out: Float64Array,
    closed: bool,
    events_enabled: bool,
    events: Vec<EventOut>,
}

type Handle = External<Guard>;

#[napi]
pub fn guard_open(options: NativeOptions, out: Float64Array) -> Result<Handle> {
    guarded(|| {
        let settings = Settings::from_options(options)?;
        if !matches!(settings.store, StoreUrl::Memory) {
            return Err(invalid(
                "guardOpen is for the memory store; durable stores use durableOpen",
            ));
        }
        if out.len() < answer::SLOTS {
            return Err(invalid(format!(
                "out must be a Float64Array of at least {} numbers",
                answer::SLOTS
            )));
        }
        Ok(External::new(Guard {
            store: MemoryStore::new(settings.policy.retention_ms),
            settings,
            local: RefCell::new(JsThreadState {
                out,
                closed: false,
                events_enabled: false,
                events: Vec::new(),
            }),
        }))
    })
}

impl Guard {
    fn open(&self) -> Result<()> {
        if self.local.borrow().closed {
            return Err(closed());
        }
        Ok(())
    }

    fn execute(&self, key: &str, command: Command) -> Result<Executed> {
        self.open()?;
        let full = commands::key(&self.settings, key)?;
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

    /// Runs `command` and encodes its answer into `out` (see `answer`).
    fn answer(&self, key: &str, command: Command) -> Result<Option<String>> {
        let known = answer::Known {
            run_id: matches!(command, Command::Release(_)),
            owner: matches!(&command, Command::Acquire(a) if a.owner.is_some()),
        };
        let done = self.execute(key, command)?;
        Ok(self.write_out(|out| answer::encode(&done.reply, done.now, out, known)))
    }

    fn write_out<T>(&self, f: impl FnOnce(&mut [f64]) -> T) -> T {
        let mut local = self.local.borrow_mut();
        // SAFETY: the array is the facade's private scratch space, read by the
        // facade on this same thread right after this call returns.
        f(unsafe { local.out.as_mut() })
    }
}

/// Every call answers its reply's strings, joined, with its numbers in `out`
/// (see `answer`); the facade decodes both (`lib/answers.js`).
#[napi]
pub fn guard_acquire(
    g: &Handle,
    key: String,
    owner: Option<String>,
    ttl_ms: Option<f64>,
    meta: Option<String>,
) -> Result<Option<String>> {
    guarded(|| {
        let cmd = commands::acquire(owner, ttl_ms, meta, |o| g.store.owner(o))?;
        g.answer(&key, cmd)
    })
}

/// `status` indexes `ReleaseStatus::ALL`.
#[napi]
pub fn guard_release(
    g: &Handle,
    key: String,
    run_id: String,
    status: u32,
    error: Option<String>,
) -> Result<Option<String>> {
    guarded(|| g.answer(&key, commands::release(run_id, status, error)?))
}

#[napi]
pub fn guard_heartbeat(
    g: &Handle,
    key: String,
    run_id: String,
    ttl_ms: Option<f64>,
) -> Result<Option<String>> {
    guarded(|| g.answer(&key, commands::heartbeat(run_id, ttl_ms)?))
}

#[napi]
pub fn guard_approve_retry(
    g: &Handle,
    key: String,
    approved_by: Option<String>,
    reason: Option<String>,
) -> Result<Option<String>> {
    guarded(|| g.answer(&key, commands::approve(approved_by, reason)?))
}

#[napi]
pub fn guard_force_release(
    g: &Handle,
    key: String,
    by: Option<String>,
    reason: Option<String>,
) -> Result<Option<String>> {
    guarded(|| g.answer(&key, commands::force(by, reason)?))
}

/// An inspection in progress: `guardInspectStep` until it answers true, then
/// `guardInspectResult`. Steps are bounded, so the facade runs each on its own
/// turn of the event loop (see `store::memory::scan`).
pub struct InspectJob(RefCell<Option<MemoryInspect>>);

/// Checks the filter and cursor (refusing bad ones before anything is read) and
/// fixes the inspection's time.
#[napi]
pub fn guard_inspect_begin(
    g: &Handle,
    prefix: Option<String>,
    state: Option<String>,
    limit: Option<f64>,
    after: Option<String>,
    counts: bool,
) -> Result<External<InspectJob>> {
    guarded(|| {
        g.open()?;
        let filter = commands::inspect_filter(&g.settings, prefix, state, limit, after, counts)?;
        Ok(External::new(InspectJob(RefCell::new(Some(
            g.store.begin_inspect(filter),
        )))))
    })
}

/// Works on `job` for about `budget_ms`; true once it is complete.
#[napi]
pub fn guard_inspect_step(g: &Handle, job: &External<InspectJob>, budget_ms: f64) -> Result<bool> {
    guarded(|| {
        g.open()?;
        let mut slot = job.0.borrow_mut();
        let job = slot
            .as_mut()
            .ok_or_else(|| invalid("this inspection was already answered"))?;
        let budget = Duration::from_secs_f64(budget_ms.clamp(0.0, 1e3) / 1e3);
        Ok(g.store.inspect_step(job, budget))
    })
}

#[napi]
pub fn guard_inspect_result(job: &External<InspectJob>) -> Result<InspectOut> {
    guarded(|| {
        let found = job
            .0
            .borrow_mut()
            .take()
            .ok_or_else(|| invalid("this inspection was already answered"))?;
        Ok(inspect_out(found.finish()))
    })
}

#[napi]
pub fn guard_set_events_enabled(g: &Handle, on: bool) -> Result<()> {
    guarded(|| {
        let mut local = g.local.borrow_mut();
        local.events_enabled = on;
        if !on {
            local.events.clear();
        }
        Ok(())
    })
}

/// Events recorded since the last call, oldest first.
#[napi]
pub fn guard_take_events(g: &Handle) -> Result<Vec<EventOut>> {
    guarded(|| Ok(std::mem::take(&mut g.local.borrow_mut().events)))
}

#[napi]
pub fn guard_close(g: &Handle) -> Result<()> {
    guarded(|| {
        g.local.borrow_mut().closed = true;
        Ok(())
    })
}

/// Sets this store's time to `ms` (the guard's `clock` option read it); the facade
/// calls this before each call when the caller gave a clock.
#[napi]
pub fn guard_set_now(g: &Handle, ms: f64) -> Result<()> {
    guarded(|| {
        if !(0.0..=8.64e15).contains(&ms) {
            return Err(invalid(format!(
                "clock() must return a time in ms since the epoch, not {ms}"
            )));
        }
        g.store.clock().set(ms.floor() as i64);
        Ok(())
    })
}
