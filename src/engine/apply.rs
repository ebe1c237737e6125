use super::command::{
    Acquire, ApproveRetry, Command, ForceRelease, Heartbeat, Outcome, Release, ReleaseStatus,
};
use super::ids::RunId;
use super::limits::MAX_ERROR_BYTES;
use super::policy::{OnStale, Policy};
use super::record::{
    Approval, Ended, EndedHow, Failure, FailureCause, Given, Kept, Phase, Record, Run,
};
use super::reply::{
    AcquireReply, ApproveReply, ForceReleaseReply, HeartbeatReply, OutcomeReply, ReleaseReply,
    Reply, RunInfo,
};

/// What a store hands to `apply` besides the record: the one clock reading for
/// this command, the policy, and how to mint ids (kept out of the engine so
/// `apply` stays deterministic and testable).
pub struct Context<'a> {
    pub now: i64,
    pub policy: &'a Policy,
    /// The largest fencing token of any record this store has purged; a store
    /// that never purges passes 0.
    pub fence_floor: u64,
    /// Given `now`, so time-ordered ids (UUID v7) need no second clock read.
    pub new_run_id: &'a mut dyn FnMut(i64) -> RunId,
}

pub struct Applied {
    pub reply: Reply,
    /// False when the record is untouched: the store must not write it.
    /// `apply` reads only the record, the command and `ctx.now` (a new run id
    /// or fence only for a change), so a command that changed nothing answers
    /// the same again on that record at that instant: a store may give that
    /// reply to repeats of it (`MemoryStore::execute_repeated`).
    pub changed: bool,
}

/// The guard's state machine: the only place where its semantics live.
pub fn apply(record: &mut Record, command: Command, ctx: &mut Context) -> Applied {
    let (reply, changed) = match command {
        Command::Acquire(c) => {
            let (r, ch) = acquire(record, c, ctx);
            (Reply::Acquire(r), ch)
        }
        Command::Release(c) => {
            let (r, ch) = release(record, c, ctx.now);
            (Reply::Release(r), ch)
        }
        Command::Heartbeat(c) => {
            let (r, ch) = heartbeat(record, c, ctx.now);
            (Reply::Heartbeat(r), ch)
        }
        Command::ApproveRetry(c) => {
            let (r, ch) = approve(record, c, ctx);
            (Reply::ApproveRetry(r), ch)
        }
        Command::ForceRelease(c) => {
            let (r, ch) = force_release(record, c, ctx.now);
            (Reply::ForceRelease(r), ch)
        }
        Command::Outcome(c) => (Reply::Outcome(outcome(record, &c)), false),
    };
    if changed {
        record.updated_at = ctx.now;
    }
    Applied { reply, changed }
}

/// Strictly above the key's last token and the store's purge floor; also above
/// the clock (in µs-of-ms units) so a key whose record was purged by a store
/// that cannot keep a floor (one without cross-key state) still moves forward.
fn next_fence(record: &Record, ctx: &Context) -> u64 {
    let by_clock = (ctx.now.max(0) as u64).saturating_mul(1000);
    (record.last_fence.max(ctx.fence_floor) + 1).max(by_clock)
}

