//! A guard's JS handle: an external whose data is the guard. Not napi-rs's
//! `External<T>`: taking one as an argument costs a process-wide registry lookup
//! and a borrow scope on every call, about 13% of a memory-store call (measured
//! with perf); a handle is checked here against its thread's own set of live guards.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::c_void;
use std::hash::{BuildHasherDefault, Hasher};

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{sys, Env, JsValue};

use super::errors::{invalid, Result};
use super::guard::Guard;

/// Guard addresses are distinct and spread out: one multiply mixes them enough.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

thread_local! {
    /// The guards made on this JS thread (the main one or a worker's) and not yet
    /// collected: an external from elsewhere (another addon's) is refused, not read.
    static LIVE: RefCell<HashSet<usize, BuildHasherDefault<AddressHasher>>> = RefCell::default();
}

/// The handle of `guard`, which it owns: the guard is dropped when the handle is collected.
pub fn wrap(env: &Env, guard: Guard) -> Result<Unknown<'static>> {
    let data = Box::into_raw(Box::new(guard));
    let mut value = std::ptr::null_mut();
    // SAFETY: `data` is a live Box that `finalize` frees exactly once, when V8 collects the value.
    let status = unsafe {
        sys::napi_create_external(
            env.raw(),
            data.cast(),
            Some(finalize),
            std::ptr::null_mut(),
            &mut value,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: not handed to V8, so still ours alone.
        drop(unsafe { Box::from_raw(data) });
        return Err(invalid("could not make the guard's handle"));
    }
    LIVE.with(|live| live.borrow_mut().insert(data as usize));
    // SAFETY: `value` was just made in `env`; wrapping a value cannot fail.
    unsafe { Unknown::from_napi_value(env.raw(), value) }
        .map_err(|e| invalid(format!("could not make the guard's handle: {e}")))
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // At thread exit the set may be gone already; the guard is freed either way.
    let _ = LIVE.try_with(|live| live.borrow_mut().remove(&(data as usize)));
    // SAFETY: made by `wrap` from a Box, and V8 calls this once.
    drop(unsafe { Box::from_raw(data as *mut Guard) });
}

/// The guard behind handle `h`, valid while the caller holds `h` (a JS argument).
pub fn guard_of<'a>(h: &Unknown<'a>) -> Result<&'a Guard> {
    let v = h.value();
    guard_at(v.env, v.value)
}

/// The guard behind the handle `value`, an argument of the current call (which keeps it alive).
pub fn guard_at<'a>(env: sys::napi_env, value: sys::napi_value) -> Result<&'a Guard> {
    let mut data = std::ptr::null_mut();
    // SAFETY: `value` is a value of the current call; a non-external is refused by the status.
    let status = unsafe { sys::napi_get_value_external(env, value, &mut data) };
    if status != sys::Status::napi_ok || !LIVE.with(|live| live.borrow().contains(&(data as usize)))
    {
        return Err(invalid("not a guard handle"));
    }
    // SAFETY: a live guard made by `wrap`; V8 keeps it while its handle is reachable.
    Ok(unsafe { &*(data as *const Guard) })
}
