//! Every transition of the state machine, one test each.
use super::*;

struct Harness {
    rec: Record,
    policy: Policy,
    now: i64,
    floor: u64,
    ids: u32,
}

impl Harness {
    fn new() -> Self {
        Harness {
            rec: Record::default(),
            policy: Policy::default(),
            now: 1_000,
            floor: 0,
            ids: 0,
        }
    }
    fn failing_stale() -> Self {
        let mut h = Harness::new();
        h.policy.on_stale = OnStale::Fail;
        h
    }
    fn run(&mut self, cmd: Command) -> (Reply, bool) {
        let mut ids = self.ids;
        let mut gen = |_| {
            ids += 1;
            RunId::from(format!("run-{ids}"))
        };
        let mut ctx = Context {
            now: self.now,
            policy: &self.policy,
            fence_floor: self.floor,
            new_run_id: &mut gen,
        };
        let before = self.rec.clone();
        let a = apply(&mut self.rec, cmd, &mut ctx);
        self.ids = ids;
        if !a.changed {
            assert_eq!(
                before, self.rec,
                "unchanged reply must leave the record as it was"
            );
        }
        (a.reply, a.changed)
    }
    fn acquire(&mut self, ttl: u64) -> AcquireReply {
        match self
            .run(Command::Acquire(Acquire {
                owner: Some("w".into()),
                ttl_ms: Some(ttl),
                meta: None,
                fingerprint: None,
            }))
            .0
        {
            Reply::Acquire(r) => r,
            r => panic!("{r:?}"),
        }
    }
    fn acquired(&mut self, ttl: u64) -> RunInfo {
        match self.acquire(ttl) {
            AcquireReply::Acquired { run, .. } => run,
            r => panic!("expected acquired, got {r:?}"),
        }
    }
    fn release(&mut self, id: impl Into<RunId>, status: ReleaseStatus) -> ReleaseReply {
        let cmd = Release {
            run_id: id.into(),
            status,
            error: Some("boom".into()),
            result: None,
        };
        match self.run(Command::Release(cmd)).0 {
            Reply::Release(r) => r,
            r => panic!("{r:?}"),
        }
    }
    fn heartbeat(&mut self, id: impl Into<RunId>, ttl: Option<u64>) -> HeartbeatReply {
        match self
            .run(Command::Heartbeat(Heartbeat {
                run_id: id.into(),
                ttl_ms: ttl,
            }))
            .0
        {
            Reply::Heartbeat(r) => r,
            r => panic!("{r:?}"),
        }
    }
    fn approve(&mut self) -> ApproveReply {
        let cmd = ApproveRetry {
            approved_by: Some("ops".into()),
            reason: Some("fixed".into()),
        };
        match self.run(Command::ApproveRetry(cmd)).0 {
            Reply::ApproveRetry(r) => r,
            r => panic!("{r:?}"),
        }
    }
    fn state(&self) -> Option<GuardState> {
        view(&self.rec, self.now).map(|v| v.state)
    }
}

#[test]
fn acquire_on_idle_grants_attempt_one_with_expiry() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    assert_eq!(run.run_id, "run-1");
    assert_eq!(run.attempt, 1);
    assert_eq!(run.started_at, 1_000);
    assert_eq!(run.expires_at, 1_500);
    assert_eq!(run.owner.as_deref(), Some("w"));
    assert_eq!(h.state(), Some(GuardState::Running));
}

#[test]
fn acquire_uses_policy_default_ttl() {
    let mut h = Harness::new();
    h.policy.default_ttl_ms = 42;
    let r = h
        .run(Command::Acquire(Acquire {
            owner: None,
            ttl_ms: None,
            meta: None,
            fingerprint: None,
        }))
        .0;
    let Reply::Acquire(AcquireReply::Acquired { run, .. }) = r else {
        panic!()
    };
    assert_eq!(run.expires_at, 1_042);
}

#[test]
fn second_acquire_answers_already_running_and_writes_nothing() {
    let mut h = Harness::new();
    let first = h.acquired(500);
    h.now += 10;
    let (r, changed) = h.run(Command::Acquire(Acquire {
        owner: Some("x".into()),
        ttl_ms: None,
        meta: None,
        fingerprint: None,
    }));
    assert!(!changed);
    assert_eq!(r, Reply::Acquire(AcquireReply::AlreadyRunning(first)));
}

