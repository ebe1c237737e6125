//! The multi-host store: Redis or Valkey. Each command is made atomic for its
//! key without a lock of our own: the engine applies the command to the record
//! as last seen, at the server's time as last seen plus the time elapsed since,
//! and one script checks both against the server (record unchanged; time not
//! ahead of TIME and at most `WINDOW_MS` behind) before writing the result. On
//! a mismatch the script returns the current record and time and the command is
//! computed again from them: one round trip when this guard's view is current
//! (a key it never saw is taken to be absent), two when not. An answer that
//! changes nothing writes nothing. Checks of calls in flight together share one
//! script call.
//!
//! Calls are computed on the JS thread and go on Node's socket (`wire`): a
//! call then costs no hand-off between threads, which on a host whose cores
//! the server shares was a third of a call's CPU. This module's own thread
//! serves inspections, walks of many round trips (SCAN, GET), over a redis-rs
//! connection of its own (`ConnectionManager`, which reconnects by itself).

mod awake;
mod keys;
mod resp;
mod scripts;
mod stamp;
pub mod wire;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;
use tokio::sync::mpsc;

pub use keys::{guard_key, scan_pattern, storage_key_of};

use super::job::{Answer, DeliverAnswers, Outbox, OPEN_ID};
use super::{codec, count, matching, After, InspectFilter, Inspection, StoreError};
use crate::engine::Record;

/// How long connecting, and one command, may take when the caller names no limit.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 5_000;

pub struct RedisOptions {
    pub url: String,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// For `rediss://`: a CA to verify the server against, a client certificate.
    pub tls: Option<redis::TlsCertificates>,
}

/// The inspection thread: inspections in, answered through `deliver`.
pub struct RedisStore {
    inspections: Option<mpsc::UnboundedSender<(u32, InspectFilter)>>,
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
                    // A bug. Every caller still gets an answer: this guard's
                    // inspections are refused from now on; its calls go on.
                    let err = outbox.panicked(payload.as_ref());
                    while let Some((id, _)) = jobs.blocking_recv() {
                        outbox.send(vec![(id, Err(err.clone()))]);
                    }
                    outbox.closed();
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store thread: {e}")))?;
        Ok(RedisStore {
            inspections: Some(tx),
        })
    }

    /// Takes inspection `id`; false if the thread has stopped.
    pub fn inspect(&self, id: u32, filter: InspectFilter) -> bool {
        self.inspections
            .as_ref()
            .is_some_and(|tx| tx.send((id, filter)).is_ok())
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.inspections.take();
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
    jobs: &mut mpsc::UnboundedReceiver<(u32, InspectFilter)>,
    outbox: Arc<Outbox>,
) {
    crate::fault::inject("open", &options.url);
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout))
        .set_number_of_retries(1);
    let conn = match ConnectionManager::new_with_config(client, config).await {
        Ok(c) => c,
        Err(e) => {
            outbox.send(vec![(OPEN_ID, Err(unavailable(e)))]);
            return outbox.closed();
        }
    };
    outbox.send(vec![(OPEN_ID, Ok(Answer::Opened))]);
    let mut running = tokio::task::JoinSet::new();
    while let Some((id, filter)) = jobs.recv().await {
        outbox.took(id);
        crate::fault::inject("thread", &filter.full_prefix());
        let mut conn = conn.clone();
        let outbox = outbox.clone();
        running.spawn(async move {
            let answer = AssertUnwindSafe(inspect(&mut conn, &filter))
                .catch_unwind()
                .await
                .unwrap_or_else(|payload| Err(StoreError::from_panic(payload.as_ref())));
            outbox.send(vec![(id, answer)]);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    outbox.closed();
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
    // This connection serves only inspections (calls go on the wire), so it may have
    // been dropped since the last one unnoticed; the manager reconnects on the failure.
    let now = match scripts::server_time(conn).await {
        Err(e) if e.is_connection_dropped() || e.is_io_error() => scripts::server_time(conn).await,
        first => first,
    }
    .map_err(unavailable)?;
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
