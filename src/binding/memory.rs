//! A guard on the memory store: answered synchronously on the JS thread. A
//! thread hop per call would cost far more than the work.

use std::cell::RefCell;
use std::time::Duration;

use napi::bindgen_prelude::Float64Array;

use super::commands;
use super::errors::{closed, invalid, store_error, Result};
use super::options::Settings;
use super::replies::EventOut;
use crate::answer;
use crate::engine::{events_of, AcquireReply, Command, Event, Metrics, Owner, Reply, RunId};
use crate::store::{Executed, InspectFilter, MemoryInspect, MemoryStore};

pub struct Memory {
    store: MemoryStore,
    local: RefCell<JsThreadState>,
}

impl Memory {
    pub fn metrics(&self) -> Metrics {
        self.local.borrow().metrics.clone()
    }
}

/// What the JS thread alone touches.
struct JsThreadState {
    /// Scratch numbers shared with the facade (see `answer`).
    out: Float64Array,
    closed: bool,
    events_enabled: bool,
    events: Vec<EventOut>,
    metrics: Metrics,
    /// The strings of the answer being made, and of the last one JS was handed
    /// (`last_sent`: whether `last` holds them): two buffers, swapped, so that an
    /// answer allocates nothing here (see `Text::Same`).
    text: String,
    last: String,
    last_sent: bool,
    /// The key and run of the last grant JS was told of (see `release_last`).
    granted_key: String,
    granted_run: Option<RunId>,
}

/// An answer's strings as they cross to JS (see `answer_with`).
pub enum Text<'a> {
    /// No strings.
    None,
    New(&'a str),
    /// The same strings as the last answer's: the caller keeps the last text it
    /// was handed (`lib/memory-backend.js` does). A burst of duplicates of one
    /// run answers the same run id and owner each time; making a JS string for
    /// each was most of what a conflict allocates.
    Same,
}

/// A buffer grown past this (by a large result) is not kept for the next answer.
const KEPT_TEXT_BYTES: usize = 4096;

impl Memory {
    pub fn new(settings: &Settings, out: Float64Array) -> Result<Self> {
        if out.len() < answer::SLOTS {
            return Err(invalid(format!(
                "out must be a Float64Array of at least {} numbers",
                answer::SLOTS
            )));
        }
        Ok(Memory {
            store: MemoryStore::new(settings.policy.retention_ms),
            local: RefCell::new(JsThreadState {
                out,
                closed: false,
                events_enabled: false,
                events: Vec::new(),
                metrics: Metrics::default(),
                text: String::new(),
                last: String::new(),
                last_sent: false,
                granted_key: String::new(),
                granted_run: None,
            }),
        })
    }

    pub fn check_open(&self) -> Result<()> {
        if self.local.borrow().closed {
            return Err(closed());
        }
        Ok(())
    }

    /// Owners are interned: a million runs name a few owners.
    pub fn owner(&self, name: String) -> Owner {
        self.store.owner(name)
    }

    /// `command` made `times` times in a row (see `MemoryStore::execute_repeated`):
    /// the reply, and how many of them it answers.
    fn execute(
        &self,
        settings: &Settings,
        key: &str,
        command: Command,
        times: u32,
    ) -> Result<(Executed, u32)> {
        self.check_open()?;
        let full = commands::key(settings, key)?;
        let (done, answered) = self
            .store
            .execute_repeated(&full, command, &settings.policy, times)
            .map_err(store_error)?;
        self.record_events(|| events_of(&done.reply), key, done.now, answered);
        Ok((done, answered))
    }

    /// Events cost an allocation each, so they are derived only while the
    /// facade has listeners. Each of `times` answers has its own.
    fn record_events(&self, events: impl Fn() -> Vec<Event>, key: &str, at: i64, times: u32) {
        let mut local = self.local.borrow_mut();
        if local.events_enabled {
            for _ in 0..times {
                local
                    .events
                    .extend(events().into_iter().map(|e| EventOut::new(e, key, at)));
            }
        }
    }

    /// Runs `command` and encodes its answer into `out` (see `answer`).
    pub fn answer(
        &self,
        settings: &Settings,
        key: &str,
        command: Command,
    ) -> Result<Option<String>> {
        self.answer_with(settings, key, command, false, |text| match text {
            Text::New(s) => Some(s.to_owned()),
            Text::None | Text::Same => None,
        })
    }

