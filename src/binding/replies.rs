//! Engine replies as JS objects. The hot path (a plain `acquired`, and every
//! release/heartbeat) returns a bare string or number and writes its numbers
//! into the shared `out` array, because each property a native call sets on a
//! JS object costs about as much as the whole JS-side guard; the JS facade
//! builds those objects itself.

use napi_derive::napi;

use crate::engine::{
    AcquireReply, ApproveReply, Event, EventKind, ForceReleaseReply, GuardInfo, HeartbeatReply,
    ReleaseReply, Reply, RunInfo,
};
use crate::store::Inspection;

pub const RELEASED: u32 = 0;
pub const LOST: u32 = 1;
pub const NOT_OWNER: u32 = 2;
pub const ALREADY_RELEASED: u32 = 3;
pub const NOT_RUNNING: u32 = 4;
pub const EXTENDED: u32 = 0;
pub const RUN_ACQUIRED: f64 = 0.0;
pub const RUN_ALREADY_RUNNING: f64 = 1.0;

/// A run as JS receives it.
#[napi(object)]
pub struct RunInfoOut {
    pub run_id: String,
    pub fencing_token: f64,
    pub started_at: f64,
    pub expires_at: f64,
    pub owner: Option<String>,
    pub attempt: u32,
}

impl From<RunInfo> for RunInfoOut {
    fn from(r: RunInfo) -> Self {
        RunInfoOut {
            run_id: r.run_id.to_string(),
            fencing_token: r.fencing_token as f64,
            started_at: r.started_at as f64,
            expires_at: r.expires_at as f64,
            owner: r.owner.map(|o| o.to_string()),
            attempt: r.attempt,
        }
    }
}

/// Any reply as one object, for the paths where building objects natively is
/// not the cost that matters (durable stores, approvals, forced releases).
#[napi(object)]
#[derive(Default)]
pub struct ReplyOut {
    pub status: String,
    pub run: Option<RunInfoOut>,
    pub healed_from: Option<RunInfoOut>,
    pub run_id: Option<String>,
    pub failed_run_id: Option<String>,
    pub failed_at: Option<f64>,
    pub error: Option<String>,
    pub attempt: Option<u32>,
    pub ended_at: Option<f64>,
    pub expires_at: Option<f64>,
    pub approved_at: Option<f64>,
    pub next_attempt: Option<u32>,
    pub inspection: Option<InspectOut>,
    /// The engine's word: waiting acquires may try now.
    pub lets_waiters_in: Option<bool>,
    /// The engine's word, for a conflict: a waiting acquire tries again in this many ms.
    pub retry_in_ms: Option<f64>,
}

fn status(s: &str) -> ReplyOut {
    ReplyOut {
        status: s.to_owned(),
        ..ReplyOut::default()
    }
}

/// `reply` as JS receives it; `now` is when it was answered, on its times' clock.
pub fn reply_out(reply: Reply, now: i64) -> ReplyOut {
    let lets_waiters_in = reply.lets_waiters_in().then_some(true);
    let retry_in_ms = reply.retry_in_ms(now).map(|ms| ms as f64);
    ReplyOut {
        lets_waiters_in,
        retry_in_ms,
        ..reply_fields(reply)
    }
}

fn reply_fields(reply: Reply) -> ReplyOut {
    match reply {
        Reply::Acquire(AcquireReply::Acquired { run, healed_from }) => ReplyOut {
            run: Some(run.into()),
            healed_from: healed_from.map(Into::into),
            ..status("acquired")
        },
        Reply::Acquire(AcquireReply::AlreadyRunning(run)) => ReplyOut {
            run: Some(run.into()),
            ..status("already_running")
        },
        Reply::Acquire(AcquireReply::AwaitingApproval {
            failed_run_id,
            failed_at,
            error,
            attempt,
            ..
        }) => ReplyOut {
            failed_run_id: Some(failed_run_id.to_string()),
            failed_at: Some(failed_at as f64),
            error,
            attempt: Some(attempt),
            ..status("awaiting_approval")
        },
        Reply::Release(ReleaseReply::Released { ended_at, .. }) => ReplyOut {
            ended_at: Some(ended_at as f64),
            ..status("released")
        },
        Reply::Release(ReleaseReply::Lost) => status("lost"),
        Reply::Release(ReleaseReply::NotOwner) => status("not_owner"),
        Reply::Release(ReleaseReply::AlreadyReleased) => status("already_released"),
        Reply::Release(ReleaseReply::NotRunning) => status("not_running"),
        Reply::Heartbeat(HeartbeatReply::Extended { expires_at }) => ReplyOut {
            expires_at: Some(expires_at as f64),
            ..status("extended")
        },
        Reply::Heartbeat(HeartbeatReply::Lost) => status("lost"),
        Reply::Heartbeat(HeartbeatReply::NotOwner) => status("not_owner"),
        Reply::Heartbeat(HeartbeatReply::NotRunning) => status("not_running"),
        Reply::ApproveRetry(ApproveReply::Approved {
            failed_run_id,
            approved_at,
            next_attempt,
            ..
        }) => ReplyOut {
            failed_run_id: Some(failed_run_id.to_string()),
            approved_at: Some(approved_at as f64),
            next_attempt: Some(next_attempt),
            ..status("approved")
        },
        Reply::ApproveRetry(ApproveReply::NotFailed) => status("not_failed"),
        Reply::ForceRelease(ForceReleaseReply::Released { run_id, ended_at }) => ReplyOut {
            run_id: Some(run_id.to_string()),
            ended_at: Some(ended_at as f64),
            ..status("released")
        },
        Reply::ForceRelease(ForceReleaseReply::NotRunning) => status("not_running"),
    }
}

