//! Format version 1. Field and variant names here are the stored ones: they
//! change only with a new version.

use serde::{Deserialize, Serialize};

use crate::engine::{
    Approval, Ended, EndedHow, Failure, FailureCause, Given, Kept, Owner, Phase, Record,
    ReleaseStatus, Run, RunId,
};

#[derive(Serialize, Deserialize)]
pub struct Stored {
    #[serde(default = "unversioned")]
    v: u32,
    phase: StoredPhase,
    last_fence: u64,
    history: Vec<StoredEnded>,
    updated_at: i64,
}

/// 0.1.0 wrote no version: its records are version 1.
fn unversioned() -> u32 {
    1
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default = "unversioned")]
    v: u32,
}

/// The record's format version, read before anything else of it.
pub fn version_of(text: &str) -> serde_json::Result<u32> {
    serde_json::from_str::<VersionOnly>(text).map(|x| x.v)
}

#[derive(Serialize, Deserialize)]
enum StoredPhase {
    Idle,
    Running(StoredRun),
    Failed(StoredFailure),
    Approved(StoredFailure, StoredApproval),
}

#[derive(Serialize, Deserialize)]
struct StoredRun {
    run_id: String,
    fencing_token: u64,
    started_at: i64,
    expires_at: i64,
    ttl_ms: u64,
    owner: Option<String>,
    attempt: u32,
    meta: Option<String>,
    /// Added in 0.2 without a new version: readers that predate it ignore it
    /// (they answer a different payload as a duplicate, as they always did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum StoredCause {
    Released,
    Stale,
}

#[derive(Serialize, Deserialize)]
struct StoredFailure {
    run: StoredRun,
    failed_at: i64,
    error: Option<String>,
    cause: StoredCause,
}

#[derive(Serialize, Deserialize)]
struct StoredApproval {
    approved_at: i64,
    approved_by: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum StoredStatus {
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Serialize, Deserialize)]
enum StoredHow {
    Released(StoredStatus),
    Healed,
    Expired,
    Forced,
}

#[derive(Serialize, Deserialize)]
struct StoredEnded {
    run_id: String,
    ended_at: i64,
    how: StoredHow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// Added in 0.2 without a new version, as `fingerprint` was: a success's
    /// result (JSON text) and payload fingerprint, for replay. Readers that
    /// predate them ignore them (they never replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
}

impl From<&Record> for Stored {
    fn from(r: &Record) -> Self {
        Stored {
            v: 1,
            phase: match &r.phase {
                Phase::Idle => StoredPhase::Idle,
                Phase::Running(run) => StoredPhase::Running(run.into()),
                Phase::Failed(f) => StoredPhase::Failed((&**f).into()),
                Phase::Approved(f, a) => StoredPhase::Approved((&**f).into(), (&**a).into()),
            },
            last_fence: r.last_fence,
            history: r.history.iter().map(StoredEnded::from).collect(),
            updated_at: r.updated_at,
        }
    }
}

impl From<Stored> for Record {
    fn from(s: Stored) -> Self {
        Record {
            phase: match s.phase {
                StoredPhase::Idle => Phase::Idle,
                StoredPhase::Running(run) => Phase::Running(run.into()),
                StoredPhase::Failed(f) => Phase::Failed(Box::new(f.into())),
                StoredPhase::Approved(f, a) => {
                    Phase::Approved(Box::new(f.into()), Box::new(a.into()))
                }
            },
            last_fence: s.last_fence,
            history: s
                .history
                .into_iter()
                .map(Ended::from)
                .collect::<Vec<_>>()
                .into(),
            updated_at: s.updated_at,
        }
    }
}

impl From<&Run> for StoredRun {
    fn from(r: &Run) -> Self {
        StoredRun {
            run_id: r.run_id.to_string(),
            fencing_token: r.fencing_token,
            started_at: r.started_at,
            expires_at: r.expires_at,
            ttl_ms: r.ttl_ms,
            owner: r.owner.as_ref().map(|o| o.as_str().to_owned()),
            attempt: r.attempt,
            meta: r.meta().map(str::to_owned),
            fingerprint: r.fingerprint().map(str::to_owned),
        }
    }
}

impl From<StoredRun> for Run {
    fn from(r: StoredRun) -> Self {
        Run {
            run_id: RunId::parse(&r.run_id),
            fencing_token: r.fencing_token,
            started_at: r.started_at,
            expires_at: r.expires_at,
            ttl_ms: r.ttl_ms,
            owner: r.owner.map(Owner::from),
            attempt: r.attempt,
            given: Given::of(
                r.meta.map(String::into_boxed_str),
                r.fingerprint.map(String::into_boxed_str),
            ),
        }
    }
}

impl From<&Failure> for StoredFailure {
    fn from(f: &Failure) -> Self {
        StoredFailure {
            run: (&f.run).into(),
            failed_at: f.failed_at,
            error: f.error.clone(),
            cause: match f.cause {
                FailureCause::Released => StoredCause::Released,
                FailureCause::Stale => StoredCause::Stale,
            },
        }
    }
}

impl From<StoredFailure> for Failure {
    fn from(f: StoredFailure) -> Self {
        Failure {
            run: f.run.into(),
            failed_at: f.failed_at,
            error: f.error,
            cause: match f.cause {
                StoredCause::Released => FailureCause::Released,
                StoredCause::Stale => FailureCause::Stale,
            },
        }
    }
}

impl From<&Approval> for StoredApproval {
    fn from(a: &Approval) -> Self {
        StoredApproval {
            approved_at: a.approved_at,
            approved_by: a.approved_by.clone(),
            reason: a.reason.clone(),
        }
    }
}

impl From<StoredApproval> for Approval {
    fn from(a: StoredApproval) -> Self {
        Approval {
            approved_at: a.approved_at,
            approved_by: a.approved_by,
            reason: a.reason,
        }
    }
}

impl From<&Ended> for StoredEnded {
    fn from(e: &Ended) -> Self {
        StoredEnded {
            run_id: e.run_id.to_string(),
            ended_at: e.ended_at,
            how: match e.how {
                EndedHow::Released(s) => StoredHow::Released(match s {
                    ReleaseStatus::Succeeded => StoredStatus::Succeeded,
                    ReleaseStatus::Failed => StoredStatus::Failed,
                    ReleaseStatus::Cancelled => StoredStatus::Cancelled,
                }),
                EndedHow::Healed => StoredHow::Healed,
                EndedHow::Expired => StoredHow::Expired,
                EndedHow::Forced => StoredHow::Forced,
            },
            note: e.note.clone(),
            result: e.result().map(str::to_owned),
            fingerprint: e.fingerprint().map(str::to_owned),
        }
    }
}

impl From<StoredEnded> for Ended {
    fn from(e: StoredEnded) -> Self {
        Ended {
            run_id: RunId::parse(&e.run_id),
            ended_at: e.ended_at,
            how: match e.how {
                StoredHow::Released(s) => EndedHow::Released(match s {
                    StoredStatus::Succeeded => ReleaseStatus::Succeeded,
                    StoredStatus::Failed => ReleaseStatus::Failed,
                    StoredStatus::Cancelled => ReleaseStatus::Cancelled,
                }),
                StoredHow::Healed => EndedHow::Healed,
                StoredHow::Expired => EndedHow::Expired,
                StoredHow::Forced => EndedHow::Forced,
            },
            note: e.note,
            kept: Kept::of(
                e.result.map(String::into_boxed_str),
                e.fingerprint.map(String::into_boxed_str),
            ),
        }
    }
}
