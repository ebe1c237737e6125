use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::*;
use crate::engine::{Acquire, AcquireReply, Command, Reply};
use crate::store::job::{Answer, Completion, JobKind, CLOSED_ID, OPEN_ID};
use crate::store::StoreError;

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "task-guard-rs-{}-{}",
        std::process::id(),
        crate::store::new_run_id(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A store whose answers arrive on a channel.
fn start(path: &Path, group_commit: bool) -> (SqliteStore, mpsc::Receiver<Completion>) {
    let (tx, rx) = mpsc::channel();
    let deliver = Box::new(move |batch: Vec<Completion>| {
        for c in batch {
            let _ = tx.send(c);
        }
    });
    let options = SqliteOptions {
        path: path.to_path_buf(),
        durability: Durability::Normal,
        group_commit,
        policy: Policy::default(),
    };
    (SqliteStore::start(options, deliver).unwrap(), rx)
}

fn opened(rx: &mpsc::Receiver<Completion>) -> Result<(), StoreError> {
    let (id, r) = rx.recv().unwrap();
    assert_eq!(id, OPEN_ID);
    r.map(|_| ())
}

fn acquire_job(id: u32) -> Job {
    let command = Command::Acquire(Acquire {
        owner: None,
        ttl_ms: Some(60_000),
        meta: None,
        fingerprint: None,
    });
    Job {
        id,
        kind: JobKind::Command {
            key: "k".into(),
            command,
        },
    }
}

#[test]
fn two_stores_on_one_file_grant_one_run_and_rising_fences() {
    let path = temp_file("g.db");
    let (a, ra) = start(&path, true);
    opened(&ra).unwrap();
    let (b, rb) = start(&path, false);
    opened(&rb).unwrap();
    for id in 1..=200 {
        assert!(a.submit(acquire_job(id)));
        assert!(b.submit(acquire_job(id)));
    }
    let mut grants = Vec::new();
    for rx in [&ra, &rb] {
        for _ in 0..200 {
            let (_, r) = rx.recv().unwrap();
            if let Ok(Answer::Executed { executed, .. }) = r {
                if let Reply::Acquire(AcquireReply::Acquired { run, .. }) = executed.reply {
                    grants.push(run.run_id);
                }
            } else {
                panic!("a job failed");
            }
        }
    }
    assert_eq!(grants.len(), 1);
    drop((a, b));
    assert_eq!(ra.recv().unwrap().0, CLOSED_ID);
}

#[test]
fn foreign_and_newer_files_are_refused_untouched() {
    let path = temp_file("app.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE users (id INTEGER);").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let (_s, rx) = start(&path, true);
    assert!(matches!(opened(&rx), Err(StoreError::Corrupt(_))));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let path = temp_file("new.db");
    let (s, rx) = start(&path, true);
    opened(&rx).unwrap();
    drop(s);
    assert_eq!(rx.recv().unwrap().0, CLOSED_ID);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    let (_s, rx) = start(&path, true);
    assert!(matches!(opened(&rx), Err(StoreError::Version(_))));
}

fn acquire_answer(store: &SqliteStore, rx: &mpsc::Receiver<Completion>) -> AcquireReply {
    assert!(store.submit(acquire_job(1)));
    match rx.recv().unwrap().1 {
        Ok(Answer::Executed { executed, .. }) => match executed.reply {
            Reply::Acquire(r) => r,
            r => panic!("{r:?}"),
        },
        _ => panic!("the acquire failed"),
    }
}

fn close(store: SqliteStore, rx: &mpsc::Receiver<Completion>) {
    drop(store);
    while rx.recv().unwrap().0 != CLOSED_ID {}
}

#[test]
fn runs_of_an_earlier_boot_are_stale_and_the_same_boot_keeps_its_runs() {
    let path = temp_file("boot.db");
    let (s, rx) = start(&path, true);
    opened(&rx).unwrap();
    let AcquireReply::Acquired { run, .. } = acquire_answer(&s, &rx) else {
        panic!()
    };
    close(s, &rx);

    // Reopened in the same boot: the 60 s run still runs.
    let (s, rx) = start(&path, true);
    opened(&rx).unwrap();
    assert!(
        matches!(acquire_answer(&s, &rx), AcquireReply::AlreadyRunning(r) if r.run_id == run.run_id)
    );
    close(s, &rx);

    // The file last saw another boot: the reboot ended that run's holder.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("UPDATE meta SET value = value + 1 WHERE name = 'clock_boot';")
        .unwrap();
    let (s, rx) = start(&path, true);
    opened(&rx).unwrap();
    match acquire_answer(&s, &rx) {
        AcquireReply::Acquired { healed_from, .. } => {
            assert_eq!(healed_from.unwrap().run_id, run.run_id)
        }
        r => panic!("{r:?}"),
    }
    close(s, &rx);
}

fn inspect_job(id: u32, filter: crate::store::InspectFilter) -> Job {
    Job {
        id,
        kind: JobKind::Inspect(filter),
    }
}

fn inspected(rx: &mpsc::Receiver<Completion>) -> crate::store::Inspection {
    match rx.recv().unwrap() {
        (_, Ok(Answer::Inspected(found))) => found,
        (_, Err(e)) => panic!("{e}"),
        _ => panic!("not an inspection"),
    }
}

fn filter(prefix: &str, limit: usize) -> crate::store::InspectFilter {
    crate::store::InspectFilter {
        namespace_prefix: String::new(),
        prefix: prefix.into(),
        state: None,
        limit,
        after: None,
        counts: true,
    }
}

/// A file written by 0.1.0 (schema version 1) opens, is migrated in place to
/// the indexed state columns, and answers counts and pages from them.
#[test]
fn a_version_1_file_is_migrated_in_place_and_counted_by_index() {
    let path = temp_file("v1.db");
    std::fs::write(
        &path,
        include_bytes!("../../../__test__/fixtures/stores/task-guard-0.1.0-shapes.db"),
    )
    .unwrap();
    let (s, rx) = start(&path, true);
    opened(&rx).unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 2);
    let plan: String = c
        .query_row(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM guards WHERE phase = 2",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("USING INDEX guards_by_phase"), "{plan}");

    s.submit(inspect_job(1, filter("", 100)));
    let all = inspected(&rx);
    let counts = all.counts.unwrap();
    // The fixture's long runs expire in December 2026: running or stale, by now.
    assert_eq!(counts.running + counts.stale, 4);
    assert!(counts.stale >= 1, "b::stale has a 1 ms ttl");
    assert_eq!((counts.failed, counts.approved), (2, 1));
    let keys: Vec<&str> = all.guards.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        keys,
        [
            "a::failed",
            "a::running-1",
            "a::running-2",
            "b::approved",
            "b::healed",
            "b::stale",
            "b::stale-failed"
        ]
    );

    // Pages of two within a prefix, each resuming after the last.
    let mut f = filter("a::", 2);
    s.submit(inspect_job(2, f.clone()));
    let page = inspected(&rx);
    assert_eq!(page.guards.len(), 2);
    assert_eq!(page.counts.unwrap().failed, 1);
    f.decode_after(&page.next.unwrap()).unwrap();
    s.submit(inspect_job(3, f));
    let page = inspected(&rx);
    assert_eq!(page.guards[0].0, "a::running-2");
    assert_eq!(page.next, None);

    // A state page by index.
    let mut f = filter("b::", 10);
    f.state = Some(crate::engine::GuardState::Failed);
    s.submit(inspect_job(4, f));
    let page = inspected(&rx);
    assert_eq!(page.guards.len(), 1);
    assert_eq!(page.guards[0].0, "b::stale-failed");

    // The columns follow writes (they are derived by SQLite from the record).
    assert!(s.submit(acquire_job(5)));
    assert!(matches!(
        rx.recv().unwrap(),
        (5, Ok(Answer::Executed { .. }))
    ));
    s.submit(inspect_job(6, filter("k", 0)));
    let only = inspected(&rx);
    assert!(only.guards.is_empty());
    assert_eq!(only.counts.unwrap().running, 1);
}
