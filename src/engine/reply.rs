use super::command::ReleaseStatus;
use super::ids::{Owner, RunId};
use super::record::Run;

/// The public face of a run, as conflict and heal answers show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    pub run_id: RunId,
    pub fencing_token: u64,
    pub started_at: i64,
    pub expires_at: i64,
    pub owner: Option<Owner>,
    pub attempt: u32,
}

impl From<&Run> for RunInfo {
    fn from(r: &Run) -> Self {
        RunInfo {
            run_id: r.run_id.clone(),
            fencing_token: r.fencing_token,
            started_at: r.started_at,
            expires_at: r.expires_at,
            owner: r.owner.clone(),
            attempt: r.attempt,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcquireReply {
    Acquired {
        run: RunInfo,
        /// Boxed: a heal is rare, and an unboxed one doubled the size of every
        /// reply, which the memory store moves several times per call.
        healed_from: Option<Box<RunInfo>>,
    },
    AlreadyRunning(RunInfo),
    AwaitingApproval {
        failed_run_id: RunId,
        failed_at: i64,
        error: Option<String>,
        attempt: u32,
        /// The failure was recorded by this very acquire (a stale run under `onStale: 'fail'`).
        newly_failed: bool,
    },
    /// The key is held (running, or failed awaiting approval) by a run started
    /// with another payload: not a duplicate of it.
    PayloadMismatch {
        run_id: RunId,
        fingerprint: String,
        expected: String,
    },
    /// The key's last run succeeded within the replay window: this is its
    /// result, and nothing was started.
    AlreadyCompleted {
        run_id: RunId,
        ended_at: i64,
        result: Option<String>,
    },
}

/// How a run ended, as a caller waiting on it needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeReply {
    /// It still holds the key (perhaps past its expiry, until it is healed or failed).
    Running { expires_at: i64 },
    Succeeded {
        ended_at: i64,
        /// Its result, if it left one and no later run of the key has ended since.
        result: Option<String>,
    },
    /// Released as failed, expired into a failure, or lost to a heal.
    Failed {
        ended_at: i64,
        error: Option<String>,
    },
    /// Released as cancelled, or cleared by an operator (the note says who).
    Cancelled { ended_at: i64, note: Option<String> },
    /// Not a run this key knows (never granted, or forgotten with its history).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseReply {
    Released {
        /// The run released: the events of a release name it.
        run_id: RunId,
        status: ReleaseStatus,
        ended_at: i64,
        /// How long it ran, on the store's clock (for the run-duration histogram).
        ran_ms: u64,
    },
    Lost,
    /// Another run holds the key.
    NotOwner,
    AlreadyReleased,
    /// Nothing runs under the key (idle, failed or approved), and the named run
    /// is not one it remembers.
    NotRunning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeartbeatReply {
    Extended {
        expires_at: i64,
    },
    Lost,
    /// Another run holds the key.
    NotOwner,
    /// Nothing runs under the key, and the named run is not one it remembers.
    NotRunning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApproveReply {
    Approved {
        failed_run_id: RunId,
        approved_at: i64,
        /// The attempt number the next acquire will carry.
        next_attempt: u32,
        /// The approval first recorded a stale run as failed (`onStale: 'fail'`).
        newly_failed: bool,
    },
    NotFailed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForceReleaseReply {
    Released { run_id: RunId, ended_at: i64 },
    NotRunning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Acquire(AcquireReply),
    Release(ReleaseReply),
    Heartbeat(HeartbeatReply),
    ApproveRetry(ApproveReply),
    ForceRelease(ForceReleaseReply),
    Outcome(OutcomeReply),
}

impl RunInfo {
    fn shift_times(&mut self, by: i64) {
        self.started_at += by;
        self.expires_at += by;
    }
}

impl Reply {
    /// Moves every time in the answer by `by` ms: stores measure on their own
    /// clock and show times on the wall clock.
    pub fn shift_times(&mut self, by: i64) {
        if by == 0 {
            return;
        }
        match self {
            Reply::Acquire(AcquireReply::Acquired { run, healed_from }) => {
                run.shift_times(by);
                if let Some(h) = healed_from {
                    h.shift_times(by);
                }
            }
            Reply::Acquire(AcquireReply::AlreadyRunning(run)) => run.shift_times(by),
            Reply::Acquire(AcquireReply::AwaitingApproval { failed_at, .. }) => *failed_at += by,
            Reply::Acquire(AcquireReply::PayloadMismatch { .. }) => {}
            Reply::Acquire(AcquireReply::AlreadyCompleted { ended_at, .. }) => *ended_at += by,
            Reply::Outcome(
                OutcomeReply::Succeeded { ended_at, .. }
                | OutcomeReply::Failed { ended_at, .. }
                | OutcomeReply::Cancelled { ended_at, .. },
            ) => *ended_at += by,
            Reply::Outcome(OutcomeReply::Running { expires_at }) => *expires_at += by,
            Reply::Outcome(OutcomeReply::Unknown) => {}
            Reply::Release(ReleaseReply::Released { ended_at, .. }) => *ended_at += by,
            Reply::Heartbeat(HeartbeatReply::Extended { expires_at }) => *expires_at += by,
            Reply::ApproveRetry(ApproveReply::Approved { approved_at, .. }) => *approved_at += by,
            Reply::ForceRelease(ForceReleaseReply::Released { ended_at, .. }) => *ended_at += by,
            Reply::Release(_)
            | Reply::Heartbeat(_)
            | Reply::ApproveRetry(_)
            | Reply::ForceRelease(ForceReleaseReply::NotRunning) => {}
        }
    }
}

/// Who may try again, and when: the JS facade only schedules what these say.
impl Reply {
    /// This answer ended the key's run or cleared its failure: acquires
    /// waiting for the key may try now.
    pub fn lets_waiters_in(&self) -> bool {
        matches!(
            self,
            Reply::Release(ReleaseReply::Released { .. })
                | Reply::ApproveRetry(ApproveReply::Approved { .. })
                | Reply::ForceRelease(ForceReleaseReply::Released { .. })
        )
    }

    /// This answer ended a run (released, forced, healed away, or recorded as a
    /// stale failure): whoever waits for that run's outcome may look now.
    pub fn ends_a_run(&self) -> bool {
        matches!(
            self,
            Reply::Release(ReleaseReply::Released { .. })
                | Reply::ForceRelease(ForceReleaseReply::Released { .. })
                | Reply::Acquire(AcquireReply::Acquired {
                    healed_from: Some(_),
                    ..
                })
                | Reply::Acquire(AcquireReply::AwaitingApproval {
                    newly_failed: true,
                    ..
                })
                | Reply::ApproveRetry(ApproveReply::Approved {
                    newly_failed: true,
                    ..
                })
        )
    }

    /// For a conflict with a running run (or an outcome asked of one): how long, from `now` on the clock
    /// the answer's times are on, until that run expires; an acquire waiting
    /// for it tries again then, as it may be healed. A failure awaiting
    /// approval has no such time: only an approval lets waiters in.
    pub fn retry_in_ms(&self, now: i64) -> Option<u64> {
        match self {
            Reply::Acquire(AcquireReply::AlreadyRunning(run)) => {
                Some(run.expires_at.saturating_sub(now).max(0) as u64)
            }
            Reply::Outcome(OutcomeReply::Running { expires_at }) => {
                Some(expires_at.saturating_sub(now).max(0) as u64)
            }
            _ => None,
        }
    }
}
