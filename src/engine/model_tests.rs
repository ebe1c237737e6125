//! Random command sequences against a deliberately naive model of the rules.
use proptest::prelude::*;

use super::*;

#[derive(Clone, Debug)]
enum Op {
    Acquire { ttl: u64 },
    Release { which: usize, status: u8 },
    Heartbeat { which: usize },
    Approve,
    Outcome { which: usize },
    Tick(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u64..50).prop_map(|ttl| Op::Acquire { ttl }),
        (0usize..8, 0u8..3).prop_map(|(which, status)| Op::Release { which, status }),
        (0usize..8).prop_map(|which| Op::Heartbeat { which }),
        Just(Op::Approve),
        (0usize..8).prop_map(|which| Op::Outcome { which }),
        (0i64..60).prop_map(Op::Tick),
    ]
}

/// What the rules say, tracked independently of `Record`.
#[derive(Default)]
struct Model {
    live: Option<(RunId, i64)>, // run id, expires_at
    failed: Option<RunId>,
    approved: bool,
    /// Ended runs as the record remembers them, newest first: id, how ("succeeded",
    /// "cancelled", "failed"), when.
    ended: Vec<(RunId, &'static str, i64)>,
}

impl Model {
    fn remember(&mut self, id: RunId, how: &'static str, at: i64) {
        self.ended.insert(0, (id, how, at));
        self.ended.truncate(HISTORY_LEN);
    }
}

/// Random command sequences, under a random stale rule and replay window.
fn sequences() -> impl Strategy<Value = (Vec<Op>, Policy)> {
    (
        proptest::collection::vec(op(), 1..120),
        any::<bool>(),
        prop_oneof![Just(0u64), 1u64..80],
    )
        .prop_map(|(ops, fail_on_stale, replay_ms)| {
            let mut policy = Policy::default();
            if fail_on_stale {
                policy.on_stale = OnStale::Fail;
            }
            policy.replay_ms = replay_ms;
            (ops, policy)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn random_sequences_keep_the_invariants(
        (ops, policy) in sequences(),
    ) {
        let fail_on_stale = policy.on_stale == OnStale::Fail;
        let mut rec = Record::default();
        let mut now = 0i64;
        let mut n = 0u32;
        let mut granted: Vec<RunId> = Vec::new();
        let mut last_fence = 0u64;
        let mut m = Model::default();

        for op in ops {
            let mut gen = |_| { n += 1; RunId::from(format!("r{n}")) };
            let mut ctx = Context { now, policy: &policy, fence_floor: 0, new_run_id: &mut gen };
            match op {
                Op::Tick(d) => { now += d; continue; }
                Op::Acquire { ttl } => {
                    let cmd = Command::Acquire(Acquire { owner: None, ttl_ms: Some(ttl), meta: None, fingerprint: None });
                    let a = apply(&mut rec, cmd, &mut ctx);
                    let Reply::Acquire(r) = a.reply else { panic!() };
                    let stale_live = m.live.as_ref().map(|(_, exp)| now >= *exp);
                    // Idle, and the key's last ended run succeeded within the window.
                    let replays = m.live.is_none() && m.failed.is_none()
                        && matches!(m.ended.first(), Some((_, "succeeded", at)) if now < at + policy.replay_ms as i64);
                    prop_assert_eq!(matches!(r, AcquireReply::AlreadyCompleted { .. }), replays);
                    match r {
                        AcquireReply::Acquired { run, healed_from } => {
                            prop_assert!(m.failed.is_none() || m.approved, "failed run became acquirable without approval");
                            match (&m.live, stale_live) {
                                (Some((id, _)), Some(true)) => {
                                    prop_assert!(!fail_on_stale);
                                    prop_assert_eq!(&healed_from.unwrap().run_id, id);
                                }
                                (Some(_), _) => prop_assert!(false, "two live runs"),
                                (None, _) => prop_assert!(healed_from.is_none()),
                            }
                            if let (Some((id, _)), Some(true)) = (&m.live, stale_live) {
                                m.remember(id.clone(), "failed", now);
                            }
                            if m.approved {
                                let id = m.failed.clone().unwrap();
                                m.remember(id, "failed", now);
                            }
                            prop_assert!(run.fencing_token > last_fence, "fence did not increase");
                            last_fence = run.fencing_token;
                            m.live = Some((run.run_id.clone(), run.expires_at));
                            m.failed = None;
                            m.approved = false;
                            granted.push(run.run_id);
                        }
                        AcquireReply::PayloadMismatch { .. } => {
                            prop_assert!(false, "no fingerprints here, so no mismatch");
                        }
                        AcquireReply::AlreadyCompleted { run_id, .. } => {
                            prop_assert_eq!(&run_id, &m.ended[0].0);
                            prop_assert!(!a.changed);
                        }
                        AcquireReply::AlreadyRunning(run) => {
                            prop_assert_eq!(stale_live, Some(false));
                            prop_assert_eq!(&Some(run.run_id), &m.live.as_ref().map(|l| l.0.clone()));
                            prop_assert!(!a.changed);
                        }
                        AcquireReply::AwaitingApproval { failed_run_id, newly_failed, .. } => {
                            if newly_failed {
                                prop_assert!(fail_on_stale && stale_live == Some(true));
                                m.failed = m.live.take().map(|l| l.0);
                            }
                            prop_assert!(!m.approved);
                            prop_assert_eq!(Some(failed_run_id), m.failed.clone());
                        }
                    }
                }
                Op::Release { which, status } => {
                    let Some(id) = granted.get(which % granted.len().max(1)).cloned() else { continue };
                    let status = [ReleaseStatus::Succeeded, ReleaseStatus::Failed, ReleaseStatus::Cancelled][status as usize];
                    let cmd = Command::Release(Release { run_id: id.clone(), status, error: None, result: None });
                    let a = apply(&mut rec, cmd, &mut ctx);
                    let Reply::Release(r) = a.reply else { panic!() };
                    let is_live = m.live.as_ref().map(|l| l.0 == id).unwrap_or(false);
                    prop_assert_eq!(matches!(r, ReleaseReply::Released { .. }), is_live);
                    if is_live {
                        m.live = None;
                        match status {
                            ReleaseStatus::Failed => { m.failed = Some(id); m.approved = false; }
                            ReleaseStatus::Succeeded => m.remember(id, "succeeded", now),
                            ReleaseStatus::Cancelled => m.remember(id, "cancelled", now),
                        }
                    } else {
                        prop_assert!(!a.changed);
                    }
                }
                Op::Heartbeat { which } => {
                    let Some(id) = granted.get(which % granted.len().max(1)).cloned() else { continue };
                    let a = apply(&mut rec, Command::Heartbeat(Heartbeat { run_id: id.clone(), ttl_ms: None }), &mut ctx);
                    let Reply::Heartbeat(r) = a.reply else { panic!() };
                    let is_live = m.live.as_ref().map(|l| l.0 == id).unwrap_or(false);
                    match r {
                        HeartbeatReply::Extended { expires_at } => {
                            prop_assert!(is_live);
                            m.live.as_mut().unwrap().1 = expires_at;
                        }
                        _ => prop_assert!(!is_live),
                    }
                }
                Op::Outcome { which } => {
                    let Some(id) = granted.get(which % granted.len().max(1)).cloned() else { continue };
                    let a = apply(&mut rec, Command::Outcome(Outcome { run_id: id.clone() }), &mut ctx);
                    prop_assert!(!a.changed, "an outcome is a read");
                    let Reply::Outcome(o) = a.reply else { panic!() };
                    let expected = if m.live.as_ref().is_some_and(|l| l.0 == id) {
                        "running"
                    } else if m.failed.as_ref() == Some(&id) {
                        "failed"
                    } else {
                        m.ended.iter().find(|e| e.0 == id).map_or("unknown", |e| e.1)
                    };
                    let got = match o {
                        OutcomeReply::Running { .. } => "running",
                        OutcomeReply::Succeeded { .. } => "succeeded",
                        OutcomeReply::Failed { .. } => "failed",
                        OutcomeReply::Cancelled { .. } => "cancelled",
                        OutcomeReply::Unknown => "unknown",
                    };
                    prop_assert_eq!(got, expected, "outcome of {:?}", id);
                }
                Op::Approve => {
                    let a = apply(&mut rec, Command::ApproveRetry(ApproveRetry { approved_by: None, reason: None }), &mut ctx);
                    let Reply::ApproveRetry(r) = a.reply else { panic!() };
                    let stale_fail = fail_on_stale && m.live.as_ref().map(|l| now >= l.1).unwrap_or(false);
                    match r {
                        ApproveReply::Approved { newly_failed, .. } => {
                            prop_assert!((m.failed.is_some() && !m.approved) || stale_fail);
                            if newly_failed { m.failed = m.live.take().map(|l| l.0); }
                            m.approved = true;
                        }
                        ApproveReply::NotFailed => prop_assert!(!stale_fail && (m.failed.is_none() || m.approved)),
                    }
                }
            }
            // The record's own view agrees with the model.
            let state = view(&rec, now).map(|v| v.state);
            let expected = match (&m.live, &m.failed, m.approved) {
                (Some((_, exp)), _, _) if now >= *exp => Some(GuardState::Stale),
                (Some(_), _, _) => Some(GuardState::Running),
                (None, Some(_), true) => Some(GuardState::Approved),
                (None, Some(_), false) => Some(GuardState::Failed),
                (None, None, _) => None,
            };
            prop_assert_eq!(state, expected);
        }
    }

    /// What `Applied::changed` promises stores that answer repeats of a command
    /// with one reply (`MemoryStore::execute_repeated`): a command that changed
    /// nothing leaves the record as it was, and answers the same when made again
    /// at that instant.
    #[test]
    fn a_command_that_changed_nothing_answers_the_same_again(
        (ops, policy) in sequences(),
    ) {
        let mut rec = Record::default();
        let mut now = 0i64;
        let mut n = 0u32;
        let mut granted: Vec<RunId> = Vec::new();
        let mut unchanged = 0;
        for op in ops {
            let pick = |which: usize| granted.get(which % granted.len().max(1)).cloned();
            let cmd = match op {
                Op::Tick(d) => { now += d; continue; }
                Op::Acquire { ttl } => Command::Acquire(Acquire { owner: None, ttl_ms: Some(ttl), meta: None, fingerprint: None }),
                Op::Release { which, status } => {
                    let Some(run_id) = pick(which) else { continue };
                    let status = [ReleaseStatus::Succeeded, ReleaseStatus::Failed, ReleaseStatus::Cancelled][status as usize];
                    Command::Release(Release { run_id, status, error: None, result: None })
                }
                Op::Heartbeat { which } => {
                    let Some(run_id) = pick(which) else { continue };
                    Command::Heartbeat(Heartbeat { run_id, ttl_ms: None })
                }
                Op::Outcome { which } => {
                    let Some(run_id) = pick(which) else { continue };
                    Command::Outcome(Outcome { run_id })
                }
                Op::Approve => Command::ApproveRetry(ApproveRetry { approved_by: None, reason: None }),
            };
            let mut gen = |_| { n += 1; RunId::from(format!("r{n}")) };
            let mut ctx = Context { now, policy: &policy, fence_floor: 0, new_run_id: &mut gen };
            let before = rec.clone();
            let first = apply(&mut rec, cmd.clone(), &mut ctx);
            if let Reply::Acquire(AcquireReply::Acquired { run, .. }) = &first.reply {
                granted.push(run.run_id.clone());
            }
            if first.changed { continue; }
            unchanged += 1;
            prop_assert_eq!(&rec, &before, "changed nothing, yet the record differs");
            let again = apply(&mut rec, cmd, &mut ctx);
            prop_assert!(!again.changed);
            prop_assert_eq!(&again.reply, &first.reply);
            prop_assert_eq!(&rec, &before);
        }
        // Not a vacuous pass: most sequences have commands that change nothing.
        prop_assume!(unchanged > 0);
    }
}
