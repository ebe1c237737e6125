//! The multi-host store: Redis or Valkey. One multiplexed connection per guard
//! (redis-rs `ConnectionManager`, which reconnects by itself), driven by a
//! tokio runtime on the store's own thread. Each command is made atomic for its
//! key without a lock of our own: the engine applies the command to the record
//! as last seen, at the server's time as last seen plus the time elapsed since,
//! and one script checks both against the server (record unchanged; time not
//! ahead of TIME and at most `WINDOW_MS` behind) before writing the result. On
//! a mismatch the script returns the current record and time and the command is
//! computed again from them: one round trip when this guard's view is current
//! (a key it never saw is taken to be absent), two when not. An answer that
//! changes nothing writes nothing. Checks of calls in flight together share one
//! script call (`batch`).

mod batch;
mod keys;
mod scripts;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;
use tokio::sync::mpsc;

use batch::Batcher;
pub use keys::{guard_key, scan_pattern, storage_key_of};

use super::job::{Answer, Completion, DeliverAnswers, Job, JobKind, Outbox, OPEN_ID};
use super::{
    codec, count, matching, new_run_id, After, Executed, InspectFilter, Inspection, StoreError,
};
use crate::engine::{apply, Command, Context, Policy, Record};

/// Compare-and-set attempts before a command gives up as unavailable: only
/// reached if the key changes under every attempt.
const MAX_ATTEMPTS: usize = 64;

/// Answers handed to JS in one wake-up, at most. Handing over all that are done
/// made the JS thread, the store's thread and the server take turns on one
/// convoy of calls, each idle while another worked; in smaller parts the JS
/// thread starts the next calls while the rest are still being answered
/// (64 in flight: ~45k → ~52k pairs/s on loopback).
const DELIVER_MAX: usize = 16;

/// How long connecting, and one command, may take when the caller names no limit.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 5_000;

pub struct RedisOptions {
    pub url: String,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// For `rediss://`: a CA to verify the server against, a client certificate.
    pub tls: Option<redis::TlsCertificates>,
    pub policy: Policy,
}

pub struct RedisStore {
    jobs: Option<mpsc::UnboundedSender<Job>>,
}

/// Cached records beyond this are dropped wholesale: the cache is only a guess.
const MAX_CACHED: usize = 100_000;

/// A record as this guard last saw it on the server: its text, which a write
/// is checked against, and what that text decodes to (kept decoded: decoding
/// was a quarter of the store thread's work per call).
struct Seen {
    text: Option<String>,
    record: Record,
}

/// This guard's last view of the server: records by key, and the server's clock.
#[derive(Default)]
struct View {
    records: Mutex<HashMap<String, Seen>>,
    /// The server's time in ms, and when it was received.
    clock: Mutex<Option<(i64, Instant)>>,
}

impl View {
    /// `record` must be what `text` decodes to.
    fn remember(&self, key: &str, text: Option<String>, record: Record, server_now: i64) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= MAX_CACHED {
            records.clear();
        }
        match records.get_mut(key) {
            Some(seen) => *seen = Seen { text, record },
            None => {
                records.insert(key.to_owned(), Seen { text, record });
            }
        }
        drop(records);
        self.saw_time(server_now);
    }

    fn saw_time(&self, server_now: i64) {
        *self.clock.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((server_now, Instant::now()));
    }

    /// The record as last seen (a key never seen is guessed absent: if it is
    /// not, the check says so and returns it) and the server's time now, as far
    /// as this guard knows; a millisecond early, so the guess is not ahead of
    /// the server. None before the server's time is known.
    fn expected(&self, key: &str) -> Option<(Option<String>, Record, i64)> {
        let (at, when) = (*self.clock.lock().unwrap_or_else(PoisonError::into_inner))?;
        let now = at + when.elapsed().as_millis() as i64 - 1;
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        Some(match records.get(key) {
            Some(seen) => (seen.text.clone(), seen.record.clone(), now),
            None => (None, Record::default(), now),
        })
    }
}

fn decoded(key: &str, text: &Option<String>) -> Result<Record, StoreError> {
    match text {
        None => Ok(Record::default()),
        Some(t) => codec::decode(key, t),
    }
}