#[test]
fn release_succeeded_and_cancelled_free_the_key() {
    for status in [ReleaseStatus::Succeeded, ReleaseStatus::Cancelled] {
        let mut h = Harness::new();
        let run = h.acquired(500);
        h.now += 5;
        assert_eq!(
            h.release(&run.run_id, status),
            ReleaseReply::Released {
                run_id: run.run_id.clone(),
                status,
                ended_at: 1_005,
                ran_ms: 5,
            }
        );
        assert_eq!(h.state(), None);
        let again = h.acquired(500);
        assert_eq!(again.attempt, 1, "a success resets the attempt count");
        assert!(again.fencing_token > run.fencing_token);
    }
}

#[test]
fn releasing_twice_is_idempotent() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.release(&run.run_id, ReleaseStatus::Succeeded);
    assert_eq!(
        h.release(&run.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::AlreadyReleased
    );
    assert_eq!(
        h.release(&run.run_id, ReleaseStatus::Failed),
        ReleaseReply::AlreadyReleased
    );
    assert_eq!(
        h.state(),
        None,
        "a late 'failed' must not fail a finished run"
    );
}

#[test]
fn release_naming_another_run_is_not_owner() {
    let mut h = Harness::new();
    h.acquired(500);
    assert_eq!(
        h.release("someone-else", ReleaseStatus::Succeeded),
        ReleaseReply::NotOwner
    );
    assert_eq!(h.state(), Some(GuardState::Running));
}