pub fn inspect_out(found: Inspection) -> InspectOut {
    InspectOut {
        now: found.now as f64,
        guards: found
            .guards
            .into_iter()
            .map(|(k, v)| GuardInfoOut::new(k, v))
            .collect(),
        counts: found.counts.map(|c| CountsOut {
            running: c.running as f64,
            stale: c.stale as f64,
            failed: c.failed as f64,
            approved: c.approved as f64,
        }),
        next: found.next,
    }
}

/// One answer of a durable store's batch.
#[napi(object)]
pub struct CompletionOut {
    pub id: u32,
    pub reply: Option<ReplyOut>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub events: Vec<EventOut>,
}

#[napi(object)]
pub struct GuardInfoOut {
    pub key: String,
    pub state: String,
    pub run_id: String,
    pub fencing_token: f64,
    pub owner: Option<String>,
    pub started_at: f64,
    pub expires_at: f64,
    pub attempt: u32,
    /// JSON text; the facade parses it.
    pub meta: Option<String>,
    pub failed_at: Option<f64>,
    pub error: Option<String>,
    pub approved_at: Option<f64>,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
}

impl GuardInfoOut {
    pub fn new(key: String, v: GuardInfo) -> Self {
        GuardInfoOut {
            key,
            state: v.state.as_str().to_owned(),
            run_id: v.run_id,
            fencing_token: v.fencing_token as f64,
            owner: v.owner,
            started_at: v.started_at as f64,
            expires_at: v.expires_at as f64,
            attempt: v.attempt,
            meta: v.meta,
            failed_at: v.failed_at.map(|t| t as f64),
            error: v.error,
            approved_at: v.approved_at.map(|t| t as f64),
            approved_by: v.approved_by,
            reason: v.reason,
        }
    }
}

#[napi(object)]
pub struct CountsOut {
    pub running: f64,
    pub stale: f64,
    pub failed: f64,
    pub approved: f64,
}

#[napi(object)]
pub struct InspectOut {
    pub now: f64,
    pub guards: Vec<GuardInfoOut>,
    /// Absent when not asked for.
    pub counts: Option<CountsOut>,
    /// The cursor of the next page, or absent at the end.
    pub next: Option<String>,
}

#[napi(object)]
pub struct EventOut {
    #[napi(js_name = "type")]
    pub kind: String,
    pub key: String,
    pub run_id: String,
    pub at: f64,
    /// conflict: why the caller was turned away.
    pub status: Option<String>,
    /// released: how the run ended.
    pub release_status: Option<String>,
    /// healed: the run that replaced the stale one.
    pub healed_by: Option<String>,
    /// failed: 'released' or 'stale'.
    pub cause: Option<String>,
}

impl EventOut {
    pub fn new(e: Event, key: &str, at: i64) -> Self {
        let mut out = EventOut {
            kind: e.kind.as_str().to_owned(),
            key: key.to_owned(),
            run_id: e.run_id.to_string(),
            at: at as f64,
            status: None,
            release_status: None,
            healed_by: None,
            cause: None,
        };
        match e.kind {
            EventKind::Conflict => out.status = e.detail,
            EventKind::Released => out.release_status = e.detail,
            EventKind::Healed => out.healed_by = e.detail,
            EventKind::Failed => out.cause = e.detail,
            EventKind::Acquired | EventKind::Approved => {}
        }
        out
    }
}

pub fn release_code(r: &ReleaseReply, out: &mut [f64]) -> u32 {
    match r {
        ReleaseReply::Released { ended_at, .. } => {
            out[0] = *ended_at as f64;
            RELEASED
        }
        ReleaseReply::Lost => LOST,
        ReleaseReply::NotOwner => NOT_OWNER,
        ReleaseReply::AlreadyReleased => ALREADY_RELEASED,
        ReleaseReply::NotRunning => NOT_RUNNING,
    }
}

pub fn heartbeat_code(r: &HeartbeatReply, out: &mut [f64]) -> u32 {
    match r {
        HeartbeatReply::Extended { expires_at } => {
            out[0] = *expires_at as f64;
            EXTENDED
        }
        HeartbeatReply::Lost => LOST,
        HeartbeatReply::NotOwner => NOT_OWNER,
        HeartbeatReply::NotRunning => NOT_RUNNING,
    }
}
