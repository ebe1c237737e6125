use super::limits::{DEFAULT_RETENTION_MS, DEFAULT_TTL_MS};

/// What the next acquire does with a run that is past its expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStale {
    /// Replace it; the reply names the run it replaced.
    Heal,
    /// Record it as failed, so a human decides (approveRetry) before it runs again.
    Fail,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub default_ttl_ms: u64,
    pub on_stale: OnStale,
    pub retention_ms: u64,
    /// How long after a success a duplicate is answered with it (`AlreadyCompleted`)
    /// instead of being granted; 0: never. At most `retention_ms`, so the record
    /// it replays outlives the window.
    pub replay_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_ttl_ms: DEFAULT_TTL_MS,
            on_stale: OnStale::Heal,
            retention_ms: DEFAULT_RETENTION_MS,
            replay_ms: 0,
        }
    }
}

/// The retention rule, for every store: an idle record last written at or
/// before this time may be deleted (its history is past `retention_ms`).
pub fn purge_cutoff(now: i64, retention_ms: u64) -> i64 {
    now.saturating_sub(retention_ms.min(i64::MAX as u64) as i64)
}
