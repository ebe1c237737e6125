use super::error::InvalidArg;
use super::record::{Phase, Record};

/// A guard's state as observers see it; `Stale` is derived from the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GuardState {
    Running,
    Stale,
    Failed,
    Approved,
}

impl GuardState {
    pub const ALL: [GuardState; 4] = [Self::Running, Self::Stale, Self::Failed, Self::Approved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stale => "stale",
            Self::Failed => "failed",
            Self::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> Result<Self, InvalidArg> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                InvalidArg::new(format!(
                    "state must be 'running', 'stale', 'failed' or 'approved', not {s:?}"
                ))
            })
    }
}

/// One guard as `inspect` lists it. Idle keys (history only) are not listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardInfo {
    pub state: GuardState,
    pub run_id: String,
    pub fencing_token: u64,
    pub owner: Option<String>,
    pub started_at: i64,
    pub expires_at: i64,
    pub attempt: u32,
    pub meta: Option<String>,
    pub failed_at: Option<i64>,
    pub error: Option<String>,
    pub approved_at: Option<i64>,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

pub fn view(rec: &Record, now: i64) -> Option<GuardInfo> {
    let (state, run, failure, approval) = match &rec.phase {
        Phase::Idle => return None,
        Phase::Running(r) if r.is_expired(now) => (GuardState::Stale, r, None, None),
        Phase::Running(r) => (GuardState::Running, r, None, None),
        Phase::Failed(f) => (GuardState::Failed, &f.run, Some(f), None),
        Phase::Approved(f, a) => (GuardState::Approved, &f.run, Some(f), Some(a)),
    };
    Some(GuardInfo {
        state,
        run_id: run.run_id.to_string(),
        fencing_token: run.fencing_token,
        owner: run.owner.as_deref().map(str::to_owned),
        started_at: run.started_at,
        expires_at: run.expires_at,
        attempt: run.attempt,
        meta: run.meta().map(str::to_owned),
        failed_at: failure.map(|f| f.failed_at),
        error: failure.and_then(|f| f.error.clone()),
        approved_at: approval.map(|a| a.approved_at),
        approved_by: approval.and_then(|a| a.approved_by.clone()),
        reason: approval.and_then(|a| a.reason.clone()),
    })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub running: u64,
    pub stale: u64,
    pub failed: u64,
    pub approved: u64,
}

impl Counts {
    pub fn add(&mut self, s: GuardState) {
        match s {
            GuardState::Running => self.running += 1,
            GuardState::Stale => self.stale += 1,
            GuardState::Failed => self.failed += 1,
            GuardState::Approved => self.approved += 1,
        }
    }
}