    /// As `answer`, its strings handed to `f`; with `same`, `Text::Same` when
    /// they are the last answer's.
    pub fn answer_with<T>(
        &self,
        settings: &Settings,
        key: &str,
        command: Command,
        same: bool,
        f: impl FnOnce(Text<'_>) -> T,
    ) -> Result<T> {
        self.answer_repeated(settings, key, command, 1, same, f)
            .map(|(answer, _)| answer)
    }

    /// As `answer_with` for `command` made `times` times in a row: the answer,
    /// and how many of them it answers (see `MemoryStore::execute_repeated`).
    pub fn answer_repeated<T>(
        &self,
        settings: &Settings,
        key: &str,
        command: Command,
        times: u32,
        same: bool,
        f: impl FnOnce(Text<'_>) -> T,
    ) -> Result<(T, u32)> {
        let known = answer::Known {
            run_id: matches!(command, Command::Release(_) | Command::Outcome(_)),
            owner: matches!(&command, Command::Acquire(a) if a.owner.is_some()),
        };
        let (done, answered) = self.execute(settings, key, command, times)?;
        let mut guard = self.local.borrow_mut();
        let local = &mut *guard;
        for _ in 0..answered {
            local.metrics.record(&done.reply);
        }
        if let Reply::Acquire(AcquireReply::Acquired { run, .. }) = &done.reply {
            local.granted_key.clear();
            local.granted_key.push_str(key);
            local.granted_run = Some(run.run_id.clone());
        }
        // SAFETY: the array is the facade's private scratch space, read by the
        // facade on this same thread right after this call returns.
        let out = unsafe { local.out.as_mut() };
        answer::encode_into(&done.reply, done.now, out, known, &mut local.text);
        // The slot after the answer's, when the facade gave one: how many calls it answers.
        if let Some(count) = out.get_mut(answer::SLOTS) {
            *count = f64::from(answered);
        }
        if local.text.is_empty() {
            local.last_sent = false;
            return Ok((f(Text::None), answered));
        }
        if same && local.last_sent && local.text == local.last {
            return Ok((f(Text::Same), answered));
        }
        std::mem::swap(&mut local.text, &mut local.last);
        local.last_sent = true;
        if local.text.capacity() > KEPT_TEXT_BYTES {
            local.text = String::new();
        }
        Ok((f(Text::New(&local.last)), answered))
    }

    /// A plain release of the last run this guard granted, the one JS was last
    /// told of: what `release(key, runId, status)` with that grant's key and run
    /// id does, without reading them from JS again. A sequential caller releases
    /// the run it just acquired; reading and parsing its two strings was ~7% of
    /// an acquire+release pair.
    pub fn release_last<T>(
        &self,
        settings: &Settings,
        status: u32,
        f: impl FnOnce(Text<'_>) -> T,
    ) -> Result<T> {
        let (key, run) = {
            let mut local = self.local.borrow_mut();
            let run = local
                .granted_run
                .clone()
                .ok_or_else(|| invalid("no run was granted to release"))?;
            (std::mem::take(&mut local.granted_key), run)
        };
        let answered = commands::plain_release(run, status)
            .and_then(|cmd| self.answer_with(settings, &key, cmd, true, f));
        // A release grants nothing, so the last grant is still this one.
        self.local.borrow_mut().granted_key = key;
        answered
    }

    pub fn begin_inspect(&self, filter: InspectFilter) -> Result<MemoryInspect> {
        self.check_open()?;
        Ok(self.store.begin_inspect(filter))
    }

    pub fn inspect_step(&self, job: &mut MemoryInspect, budget: Duration) -> Result<bool> {
        self.check_open()?;
        Ok(self.store.inspect_step(job, budget))
    }

    pub fn set_events_enabled(&self, on: bool) {
        let mut local = self.local.borrow_mut();
        local.events_enabled = on;
        if !on {
            local.events.clear();
        }
    }

    pub fn take_events(&self) -> Vec<EventOut> {
        std::mem::take(&mut self.local.borrow_mut().events)
    }

    pub fn close(&self) {
        self.local.borrow_mut().closed = true;
    }

    /// From now on the store's time is `ms` (the guard's `clock` option read it).
    pub fn set_now(&self, ms: f64) -> Result<()> {
        if !(0.0..=8.64e15).contains(&ms) {
            return Err(invalid(format!(
                "clock() must return a time in ms since the epoch, not {ms}"
            )));
        }
        self.store.clock().set(ms.floor() as i64);
        Ok(())
    }
}
