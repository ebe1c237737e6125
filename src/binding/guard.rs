//! The native half of one `TaskGuard`: one object over both kinds of store,
//! and one set of functions. The memory store answers on the JS thread, at
//! once, in the shared `out` (see `answer`); a durable store (SQLite, Redis)
//! takes the call as job `id` and answers it later, in a batch of completions.
//! Free functions on an external handle, not a napi-rs class: class methods
//! cost about twice as much per call (measured; see README).

use std::cell::RefCell;
use std::time::Duration;

use napi::bindgen_prelude::{External, Float64Array, Function, Unknown};
use napi::Env;
use napi_derive::napi;

use super::commands;
use super::durable::Durable;
use super::errors::{guarded, invalid, Result};
use super::handle;
use super::memory::{Memory, Text};
use super::metrics;
use super::options::{NativeOptions, Settings, StoreUrl};
use super::replies::{inspect_out, BatchOut, CountsOut, EventOut, InspectOut};
use crate::engine::{Command, Counts, Owner};
use crate::store::job::JobKind;
use crate::store::MemoryInspect;

pub struct Guard {
    settings: Settings,
    store: Store,
    /// The owner of runs acquired without one, made once (the facade need not send it each time).
    default_owner: Option<Owner>,
}

// One per guard, and the memory store's calls are the hot path: no box.
#[allow(clippy::large_enum_variant)]
enum Store {
    Memory(Memory),
    Durable(Durable),
}

/// A guard's handle (see `handle`).
type Handle<'a> = Unknown<'a>;

/// A memory store needs `out` (its answers' numbers); a durable one `onDone`
/// (its completions).
#[napi]
pub fn guard_open(
    env: Env,
    options: NativeOptions,
    out: Option<Float64Array>,
    on_done: Option<Function<'_, BatchOut, ()>>,
) -> Result<Handle<'static>> {
    guarded(|| {
        let settings = Settings::from_options(options)?;
        let store = match (&settings.store, out, on_done) {
            (StoreUrl::Memory, Some(out), _) => Store::Memory(Memory::new(&settings, out)?),
            (StoreUrl::Memory, None, _) => {
                return Err(invalid("the memory store answers in `out`: pass one"))
            }
            (_, _, Some(on_done)) => Store::Durable(Durable::open(&settings, on_done)?),
            (_, _, None) => {
                return Err(invalid(
                    "a durable store answers through `onDone`: pass one",
                ))
            }
        };
        let default_owner = settings.default_owner.clone().map(|name| match &store {
            Store::Memory(m) => m.owner(name),
            Store::Durable(_) => Owner::from(name),
        });
        handle::wrap(
            &env,
            Guard {
                settings,
                store,
                default_owner,
            },
        )
    })
}

impl Guard {
    pub(super) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// An acquire: one without an owner is the guard's default owner's.
    pub(super) fn acquire_command(
        &self,
        id: u32,
        key: &str,
        command: Command,
    ) -> Result<Option<String>> {
        self.command_by_id(id, key, self.with_default_owner(command))
    }

    pub(super) fn with_default_owner(&self, command: Command) -> Command {
        commands::or_default_owner(command, &self.default_owner)
    }

    /// Runs `command` on `key`: the memory store's answer, or none yet (a
    /// durable store answers job `id` later).
    pub(super) fn command_by_id(
        &self,
        id: u32,
        key: &str,
        command: Command,
    ) -> Result<Option<String>> {
        match &self.store {
            Store::Memory(m) => m.answer(&self.settings, key, command),
            Store::Durable(d) => d.command(&self.settings, id, key, command).map(|()| None),
        }
    }

