//! The multi-host store: Redis or Valkey. One multiplexed connection per guard
//! (redis-rs `ConnectionManager`, which reconnects by itself), driven by a
//! tokio runtime on the store's own thread. Each command is made atomic for its
//! key without a lock of our own: a script reads the record together with the
//! server's clock, the engine applies the command, and a compare-and-set script
//! writes the result only if the record is still what was read (else it runs
//! again). An answer that changes nothing writes nothing.

mod keys;
mod scripts;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client};
use tokio::sync::mpsc;

pub use keys::{guard_key, scan_pattern, storage_key_of};

use super::job::{Completion, Deliver, Done, Job, JobKind, CLOSED_ID, OPEN_ID};
use super::{collect, new_run_id, Executed, InspectFilter, StoreError};
use crate::engine::{apply, Command, Context, Policy, Record};

/// Compare-and-set attempts before a command gives up as unavailable: only
/// reached if the key changes under every attempt.
const MAX_ATTEMPTS: usize = 64;

pub struct RedisOptions {
    pub url: String,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub policy: Policy,
}

pub struct RedisStore {
    jobs: Option<mpsc::UnboundedSender<Job>>,
}

impl RedisStore {
    /// Checks the URL now; connects on the store's thread, answering job
    /// `OPEN_ID` with `Done::Opened` or why not.
    pub fn start(options: RedisOptions, deliver: Deliver) -> Result<Self, StoreError> {
        let client = Client::open(options.url.as_str())
            .map_err(|e| StoreError::Unavailable(format!("bad Redis URL: {e}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store runtime: {e}")))?;
        std::thread::Builder::new()
            .name("task-guard-redis".into())
            .spawn(move || runtime.block_on(serve(client, options, rx, deliver)))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store thread: {e}")))?;
        Ok(RedisStore { jobs: Some(tx) })
    }

    pub fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.jobs.take();
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {e}"))
}

async fn serve(
    client: Client,
    options: RedisOptions,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    deliver: Deliver,
) {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout))
        .set_number_of_retries(1);
    let conn = match ConnectionManager::new_with_config(client, config).await {
        Ok(c) => c,
        Err(e) => {
            deliver(vec![(OPEN_ID, Err(unavailable(e)))]);
            return deliver(vec![(CLOSED_ID, Ok(Done::Closed))]);
        }
    };
    deliver(vec![(OPEN_ID, Ok(Done::Opened))]);

    // Answers are gathered and delivered in batches: one JS wake-up for all
    // that finished while the previous batch was being delivered.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Completion>();
    let delivering = tokio::spawn(async move {
        while let Some(first) = done_rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = done_rx.try_recv() {
                batch.push(more);
            }
            deliver(batch);
        }
        deliver
    });
    let mut running = tokio::task::JoinSet::new();
    while let Some(job) = jobs.recv().await {
        let conn = conn.clone();
        let policy = options.policy.clone();
        let done = done_tx.clone();
        running.spawn(async move {
            let answer = run(conn, job.kind, &policy).await;
            let _ = done.send((job.id, answer));
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    drop(done_tx);
    if let Ok(deliver) = delivering.await {
        deliver(vec![(CLOSED_ID, Ok(Done::Closed))]);
    }
}

async fn run(
    mut conn: ConnectionManager,
    kind: JobKind,
    policy: &Policy,
) -> Result<Done, StoreError> {
    match kind {
        JobKind::Command { key, command } => execute(&mut conn, key, command, policy).await,
        JobKind::Inspect(filter) => inspect(&mut conn, &filter).await,
    }
}

async fn execute(
    conn: &mut ConnectionManager,
    key: String,
    command: Command,
    policy: &Policy,
) -> Result<Done, StoreError> {
    let redis_key = guard_key(&key);
    let released_run = match &command {
        Command::Release(r) => Some(r.run_id.clone()),
        _ => None,
    };
    for _ in 0..MAX_ATTEMPTS {
        let (text, now) = scripts::read(conn, &redis_key).await.map_err(unavailable)?;
        let mut rec = match &text {
            None => Record::default(),
            Some(t) => serde_json::from_str::<Record>(t).map_err(|e| {
                StoreError::Corrupt(format!("record of {key:?} is unreadable: {e}"))
            })?,
        };
        // Redis keeps no cross-key state: fences rise with the server clock past purges.
        let applied = {
            let mut ctx = Context {
                now,
                policy,
                fence_floor: 0,
                new_run_id: &mut new_run_id,
            };
            apply(&mut rec, command.clone(), &mut ctx)
        };
        let done = |reply| Done::Executed {
            executed: Executed { reply, now },
            key: key.clone(),
            released_run: released_run.clone(),
        };
        if !applied.changed {
            return Ok(done(applied.reply));
        }
        let new_text = serde_json::to_string(&rec).expect("records serialise");
        // Idle records are history only: they expire; anything else never does.
        let expire_ms = if rec.is_idle() {
            policy.retention_ms.max(1)
        } else {
            0
        };
        let written =
            scripts::compare_and_set(conn, &redis_key, text.as_deref(), &new_text, expire_ms)
                .await
                .map_err(unavailable)?;
        if written {
            return Ok(done(applied.reply));
        }
    }
    Err(StoreError::Unavailable(format!(
        "{key:?} changed under {MAX_ATTEMPTS} attempts in a row"
    )))
}

async fn inspect(conn: &mut ConnectionManager, filter: &InspectFilter) -> Result<Done, StoreError> {
    let pattern = scan_pattern(&filter.full_prefix());
    let mut names: Vec<String> = Vec::new();
    {
        let mut iter = conn
            .scan_options::<String>(
                redis::ScanOptions::default()
                    .with_pattern(pattern)
                    .with_count(1000),
            )
            .await
            .map_err(unavailable)?;
        use futures_util::StreamExt;
        while let Some(name) = iter.next().await {
            names.push(name.map_err(unavailable)?);
        }
    }
    let now = scripts::server_time(conn).await.map_err(unavailable)?;
    let mut records = Vec::with_capacity(names.len());
    for chunk in names.chunks(500) {
        let mut pipe = redis::pipe();
        for n in chunk {
            pipe.get(n);
        }
        let texts: Vec<Option<String>> = pipe.query_async(conn).await.map_err(unavailable)?;
        for (name, text) in chunk.iter().zip(texts) {
            let (Some(text), Some(key)) = (text, storage_key_of(name)) else {
                continue;
            };
            let rec: Record = serde_json::from_str(&text).map_err(|e| {
                StoreError::Corrupt(format!("record of {key:?} is unreadable: {e}"))
            })?;
            records.push((key.to_owned(), rec));
        }
    }
    Ok(Done::Inspected(collect(
        records.iter().map(|(k, r)| (k.as_str(), r)),
        filter,
        now,
    )))
}
