//! Panics on purpose, only in builds made for the panic tests (cargo feature
//! `fault-injection`; never in a published binary): a key, store path or URL
//! containing `task-guard-panic-<point>` panics at that point.

#[cfg(feature = "fault-injection")]
pub fn inject(point: &str, text: &str) {
    if text.contains(&format!("task-guard-panic-{point}")) {
        panic!("injected at {point}");
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn inject(_point: &str, _text: &str) {}