impl RedisStore {
    /// Checks the URL now; connects on the store's thread, answering job
    /// `OPEN_ID` with `Answer::Opened` or why not.
    pub fn start(options: RedisOptions, deliver: DeliverAnswers) -> Result<Self, StoreError> {
        if options.url.starts_with("rediss://") {
            install_tls_provider();
        }
        let client = match &options.tls {
            None => Client::open(options.url.as_str()),
            Some(certs) => Client::build_with_tls(options.url.as_str(), certs.clone()),
        }
        .map_err(|e| StoreError::Unavailable(format!("bad Redis URL: {e}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store runtime: {e}")))?;
        std::thread::Builder::new()
            .name("task-guard-redis".into())
            .spawn(move || {
                let outbox = Arc::new(Outbox::new(deliver));
                let mut jobs = rx;
                let served = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    runtime.block_on(serve(client, options, &mut jobs, outbox.clone()))
                }));
                drop(runtime);
                if let Err(payload) = served {
                    // A bug. Every caller still gets an answer: this guard
                    // refuses from now on, others are unaffected.
                    let err = outbox.panicked(payload.as_ref());
                    while let Some(job) = jobs.blocking_recv() {
                        outbox.send(vec![(job.id, Err(err.clone()))]);
                    }
                    outbox.closed();
                }
            })
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

/// rustls needs a process-wide crypto provider and panics when it cannot pick
/// one; ours is named here, once, before any TLS connection is made.
fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err: one is installed already (by this addon, as ring too): fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {e}"))
}

async fn serve(
    client: Client,
    options: RedisOptions,
    jobs: &mut mpsc::UnboundedReceiver<Job>,
    outbox: Arc<Outbox>,
) {
    crate::fault::inject("open", &options.url);
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout))
        .set_number_of_retries(1);
    let mut conn = match ConnectionManager::new_with_config(client, config).await {
        Ok(c) => c,
        Err(e) => {
            outbox.send(vec![(OPEN_ID, Err(unavailable(e)))]);
            return outbox.closed();
        }
    };
    let batcher = Batcher::start(conn.clone(), batch::cluster_mode(&mut conn).await);
    outbox.send(vec![(OPEN_ID, Ok(Answer::Opened))]);

    // Answers are gathered and delivered in batches: one JS wake-up for all
    // that finished while the previous batch was being delivered.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Completion>();
    let delivering = {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while done_rx.recv_many(&mut batch, DELIVER_MAX).await > 0 {
                outbox.send(std::mem::take(&mut batch));
            }
        })
    };
    let view = Arc::new(View::default());
    let awake = Arc::new(Awake::default());
    let keeping_awake = tokio::spawn(awake.clone().keep());
    let mut running = tokio::task::JoinSet::new();
    while let Some(job) = jobs.recv().await {
        awake.busy();
        outbox.took(job.id);
        if let JobKind::Command { key, .. } = &job.kind {
            crate::fault::inject("thread", key);
        }
        let conn = conn.clone();
        let policy = options.policy.clone();
        let done = done_tx.clone();
        let view = view.clone();
        let batcher = batcher.clone();
        let awake = awake.clone();
        running.spawn(async move {
            let answer = AssertUnwindSafe(run(conn, &batcher, job.kind, &policy, &view))
                .catch_unwind()
                .await
                .unwrap_or_else(|payload| Err(StoreError::from_panic(payload.as_ref())));
            let _ = done.send((job.id, answer));
            awake.done();
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    keeping_awake.abort();
    drop(done_tx);
    let _ = delivering.await;
    outbox.closed();
}

/// Keeps the store's thread from sleeping for a moment after a call arrives and after
/// one is answered, while at most one is in flight: a sequential caller's reply and
/// its next call then each find the thread awake instead of one that must be woken
/// (each wake-up measured at ~20–30 µs of a ~70 µs call on loopback). Bounded, so a
/// server far away (a reply in milliseconds) costs at most `WAIT_AWAKE` of spinning per
/// call; not while several calls are in flight, whose replies wake it anyway and where
/// a spinning thread would take a core from the caller or a local server.
#[derive(Default)]
struct Awake {
    in_flight: std::sync::atomic::AtomicUsize,
    until: Mutex<Option<Instant>>,
    kick: tokio::sync::Notify,
}

/// How long to stay awake for the reply of a call just sent.
const WAIT_AWAKE: Duration = Duration::from_micros(100);
/// How long to stay awake for a caller's next call after an answer.
const LINGER_AWAKE: Duration = Duration::from_micros(50);

impl Awake {
    // With more than one call in flight the thread never spins, so the deadline
    // (a lock and a clock read) is kept only for the first call and the last answer.
    fn busy(&self) {
        let before = self
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if before == 0 {
            self.stay_awake(WAIT_AWAKE);
            self.kick.notify_one();
        }
    }

    fn done(&self) {
        let before = self
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if before == 1 {
            self.stay_awake(LINGER_AWAKE);
        }
    }

    fn stay_awake(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut u = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        *u = Some(u.map_or(until, |t| t.max(until)));
    }

    fn spinning(&self) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed) <= 1
            && self
                .until
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some_and(|t| Instant::now() < t)
    }

    async fn keep(self: Arc<Self>) {
        loop {
            self.kick.notified().await;
            while self.spinning() {
                tokio::task::yield_now().await;
            }
        }
    }
}

