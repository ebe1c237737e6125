//! `inspect` on the memory store, in steps. A page and its counts may need
//! more than one look at the map: a `state` filter may pass over many guards
//! to fill a page, counting a prefix walks its range, and the stale count may
//! have ledger entries to cross. Each step does a bounded share and returns;
//! the JS facade calls the next one on a later turn of the event loop, so no
//! call blocks it. Between steps the map may change: every guard is still
//! visited once (steps resume by key), in the state it has when visited.

use std::ops::Bound::{Excluded, Included, Unbounded};
use std::time::{Duration, Instant};

use super::MemoryStore;
use crate::engine::{view, Counts, GuardInfo};
use crate::store::cursor::After;
use crate::store::inspect::matching;
use crate::store::{InspectFilter, Inspection, Reading};

/// Map entries (or ledger entries) looked at between two looks at the time.
const BATCH: usize = 256;

pub struct MemoryInspect {
    filter: InspectFilter,
    prefix: String,
    at: Reading,
    now: i64,
    /// The page: resumes after `page_at` (a storage key); `None` once complete.
    page_at: Option<(String, bool)>,
    guards: Vec<(String, GuardInfo)>,
    /// The key of the last guard of a full page, when another guard follows.
    next: Option<String>,
    /// Counting a prefix: resumes at this key; `None` once complete.
    count_at: Option<(String, bool)>,
    counts: Counts,
    counted: bool,
}

impl MemoryInspect {
    pub fn finish(self) -> Inspection {
        let next = self.next.map(|k| self.filter.encode(&After::Key(k)));
        Inspection {
            now: self.now,
            guards: self.guards,
            counts: self.filter.counts.then_some(self.counts),
            next,
        }
        .shown(self.at)
    }
}

impl MemoryStore {
    /// Starts an inspection at the store's time now; nothing is read yet.
    pub fn begin_inspect(&self, filter: InspectFilter) -> MemoryInspect {
        let prefix = filter.full_prefix();
        // One store serves one guard, so one namespace: an empty prefix is
        // every record, counted by the tally.
        let whole = filter.prefix.is_empty();
        let at = self.clock.read();
        MemoryInspect {
            page_at: (filter.limit > 0).then(|| filter.start_key()),
            count_at: (filter.counts && !whole).then(|| (prefix.clone(), false)),
            counted: !filter.counts,
            prefix,
            at,
            now: at.now,
            guards: Vec::new(),
            next: None,
            counts: Counts::default(),
            filter,
        }
    }

    /// Does about `budget` of the inspection's work; true once it is complete.
    pub fn inspect_step(&self, job: &mut MemoryInspect, budget: Duration) -> bool {
        let deadline = Instant::now().checked_add(budget);
        let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
        let mut inner = self.inner.borrow_mut();
        let now = job.now;
        while let Some((from, excluded)) = job.page_at.take() {
            let start = if excluded {
                Excluded(from.as_str())
            } else {
                Included(from.as_str())
            };
            let mut seen = 0;
            let mut resume = None;
            for (k, rec) in inner.records.range::<str, _>((start, Unbounded)) {
                if !k.starts_with(job.prefix.as_str()) {
                    break;
                }
                if let Some(found) = matching(k, rec, &job.filter, now) {
                    if job.guards.len() == job.filter.limit {
                        job.next = Some(format!(
                            "{}{}",
                            job.filter.namespace_prefix,
                            job.guards.last().expect("limit > 0").0
                        ));
                        break;
                    }
                    job.guards.push(found);
                }
                seen += 1;
                if seen % BATCH == 0 && out_of_time() {
                    resume = Some((k.to_string(), true));
                    break;
                }
            }
            if resume.is_some() {
                job.page_at = resume;
                return false;
            }
        }
        while let Some((from, excluded)) = job.count_at.take() {
            let start = if excluded {
                Excluded(from.as_str())
            } else {
                Included(from.as_str())
            };
            let mut seen = 0;
            for (k, rec) in inner.records.range::<str, _>((start, Unbounded)) {
                if !k.starts_with(job.prefix.as_str()) {
                    break;
                }
                if let Some(v) = view(rec, now) {
                    job.counts.add(v.state);
                }
                seen += 1;
                if seen % BATCH == 0 && out_of_time() {
                    job.count_at = Some((k.to_string(), true));
                    return false;
                }
            }
            job.counted = true;
        }
        if !job.counted {
            while !inner.tally.catch_up(now, BATCH) {
                if out_of_time() {
                    return false;
                }
            }
            job.counts = inner.tally.counts();
            job.counted = true;
        }
        true
    }
}
