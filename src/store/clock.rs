use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// No time set by the caller: read the wall clock.
const UNSET: i64 = i64::MIN;

/// Wall-clock milliseconds, plus an offset that tests move forward to make runs
/// stale without sleeping; or, for a memory store given a clock of the caller's,
/// the time that clock last read (set before each call).
#[derive(Debug)]
pub struct Clock {
    offset_ms: AtomicI64,
    set_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            offset_ms: AtomicI64::new(0),
            set_ms: AtomicI64::new(UNSET),
        }
    }
}

impl Clock {
    pub fn now(&self) -> i64 {
        let set = self.set_ms.load(Ordering::Relaxed);
        if set != UNSET {
            return set + self.offset_ms.load(Ordering::Relaxed);
        }
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        wall + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// From now on the time is `ms` (the caller's clock), until set again.
    pub fn set(&self, ms: i64) {
        self.set_ms.store(ms.max(UNSET + 1), Ordering::Relaxed);
    }
}
