use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::*;
use crate::engine::{Acquire, AcquireReply, Command, Reply};
use crate::store::job::{Completion, Done, JobKind, CLOSED_ID, OPEN_ID};
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
            if let Ok(Done::Executed { executed, .. }) = r {
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
        Ok(Done::Executed { executed, .. }) => match executed.reply {
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
