use serde::{Deserialize, Serialize};

use super::command::ReleaseStatus;
use super::limits::HISTORY_LEN;

/// One granted execution of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub fencing_token: u64,
    pub started_at: i64,
    pub expires_at: i64,
    pub ttl_ms: u64,
    pub owner: Option<String>,
    pub attempt: u32,
    /// Caller's JSON, kept verbatim: the engine never looks inside.
    pub meta: Option<String>,
}

impl Run {
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureCause {
    /// The owner released it as failed.
    Released,
    /// It went past its expiry and the policy is `onStale: 'fail'`.
    Stale,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub run: Run,
    pub failed_at: i64,
    pub error: Option<String>,
    pub cause: FailureCause,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub approved_at: i64,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Idle,
    Running(Run),
    Failed(Failure),
    Approved(Failure, Approval),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndedHow {
    Released(ReleaseStatus),
    /// Replaced by a later acquire after it went stale.
    Healed,
    /// Turned into a failure because it went stale (`onStale: 'fail'`).
    Expired,
    /// Cleared by an operator.
    Forced,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    pub run_id: String,
    pub ended_at: i64,
    pub how: EndedHow,
    /// Who forced it and why, for `Forced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Everything stored for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub phase: Phase,
    /// The last fencing token granted for this key; the next one is larger.
    pub last_fence: u64,
    /// Recently ended runs, newest first, at most `HISTORY_LEN`.
    pub history: Vec<Ended>,
    pub updated_at: i64,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            phase: Phase::Idle,
            last_fence: 0,
            history: Vec::new(),
            updated_at: 0,
        }
    }
}

impl Record {
    /// An idle record whose history is older than the retention may be deleted:
    /// fencing stays monotonic without it (see `apply::next_fence`).
    pub fn is_purgeable(&self, now: i64, retention_ms: u64) -> bool {
        matches!(self.phase, Phase::Idle)
            && now.saturating_sub(self.updated_at) >= retention_ms as i64
    }

    pub(crate) fn remember(&mut self, run_id: String, ended_at: i64, how: EndedHow) {
        self.remember_with(run_id, ended_at, how, None);
    }

    pub(crate) fn remember_with(
        &mut self,
        run_id: String,
        ended_at: i64,
        how: EndedHow,
        note: Option<String>,
    ) {
        if self.history.len() == HISTORY_LEN {
            self.history.pop();
        }
        self.history.insert(
            0,
            Ended {
                run_id,
                ended_at,
                how,
                note,
            },
        );
    }

    pub(crate) fn ended(&self, run_id: &str) -> Option<&Ended> {
        self.history.iter().find(|e| e.run_id == run_id)
    }
}

impl Record {
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle)
    }
}
