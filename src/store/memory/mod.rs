//! One process's guards, in one ordered map: key order gives `inspect` its
//! pages without sorting, and a range gives a prefix. The map is touched only
//! from the JS thread, so one map serves better than shards (every page is one
//! range, not a merge of shards), and it needs no lock: the store is not `Sync`,
//! so the compiler keeps it on one thread (an uncontended lock was ~2.5% of an
//! acquire+release pair, measured).

mod owners;
mod scan;
mod tally;

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use std::cell::RefCell;

use super::{new_run_id, Clock, Executed, InspectFilter, Inspection, StoreError};
use crate::engine::{apply, Command, Context, Owner, Policy, Record};
use owners::Owners;
pub use scan::MemoryInspect;
use tally::{Counted, Tally};

/// Writes between two sweeps for idle records past retention.
const SWEEP_EVERY: u32 = 1024;
/// Records one sweep looks at: a sweep resumes where the last one stopped, so
/// its cost is bounded however many guards there are (the whole map at once
/// took milliseconds at a million).
const SWEEP_SLICE: usize = 4096;

struct Inner {
    /// Boxed records: a node of the tree then moves pointers, not records, and
    /// its unused slots cost a pointer each.
    records: BTreeMap<Box<str>, Box<Record>>,
    tally: Tally,
    owners: Owners,
    writes: u32,
    /// Where the next sweep starts (after this key); `None`: at the start.
    sweep_after: Option<Box<str>>,
    /// The largest fence of any purged record: new records start above it.
    fence_floor: u64,
}

pub struct MemoryStore {
    inner: RefCell<Inner>,
    clock: Clock,
    retention_ms: u64,
}

impl MemoryStore {
    pub fn new(retention_ms: u64) -> Self {
        MemoryStore {
            inner: RefCell::new(Inner {
                records: BTreeMap::new(),
                tally: Tally::default(),
                owners: Owners::default(),
                writes: 0,
                sweep_after: None,
                fence_floor: 0,
            }),
            clock: Clock::default(),
            retention_ms,
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// `name` as the one shared copy this store keeps (see `owners`).
    pub fn owner(&self, name: String) -> Owner {
        self.inner.borrow_mut().owners.intern(name)
    }
}

impl Inner {
    /// Purges idle records past retention among the next `SWEEP_SLICE`.
    fn sweep(&mut self, now: i64, retention_ms: u64) {
        let from = match &self.sweep_after {
            Some(k) => (Excluded(&**k), Unbounded),
            None => (Unbounded, Unbounded),
        };
        let mut purge = Vec::new();
        let mut seen = 0;
        let mut last = None;
        for (k, rec) in self.records.range::<str, _>(from).take(SWEEP_SLICE) {
            if rec.is_purgeable(now, retention_ms) {
                purge.push(k.clone());
                self.fence_floor = self.fence_floor.max(rec.last_fence);
            }
            seen += 1;
            last = Some(k);
        }
        // Short of a slice: the end was reached, the next sweep starts over.
        self.sweep_after = if seen < SWEEP_SLICE {
            None
        } else {
            last.cloned()
        };
        for k in purge {
            self.records.remove(&k);
        }
        self.owners.shed();
    }
}

/// Called on the JS thread: a store of one process needs no thread of its own.
impl MemoryStore {
    /// Applies `command` to `key`'s record atomically.
    pub fn execute(
        &self,
        key: &str,
        command: Command,
        policy: &Policy,
    ) -> Result<Executed, StoreError> {
        self.execute_repeated(key, command, policy, 1)
            .map(|(done, _)| done)
    }

    /// `command` made `times` times in a row, at one instant: applied once, and
    /// when that changed nothing, its reply is the reply to each of the others
    /// too (see `Applied::changed`). Returns the reply and how many of the
    /// `times` commands it answers: all, or only the first when it changed the
    /// record (the caller makes the rest again, against the new record).
    pub fn execute_repeated(
        &self,
        key: &str,
        command: Command,
        policy: &Policy,
        times: u32,
    ) -> Result<(Executed, u32), StoreError> {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        crate::fault::inject("store", key);
        let at = self.clock.read();
        let now = at.now;
        let mut ctx = Context {
            now,
            policy,
            fence_floor: inner.fence_floor,
            new_run_id: &mut new_run_id,
        };
        let applied = match inner.records.get_mut(key) {
            Some(rec) => {
                let before = Counted::of(rec);
                let applied = apply(rec, command, &mut ctx);
                if applied.changed {
                    inner.tally.changed(before, Counted::of(rec));
                }
                applied
            }
            None => {
                let mut rec = Box::<Record>::default();
                let applied = apply(&mut rec, command, &mut ctx);
                if applied.changed {
                    inner.tally.changed(Counted::Idle, Counted::of(&rec));
                    inner.records.insert(key.into(), rec);
                }
                applied
            }
        };
        if applied.changed {
            inner.writes += 1;
            if inner.writes >= SWEEP_EVERY {
                inner.writes = 0;
                inner.sweep(now, self.retention_ms);
            }
        }
        let answered = if applied.changed { 1 } else { times.max(1) };
        Ok((Executed::shown(applied.reply, at), answered))
    }

    pub fn inspect(&self, filter: &InspectFilter) -> Result<Inspection, StoreError> {
        let mut job = self.begin_inspect(filter.clone());
        while !self.inspect_step(&mut job, std::time::Duration::MAX) {}
        Ok(job.finish())
    }
}

#[cfg(test)]
mod tests;
