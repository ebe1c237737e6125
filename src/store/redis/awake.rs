//! Keeps a core from going idle for a moment while a lone call awaits its
//! reply. On a host with virtual cores, a core that went idle must be woken
//! for the server to answer, and on this project's 2-core VM that wake-up was
//! the larger part of a call's round trip on loopback (with a core kept busy:
//! ~31 → ~10 µs from request written to reply read, measured). So while at
//! most one call is in flight, and for a moment after its answer (the caller's
//! next call), one thread of the process spins. Bounded, so a server far away
//! (a reply in milliseconds) costs at most `WAIT` of spinning per call; never
//! while several calls are in flight, whose replies come in batches and where
//! a spinning thread would take a core from the caller or a local server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long to keep a core awake for the reply of a call just sent.
pub const WAIT: Duration = Duration::from_micros(100);
/// How long to keep it awake for a caller's next call after an answer.
pub const LINGER: Duration = Duration::from_micros(50);

struct Spinner {
    thread: Thread,
    start: Instant,
    /// Until when to spin, in ns since `start`.
    until: AtomicU64,
    parked: AtomicBool,
}

static SPINNER: OnceLock<Option<Spinner>> = OnceLock::new();

fn spinner() -> Option<&'static Spinner> {
    SPINNER
        .get_or_init(|| {
            let start = Instant::now();
            let thread = std::thread::Builder::new()
                .name("task-guard-awake".into())
                .spawn(move || spin(start))
                .ok()?
                .thread()
                .clone();
            Some(Spinner {
                thread,
                start,
                until: AtomicU64::new(0),
                parked: AtomicBool::new(true),
            })
        })
        .as_ref()
}

fn spin(start: Instant) {
    loop {
        let Some(s) = SPINNER.get().and_then(Option::as_ref) else {
            std::thread::park();
            continue;
        };
        while (s.start.elapsed().as_nanos() as u64) < s.until.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        s.parked.store(true, Ordering::SeqCst);
        // A deadline set between the check above and this store unparks us (see `stay_awake`).
        if (start.elapsed().as_nanos() as u64) >= s.until.load(Ordering::SeqCst) {
            std::thread::park();
        }
        s.parked.store(false, Ordering::SeqCst);
    }
}

/// Keeps a core awake for `d` from now (or longer, if asked already).
pub fn stay_awake(d: Duration) {
    let Some(s) = spinner() else { return };
    let until = (s.start.elapsed() + d).as_nanos() as u64;
    s.until.fetch_max(until, Ordering::SeqCst);
    if s.parked.load(Ordering::SeqCst) {
        s.thread.unpark();
    }
}
