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
use crate::engine::{events_of, Command, Event, Metrics, Owner};
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
    /// The text of the last answer JS was handed, when short enough to keep
    /// (see `Text::Same`); `None`: none to compare with.
    last_text: Option<Vec<u8>>,
}

/// An answer's strings as they cross to JS (see `answer`).
pub enum Text {
    /// No strings.
    None,
    New(String),
    /// The same strings as the last answer's: the caller keeps the last text it
    /// was handed (`lib/memory-backend.js` does). A burst of duplicates of one
    /// run answers the same run id and owner each time; making a JS string for
    /// each was most of what a conflict allocates.
    Same,
}

/// Answers longer than this are not kept for comparing (a result may be MiBs).
const KEPT_TEXT_BYTES: usize = 512;

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
                last_text: None,
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

    fn execute(&self, settings: &Settings, key: &str, command: Command) -> Result<Executed> {
        self.check_open()?;
        let full = commands::key(settings, key)?;
        let done = self
            .store
            .execute(&full, command, &settings.policy)
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
    pub fn answer(
        &self,
        settings: &Settings,
        key: &str,
        command: Command,
    ) -> Result<Option<String>> {
        Ok(match self.answer_or_same(settings, key, command, false)? {
            Text::New(text) => Some(text),
            Text::None | Text::Same => None,
        })
    }

    /// As `answer`; with `same`, `Text::Same` when the strings are the last answer's.
    pub fn answer_or_same(
        &self,
        settings: &Settings,
        key: &str,
        command: Command,
        same: bool,
    ) -> Result<Text> {
        let known = answer::Known {
            run_id: matches!(command, Command::Release(_) | Command::Outcome(_)),
            owner: matches!(&command, Command::Acquire(a) if a.owner.is_some()),
        };
        let done = self.execute(settings, key, command)?;
        let mut local = self.local.borrow_mut();
        local.metrics.record(&done.reply);
        // SAFETY: the array is the facade's private scratch space, read by the
        // facade on this same thread right after this call returns.
        let text = answer::encode(&done.reply, done.now, unsafe { local.out.as_mut() }, known);
        let Some(text) = text else {
            local.last_text = None;
            return Ok(Text::None);
        };
        if same && local.last_text.as_deref() == Some(text.as_bytes()) {
            return Ok(Text::Same);
        }
        if text.len() <= KEPT_TEXT_BYTES {
            let kept = local.last_text.get_or_insert_with(Vec::new);
            kept.clear();
            kept.extend_from_slice(text.as_bytes());
        } else {
            local.last_text = None;
        }
        Ok(Text::New(text))
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
