//! One batch of jobs, one transaction: group commit.

use rusqlite::{named_params, params, Connection, OptionalExtension, TransactionBehavior};

use crate::engine::{apply, purge_cutoff, Context, Counts, GuardState, Policy, Record};
use crate::store::job::{Answer, Completion, Job, JobKind};
use crate::store::{
    codec, matching, new_run_id, After, Clock, Executed, Inspection, Reading, StoreError,
};

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
                    crate::fault::inject("store", &key);
                    let text: Option<String> = load.query_row([&key], |r| r.get(0)).optional()?;
                    let mut rec = match text.map(|t| codec::decode(&key, &t)) {
                        None => Record::default(),
                        Some(Ok(rec)) => rec,
                        Some(Err(e)) => {
                            out.push((job.id, Err(e)));
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
                        let text = codec::encode(&rec);
                        save.execute(params![
                            key,
                            rec.is_idle(),
                            rec.updated_at,
                            rec.last_fence as i64,
                            text
                        ])?;
                    }
                    Ok(Answer::Executed {
                        executed: Executed::shown(applied.reply, at),
                        key,
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

/// A row of a page: the key and the record's text.
type KeyAndRecord = (String, String);

fn inspect(
    tx: &rusqlite::Transaction,
    filter: &crate::store::InspectFilter,
    at: Reading,
) -> Result<Answer, StoreError> {
    let now = at.now;
    let read = || -> rusqlite::Result<(Vec<KeyAndRecord>, Option<Counts>)> {
        let prefix = filter.full_prefix();
        let end = prefix_end(&prefix);
        let mut rows = Vec::new();
        if filter.limit > 0 {
            let (from, excluded) = filter.start_key();
            let sql = page_sql(filter.state, excluded, end.is_some());
            let mut q = tx.prepare_cached(&sql)?;
            let limit = filter.limit as i64 + 1;
            let all = named_params! { ":from": from, ":end": end, ":now": now, ":limit": limit };
            let found = q.query_map(&*used(&sql, all), |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows = found.collect::<rusqlite::Result<_>>()?;
        }
        let counts = if filter.counts {
            let sql = counts_sql(!filter.prefix.is_empty(), end.is_some());
            let mut q = tx.prepare_cached(&sql)?;
            let all = named_params! { ":from": prefix, ":end": end, ":now": now };
            Some(q.query_row(&*used(&sql, all), |r| {
                Ok(Counts {
                    running: r.get::<_, i64>(0)? as u64,
                    stale: r.get::<_, i64>(1)? as u64,
                    failed: r.get::<_, i64>(2)? as u64,
                    approved: r.get::<_, i64>(3)? as u64,
                })
            })?)
        } else {
            None
        };
        Ok((rows, counts))
    };
    let (rows, counts) = read().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut guards = Vec::with_capacity(rows.len());
    let mut next = None;
    for (key, text) in rows {
        let rec = codec::decode(&key, &text)?;
        if guards.len() == filter.limit {
            let last: &(String, _) = guards.last().expect("limit > 0");
            next = Some(filter.encode(&After::Key(format!(
                "{}{}",
                filter.namespace_prefix, last.0
            ))));
            break;
        }
        guards.extend(matching(&key, &rec, filter, now));
    }
    Ok(Answer::Inspected(
        Inspection {
            now,
            guards,
            counts,
            next,
        }
        .shown(at),
    ))
}

/// The parameters `sql` names (SQLite refuses a binding to a name it lacks).
fn used<'a>(
    sql: &str,
    all: &[(&'a str, &'a dyn rusqlite::ToSql)],
) -> Vec<(&'a str, &'a dyn rusqlite::ToSql)> {
    all.iter()
        .filter(|(n, _)| sql.contains(n))
        .copied()
        .collect()
}

/// The least string above every string starting with `prefix` (its last
/// character's successor), or `None` when nothing is (an empty prefix).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        let next = (c as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A page in key order, by state through the `(phase, key, expires_at)` index.
fn page_sql(state: Option<GuardState>, after: bool, end: bool) -> String {
    let state = match state {
        None => "phase > 0",
        Some(GuardState::Running) => "phase = 1 AND expires_at > :now",
        Some(GuardState::Stale) => "phase = 1 AND expires_at <= :now",
        Some(GuardState::Failed) => "phase = 2",
        Some(GuardState::Approved) => "phase = 3",
    };
    format!(
        "SELECT key, record FROM guards WHERE {state} AND key {} :from{} ORDER BY key LIMIT :limit",
        if after { ">" } else { ">=" },
        if end { " AND key < :end" } else { "" },
    )
}

/// Counts per state, each an index range: `(phase, expires_at)` for the whole
/// store, `(phase, key, expires_at)` within a prefix.
fn counts_sql(prefix: bool, end: bool) -> String {
    let range = match (prefix, end) {
        (false, _) => "",
        (true, false) => " AND key >= :from",
        (true, true) => " AND key >= :from AND key < :end",
    };
    let count = |cond: &str| format!("(SELECT count(*) FROM guards WHERE {cond}{range})");
    format!(
        "SELECT {}, {}, {}, {}",
        count("phase = 1 AND expires_at > :now"),
        count("phase = 1 AND expires_at <= :now"),
        count("phase = 2"),
        count("phase = 3"),
    )
}

/// Deletes idle records past retention, first raising the store's fence floor
/// to their largest token so fences stay monotonic for those keys.
fn purge_idle(tx: &rusqlite::Transaction, now: i64, retention_ms: u64) -> rusqlite::Result<()> {
    let cutoff = purge_cutoff(now, retention_ms);
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
