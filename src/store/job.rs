//! Work for stores that run off the JS thread: submitted as jobs, answered in
//! batches through one callback.

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

/// Answers the open (`Done::Opened` or why not).
pub const OPEN_ID: u32 = 0;
/// Answers the writer's exit, after the file is closed (`Done::Closed`).
pub const CLOSED_ID: u32 = u32::MAX;

pub enum Done {
    Opened,
    Closed,
    Executed {
        executed: Executed,
        /// The storage key, for the events the binding derives.
        key: String,
        /// For a release: the run it named (its reply does not carry it).
        released_run: Option<String>,
    },
    Inspected(Inspection),
}

pub type Completion = (u32, Result<Done, StoreError>);

/// Called on the store's thread with every answer of one batch (one commit).
pub type Deliver = Box<dyn Fn(Vec<Completion>) + Send>;
