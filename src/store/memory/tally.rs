//! Counts per state for the whole memory store, kept as records change, so
//! `inspect` answers them without looking at every guard.
//!
//! Running, failed and approved are counters. Stale is not a change of any
//! record but of the clock: a running record is stale once `now >= expires_at`.
//! So running records' expiries are kept in a ledger (expiry → how many), with
//! a frontier: `expired` counts the expiries at or before it. Counting at `now`
//! moves the frontier to `now`, crossing each ledger entry between the two once;
//! as time moves forward each entry is crossed once in its life (amortised O(1)
//! per write). A caller's clock may move back: the frontier then moves back the
//! same way. The walk is bounded per call so no call blocks for long.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included};

use crate::engine::{Counts, Phase, Record};

/// What the tally counts of a record: its phase, and a running one's expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Idle,
    Running { expires_at: i64 },
    Failed,
    Approved,
}

impl Counted {
    pub fn of(rec: &Record) -> Counted {
        match &rec.phase {
            Phase::Idle => Counted::Idle,
            Phase::Running(r) => Counted::Running {
                expires_at: r.expires_at,
            },
            Phase::Failed(_) => Counted::Failed,
            Phase::Approved(..) => Counted::Approved,
        }
    }
}

pub struct Tally {
    running: u64,
    failed: u64,
    approved: u64,
    /// Expiry → running records with it.
    expiries: BTreeMap<i64, u32>,
    frontier: i64,
    /// Running records whose expiry is at or before `frontier`.
    expired: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            running: 0,
            failed: 0,
            approved: 0,
            expiries: BTreeMap::new(),
            frontier: i64::MIN,
            expired: 0,
        }
    }
}

impl Tally {
    /// A record went from `before` to `after`.
    pub fn changed(&mut self, before: Counted, after: Counted) {
        if before == after {
            return;
        }
        match before {
            Counted::Idle => {}
            Counted::Running { expires_at } => {
                self.running -= 1;
                self.forget_expiry(expires_at);
            }
            Counted::Failed => self.failed -= 1,
            Counted::Approved => self.approved -= 1,
        }
        match after {
            Counted::Idle => {}
            Counted::Running { expires_at } => {
                self.running += 1;
                *self.expiries.entry(expires_at).or_insert(0) += 1;
                if expires_at <= self.frontier {
                    self.expired += 1;
                }
            }
            Counted::Failed => self.failed += 1,
            Counted::Approved => self.approved += 1,
        }
    }

    fn forget_expiry(&mut self, at: i64) {
        if let Some(n) = self.expiries.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.expiries.remove(&at);
            }
        }
        if at <= self.frontier {
            self.expired -= 1;
        }
    }

    /// Moves the frontier toward `now`, crossing at most `budget` ledger
    /// entries; true once it is at `now`.
    pub fn catch_up(&mut self, now: i64, budget: usize) -> bool {
        if now >= self.frontier {
            let ahead = self
                .expiries
                .range((Excluded(self.frontier), Included(now)));
            for (crossed, (&at, &n)) in ahead.enumerate() {
                if crossed == budget {
                    return false;
                }
                self.expired += n as u64;
                self.frontier = at;
            }
        } else {
            let behind = self
                .expiries
                .range((Excluded(now), Included(self.frontier)));
            for (crossed, (&at, &n)) in behind.rev().enumerate() {
                if crossed == budget {
                    return false;
                }
                self.expired -= n as u64;
                // Everything up to just below `at` is still counted.
                self.frontier = at.saturating_sub(1);
            }
        }
        self.frontier = now;
        true
    }

    /// The counts at the frontier (call `catch_up(now)` until it is true first).
    pub fn counts(&self) -> Counts {
        Counts {
            running: self.running - self.expired,
            stale: self.expired,
            failed: self.failed,
            approved: self.approved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(at: i64) -> Counted {
        Counted::Running { expires_at: at }
    }

    fn at(t: &mut Tally, now: i64) -> Counts {
        while !t.catch_up(now, 1) {}
        t.counts()
    }

    #[test]
    fn stale_follows_the_clock_both_ways() {
        let mut t = Tally::default();
        for e in [10, 20, 20, 30] {
            t.changed(Counted::Idle, run(e));
        }
        t.changed(Counted::Idle, Counted::Failed);
        assert_eq!(at(&mut t, 5).stale, 0);
        assert_eq!(at(&mut t, 20).stale, 3);
        assert_eq!(at(&mut t, 20).running, 1);
        assert_eq!(at(&mut t, 100).stale, 4);
        // The caller's clock moved back.
        assert_eq!(at(&mut t, 19).stale, 1);
        assert_eq!(at(&mut t, 9).stale, 0);
        assert_eq!(at(&mut t, 9).failed, 1);
        // A heartbeat moves an expiry past the frontier; a release drops it.
        at(&mut t, 25);
        t.changed(run(20), run(40));
        assert_eq!(at(&mut t, 25).stale, 2);
        t.changed(run(10), Counted::Idle);
        assert_eq!(
            at(&mut t, 25),
            Counts {
                running: 2,
                stale: 1,
                failed: 1,
                approved: 0
            }
        );
    }

    #[test]
    fn a_bounded_walk_resumes_where_it_stopped() {
        let mut t = Tally::default();
        for e in 0..100 {
            t.changed(Counted::Idle, run(e));
        }
        let mut calls = 0;
        while !t.catch_up(1_000, 7) {
            calls += 1;
            // Changes between calls keep the count right.
            if calls == 3 {
                t.changed(run(50), run(5_000));
                t.changed(Counted::Idle, run(1));
            }
        }
        assert!(calls >= 14);
        assert_eq!(t.counts().stale, 100);
        assert_eq!(t.counts().running, 1);
    }
}
