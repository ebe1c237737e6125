//! The durable store: one SQLite file (WAL) shared by the processes of a host.
//! One writer thread per guard owns the connection; whatever jobs are waiting
//! when it is free go into one transaction (group commit), so the JS thread
//! never touches the file and concurrent callers share each fsync.

mod batch;
mod epoch;
mod schema;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

pub use schema::{Durability, SCHEMA_VERSION};

use super::job::{Answer, DeliverAnswers, Job, JobKind, Outbox, OPEN_ID};
use super::{Clock, StoreError};
use crate::engine::Policy;

/// Most jobs in one transaction; bounds how long one commit holds the lock.
const MAX_BATCH: usize = 512;
const PURGE_EVERY: Duration = Duration::from_secs(60);

pub struct SqliteOptions {
    pub path: PathBuf,
    pub durability: Durability,
    /// False: one transaction per job (for measuring what group commit buys).
    pub group_commit: bool,
    pub policy: Policy,
}

pub struct SqliteStore {
    jobs: Option<Sender<Job>>,
}

impl SqliteStore {
    /// Starts the writer thread, which opens the file and outbox job id 0
    /// with `Answer::Opened` or the reason it could not.
    pub fn start(options: SqliteOptions, deliver: DeliverAnswers) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("task-guard-sqlite".into())
            .spawn(move || writer(options, rx, deliver))?;
        Ok(SqliteStore { jobs: Some(tx) })
    }

    /// False once the store is closed or its writer has stopped.
    pub fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

/// Dropping the store drops its job sender: the writer outbox what is queued,
/// closes the file and reports `CLOSED_ID`.
impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.jobs.take();
    }
}

fn writer(options: SqliteOptions, jobs: Receiver<Job>, deliver: DeliverAnswers) {
    let outbox = Outbox::new(deliver);
    // Its base is the file's, set at open (see `epoch`).
    let clock = Clock::default();
    let served = std::panic::catch_unwind(AssertUnwindSafe(|| {
        serve(&options, &jobs, &outbox, &clock);
    }));
    if let Err(payload) = served {
        // A bug; the file is left to SQLite's rollback. Every caller still gets
        // an answer: this guard refuses from now on, others are unaffected.
        let err = outbox.panicked(payload.as_ref());
        while let Ok(job) = jobs.recv() {
            outbox.send(vec![(job.id, Err(err.clone()))]);
        }
        outbox.closed();
    }
}

fn serve(options: &SqliteOptions, jobs: &Receiver<Job>, outbox: &Outbox, clock: &Clock) {
    crate::fault::inject("open", &options.path.to_string_lossy());
    let opened = schema::open(&options.path, options.durability).and_then(|mut conn| {
        let base = epoch::anchor(&mut conn).map_err(|e| schema::classify(e, &options.path))?;
        clock.rebase(base);
        Ok(conn)
    });
    let mut conn = match opened {
        Ok(c) => c,
        Err(e) => {
            outbox.send(vec![(OPEN_ID, Err(e))]);
            return outbox.closed();
        }
    };
    outbox.send(vec![(OPEN_ID, Ok(Answer::Opened))]);
    let max = if options.group_commit { MAX_BATCH } else { 1 };
    let mut last_purge = Instant::now() - PURGE_EVERY;
    while let Ok(first) = next_job(jobs) {
        outbox.took(first.id);
        let mut batch = vec![first];
        while batch.len() < max {
            match jobs.try_recv() {
                Ok(j) => {
                    outbox.took(j.id);
                    batch.push(j)
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        for job in &batch {
            if let JobKind::Command { key, .. } = &job.kind {
                crate::fault::inject("thread", key);
            }
        }
        let purge = last_purge.elapsed() >= PURGE_EVERY;
        if purge {
            last_purge = Instant::now();
        }
        let ids: Vec<u32> = batch.iter().map(|j| j.id).collect();
        // A panic inside a batch rolls its transaction back (the transaction
        // is dropped unwinding): none of its outbox may stand.
        let done = std::panic::catch_unwind(AssertUnwindSafe(|| {
            batch::run(&mut conn, batch, &options.policy, clock, purge)
        }))
        .unwrap_or_else(|payload| {
            let err = StoreError::from_panic(payload.as_ref());
            ids.into_iter().map(|id| (id, Err(err.clone()))).collect()
        });
        outbox.send(done);
    }
    // Closing checkpoints the WAL and removes its files: only then is the
    // store closed for anyone who wants to copy or delete the file.
    drop(conn);
    outbox.closed();
}

/// How long the thread looks for its next job before it sleeps. Waking a sleeping
/// thread cost ~30 µs of a ~60 µs call here (a sequential caller's next call arrives
/// within that), so a caller that answers and asks again is served without it; an
/// idle store spins this long once per batch.
const SPIN_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(50);

/// The next job, or an error once every sender is gone.
fn next_job(jobs: &Receiver<Job>) -> Result<Job, std::sync::mpsc::RecvError> {
    let until = Instant::now() + SPIN_BEFORE_SLEEP;
    loop {
        match jobs.try_recv() {
            Ok(j) => return Ok(j),
            Err(TryRecvError::Disconnected) => return Err(std::sync::mpsc::RecvError),
            Err(TryRecvError::Empty) if Instant::now() < until => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return jobs.recv(),
        }
    }
}

#[cfg(test)]
mod tests;
