use super::command::ReleaseStatus;
use super::ids::{Owner, RunId};
use super::limits::HISTORY_LEN;
use super::policy::purge_cutoff;

/// One granted execution of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub run_id: RunId,
    pub fencing_token: u64,
    pub started_at: i64,
    pub expires_at: i64,
    pub ttl_ms: u64,
    pub owner: Option<Owner>,
    pub attempt: u32,
    /// What the caller gave beyond the key, if anything: most runs carry
    /// nothing, and then this is one null pointer (a million records in a memory store).
    pub given: Option<Box<Given>>,
}

/// A run's caller-given extras.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Given {
    /// Caller's JSON, kept verbatim: the engine never looks inside.
    pub meta: Option<Box<str>>,
    /// The payload's fingerprint the run was started with.
    pub fingerprint: Option<Box<str>>,
}

impl Given {
    /// `None` when there is nothing to keep.
    pub fn of(meta: Option<Box<str>>, fingerprint: Option<Box<str>>) -> Option<Box<Given>> {
        (meta.is_some() || fingerprint.is_some()).then(|| Box::new(Given { meta, fingerprint }))
    }
}

impl Run {
    pub fn meta(&self) -> Option<&str> {
        self.given.as_ref()?.meta.as_deref()
    }

    pub fn fingerprint(&self) -> Option<&str> {
        self.given.as_ref()?.fingerprint.as_deref()
    }

    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCause {
    /// The owner released it as failed.
    Released,
    /// It went past its expiry and the policy is `onStale: 'fail'`.
    Stale,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub run: Run,
    pub failed_at: i64,
    pub error: Option<String>,
    pub cause: FailureCause,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub approved_at: i64,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

/// Failures and approvals are boxed: they are rare, and a running record (the
/// common one, a million of them in a memory store) is then no larger than its run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Running(Run),
    Failed(Box<Failure>),
    Approved(Box<Failure>, Box<Approval>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndedHow {
    Released(ReleaseStatus),
    /// Replaced by a later acquire after it went stale.
    Healed,
    /// Turned into a failure because it went stale (`onStale: 'fail'`).
    Expired,
    /// Cleared by an operator.
    Forced,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub run_id: RunId,
    pub ended_at: i64,
    pub how: EndedHow,
    /// What is known of why it did not succeed: its error (a failure), or who
    /// forced it and why (`Forced`).
    pub note: Option<String>,
    /// A success's result (caller's JSON, verbatim) and the fingerprint it ran
    /// with: kept on the newest ended run only, so a record holds at most one result.
    pub kept: Option<Box<Kept>>,
}

/// What a success leaves for a duplicate within the replay window, and for joiners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    pub result: Option<Box<str>>,
    pub fingerprint: Option<Box<str>>,
}

impl Kept {
    /// `None` when there is nothing to keep.
    pub fn of(result: Option<Box<str>>, fingerprint: Option<Box<str>>) -> Option<Box<Kept>> {
        (result.is_some() || fingerprint.is_some()).then(|| {
            Box::new(Kept {
                result,
                fingerprint,
            })
        })
    }
}

impl Ended {
    pub fn result(&self) -> Option<&str> {
        self.kept.as_ref()?.result.as_deref()
    }

    pub fn fingerprint(&self) -> Option<&str> {
        self.kept.as_ref()?.fingerprint.as_deref()
    }
}

/// Recently ended runs, newest first. Most records (a running run's first
/// attempt) have none: then it is one null pointer, not an empty `Vec`'s three
/// words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::box_collection)] // the point: one word when empty, not a Vec's three
pub struct History(Option<Box<Vec<Ended>>>);

impl History {
    fn push_front(&mut self, e: Ended) {
        let list = self
            .0
            .get_or_insert_with(|| Box::new(Vec::with_capacity(HISTORY_LEN)));
        if list.len() == HISTORY_LEN {
            list.pop();
        }
        // Only the newest run's result is kept: a record stays one result large.
        if let Some(previous) = list.first_mut() {
            previous.kept = None;
        }
        list.insert(0, e);
    }
}

impl std::ops::Deref for History {
    type Target = [Ended];
    fn deref(&self) -> &[Ended] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl From<Vec<Ended>> for History {
    fn from(list: Vec<Ended>) -> Self {
        History((!list.is_empty()).then(|| Box::new(list)))
    }
}

/// Everything stored for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub phase: Phase,
    /// The last fencing token granted for this key; the next one is larger.
    pub last_fence: u64,
    /// Recently ended runs, newest first, at most `HISTORY_LEN`.
    pub history: History,
    pub updated_at: i64,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            phase: Phase::Idle,
            last_fence: 0,
            history: History::default(),
            updated_at: 0,
        }
    }
}

impl Record {
    /// An idle record whose history is older than the retention may be deleted:
    /// fencing stays monotonic without it (see `apply::next_fence`).
    pub fn is_purgeable(&self, now: i64, retention_ms: u64) -> bool {
        matches!(self.phase, Phase::Idle) && self.updated_at <= purge_cutoff(now, retention_ms)
    }

    pub(crate) fn remember(&mut self, run_id: RunId, ended_at: i64, how: EndedHow) {
        self.remember_with(run_id, ended_at, how, None, None);
    }

    pub(crate) fn remember_with(
        &mut self,
        run_id: RunId,
        ended_at: i64,
        how: EndedHow,
        note: Option<String>,
        kept: Option<Box<Kept>>,
    ) {
        self.history.push_front(Ended {
            run_id,
            ended_at,
            how,
            note,
            kept,
        });
    }

    pub(crate) fn ended(&self, run_id: &RunId) -> Option<&Ended> {
        self.history.iter().find(|e| e.run_id == *run_id)
    }
}

impl Record {
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle)
    }
}
