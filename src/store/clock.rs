//! The time leases are measured on. A wall-clock step (NTP, `date -s`, a VM
//! resumed) must not make a live run stale nor keep a dead one alive, so a
//! store's clock is the host's boot clock — it counts from boot, never steps,
//! keeps counting through suspend and is the same for every process of the
//! host — plus a base fixed once per boot, so its readings stay close to epoch
//! milliseconds (run ids are UUID v7; times survive in the file). The wall
//! clock is only used to show times: every time leaving a store is shifted by
//! how far the wall clock now is from the store's clock.
//!
//! That distance is read again once `WALL_FRESH_NS` of the boot clock has passed
//! since it was last read, not on every call: a memory-store call is ~0.4 µs, and
//! a second clock read per call was ~5% of an acquire+release pair (measured). A
//! wall-clock step therefore shows in every call made 20 µs after it; a call in
//! those 20 µs shows its times as a call made just before the step would.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// No time set by the caller: read the boot clock.
const UNSET: i64 = i64::MIN;

/// How long a wall-clock reading is used (see the module doc). Windows' boot
/// clock moves in ticks of ~15 ms, so there it is read on every call.
const WALL_FRESH_NS: i64 = if cfg!(windows) { 0 } else { 20_000 };

/// A clock reading: `now` on the store's clock, and what to add to a time on
/// that clock to show it on the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub now: i64,
    pub to_wall: i64,
}

#[derive(Debug)]
pub struct Clock {
    /// The store's time when the boot clock read 0.
    base_ms: AtomicI64,
    /// A memory store given a clock of the caller's: the time it last read
    /// (set before each call). It is then the only clock, shown as it is.
    set_ms: AtomicI64,
    /// The last `to_wall` handed out: two clocks read a moment apart and cut
    /// to milliseconds differ by ±1 ms from one reading to the next, and a time
    /// shown twice must read the same. Only a real step replaces it.
    shown_to_wall: AtomicI64,
    /// The boot clock (ns) when the wall clock was last read; `UNSET`: never.
    wall_read_at: AtomicI64,
}

impl Default for Clock {
    /// A clock for one process: based on the wall clock as it reads now.
    fn default() -> Self {
        Clock::with_base(wall_ms() - boot_ms())
    }
}

impl Clock {
    pub fn with_base(base_ms: i64) -> Self {
        Clock {
            base_ms: AtomicI64::new(base_ms),
            set_ms: AtomicI64::new(UNSET),
            // A base is set so the store's clock reads as the wall clock does:
            // until a step, nothing is shifted.
            shown_to_wall: AtomicI64::new(0),
            wall_read_at: AtomicI64::new(UNSET),
        }
    }

    pub fn rebase(&self, base_ms: i64) {
        self.base_ms.store(base_ms, Ordering::Relaxed);
        // The distance to the wall clock was from the old base.
        self.wall_read_at.store(UNSET, Ordering::Release);
    }

    pub fn now(&self) -> i64 {
        self.read().now
    }

    pub fn read(&self) -> Reading {
        let set = self.set_ms.load(Ordering::Relaxed);
        if set != UNSET {
            return Reading {
                now: set,
                to_wall: 0,
            };
        }
        let boot = boot_ns();
        let now = self.base_ms.load(Ordering::Relaxed) + boot / 1_000_000;
        // Acquire: `shown_to_wall` as stored before this reading's time was.
        if boot.saturating_sub(self.wall_read_at.load(Ordering::Acquire)) < WALL_FRESH_NS {
            return Reading {
                now,
                to_wall: self.shown_to_wall.load(Ordering::Relaxed),
            };
        }
        let measured = wall_ms() - now;
        let last = self.shown_to_wall.load(Ordering::Relaxed);
        let to_wall = if (measured - last).abs() <= 1 {
            last
        } else {
            self.shown_to_wall.store(measured, Ordering::Relaxed);
            measured
        };
        self.wall_read_at.store(boot, Ordering::Release);
        Reading { now, to_wall }
    }

    /// From now on the time is `ms` (the caller's clock), until set again.
    pub fn set(&self, ms: i64) {
        self.set_ms.store(ms.max(UNSET + 1), Ordering::Relaxed);
    }
}

pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the host booted, including time suspended; shared by
/// every process of the host and never stepped.
pub fn boot_ms() -> i64 {
    boot_ns() / 1_000_000
}

/// As `boot_ms`, in nanoseconds.
#[cfg(unix)]
fn boot_ns() -> i64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
    // Counts from boot and through sleep on macOS (CLOCK_UPTIME_RAW would not).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Cannot fail for a clock id the platform defines and a valid pointer.
    unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    // The fields are narrower than i64 on 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    let ns = ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64;
    ns
}

#[cfg(windows)]
fn boot_ns() -> i64 {
    #[link(name = "kernel32")]
    extern "system" {
        fn GetTickCount64() -> u64;
    }
    // Milliseconds since boot, through sleep, system-wide.
    unsafe { GetTickCount64() as i64 * 1_000_000 }
}

/// An identity of this boot of the host: a store's clock base holds until it
/// changes. `None` where the platform does not say.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(target_os = "macos")]
pub fn boot_id() -> Option<String> {
    let mut buf = [0u8; 64];
    let mut len = buf.len();
    let name = c"kern.bootsessionuuid";
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    let text = std::str::from_utf8(&buf[..len]).ok()?;
    Some(text.trim_end_matches('\0').to_owned()).filter(|s| !s.is_empty())
}

#[cfg(windows)]
pub fn boot_id() -> Option<String> {
    #[link(name = "ntdll")]
    extern "system" {
        fn NtQuerySystemInformation(
            class: u32,
            info: *mut core::ffi::c_void,
            len: u32,
            returned: *mut u32,
        ) -> i32;
    }
    // SystemBootEnvironmentInformation: a GUID made at each boot, then firmware type and flags.
    const SYSTEM_BOOT_ENVIRONMENT_INFORMATION: u32 = 90;
    let mut buf = [0u8; 32];
    let mut returned = 0u32;
    let status = unsafe {
        NtQuerySystemInformation(
            SYSTEM_BOOT_ENVIRONMENT_INFORMATION,
            buf.as_mut_ptr().cast(),
            buf.len() as u32,
            &mut returned,
        )
    };
    (status >= 0).then(|| buf[..16].iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    windows
)))]
pub fn boot_id() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_near_the_wall_clock_and_shows_wall_time() {
        let c = Clock::default();
        let r = c.read();
        assert!((r.now - wall_ms()).abs() < 1000);
        assert!((r.now + r.to_wall - wall_ms()).abs() < 50);
    }

    #[test]
    fn a_stepped_wall_clock_moves_only_what_is_shown() {
        // A base fixed an hour "earlier" stands for a wall clock stepped forward an hour since.
        let c = Clock::with_base(wall_ms() - boot_ms() - 3_600_000);
        let r = c.read();
        assert!((wall_ms() - 3_600_000 - r.now).abs() < 1000);
        assert!((r.now + r.to_wall - wall_ms()).abs() < 50);
    }

    #[test]
    fn a_step_shows_once_the_wall_reading_is_no_longer_fresh() {
        let c = Clock::default();
        assert!((c.read().now + c.read().to_wall - wall_ms()).abs() < 50);
        // A base an hour earlier stands for a wall clock stepped forward an hour.
        c.rebase(wall_ms() - boot_ms() - 3_600_000);
        let r = c.read();
        assert!((r.now + r.to_wall - wall_ms()).abs() < 50, "{r:?}");
        // A step that does not change the base: a new distance, read once the last is stale.
        let before = c.read();
        c.shown_to_wall
            .store(before.to_wall + 3_600_000, Ordering::Relaxed);
        let waited = boot_ns();
        while boot_ns() - waited <= WALL_FRESH_NS {
            std::hint::spin_loop();
        }
        let fresh = c.read();
        assert!(
            (fresh.now + fresh.to_wall - wall_ms()).abs() < 50,
            "{fresh:?}"
        );
    }

    #[test]
    fn a_callers_clock_is_shown_as_it_is() {
        let c = Clock::default();
        c.set(42);
        assert_eq!(
            c.read(),
            Reading {
                now: 42,
                to_wall: 0
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_host_has_a_boot_identity_and_a_boot_clock() {
        assert_eq!(boot_id().unwrap().len(), 36);
        let a = boot_ms();
        assert!(a > 0 && boot_ms() >= a);
    }
}
