//! Work for stores that run off the JS thread: submitted as jobs, answered in
//! batches through one callback.

use std::collections::HashSet;
use std::sync::Mutex;

use super::{Executed, InspectFilter, Inspection, StoreError};
use crate::engine::Command;

pub enum JobKind {
    Command { key: String, command: Command },
    Inspect(InspectFilter),
}

pub struct Job {
    /// The caller's id for the answer.
    pub id: u32,
    pub kind: JobKind,
}

/// Answers the open (`Answer::Opened` or why not).
pub const OPEN_ID: u32 = 0;
/// Answers the writer's exit, after the file is closed (`Answer::Closed`).
pub const CLOSED_ID: u32 = u32::MAX;

pub enum Answer {
    Opened,
    Closed,
    Executed {
        executed: Executed,
        /// The storage key, for the events the binding derives.
        key: String,
    },
    Inspected(Inspection),
}

pub type Completion = (u32, Result<Answer, StoreError>);

/// Called on the store's thread with every answer of one batch (one commit).
pub type DeliverAnswers = Box<dyn Fn(Vec<Completion>) + Send + Sync>;

/// Delivers a store thread's answers and keeps count of the questions it has
/// taken and not yet answered, so that if the thread panics every caller is
/// still answered (with the panic) instead of waiting forever.
pub struct Outbox {
    deliver: DeliverAnswers,
    state: Mutex<Outstanding>,
}

#[derive(Default)]
struct Outstanding {
    opened: bool,
    taken: HashSet<u32>,
}

impl Outbox {
    pub fn new(deliver: DeliverAnswers) -> Self {
        Outbox {
            deliver,
            state: Mutex::new(Outstanding::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Outstanding> {
        // A panic elsewhere never leaves this state half-written: it is plain data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn took(&self, id: u32) {
        self.state().taken.insert(id);
    }

    pub fn send(&self, batch: Vec<Completion>) {
        {
            let mut state = self.state();
            for (id, _) in &batch {
                if *id == OPEN_ID {
                    state.opened = true;
                } else {
                    state.taken.remove(id);
                }
            }
        }
        (self.deliver)(batch);
    }

    /// Answers the open, if it was not, and every question taken, with the
    /// panic; returns the error for the questions still to come.
    pub fn panicked(&self, payload: &(dyn std::any::Any + Send)) -> StoreError {
        let err = StoreError::from_panic(payload);
        let mut batch = Vec::new();
        {
            let mut state = self.state();
            if !state.opened {
                batch.push((OPEN_ID, Err(err.clone())));
            }
            batch.extend(state.taken.drain().map(|id| (id, Err(err.clone()))));
        }
        if !batch.is_empty() {
            self.send(batch);
        }
        err
    }

    pub fn closed(&self) {
        self.send(vec![(CLOSED_ID, Ok(Answer::Closed))]);
    }
}
