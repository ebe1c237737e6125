use std::time::Duration;

use super::*;
use crate::engine::{
    Acquire, AcquireReply, Counts, GuardState, Heartbeat, Release, ReleaseStatus, Reply,
};
use crate::store::{count, After, DEFAULT_PAGE};

fn acquire_for(s: &MemoryStore, key: &str, ttl_ms: u64) -> AcquireReply {
    let cmd = Command::Acquire(Acquire {
        owner: Some(s.owner("w".into())),
        ttl_ms: Some(ttl_ms),
        meta: None,
        fingerprint: None,
    });
    match s.execute(key, cmd, &Policy::default()).unwrap().reply {
        Reply::Acquire(r) => r,
        r => panic!("{r:?}"),
    }
}

fn acquire(s: &MemoryStore, key: &str) -> AcquireReply {
    acquire_for(s, key, 1000)
}

fn release(s: &MemoryStore, key: &str, run_id: crate::engine::RunId, status: ReleaseStatus) {
    let rel = Command::Release(Release {
        run_id,
        status,
        error: None,
        result: None,
    });
    s.execute(key, rel, &Policy::default()).unwrap();
}

fn filter(prefix: &str, state: Option<GuardState>, limit: usize) -> InspectFilter {
    InspectFilter {
        namespace_prefix: String::new(),
        prefix: prefix.into(),
        state,
        limit,
        after: None,
        counts: true,
    }
}

/// Every page of `f`, walked with its cursors, each built in steps of `budget`.
fn walk(s: &MemoryStore, mut f: InspectFilter, budget: Duration) -> (Vec<String>, Vec<Counts>) {
    let mut keys = Vec::new();
    let mut counts = Vec::new();
    loop {
        let mut job = s.begin_inspect(f.clone());
        while !s.inspect_step(&mut job, budget) {}
        let page = job.finish();
        assert!(page.guards.len() <= f.limit);
        keys.extend(page.guards.into_iter().map(|(k, _)| k));
        counts.push(page.counts.unwrap());
        match page.next {
            Some(c) => f.decode_after(&c).unwrap(),
            None => return (keys, counts),
        }
    }
}

/// The counts by looking at every record, as a check of the tally.
fn scanned(s: &MemoryStore, prefix: &str) -> Counts {
    let inner = s.inner.borrow_mut();
    let now = s.clock.now();
    count(
        inner
            .records
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, r)| &**r),
        now,
    )
}

#[test]
fn purged_keys_keep_fences_rising() {
    let s = MemoryStore::new(0);
    let mut last = 0;
    for i in 0..(SWEEP_EVERY * 8) {
        let key = format!("k{}", i % 7);
        let AcquireReply::Acquired { run, .. } = acquire(&s, &key) else {
            panic!()
        };
        if key == "k0" {
            assert!(run.fencing_token > last);
            last = run.fencing_token;
        }
        release(&s, &key, run.run_id, ReleaseStatus::Succeeded);
    }
    let inner = s.inner.borrow_mut();
    assert!(inner.fence_floor > 0, "sweeps purged idle records");
    assert!(inner.records.len() <= 7);
}

#[test]
fn sweeps_look_at_a_bounded_slice_and_come_round_to_every_record() {
    let s = MemoryStore::new(0);
    let n = SWEEP_SLICE * 3;
    for i in 0..n {
        let key = format!("idle-{i:06}");
        let AcquireReply::Acquired { run, .. } = acquire(&s, &key) else {
            panic!()
        };
        release(&s, &key, run.run_id, ReleaseStatus::Succeeded);
    }
    // Each sweep purged at most a slice; writes to one key drive sweeps on.
    for _ in 0..(SWEEP_EVERY as usize * 8) {
        let AcquireReply::Acquired { run, .. } = acquire(&s, "busy") else {
            panic!()
        };
        release(&s, "busy", run.run_id, ReleaseStatus::Succeeded);
    }
    assert!(s.inner.borrow_mut().records.len() <= 1);
}

#[test]
fn pages_walk_every_guard_once_in_key_order() {
    let s = MemoryStore::new(60_000);
    let mut want = Vec::new();
    for i in 0..2_500 {
        let key = format!("{}::job-{i}", if i % 3 == 0 { "a" } else { "b" });
        let AcquireReply::Acquired { run, .. } = acquire(&s, &key) else {
            panic!()
        };
        match i % 5 {
            0 => release(&s, &key, run.run_id, ReleaseStatus::Succeeded),
            1 => release(&s, &key, run.run_id, ReleaseStatus::Failed),
            _ => want.push(key),
        }
    }
    want.sort();
    let b: Vec<String> = want
        .iter()
        .filter(|k| k.starts_with("b::"))
        .cloned()
        .collect();
    for budget in [Duration::MAX, Duration::ZERO] {
        let (keys, counts) = walk(&s, filter("", Some(GuardState::Running), 1000), budget);
        assert_eq!(keys, want);
        assert_eq!(counts.len(), 2);
        assert_eq!(counts[0], scanned(&s, ""));
        let (keys, counts) = walk(&s, filter("b::", Some(GuardState::Running), 7), budget);
        assert_eq!(keys, b);
        assert_eq!(counts[0], scanned(&s, "b::"));
        let failed = (0..2_500).filter(|i| i % 3 != 0 && i % 5 == 1).count();
        assert_eq!(counts[0].failed, failed as u64);
    }
    // A full last page has no next page.
    let (keys, counts) = walk(
        &s,
        filter("", Some(GuardState::Running), want.len()),
        Duration::MAX,
    );
    assert_eq!((keys.len(), counts.len()), (want.len(), 1));
    // Limit 0 counts only.
    let (keys, _) = walk(&s, filter("", None, 0), Duration::MAX);
    assert!(keys.is_empty());
    assert_eq!(DEFAULT_PAGE, 100);
}