    /// As `command_by_id` with id 0, for a caller that keeps the last text it
    /// was handed: the memory store may answer `Text::Same` (see there).
    pub(super) fn command_or_same<T>(
        &self,
        key: &str,
        command: Command,
        f: impl FnOnce(Text<'_>) -> T,
    ) -> Result<T> {
        match &self.store {
            Store::Memory(m) => m.answer_with(&self.settings, key, command, true, f),
            Store::Durable(d) => d
                .command(&self.settings, 0, key, command)
                .map(|()| f(Text::None)),
        }
    }

    /// `command`, an acquire, made `times` times in a row on the memory store
    /// (see `Memory::answer_repeated`); how many it answers is in the facade's
    /// slot after the answer's.
    pub(super) fn acquire_repeated<T>(
        &self,
        key: &str,
        command: Command,
        times: u32,
        f: impl FnOnce(Text<'_>) -> T,
    ) -> Result<T> {
        self.memory("repeating an acquire")?
            .answer_repeated(&self.settings, key, command, times, true, f)
            .map(|(answer, _)| answer)
    }

    /// See `Memory::release_last`.
    pub(super) fn release_last<T>(&self, status: u32, f: impl FnOnce(Text<'_>) -> T) -> Result<T> {
        self.memory("releasing the last grant")?
            .release_last(&self.settings, status, f)
    }

    pub(super) fn owner(&self, name: String) -> Owner {
        match &self.store {
            Store::Memory(m) => m.owner(name),
            Store::Durable(_) => Owner::from(name),
        }
    }

    fn memory(&self, what: &str) -> Result<&Memory> {
        match &self.store {
            Store::Memory(m) => Ok(m),
            Store::Durable(_) => Err(invalid(format!("{what} is for the memory store"))),
        }
    }

    pub(super) fn durable(&self, what: &str) -> Result<&Durable> {
        match &self.store {
            Store::Durable(d) => Ok(d),
            Store::Memory(_) => Err(invalid(format!("{what} is for a durable store"))),
        }
    }
}

/// Each command answers its reply's strings (joined) with its numbers in `out`
/// on the memory store, or nothing yet on a durable one (see module doc).
#[napi]
pub fn guard_acquire(
    h: Handle<'_>,
    id: u32,
    key: String,
    owner: Option<String>,
    ttl_ms: Option<f64>,
    meta: Option<String>,
    fingerprint: Option<String>,
) -> Result<Option<String>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let cmd = commands::acquire(owner, ttl_ms, meta, fingerprint, |o| g.owner(o))?;
        g.acquire_command(id, &key, cmd)
    })
}

/// `status` indexes `ReleaseStatus::ALL`.
#[napi]
pub fn guard_release(
    h: Handle<'_>,
    id: u32,
    key: String,
    run_id: String,
    status: u32,
    error: Option<String>,
    result: Option<String>,
) -> Result<Option<String>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let cmd = commands::release(&g.settings, run_id, status, error, result)?;
        g.command_by_id(id, &key, cmd)
    })
}

/// How run `run_id` of `key` ended, or that it still runs; changes nothing.
#[napi]
pub fn guard_outcome(
    h: Handle<'_>,
    id: u32,
    key: String,
    run_id: String,
) -> Result<Option<String>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.command_by_id(id, &key, commands::outcome(run_id)?)
    })
}

#[napi]
pub fn guard_heartbeat(
    h: Handle<'_>,
    id: u32,
    key: String,
    run_id: String,
    ttl_ms: Option<f64>,
) -> Result<Option<String>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.command_by_id(id, &key, commands::heartbeat(run_id, ttl_ms)?)
    })
}

#[napi]
pub fn guard_approve_retry(
    h: Handle<'_>,
    id: u32,
    key: String,
    approved_by: Option<String>,
    reason: Option<String>,
) -> Result<Option<String>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.command_by_id(id, &key, commands::approve(approved_by, reason)?)
    })
}

#[napi]
pub fn guard_force_release(
    h: Handle<'_>,
    id: u32,
    key: String,
    by: Option<String>,
    reason: Option<String>,
) -> Result<Option<String>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.command_by_id(id, &key, commands::force(by, reason)?)
    })
}

/// A durable store's inspection, answered as job `id`; `counts`: whether to
/// count guards per state (a page walk needs none).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn guard_inspect(
    h: Handle<'_>,
    id: u32,
    prefix: Option<String>,
    state: Option<String>,
    limit: Option<f64>,
    after: Option<String>,
    counts: bool,
) -> Result<()> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let d = g.durable("guardInspect")?;
        let filter = commands::inspect_filter(&g.settings, prefix, state, limit, after, counts)?;
        d.submit(id, JobKind::Inspect(filter))
    })
}