fn acquire(rec: &mut Record, cmd: Acquire, ctx: &mut Context) -> (AcquireReply, bool) {
    let now = ctx.now;
    match &rec.phase {
        Phase::Idle => match replay(rec, &cmd, now, ctx.policy.replay_ms) {
            Some(reply) => (reply, false),
            None => (grant(rec, cmd, 1, None, ctx), true),
        },
        Phase::Running(run) if !run.is_expired(now) => {
            let reply = mismatch(run, &cmd)
                .unwrap_or_else(|| AcquireReply::AlreadyRunning(RunInfo::from(run)));
            (reply, false)
        }
        Phase::Running(run) => match ctx.policy.on_stale {
            OnStale::Heal => {
                let stale = RunInfo::from(run);
                rec.remember(stale.run_id.clone(), now, EndedHow::Healed);
                let attempt = stale.attempt + 1;
                (grant(rec, cmd, attempt, Some(Box::new(stale)), ctx), true)
            }
            OnStale::Fail => {
                let f = fail_stale(rec, now);
                (awaiting(f, true), true)
            }
        },
        Phase::Failed(f) => (
            mismatch(&f.run, &cmd).unwrap_or_else(|| awaiting(f, false)),
            false,
        ),
        Phase::Approved(f, _) => {
            let how = match f.cause {
                FailureCause::Released => EndedHow::Released(ReleaseStatus::Failed),
                FailureCause::Stale => EndedHow::Expired,
            };
            let (id, at, attempt) = (f.run.run_id.clone(), f.failed_at, f.run.attempt + 1);
            // Its error stays with it: an outcome asked of it later still says why.
            let error = f.error.clone();
            rec.remember_with(id, at, how, error, None);
            (grant(rec, cmd, attempt, None, ctx), true)
        }
    }
}

fn grant(
    rec: &mut Record,
    cmd: Acquire,
    attempt: u32,
    healed_from: Option<Box<RunInfo>>,
    ctx: &mut Context,
) -> AcquireReply {
    let ttl_ms = cmd.ttl_ms.unwrap_or(ctx.policy.default_ttl_ms);
    let fencing_token = next_fence(rec, ctx);
    let run = Run {
        run_id: (ctx.new_run_id)(ctx.now),
        fencing_token,
        started_at: ctx.now,
        expires_at: ctx.now.saturating_add(ttl_ms as i64),
        ttl_ms,
        owner: cmd.owner,
        attempt,
        given: Given::of(
            cmd.meta.map(String::into_boxed_str),
            cmd.fingerprint.map(String::into_boxed_str),
        ),
    };
    let summary = RunInfo::from(&run);
    rec.last_fence = fencing_token;
    rec.phase = Phase::Running(run);
    AcquireReply::Acquired {
        run: summary,
        healed_from,
    }
}

/// Within `replay_ms` after the key's last run succeeded, a duplicate gets that
/// run's result instead of a run; a different payload is not a duplicate.
fn replay(rec: &Record, cmd: &Acquire, now: i64, replay_ms: u64) -> Option<AcquireReply> {
    let last = rec.history.first()?;
    let window_ends = last
        .ended_at
        .saturating_add(replay_ms.min(i64::MAX as u64) as i64);
    if last.how != EndedHow::Released(ReleaseStatus::Succeeded) || now >= window_ends {
        return None;
    }
    if let (Some(expected), Some(given)) = (last.fingerprint(), cmd.fingerprint.as_deref()) {
        if expected != given {
            return Some(AcquireReply::PayloadMismatch {
                run_id: last.run_id.clone(),
                fingerprint: given.to_owned(),
                expected: expected.to_owned(),
            });
        }
    }
    Some(AcquireReply::AlreadyCompleted {
        run_id: last.run_id.clone(),
        ended_at: last.ended_at,
        result: last.result().map(str::to_owned),
    })
}

/// A different payload for the same task while `run` holds the key: told
/// apart from a duplicate. Either side without a fingerprint is no evidence.
fn mismatch(run: &Run, cmd: &Acquire) -> Option<AcquireReply> {
    let (expected, given) = (run.fingerprint()?, cmd.fingerprint.as_deref()?);
    (expected != given).then(|| AcquireReply::PayloadMismatch {
        run_id: run.run_id.clone(),
        fingerprint: given.to_owned(),
        expected: expected.to_owned(),
    })
}

fn awaiting(f: &Failure, newly_failed: bool) -> AcquireReply {
    AcquireReply::AwaitingApproval {
        failed_run_id: f.run.run_id.clone(),
        failed_at: f.failed_at,
        error: f.error.clone(),
        attempt: f.run.attempt,
        newly_failed,
    }
}

