//! What a guard counts of the answers its store gives: which counter each
//! answer stands for is decided here; the binding writes them out.

use super::command::ReleaseStatus;
use super::reply::{AcquireReply, ApproveReply, ForceReleaseReply, ReleaseReply, Reply};

/// Upper bounds of the run-duration buckets, in seconds (then +Inf).
pub const BUCKETS_S: [f64; 9] = [0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0];

pub const ACQUIRE_ANSWERS: [&str; 5] = [
    "acquired",
    "already_running",
    "awaiting_approval",
    "payload_mismatch",
    "already_completed",
];
pub const RELEASE_STATUSES: [&str; 4] = ["succeeded", "failed", "cancelled", "forced"];
pub const FAILURE_CAUSES: [&str; 2] = ["released", "stale"];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// By `ACQUIRE_ANSWERS`.
    pub acquires: [u64; ACQUIRE_ANSWERS.len()],
    /// By `RELEASE_STATUSES`.
    pub releases: [u64; 4],
    pub heals: u64,
    pub approvals: u64,
    /// By `FAILURE_CAUSES`.
    pub failures: [u64; 2],
    /// Runs released, by the first bucket of `BUCKETS_S` their duration fits (the last: +Inf).
    pub durations: [u64; BUCKETS_S.len() + 1],
    pub duration_sum_ms: u64,
}

impl Metrics {
    /// Counts what `reply` stands for.
    pub fn record(&mut self, reply: &Reply) {
        match reply {
            Reply::Acquire(a) => {
                let (answer, newly_failed) = match a {
                    AcquireReply::Acquired { healed_from, .. } => {
                        self.heals += u64::from(healed_from.is_some());
                        (0, false)
                    }
                    AcquireReply::AlreadyRunning(_) => (1, false),
                    AcquireReply::AwaitingApproval { newly_failed, .. } => (2, *newly_failed),
                    AcquireReply::PayloadMismatch { .. } => (3, false),
                    AcquireReply::AlreadyCompleted { .. } => (4, false),
                };
                self.acquires[answer] += 1;
                self.failures[1] += u64::from(newly_failed);
            }
            Reply::Release(ReleaseReply::Released { status, ran_ms, .. }) => {
                let i = match status {
                    ReleaseStatus::Succeeded => 0,
                    ReleaseStatus::Failed => 1,
                    ReleaseStatus::Cancelled => 2,
                };
                self.releases[i] += 1;
                self.failures[0] += u64::from(*status == ReleaseStatus::Failed);
                let s = *ran_ms as f64 / 1000.0;
                let bucket = BUCKETS_S
                    .iter()
                    .position(|le| s <= *le)
                    .unwrap_or(BUCKETS_S.len());
                self.durations[bucket] += 1;
                self.duration_sum_ms += ran_ms;
            }
            Reply::ApproveRetry(ApproveReply::Approved { newly_failed, .. }) => {
                self.approvals += 1;
                self.failures[1] += u64::from(*newly_failed);
            }
            Reply::ForceRelease(ForceReleaseReply::Released { .. }) => self.releases[3] += 1,
            _ => {}
        }
    }
}