/// A memory store's inspection in progress: `guardInspectStep` until it
/// answers true, then `guardInspectResult`. Steps are bounded, so the facade
/// runs each on its own turn of the event loop (see `store::memory::scan`).
pub struct InspectJob(RefCell<Option<MemoryInspect>>);

/// Checks the filter and cursor (refusing bad ones before anything is read) and
/// fixes the inspection's time.
#[napi]
pub fn guard_inspect_begin(
    h: Handle<'_>,
    prefix: Option<String>,
    state: Option<String>,
    limit: Option<f64>,
    after: Option<String>,
    counts: bool,
) -> Result<External<InspectJob>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let m = g.memory("guardInspectBegin")?;
        let filter = commands::inspect_filter(&g.settings, prefix, state, limit, after, counts)?;
        Ok(External::new(InspectJob(RefCell::new(Some(
            m.begin_inspect(filter)?,
        )))))
    })
}

/// Works on `job` for about `budget_ms`; true once it is complete.
#[napi]
pub fn guard_inspect_step(
    h: Handle<'_>,
    job: &External<InspectJob>,
    budget_ms: f64,
) -> Result<bool> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let m = g.memory("guardInspectStep")?;
        let mut slot = job.0.borrow_mut();
        let job = slot
            .as_mut()
            .ok_or_else(|| invalid("this inspection was already answered"))?;
        m.inspect_step(
            job,
            Duration::from_secs_f64(budget_ms.clamp(0.0, 1e3) / 1e3),
        )
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

/// Whether the guard's answers come with their events (while it has listeners): the
/// memory store records them for the facade, a durable store's arrive with its completions.
#[napi]
pub fn guard_set_events_enabled(h: Handle<'_>, on: bool) -> Result<()> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        match &g.store {
            Store::Memory(m) => m.set_events_enabled(on),
            Store::Durable(d) => d.set_events_enabled(on),
        }
        Ok(())
    })
}

/// Memory store: events recorded since the last call, oldest first.
#[napi]
pub fn guard_take_events(h: Handle<'_>) -> Result<Vec<EventOut>> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        Ok(g.memory("guardTakeEvents")?.take_events())
    })
}

/// Memory store: sets the store's time to `ms` (the guard's `clock` option
/// read it); the facade calls this before each call when the caller gave a clock.
#[napi]
pub fn guard_set_now(h: Handle<'_>, ms: f64) -> Result<()> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.memory("guardSetNow")?.set_now(ms)
    })
}

/// Durable store: keeps the process alive while answers are outstanding (`on`), or not.
#[napi]
pub fn guard_hold(env: Env, h: Handle<'_>, on: bool) -> Result<()> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.durable("guardHold")?.hold(&env, on)
    })
}

/// Durable store: lets go of the callback once the store's thread has exited.
#[napi]
pub fn guard_dispose(h: Handle<'_>) -> Result<()> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        g.durable("guardDispose")?.dispose();
        Ok(())
    })
}

/// This guard's metrics as Prometheus text; `counts`: the store's guards by
/// state, for the gauges (from an inspection the facade made just before).
#[napi]
pub fn guard_metrics(h: Handle<'_>, counts: Option<CountsOut>) -> Result<String> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        let metrics = match &g.store {
            Store::Memory(m) => m.metrics(),
            Store::Durable(d) => d.metrics(),
        };
        let counts = counts.map(|c| Counts {
            running: c.running as u64,
            stale: c.stale as u64,
            failed: c.failed as u64,
            approved: c.approved as u64,
        });
        Ok(metrics::exposition(&metrics, counts.as_ref()))
    })
}

/// Stops taking calls; a durable store still answers those already submitted.
#[napi]
pub fn guard_close(h: Handle<'_>) -> Result<()> {
    guarded(|| {
        let g = handle::guard_of(&h)?;
        match &g.store {
            Store::Memory(m) => m.close(),
            Store::Durable(d) => d.close(),
        }
        Ok(())
    })
}