/// Turns the running (expired) run into a failure awaiting approval.
fn fail_stale(rec: &mut Record, now: i64) -> &Failure {
    let Phase::Running(run) = std::mem::replace(&mut rec.phase, Phase::Idle) else {
        unreachable!("fail_stale is only called on a running record")
    };
    let error = format!(
        "run went stale: no heartbeat or release before its expiry at {}",
        run.expires_at
    );
    rec.phase = Phase::Failed(Box::new(Failure {
        run,
        failed_at: now,
        error: Some(error),
        cause: FailureCause::Stale,
    }));
    match &rec.phase {
        Phase::Failed(f) => f,
        _ => unreachable!(),
    }
}

fn release(rec: &mut Record, cmd: Release, now: i64) -> (ReleaseReply, bool) {
    match &rec.phase {
        Phase::Running(run) if run.run_id == cmd.run_id => {
            let Phase::Running(run) = std::mem::replace(&mut rec.phase, Phase::Idle) else {
                unreachable!()
            };
            let ran_ms = now.saturating_sub(run.started_at).max(0) as u64;
            match cmd.status {
                ReleaseStatus::Failed => {
                    rec.phase = Phase::Failed(Box::new(Failure {
                        run,
                        failed_at: now,
                        error: cmd.error.map(truncate_error),
                        cause: FailureCause::Released,
                    }))
                }
                ReleaseStatus::Succeeded => {
                    let fingerprint = run.given.and_then(|g| g.fingerprint);
                    let kept = Kept::of(cmd.result.map(String::into_boxed_str), fingerprint);
                    rec.remember_with(run.run_id, now, EndedHow::Released(cmd.status), None, kept);
                }
                ReleaseStatus::Cancelled => {
                    let note = cmd.error.map(truncate_error);
                    rec.remember_with(run.run_id, now, EndedHow::Released(cmd.status), note, None);
                }
            }
            let reply = ReleaseReply::Released {
                run_id: cmd.run_id,
                status: cmd.status,
                ended_at: now,
                ran_ms,
            };
            (reply, true)
        }
        Phase::Failed(f) | Phase::Approved(f, _) if f.run.run_id == cmd.run_id => {
            let reply = match f.cause {
                FailureCause::Released => ReleaseReply::AlreadyReleased,
                FailureCause::Stale => ReleaseReply::Lost,
            };
            (reply, false)
        }
        _ => {
            let reply = match rec.ended(&cmd.run_id).map(|e| e.how) {
                Some(EndedHow::Released(_)) => ReleaseReply::AlreadyReleased,
                Some(EndedHow::Healed | EndedHow::Expired | EndedHow::Forced) => ReleaseReply::Lost,
                None if matches!(rec.phase, Phase::Running(_)) => ReleaseReply::NotOwner,
                None => ReleaseReply::NotRunning,
            };
            (reply, false)
        }
    }
}

fn heartbeat(rec: &mut Record, cmd: Heartbeat, now: i64) -> (HeartbeatReply, bool) {
    match &mut rec.phase {
        Phase::Running(run) if run.run_id == cmd.run_id => {
            // A run past its expiry that nobody replaced yet is still this owner's.
            let ttl = cmd.ttl_ms.unwrap_or(run.ttl_ms);
            run.ttl_ms = ttl;
            run.expires_at = now.saturating_add(ttl as i64);
            (
                HeartbeatReply::Extended {
                    expires_at: run.expires_at,
                },
                true,
            )
        }
        Phase::Failed(f) | Phase::Approved(f, _) if f.run.run_id == cmd.run_id => {
            (HeartbeatReply::Lost, false)
        }
        _ => {
            let reply = if rec.ended(&cmd.run_id).is_some() {
                HeartbeatReply::Lost
            } else if matches!(rec.phase, Phase::Running(_)) {
                HeartbeatReply::NotOwner
            } else {
                HeartbeatReply::NotRunning
            };
            (reply, false)
        }
    }
}