#[test]
fn release_naming_a_key_with_nothing_running_is_not_running() {
    let mut idle = Harness::new();
    let (r, changed) = idle.run(Command::Release(Release {
        run_id: "nobody".into(),
        status: ReleaseStatus::Succeeded,
        error: None,
        result: None,
    }));
    assert_eq!(r, Reply::Release(ReleaseReply::NotRunning));
    assert!(!changed);
    assert!(events_of(&r).is_empty());
    // A failed key runs nothing, nor does an approved one; a remembered run still
    // answers by how it ended.
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.release(&run.run_id, ReleaseStatus::Failed);
    assert_eq!(
        h.release("nobody", ReleaseStatus::Succeeded),
        ReleaseReply::NotRunning
    );
    h.approve();
    assert_eq!(
        h.release("nobody", ReleaseStatus::Failed),
        ReleaseReply::NotRunning
    );
    assert_eq!(h.state(), Some(GuardState::Approved));
    let next = h.acquired(500);
    h.release(&next.run_id, ReleaseStatus::Succeeded);
    assert_eq!(h.state(), None);
    assert_eq!(
        h.release("nobody", ReleaseStatus::Succeeded),
        ReleaseReply::NotRunning
    );
    assert_eq!(
        h.release(&next.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::AlreadyReleased
    );
    assert_eq!(
        h.release(&run.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::AlreadyReleased
    );
    // Running again: a foreign run is not the owner.
    h.acquired(500);
    assert_eq!(
        h.release("nobody", ReleaseStatus::Succeeded),
        ReleaseReply::NotOwner
    );
}

#[test]
fn failed_release_blocks_until_approved() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.release(&run.run_id, ReleaseStatus::Failed);
    assert_eq!(h.state(), Some(GuardState::Failed));
    h.now += 1_000_000;
    match h.acquire(500) {
        AcquireReply::AwaitingApproval {
            failed_run_id,
            error,
            attempt,
            newly_failed,
            failed_at,
        } => {
            assert_eq!(failed_run_id, run.run_id);
            assert_eq!(error.as_deref(), Some("boom"));
            assert_eq!(attempt, 1);
            assert_eq!(failed_at, 1_000);
            assert!(!newly_failed);
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(
        h.release(&run.run_id, ReleaseStatus::Failed),
        ReleaseReply::AlreadyReleased
    );
    assert_eq!(h.heartbeat(&run.run_id, None), HeartbeatReply::Lost);
    match h.approve() {
        ApproveReply::Approved {
            failed_run_id,
            next_attempt,
            newly_failed,
            ..
        } => {
            assert_eq!(failed_run_id, run.run_id);
            assert_eq!(next_attempt, 2);
            assert!(!newly_failed);
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(h.state(), Some(GuardState::Approved));
    let v = view(&h.rec, h.now).unwrap();
    assert_eq!(v.approved_by.as_deref(), Some("ops"));
    assert_eq!(v.reason.as_deref(), Some("fixed"));
    let retry = h.acquired(500);
    assert_eq!(retry.attempt, 2);
    assert!(retry.fencing_token > run.fencing_token);
    assert_eq!(
        h.release(&run.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::AlreadyReleased
    );
}

#[test]
fn approve_on_anything_but_failed_is_not_failed() {
    let mut h = Harness::new();
    assert_eq!(h.approve(), ApproveReply::NotFailed);
    let run = h.acquired(500);
    assert_eq!(h.approve(), ApproveReply::NotFailed);
    h.release(&run.run_id, ReleaseStatus::Failed);
    assert!(matches!(h.approve(), ApproveReply::Approved { .. }));
    assert_eq!(
        h.approve(),
        ApproveReply::NotFailed,
        "approving twice changes nothing"
    );
}

#[test]
fn heartbeat_extends_by_run_ttl_or_given_ttl() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.now += 400;
    assert_eq!(
        h.heartbeat(&run.run_id, None),
        HeartbeatReply::Extended { expires_at: 1_900 }
    );
    h.now += 100;
    assert_eq!(
        h.heartbeat(&run.run_id, Some(50)),
        HeartbeatReply::Extended { expires_at: 1_550 }
    );
    h.now += 10;
    assert_eq!(
        h.heartbeat(&run.run_id, None),
        HeartbeatReply::Extended { expires_at: 1_560 }
    );
    assert_eq!(h.heartbeat("other", None), HeartbeatReply::NotOwner);
}

#[test]
fn heartbeat_naming_a_key_with_nothing_running_is_not_running() {
    let mut idle = Harness::new();
    assert_eq!(idle.heartbeat("nobody", None), HeartbeatReply::NotRunning);
    let mut h = Harness::new();
    let run = h.acquired(500);
    assert_eq!(h.heartbeat("nobody", None), HeartbeatReply::NotOwner);
    h.release(&run.run_id, ReleaseStatus::Failed);
    assert_eq!(h.heartbeat("nobody", None), HeartbeatReply::NotRunning);
    // The run that ended still answers by how it ended.
    assert_eq!(h.heartbeat(&run.run_id, None), HeartbeatReply::Lost);
}

#[test]
fn heartbeat_after_release_is_lost() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.release(&run.run_id, ReleaseStatus::Succeeded);
    assert_eq!(h.heartbeat(&run.run_id, None), HeartbeatReply::Lost);
}

#[test]
fn stale_run_is_healed_by_next_acquire() {
    let mut h = Harness::new();
    let old = h.acquired(500);
    h.now = old.expires_at;
    assert_eq!(h.state(), Some(GuardState::Stale));
    match h.acquire(500) {
        AcquireReply::Acquired { run, healed_from } => {
            assert_eq!(healed_from.as_deref(), Some(&old));
            assert_eq!(run.attempt, 2);
            assert!(run.fencing_token > old.fencing_token);
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(
        h.release(&old.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::Lost
    );
    assert_eq!(h.heartbeat(&old.run_id, None), HeartbeatReply::Lost);
    assert_eq!(h.state(), Some(GuardState::Running));
}

#[test]
fn stale_but_unreplaced_run_can_still_heartbeat_and_release() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.now += 600;
    assert_eq!(
        h.heartbeat(&run.run_id, None),
        HeartbeatReply::Extended { expires_at: 2_100 }
    );
    assert_eq!(h.state(), Some(GuardState::Running));
    h.now += 1_000;
    assert!(matches!(
        h.release(&run.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::Released { .. }
    ));
}

#[test]
fn stale_run_under_fail_policy_becomes_failed_on_acquire() {
    let mut h = Harness::failing_stale();
    let old = h.acquired(500);
    h.now = old.expires_at + 1;
    match h.acquire(500) {
        AcquireReply::AwaitingApproval {
            failed_run_id,
            newly_failed,
            error,
            ..
        } => {
            assert_eq!(failed_run_id, old.run_id);
            assert!(newly_failed);
            assert!(error.unwrap().contains("stale"));
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(h.state(), Some(GuardState::Failed));
    assert!(matches!(
        h.acquire(500),
        AcquireReply::AwaitingApproval {
            newly_failed: false,
            ..
        }
    ));
    assert_eq!(
        h.release(&old.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::Lost
    );
    assert!(matches!(
        h.approve(),
        ApproveReply::Approved {
            next_attempt: 2,
            ..
        }
    ));
    let next = h.acquired(500);
    assert_eq!(next.attempt, 2);
    assert_eq!(
        h.release(&old.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::Lost
    );
}

#[test]
fn approving_a_stale_run_under_fail_policy_fails_then_approves_it() {
    let mut h = Harness::failing_stale();
    let old = h.acquired(500);
    h.now = old.expires_at;
    assert!(matches!(
        h.approve(),
        ApproveReply::Approved {
            newly_failed: true,
            ..
        }
    ));
    assert_eq!(h.state(), Some(GuardState::Approved));
    let mut heal = Harness::new();
    let r = heal.acquired(500);
    heal.now = r.expires_at;
    assert_eq!(
        heal.approve(),
        ApproveReply::NotFailed,
        "under heal, stale is not a failure"
    );
}

#[test]
fn fences_rise_above_purge_floor_and_clock() {
    let mut h = Harness::new();
    h.now = 0;
    let a = h.acquired(500);
    h.release(&a.run_id, ReleaseStatus::Succeeded);
    let b = h.acquired(500);
    assert_eq!(b.fencing_token, a.fencing_token + 1);
    h.release(&b.run_id, ReleaseStatus::Succeeded);
    // the record was purged: a fresh record, but the store remembers a floor
    h.rec = Record::default();
    h.floor = 1_000_000;
    let c = h.acquired(500);
    assert_eq!(c.fencing_token, 1_000_001);
    // a store without a floor still moves forward with the clock
    h.rec = Record::default();
    h.floor = 0;
    h.now = 5_000;
    let d = h.acquired(500);
    assert_eq!(d.fencing_token, 5_000_000);
}

#[test]
fn history_is_bounded_and_purgeable_only_when_idle() {
    let mut h = Harness::new();
    for _ in 0..10 {
        let r = h.acquired(500);
        h.release(&r.run_id, ReleaseStatus::Succeeded);
    }
    assert_eq!(h.rec.history.len(), HISTORY_LEN);
    assert!(h.rec.is_purgeable(h.now + 100, 100));
    assert!(!h.rec.is_purgeable(h.now + 99, 100));
    let r = h.acquired(500);
    assert!(!h.rec.is_purgeable(h.now + 1_000_000, 100));
    h.release(&r.run_id, ReleaseStatus::Failed);
    assert!(
        !h.rec.is_purgeable(h.now + 1_000_000, 100),
        "failed guards are never purged"
    );
}

#[test]
fn long_errors_are_cut_at_a_char_boundary() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    let cmd = Release {
        run_id: run.run_id,
        status: ReleaseStatus::Failed,
        error: Some("é".repeat(5000)),
        result: None,
    };
    h.run(Command::Release(cmd));
    let err = view(&h.rec, h.now).unwrap().error.unwrap();
    assert!(err.len() <= MAX_ERROR_BYTES && err.len() >= MAX_ERROR_BYTES - 1);
}

#[test]
fn keys_and_namespaces_are_validated() {
    assert!(validate_key("", 10).is_err());
    assert!(validate_key("abc", 2).is_err());
    assert!(validate_key("a\0b", 10).is_err());
    assert!(validate_key("agent:main:telegram:direct:1::report", 1024).is_ok());
    assert!(validate_namespace("tenant-1.prod:x").is_ok());
    assert!(validate_namespace("a/b").is_err());
    assert!(
        validate_namespace("").is_err(),
        "empty is refused, not read as none"
    );
    assert_eq!(storage_key("ns", "k"), "ns/k");
    assert_eq!(storage_key("", "k"), "k");
    assert!(GuardState::parse("idle").is_err());
}

#[test]
fn force_release_clears_a_running_run_and_its_owner_is_lost() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    let cmd = ForceRelease {
        by: Some("ops".into()),
        reason: Some("worker died".into()),
    };
    let (r, changed) = h.run(Command::ForceRelease(cmd.clone()));
    assert!(changed);
    assert_eq!(
        r,
        Reply::ForceRelease(ForceReleaseReply::Released {
            run_id: run.run_id.clone(),
            ended_at: h.now
        })
    );
    assert_eq!(
        h.rec.history[0].note.as_deref(),
        Some("forced by ops: worker died")
    );
    assert_eq!(h.state(), None);
    assert_eq!(
        h.release(&run.run_id, ReleaseStatus::Succeeded),
        ReleaseReply::Lost
    );
    assert_eq!(h.heartbeat(&run.run_id, None), HeartbeatReply::Lost);
    let (r, changed) = h.run(Command::ForceRelease(cmd.clone()));
    assert_eq!(r, Reply::ForceRelease(ForceReleaseReply::NotRunning));
    assert!(!changed);
    let next = h.acquired(500);
    h.release(&next.run_id, ReleaseStatus::Failed);
    assert_eq!(
        h.run(Command::ForceRelease(cmd)).0,
        Reply::ForceRelease(ForceReleaseReply::NotRunning),
        "a failure needs approval, not force"
    );
}

#[test]
fn events_follow_replies() {
    let mut h = Harness::new();
    let old = h.acquired(500);
    h.now = old.expires_at;
    let (r, _) = h.run(Command::Acquire(Acquire {
        owner: None,
        ttl_ms: None,
        meta: None,
        fingerprint: None,
    }));
    let kinds: Vec<_> = events_of(&r)
        .into_iter()
        .map(|e| (e.kind, e.run_id))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (EventKind::Healed, old.run_id.clone()),
            (EventKind::Acquired, "run-2".into())
        ]
    );
    let (r, _) = h.run(Command::Acquire(Acquire {
        owner: None,
        ttl_ms: None,
        meta: None,
        fingerprint: None,
    }));
    assert_eq!(events_of(&r)[0].kind, EventKind::Conflict);
    let rel = h.release("run-2", ReleaseStatus::Failed);
    let events = events_of(&Reply::Release(rel));
    assert_eq!(events[0].kind, EventKind::Failed);
    assert_eq!(events[0].run_id, "run-2");
}

#[test]
fn run_ids_are_validated_by_shape() {
    // The stores' minted ids pass too: see `store::run_ids_are_uuid_v7_with_the_given_time`.
    assert!(validate_run_id("0189f7a2-3b4c-7d5e-8f60-123456789abc").is_ok());
    for bad in [
        "succeeded",
        "failed",
        "",
        "not-a-run",
        "0189F7A2-3B4C-7D5E-8F60-123456789ABC",  // upper case
        "0189f7a2-3b4c-4d5e-8f60-123456789abc",  // version 4
        "0189f7a2-3b4c-7d5e-cf60-123456789abc",  // variant
        "0189f7a23b4c7d5e8f60123456789abc",      // no hyphens
        " 0189f7a2-3b4c-7d5e-8f60-123456789abc", // padded
        "0189f7a2-3b4c-7d5e-8f60-123456789abc ",
        "0189f7a2-3b4c-7d5e-8f60-123456789abg",
        "0189f7a2-3b4c-7d5e-8f60-12345678é",
    ] {
        let err = validate_run_id(bad).expect_err(bad);
        assert!(err.0.starts_with("runId must be"), "{}", err.0);
    }
    let long = "x".repeat(10_000);
    assert!(validate_run_id(&long).unwrap_err().0.len() < 200);
}

#[test]
fn the_engine_says_who_may_try_again_and_when() {
    let mut h = Harness::new();
    let run = h.acquired(500);
    h.now += 200;
    let (conflict, _) = h.run(Command::Acquire(Acquire {
        owner: None,
        ttl_ms: None,
        meta: None,
        fingerprint: None,
    }));
    assert_eq!(conflict.retry_in_ms(h.now), Some(300));
    assert_eq!(
        conflict.retry_in_ms(h.now + 1_000),
        Some(0),
        "past expiry: now"
    );
    assert!(!conflict.lets_waiters_in());
    let released = Reply::Release(h.release(&run.run_id, ReleaseStatus::Failed));
    assert!(
        released.lets_waiters_in(),
        "waiters are answered awaiting_approval at once"
    );
    assert_eq!(released.retry_in_ms(h.now), None);
    let (blocked, _) = h.run(Command::Acquire(Acquire {
        owner: None,
        ttl_ms: None,
        meta: None,
        fingerprint: None,
    }));
    assert_eq!(
        blocked.retry_in_ms(h.now),
        None,
        "only an approval lets them in"
    );
    let (approved, _) = h.run(Command::ApproveRetry(ApproveRetry {
        approved_by: None,
        reason: None,
    }));
    assert!(approved.lets_waiters_in());
}

#[test]
fn the_answers_that_end_a_run_are_told_apart() {
    let mut h = Harness::failing_stale();
    let run = h.acquired(100);
    let (conflict, _) = h.run(acquire_with(None));
    assert!(!conflict.ends_a_run(), "a duplicate ends nothing");
    h.now += 1_000;
    let (stale_failure, _) = h.run(acquire_with(None));
    assert!(
        matches!(
            stale_failure,
            Reply::Acquire(AcquireReply::AwaitingApproval {
                newly_failed: true,
                ..
            })
        ),
        "{stale_failure:?}"
    );
    assert!(
        stale_failure.ends_a_run(),
        "the stale run ended as a failure"
    );
    let (again, _) = h.run(acquire_with(None));
    assert!(!again.ends_a_run(), "that failure was already recorded");
    let _ = run;

    let mut h = Harness::new();
    let old = h.acquired(100);
    h.now += 1_000;
    let (healed, _) = h.run(acquire_with(None));
    assert!(healed.ends_a_run(), "a heal ends the stale run");
    let (dup, _) = h.run(acquire_with(None));
    assert!(!dup.ends_a_run());
    let current = match healed {
        Reply::Acquire(AcquireReply::Acquired { run, .. }) => run,
        r => panic!("{r:?}"),
    };
    assert!(Reply::Release(h.release(&current.run_id, ReleaseStatus::Succeeded)).ends_a_run());
    assert!(!Reply::Release(h.release(&old.run_id, ReleaseStatus::Succeeded)).ends_a_run());
    let fresh = h.acquired(100);
    let (forced, _) = h.run(Command::ForceRelease(ForceRelease {
        by: None,
        reason: None,
    }));
    assert!(forced.ends_a_run());
    let _ = fresh;
    let (fresh_grant, _) = h.run(acquire_with(None));
    assert!(
        !fresh_grant.ends_a_run(),
        "a grant on an idle key ends nothing"
    );
}

fn acquire_with(fingerprint: Option<&str>) -> Command {
    Command::Acquire(Acquire {
        owner: None,
        ttl_ms: Some(500),
        meta: None,
        fingerprint: fingerprint.map(str::to_owned),
    })
}

#[test]
fn a_different_payload_is_told_apart_from_a_duplicate() {
    let mut h = Harness::new();
    let (granted, _) = h.run(acquire_with(Some("sha256:a")));
    let Reply::Acquire(AcquireReply::Acquired { run, .. }) = granted else {
        panic!("{granted:?}")
    };
    // The same payload, or one without a fingerprint: a duplicate.
    for same in [Some("sha256:a"), None] {
        assert!(matches!(
            h.run(acquire_with(same)).0,
            Reply::Acquire(AcquireReply::AlreadyRunning(_))
        ));
    }
    let (other, changed) = h.run(acquire_with(Some("sha256:b")));
    assert_eq!(
        other,
        Reply::Acquire(AcquireReply::PayloadMismatch {
            run_id: run.run_id.clone(),
            fingerprint: "sha256:b".into(),
            expected: "sha256:a".into(),
        })
    );
    assert!(!changed);
    assert_eq!(
        events_of(&other)[0].detail.as_deref(),
        Some("payload_mismatch")
    );
    assert_eq!(
        other.retry_in_ms(h.now),
        None,
        "a waiter does not wait on a mismatch"
    );
    // Failed awaiting approval: still that payload's.
    h.release(&run.run_id, ReleaseStatus::Failed);
    assert!(matches!(
        h.run(acquire_with(Some("sha256:b"))).0,
        Reply::Acquire(AcquireReply::PayloadMismatch { .. })
    ));
    assert!(matches!(
        h.run(acquire_with(Some("sha256:a"))).0,
        Reply::Acquire(AcquireReply::AwaitingApproval { .. })
    ));
    // Approved: the next attempt may carry any payload.
    h.run(Command::ApproveRetry(ApproveRetry {
        approved_by: None,
        reason: None,
    }));
    assert!(matches!(
        h.run(acquire_with(Some("sha256:b"))).0,
        Reply::Acquire(AcquireReply::Acquired { .. })
    ));
}