#[test]
fn a_page_resumes_after_its_cursor_key_even_if_that_key_is_gone() {
    let s = MemoryStore::new(60_000);
    for k in ["a", "b", "c", "d"] {
        acquire(&s, k);
    }
    let mut f = filter("", None, 2);
    let mut job = s.begin_inspect(f.clone());
    while !s.inspect_step(&mut job, Duration::MAX) {}
    let page = job.finish();
    let next = page.next.unwrap();
    f.decode_after(&next).unwrap();
    assert_eq!(f.after, Some(After::Key("b".into())));
    s.inner.borrow_mut().records.remove("b");
    let mut job = s.begin_inspect(f);
    while !s.inspect_step(&mut job, Duration::MAX) {}
    let keys: Vec<_> = job.finish().guards.into_iter().map(|g| g.0).collect();
    assert_eq!(keys, ["c", "d"]);
}

#[test]
fn counts_follow_writes_and_a_clock_that_moves_both_ways() {
    let s = MemoryStore::new(60_000);
    s.clock.set(1_000_000);
    let policy = Policy::default();
    let mut rng = 12345u64;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as usize
    };
    let mut held: Vec<Option<crate::engine::RunId>> = vec![None; 64];
    let mut now = 1_000_000i64;
    for step in 0..5_000 {
        let i = next() % 64;
        let key = format!("k{i:02}");
        match next() % 6 {
            0 | 1 => {
                if let AcquireReply::Acquired { run, .. } =
                    acquire_for(&s, &key, 50 + (next() % 200) as u64)
                {
                    held[i] = Some(run.run_id);
                }
            }
            2 => {
                if let Some(id) = held[i].take() {
                    let status = [ReleaseStatus::Succeeded, ReleaseStatus::Failed][next() % 2];
                    release(&s, &key, id, status);
                }
            }
            3 => {
                if let Some(id) = held[i].clone() {
                    let hb = Command::Heartbeat(Heartbeat {
                        run_id: id,
                        ttl_ms: None,
                    });
                    s.execute(&key, hb, &policy).unwrap();
                }
            }
            4 => {
                let approve = Command::ApproveRetry(crate::engine::ApproveRetry {
                    approved_by: None,
                    reason: None,
                });
                s.execute(&key, approve, &policy).unwrap();
            }
            _ => {
                // The caller's clock: mostly forward, sometimes back.
                now += (next() % 300) as i64 - 100;
                s.clock.set(now);
            }
        }
        if step % 50 == 0 {
            let (_, counts) = walk(&s, filter("", None, 0), Duration::ZERO);
            assert_eq!(counts[0], scanned(&s, ""), "step {step}");
        }
    }
}

#[test]
fn records_are_small() {
    // The map holds a pointer per record; the record itself is one allocation.
    assert!(
        std::mem::size_of::<Record>() <= 112,
        "{}",
        std::mem::size_of::<Record>()
    );
}

#[test]
fn repeats_of_a_command_that_changed_nothing_share_its_reply_and_a_grant_answers_only_itself() {
    let s = MemoryStore::new(0);
    let plain = || {
        Command::Acquire(Acquire {
            owner: None,
            ttl_ms: Some(60_000),
            meta: None,
            fingerprint: None,
        })
    };
    // A free key: the first acquire is granted, and answers only itself.
    let (granted, answered) = s
        .execute_repeated("k", plain(), &Policy::default(), 50)
        .unwrap();
    assert_eq!(answered, 1);
    let Reply::Acquire(AcquireReply::Acquired { run, .. }) = granted.reply else {
        panic!("{:?}", granted.reply)
    };
    // The others, made again, conflict with that run: one reply answers all 49.
    let (conflict, answered) = s
        .execute_repeated("k", plain(), &Policy::default(), 49)
        .unwrap();
    assert_eq!(answered, 49);
    let Reply::Acquire(AcquireReply::AlreadyRunning(holder)) = conflict.reply else {
        panic!("{:?}", conflict.reply)
    };
    assert_eq!(holder.run_id, run.run_id);
    // What a single call answers is unchanged.
    assert!(matches!(acquire(&s, "k"), AcquireReply::AlreadyRunning(_)));
    assert_eq!(
        s.execute_repeated("k", plain(), &Policy::default(), 0)
            .unwrap()
            .1,
        1
    );
}