fn approve(rec: &mut Record, cmd: ApproveRetry, ctx: &Context) -> (ApproveReply, bool) {
    let now = ctx.now;
    let newly_failed = match &rec.phase {
        Phase::Failed(_) => false,
        // Under `onStale: 'fail'` a stale run already stands for a failure awaiting a
        // human; approving it is that human's decision, so it need not wait for an acquire.
        Phase::Running(run) if run.is_expired(now) && ctx.policy.on_stale == OnStale::Fail => {
            fail_stale(rec, now);
            true
        }
        _ => return (ApproveReply::NotFailed, false),
    };
    let Phase::Failed(f) = std::mem::replace(&mut rec.phase, Phase::Idle) else {
        unreachable!()
    };
    let reply = ApproveReply::Approved {
        failed_run_id: f.run.run_id.clone(),
        approved_at: now,
        next_attempt: f.run.attempt + 1,
        newly_failed,
    };
    rec.phase = Phase::Approved(
        f,
        Box::new(Approval {
            approved_at: now,
            approved_by: cmd.approved_by,
            reason: cmd.reason,
        }),
    );
    (reply, true)
}

/// Clears a running run (stale or not) whose owner an operator knows is gone;
/// that owner's later release or heartbeat answers `lost`.
fn force_release(rec: &mut Record, cmd: ForceRelease, now: i64) -> (ForceReleaseReply, bool) {
    if !matches!(rec.phase, Phase::Running(_)) {
        return (ForceReleaseReply::NotRunning, false);
    }
    let Phase::Running(run) = std::mem::replace(&mut rec.phase, Phase::Idle) else {
        unreachable!()
    };
    let note = match (cmd.by, cmd.reason) {
        (None, None) => None,
        (by, reason) => Some(format!(
            "forced by {}{}",
            by.as_deref().unwrap_or("an operator"),
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        )),
    };
    let run_id = run.run_id.clone();
    rec.remember_with(run.run_id, now, EndedHow::Forced, note, None);
    (
        ForceReleaseReply::Released {
            run_id,
            ended_at: now,
        },
        true,
    )
}

/// How the named run ended, from the record alone: a read, never a change.
fn outcome(rec: &Record, cmd: &Outcome) -> OutcomeReply {
    match &rec.phase {
        Phase::Running(run) if run.run_id == cmd.run_id => {
            return OutcomeReply::Running {
                expires_at: run.expires_at,
            }
        }
        Phase::Failed(f) | Phase::Approved(f, _) if f.run.run_id == cmd.run_id => {
            return OutcomeReply::Failed {
                ended_at: f.failed_at,
                error: f.error.clone(),
            }
        }
        _ => {}
    }
    match rec.ended(&cmd.run_id) {
        Some(e) => ended_outcome(e),
        None => OutcomeReply::Unknown,
    }
}

fn ended_outcome(e: &Ended) -> OutcomeReply {
    let ended_at = e.ended_at;
    match e.how {
        EndedHow::Released(ReleaseStatus::Succeeded) => OutcomeReply::Succeeded {
            ended_at,
            result: e.result().map(str::to_owned),
        },
        EndedHow::Released(ReleaseStatus::Failed) | EndedHow::Expired => OutcomeReply::Failed {
            ended_at,
            error: e.note.clone(),
        },
        EndedHow::Healed => OutcomeReply::Failed {
            ended_at,
            error: Some(
                "run went stale (no heartbeat or release before its expiry) and a later acquire replaced it"
                    .to_owned(),
            ),
        },
        EndedHow::Released(ReleaseStatus::Cancelled) | EndedHow::Forced => {
            OutcomeReply::Cancelled {
                ended_at,
                note: e.note.clone(),
            }
        }
    }
}

fn truncate_error(mut s: String) -> String {
    if s.len() > MAX_ERROR_BYTES {
        let mut cut = MAX_ERROR_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}