async fn run(
    mut conn: ConnectionManager,
    batcher: &Batcher,
    kind: JobKind,
    policy: &Policy,
    view: &View,
) -> Result<Answer, StoreError> {
    match kind {
        JobKind::Command { key, command } => {
            execute(&mut conn, batcher, key, command, policy, view).await
        }
        JobKind::Inspect(filter) => inspect(&mut conn, &filter).await,
    }
}

async fn execute(
    conn: &mut ConnectionManager,
    batcher: &Batcher,
    key: String,
    command: Command,
    policy: &Policy,
    view: &View,
) -> Result<Answer, StoreError> {
    crate::fault::inject("store", &key);
    let redis_key = guard_key(&key);
    // What the command is computed from, and whether the server just said so
    // (then an answer that writes nothing needs no check).
    let mut known = view
        .expected(&redis_key)
        .map(|(text, rec, now)| (text, rec, now, false));
    for _ in 0..MAX_ATTEMPTS {
        let (text, mut rec, now, from_server) = match known.take() {
            Some(k) => k,
            None => {
                let (text, now) = scripts::read(conn, &redis_key).await.map_err(unavailable)?;
                let rec = decoded(&key, &text)?;
                view.remember(&redis_key, text.clone(), rec.clone(), now);
                (text, rec, now, true)
            }
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
        let done = |reply| Answer::Executed {
            executed: Executed { reply, now },
            key: key.clone(),
        };
        if !applied.changed && from_server {
            return Ok(done(applied.reply));
        }
        let new_text = applied.changed.then(|| codec::encode(&rec));
        // Idle records are history only: they expire; anything else never does.
        let expire_ms = if rec.is_idle() {
            policy.retention_ms.max(1)
        } else {
            0
        };
        let cas = scripts::Cas {
            key: redis_key.clone(),
            expected: text,
            claimed_now: now,
            write: new_text.clone().map(|t| (t, expire_ms)),
        };
        match batcher.check_and_set(cas).await? {
            scripts::Checked::Answer(server_now) => {
                // Unchanged, the key holds what the view has already.
                match new_text {
                    Some(t) => view.remember(&redis_key, Some(t), rec, server_now),
                    None => view.saw_time(server_now),
                }
                return Ok(done(applied.reply));
            }
            scripts::Checked::Changed(current, server_now) => {
                let rec = decoded(&key, &current)?;
                view.remember(&redis_key, current.clone(), rec.clone(), server_now);
                known = Some((current, rec, server_now, true));
            }
        }
    }
    Err(StoreError::Unavailable(format!(
        "{key:?} changed under {MAX_ATTEMPTS} attempts in a row"
    )))
}

/// Records of `names` (Redis keys), as (storage key, record), in pipelined batches.
async fn load(
    conn: &mut ConnectionManager,
    names: &[String],
) -> Result<Vec<(String, Record)>, StoreError> {
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
            let rec = codec::decode(key, &text)?;
            records.push((key.to_owned(), rec));
        }
    }
    Ok(records)
}

