use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{collect, new_run_id, Clock, Executed, InspectFilter, Inspection, Store, StoreError};
use crate::engine::{apply, Command, Context, Policy, Record};

const SHARDS: usize = 16;
/// Writes to a shard between sweeps of its idle records: amortises purging
/// without a timer thread.
const SWEEP_EVERY: u32 = 4096;

struct Shard {
    records: HashMap<String, Record>,
    writes: u32,
}

/// One process's guards, in a sharded map.
pub struct MemoryStore {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    clock: Clock,
    /// The largest fence of any purged record: new records start above it.
    fence_floor: AtomicU64,
    retention_ms: u64,
}

impl MemoryStore {
    pub fn new(retention_ms: u64) -> Self {
        MemoryStore {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        records: HashMap::new(),
                        writes: 0,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            clock: Clock::default(),
            fence_floor: AtomicU64::new(0),
            retention_ms,
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    fn sweep(&self, shard: &mut Shard, now: i64) {
        let retention = self.retention_ms;
        let mut floor = 0;
        shard.records.retain(|_, rec| {
            let purge = rec.is_purgeable(now, retention);
            if purge {
                floor = floor.max(rec.last_fence);
            }
            !purge
        });
        self.fence_floor.fetch_max(floor, Ordering::Relaxed);
    }
}

impl Store for MemoryStore {
    fn execute(
        &self,
        key: &str,
        command: Command,
        policy: &Policy,
    ) -> Result<Executed, StoreError> {
        let mut shard = self.shard(key).lock();
        crate::fault::inject("store", key);
        let at = self.clock.read();
        let now = at.now;
        let mut ctx = Context {
            now,
            policy,
            fence_floor: self.fence_floor.load(Ordering::Relaxed),
            new_run_id: &mut new_run_id,
        };
        let applied = match shard.records.get_mut(key) {
            Some(rec) => apply(rec, command, &mut ctx),
            None => {
                let mut rec = Record::default();
                let applied = apply(&mut rec, command, &mut ctx);
                if applied.changed {
                    shard.records.insert(key.to_owned(), rec);
                }
                applied
            }
        };
        if applied.changed {
            shard.writes += 1;
            if shard.writes >= SWEEP_EVERY {
                shard.writes = 0;
                self.sweep(&mut shard, now);
            }
        }
        Ok(Executed::shown(applied.reply, at))
    }

    fn inspect(&self, filter: &InspectFilter) -> Result<Inspection, StoreError> {
        let at = self.clock.read();
        let now = at.now;
        let prefix = filter.full_prefix();
        let mut found = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock();
            for (k, rec) in &shard.records {
                if k.starts_with(&prefix) {
                    found.push((k.clone(), rec.clone()));
                }
            }
        }
        Ok(collect(found.iter().map(|(k, r)| (k.as_str(), r)), filter, now).shown(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Acquire, AcquireReply, Release, ReleaseStatus, Reply};

    fn acquire(s: &MemoryStore, key: &str) -> AcquireReply {
        let cmd = Command::Acquire(Acquire {
            owner: None,
            ttl_ms: Some(1000),
            meta: None,
        });
        match s.execute(key, cmd, &Policy::default()).unwrap().reply {
            Reply::Acquire(r) => r,
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn threads_racing_on_one_key_get_one_winner() {
        let s = std::sync::Arc::new(MemoryStore::new(1000));
        let wins: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let s = s.clone();
                    scope.spawn(move || {
                        (0..1000)
                            .filter(|_| matches!(acquire(&s, "k"), AcquireReply::Acquired { .. }))
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1);
    }

    #[test]
    fn purged_keys_keep_fences_rising() {
        let s = MemoryStore::new(0);
        let policy = Policy::default();
        let mut last = 0;
        for i in 0..(SWEEP_EVERY * 8) {
            let key = format!("k{}", i % 7);
            let AcquireReply::Acquired { run, .. } = acquire(&s, &key) else {
                panic!()
            };
            if key == "k0" {
                assert!(run.fencing_token > last);
                last = run.fencing_token;
            }
            let rel = Command::Release(Release {
                run_id: run.run_id,
                status: ReleaseStatus::Succeeded,
                error: None,
            });
            s.execute(&key, rel, &policy).unwrap();
        }
        assert!(
            s.fence_floor.load(Ordering::Relaxed) > 0,
            "sweeps purged idle records"
        );
        let total: usize = s.shards.iter().map(|sh| sh.lock().records.len()).sum();
        assert!(total <= 7);
    }
}
