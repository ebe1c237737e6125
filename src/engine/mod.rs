//! Guard semantics, and nothing else: no I/O, no clock, no napi.
//!
//! Every store funnels each command through [`apply`] on one key's [`Record`]
//! while holding whatever makes that key atomic (a lock, a transaction, a
//! compare-and-set), so all backends agree on what a command means.

mod apply;
mod command;
mod error;
mod events;
mod ids;
mod inspect;
mod key;
mod limits;
mod metrics;
mod policy;
mod record;
mod reply;

pub use apply::{apply, Context};
pub use command::{
    Acquire, ApproveRetry, Command, ForceRelease, Heartbeat, Outcome, Release, ReleaseStatus,
};
pub use error::InvalidArg;
pub use events::{events_of, Event, EventKind};
pub use ids::{Owner, RunId};
pub use inspect::{view, Counts, GuardInfo, GuardState};
pub use key::{storage_key, validate_key, validate_namespace, validate_run_id, validate_text};
pub use limits::*;
pub use metrics::{Metrics, ACQUIRE_ANSWERS, BUCKETS_S, FAILURE_CAUSES, RELEASE_STATUSES};
pub use policy::{purge_cutoff, OnStale, Policy};
pub use record::{
    Approval, Ended, EndedHow, Failure, FailureCause, Given, History, Kept, Phase, Record, Run,
};
pub use reply::{
    AcquireReply, ApproveReply, ForceReleaseReply, HeartbeatReply, OutcomeReply, ReleaseReply,
    Reply, RunInfo,
};

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
