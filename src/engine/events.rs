use super::command::ReleaseStatus;
use super::ids::RunId;
use super::reply::{AcquireReply, ApproveReply, ForceReleaseReply, ReleaseReply, Reply};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Acquired,
    Conflict,
    Released,
    Failed,
    Approved,
    Healed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acquired => "acquired",
            Self::Conflict => "conflict",
            Self::Released => "released",
            Self::Failed => "failed",
            Self::Approved => "approved",
            Self::Healed => "healed",
        }
    }
}

/// Something that happened to a guard, for observers. `run_id` is the run the
/// event is about (for a conflict: the run that blocked the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub run_id: RunId,
    /// healed: the run that replaced it; conflict: the answer ('already_running',
    /// 'awaiting_approval', 'payload_mismatch', 'already_completed');
    /// released: the status.
    pub detail: Option<String>,
}

fn event(kind: EventKind, run_id: &RunId, detail: Option<&str>) -> Event {
    Event {
        kind,
        run_id: run_id.clone(),
        detail: detail.map(str::to_owned),
    }
}

/// The events a reply stands for. Derived, not stored, so stores stay unaware of them.
pub fn events_of(reply: &Reply) -> Vec<Event> {
    use EventKind::*;
    match reply {
        Reply::Acquire(AcquireReply::Acquired { run, healed_from }) => {
            let mut out = Vec::with_capacity(2);
            if let Some(old) = healed_from {
                out.push(event(Healed, &old.run_id, Some(&run.run_id.to_string())));
            }
            out.push(event(Acquired, &run.run_id, None));
            out
        }
        Reply::Acquire(AcquireReply::AlreadyRunning(run)) => {
            vec![event(Conflict, &run.run_id, Some("already_running"))]
        }
        Reply::Acquire(AcquireReply::PayloadMismatch { run_id, .. }) => {
            vec![event(Conflict, run_id, Some("payload_mismatch"))]
        }
        Reply::Acquire(AcquireReply::AlreadyCompleted { run_id, .. }) => {
            vec![event(Conflict, run_id, Some("already_completed"))]
        }
        Reply::Acquire(AcquireReply::AwaitingApproval {
            failed_run_id,
            newly_failed,
            ..
        }) => after_stale_failure(
            *newly_failed,
            event(Conflict, failed_run_id, Some("awaiting_approval")),
        ),
        Reply::ApproveRetry(ApproveReply::Approved {
            failed_run_id,
            newly_failed,
            ..
        }) => after_stale_failure(*newly_failed, event(Approved, failed_run_id, None)),
        Reply::ForceRelease(ForceReleaseReply::Released { run_id, .. }) => {
            vec![event(Released, run_id, Some("forced"))]
        }
        Reply::Release(ReleaseReply::Released {
            run_id,
            status: ReleaseStatus::Failed,
            ..
        }) => vec![event(Failed, run_id, Some("released"))],
        Reply::Release(ReleaseReply::Released { run_id, status, .. }) => {
            vec![event(Released, run_id, Some(status.as_str()))]
        }
        _ => Vec::new(),
    }
}

/// `then`, preceded by the failure of the stale run it is about when this
/// very command recorded that failure (`onStale: 'fail'`).
fn after_stale_failure(newly_failed: bool, then: Event) -> Vec<Event> {
    let mut out = Vec::with_capacity(2);
    if newly_failed {
        out.push(event(EventKind::Failed, &then.run_id, Some("stale")));
    }
    out.push(then);
    out
}
