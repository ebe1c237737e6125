use super::ids::{Owner, RunId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseStatus {
    Succeeded,
    Failed,
    Cancelled,
}

impl ReleaseStatus {
    /// The facade passes the status as its index in `ALL`, sparing a string conversion.
    pub const ALL: [ReleaseStatus; 3] = [Self::Succeeded, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acquire {
    pub owner: Option<Owner>,
    /// `None`: the policy's default.
    pub ttl_ms: Option<u64>,
    pub meta: Option<String>,
    /// What the caller's payload hashes to: a run started with one answers a
    /// different one with `PayloadMismatch`, not a plain conflict.
    pub fingerprint: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub run_id: RunId,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    /// A success's result (caller's JSON, verbatim), kept for duplicates and
    /// joiners; ignored for any other status.
    pub result: Option<String>,
}

/// Asks how a run ended, or whether it still runs. Changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub run_id: RunId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub run_id: RunId,
    /// `None`: the run's own ttl.
    pub ttl_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApproveRetry {
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

/// An operator clearing a run whose owner is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForceRelease {
    pub by: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Acquire(Acquire),
    Release(Release),
    Heartbeat(Heartbeat),
    ApproveRetry(ApproveRetry),
    ForceRelease(ForceRelease),
    Outcome(Outcome),
}