async fn scan(
    conn: &mut ConnectionManager,
    cursor: u64,
    pattern: &str,
    count: usize,
) -> Result<(u64, Vec<String>), StoreError> {
    redis::cmd("SCAN")
        .arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
        .map_err(unavailable)
}

/// A page follows SCAN: whole SCAN batches (asking for as many keys as the page
/// has room for), each sorted by key; its cursor is the SCAN cursor of the next
/// batch. So pages are sorted within themselves, not across; a guard is listed
/// at least once, as SCAN returns it (a guard written during the walk may be
/// listed twice or not at all); the last page may be empty.
/// Counts need every record of the prefix: Redis keeps no cross-key state here
/// (a counter would be a second key, in another Cluster slot, written by the
/// same script), so they are one SCAN of the prefix, off the JS thread.
async fn inspect(
    conn: &mut ConnectionManager,
    filter: &InspectFilter,
) -> Result<Answer, StoreError> {
    let pattern = scan_pattern(&filter.full_prefix());
    let now = scripts::server_time(conn).await.map_err(unavailable)?;
    let mut guards = Vec::new();
    let mut next = None;
    if filter.limit > 0 {
        let (mut cursor, mut skip) = match &filter.after {
            Some(After::Scan {
                cursor,
                count,
                last: Some(last),
            }) => (*cursor, Some((last.clone(), *count))),
            Some(After::Scan { cursor, .. }) => (*cursor, None),
            _ => (0, None),
        };
        // A key SCAN returns twice within this page is listed once (see the counts).
        let mut in_page = std::collections::HashSet::new();
        loop {
            let room = filter.limit - guards.len();
            let count = skip.as_ref().map_or(room.max(10) as u32, |s| s.1);
            let (after_batch, mut names) = scan(conn, cursor, &pattern, count as usize).await?;
            names.retain(|n| in_page.insert(n.clone()));
            let mut batch = load(conn, &names).await?;
            batch.sort_by(|a, b| a.0.cmp(&b.0));
            let skip_to = skip.take().map(|s| s.0);
            let found: Vec<_> = batch
                .iter()
                .filter(|(k, _)| skip_to.as_ref().is_none_or(|s| k > s))
                .filter_map(|(k, rec)| matching(k, rec, filter, now).map(|g| (k.clone(), g)))
                .collect();
            if found.len() > room {
                // A page ends between batches, so the next one scans this batch
                // afresh; only a batch larger than a whole page is cut.
                let last = if guards.is_empty() {
                    let cut: Vec<_> = found.into_iter().take(room).collect();
                    let last = cut.last().map(|(k, _)| k.clone());
                    guards.extend(cut.into_iter().map(|(_, g)| g));
                    last
                } else {
                    None
                };
                next = Some(filter.encode(&After::Scan {
                    cursor,
                    count,
                    last,
                }));
                break;
            }
            guards.extend(found.into_iter().map(|(_, g)| g));
            if after_batch == 0 {
                break;
            }
            cursor = after_batch;
            if guards.len() == filter.limit {
                next = Some(filter.encode(&After::Scan {
                    cursor,
                    count: 0,
                    last: None,
                }));
                break;
            }
        }
    }
    guards.sort_by(|a, b| a.0.cmp(&b.0));
    let counts = if filter.counts {
        let mut counts = crate::engine::Counts::default();
        let mut cursor = 0;
        // SCAN may return a key twice (while Redis rehashes the keyspace, which
        // writes to other keys of the database cause): count each once.
        let mut seen = std::collections::HashSet::new();
        loop {
            let (after_batch, mut names) = scan(conn, cursor, &pattern, 1000).await?;
            names.retain(|n| seen.insert(n.clone()));
            let batch = load(conn, &names).await?;
            let c = count(batch.iter().map(|(_, r)| r), now);
            counts.running += c.running;
            counts.stale += c.stale;
            counts.failed += c.failed;
            counts.approved += c.approved;
            if after_batch == 0 {
                break;
            }
            cursor = after_batch;
        }
        Some(counts)
    } else {
        None
    };
    Ok(Answer::Inspected(Inspection {
        now,
        guards,
        counts,
        next,
    }))
}
