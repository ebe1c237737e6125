//! One batch of jobs, one transaction: group commit.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::engine::{apply, Command, Context, Policy, Record};
use crate::store::job::{Completion, Done, Job, JobKind};
use crate::store::{collect, new_run_id, Clock, Executed, Reading, StoreError};

pub fn run(
    conn: &mut Connection,
    jobs: Vec<Job>,
    policy: &Policy,
    clock: &Clock,
    purge: bool,
) -> Vec<Completion> {
    let ids: Vec<u32> = jobs.iter().map(|j| j.id).collect();
    match run_in_tx(conn, jobs, policy, clock, purge) {
        Ok(done) => done,
        // Nothing of this batch was committed, so no answer of it may stand:
        // in particular no `acquired` for a run that was not recorded.
        Err(e) => ids
            .into_iter()
            .map(|id| (id, Err(StoreError::Unavailable(e.to_string()))))
            .collect(),
    }
}

fn run_in_tx(
    conn: &mut Connection,
    jobs: Vec<Job>,
    policy: &Policy,
    clock: &Clock,
    purge: bool,
) -> rusqlite::Result<Vec<Completion>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read the clock only once this process holds the write lock, so commits
    // from several processes carry times in commit order.
    let at = clock.read();
    let now = at.now;
    let fence_floor: i64 = tx.query_row(
        "SELECT value FROM meta WHERE name = 'fence_floor'",
        [],
        |r| r.get(0),
    )?;
    let mut out = Vec::with_capacity(jobs.len());
    {
        let mut load = tx.prepare_cached("SELECT record FROM guards WHERE key = ?1")?;
        let mut save = tx.prepare_cached(
            "INSERT INTO guards (key, idle, updated_at, last_fence, record) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (key) DO UPDATE SET idle = ?2, updated_at = ?3, last_fence = ?4, record = ?5",
        )?;
        for job in jobs {
            let answer = match job.kind {
                JobKind::Command { key, command } => {
                    let released_run = match &command {
                        Command::Release(r) => Some(r.run_id.clone()),
                        _ => None,
                    };
                    crate::fault::inject("store", &key);
                    let text: Option<String> = load.query_row([&key], |r| r.get(0)).optional()?;
                    let mut rec = match text.map(|t| serde_json::from_str::<Record>(&t)) {
                        None => Record::default(),
                        Some(Ok(rec)) => rec,
                        Some(Err(e)) => {
                            out.push((
                                job.id,
                                Err(StoreError::Corrupt(format!(
                                    "record of {key:?} is unreadable: {e}"
                                ))),
                            ));
                            continue;
                        }
                    };
                    let mut ctx = Context {
                        now,
                        policy,
                        fence_floor: fence_floor as u64,
                        new_run_id: &mut new_run_id,
                    };
                    let applied = apply(&mut rec, command, &mut ctx);
                    if applied.changed {
                        let text = serde_json::to_string(&rec).expect("records serialise");
                        save.execute(params![
                            key,
                            rec.is_idle(),
                            rec.updated_at,
                            rec.last_fence as i64,
                            text
                        ])?;
                    }
                    Ok(Done::Executed {
                        executed: Executed::shown(applied.reply, at),
                        key,
                        released_run,
                    })
                }
                JobKind::Inspect(filter) => inspect(&tx, &filter, at),
            };
            out.push((job.id, answer));
        }
    }
    if purge {
        purge_idle(&tx, now, policy.retention_ms)?;
    }
    tx.commit()?;
    Ok(out)
}

fn inspect(
    tx: &rusqlite::Transaction,
    filter: &crate::store::InspectFilter,
    at: Reading,
) -> Result<Done, StoreError> {
    let prefix = filter.full_prefix();
    let read = || -> rusqlite::Result<Vec<(String, String)>> {
        let mut q = tx.prepare_cached(
            "SELECT key, record FROM guards WHERE idle = 0 AND substr(key, 1, length(?1)) = ?1",
        )?;
        let rows = q.query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    };
    let rows = read().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut records = Vec::with_capacity(rows.len());
    for (key, text) in rows {
        let rec: Record = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("record of {key:?} is unreadable: {e}")))?;
        records.push((key, rec));
    }
    Ok(Done::Inspected(
        collect(records.iter().map(|(k, r)| (k.as_str(), r)), filter, at.now).shown(at),
    ))
}

/// Deletes idle records past retention, first raising the store's fence floor
/// to their largest token so fences stay monotonic for those keys.
fn purge_idle(tx: &rusqlite::Transaction, now: i64, retention_ms: u64) -> rusqlite::Result<()> {
    let cutoff = now.saturating_sub(retention_ms.min(i64::MAX as u64) as i64);
    tx.execute(
        "UPDATE meta SET value = max(value, coalesce((SELECT max(last_fence) FROM guards
             WHERE idle = 1 AND updated_at <= ?1), 0)) WHERE name = 'fence_floor'",
        [cutoff],
    )?;
    tx.execute(
        "DELETE FROM guards WHERE idle = 1 AND updated_at <= ?1",
        [cutoff],
    )?;
    Ok(())
}
