//! `guardAcquire` and `guardRelease` again, as plain N-API callbacks, for the memory
//! store (where a call is ~1 µs of work). A `#[napi]` function opens and closes
//! napi-rs's borrow scope on every call and reads each string twice (its length,
//! then its bytes): about a tenth of an acquire+release pair, measured with perf.
//! These read their arguments themselves and do what the `#[napi]` ones do.
//! Their caller keeps the last text it was handed: an answer whose strings are the
//! same as the last one's returns `undefined` instead of a new string (`Text::Same`).

use std::ffi::{c_char, CString};
use std::ptr::null_mut;

use napi::bindgen_prelude::Object;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use super::commands;
use super::errors::{guarded, invalid, Error, Result};
use super::guard::Guard;
use super::handle;
use super::memory::Text;
use super::replies::latin1_value;

#[napi(module_exports)]
pub fn fast_calls(exports: Object, env: Env) -> napi::Result<()> {
    define(&env, &exports, c"guardAcquireFast", acquire)?;
    define(&env, &exports, c"guardReleaseFast", release)?;
    define(&env, &exports, c"guardReleaseLast", release_last)
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

fn define(env: &Env, exports: &Object, name: &std::ffi::CStr, f: Callback) -> napi::Result<()> {
    let mut value = null_mut();
    // SAFETY: plain N-API calls on the module's env and exports object.
    let status = unsafe {
        sys::napi_create_function(
            env.raw(),
            name.as_ptr(),
            name.to_bytes().len() as isize,
            Some(f),
            null_mut(),
            &mut value,
        )
    };
    let status = if status == sys::Status::napi_ok {
        // SAFETY: as above.
        unsafe { sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), value) }
    } else {
        status
    };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_reason(format!(
            "could not define {}",
            name.to_string_lossy()
        )));
    }
    Ok(())
}

/// `guardAcquireFast(handle, key, owner?, ttlMs?, meta?, fingerprint?, times?)`: as
/// `guardAcquire` with id 0. With `times`, that acquire made `times` times in a row
/// (duplicates that queued in a burst), answered as far as one answer goes: how many
/// it answers is in the slot after the answer's (`Memory::answer_repeated`).
unsafe extern "C" fn acquire(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    on_guard(env, info, |g, key, a| {
        let cmd = g.with_default_owner(commands::acquire(
            optional_string(env, a[2], "owner")?,
            optional_number(env, a[3], "ttlMs")?,
            optional_string(env, a[4], "meta")?,
            optional_string(env, a[5], "fingerprint")?,
            |o| g.owner(o),
        )?);
        if is_nullish(env, a[6]) {
            return g.command_or_same(&key, cmd, |t| text_value(env, t));
        }
        g.acquire_repeated(&key, cmd, count(env, a[6])?, |t| text_value(env, t))
    })
}

/// The most calls one repeated acquire stands for: the facade sends at most 256,
/// and a count is work done on the JS thread (each one is counted in the metrics).
const MAX_TIMES: f64 = 65_536.0;

/// A count of calls: a whole number from 1 to `MAX_TIMES`.
fn count(env: sys::napi_env, v: sys::napi_value) -> Result<u32> {
    let mut n = 0f64;
    // SAFETY: a value of this call; anything but a number is refused below.
    let status = unsafe { sys::napi_get_value_double(env, v, &mut n) };
    if status != sys::Status::napi_ok || !(1.0..=MAX_TIMES).contains(&n) || n.fract() != 0.0 {
        return Err(invalid(
            "times must be a whole number of calls from 1 to 65536",
        ));
    }
    Ok(n as u32)
}

/// `guardReleaseFast(handle, key, runId, status, error?, result?)`: as `guardRelease` with id 0.
unsafe extern "C" fn release(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    on_guard(env, info, |g, key, a| {
        let run_id = string(env, a[2], "runId")?;
        let status = status_index(env, a[3])?;
        let cmd = commands::release(
            g.settings(),
            run_id,
            status,
            optional_string(env, a[4], "error")?,
            optional_string(env, a[5], "result")?,
        )?;
        g.command_or_same(&key, cmd, |t| text_value(env, t))
    })
}

/// `guardReleaseLast(handle, status)`: a plain release of the last run granted
/// (`Memory::release_last`), for a caller that knows it releases that run.
unsafe extern "C" fn release_last(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `info` is the current call's.
    let a = unsafe { args::<2>(env, info) };
    answered(env, || {
        let g = handle::guard_at(env, a[0])?;
        let status = status_index(env, a[1])?;
        g.release_last(status, |t| text_value(env, t))
    })
}

fn status_index(env: sys::napi_env, v: sys::napi_value) -> Result<u32> {
    let mut status = 0u32;
    // SAFETY: a value of this call; a non-number (or none) is refused by the status.
    if v.is_null()
        || unsafe { sys::napi_get_value_uint32(env, v, &mut status) } != sys::Status::napi_ok
    {
        return Err(invalid("status must be a release status index"));
    }
    Ok(status)
}

/// A call `(handle, key, …)` of up to seven arguments: `f` with the guard, the key and
/// the arguments; its answer returned, its error (or a panic) thrown with its code.
fn on_guard(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    f: impl FnOnce(&Guard, String, [sys::napi_value; 7]) -> Result<sys::napi_value>,
) -> sys::napi_value {
    // SAFETY: `info` is the current call's.
    let a = unsafe { args::<7>(env, info) };
    answered(env, || {
        let g = handle::guard_at(env, a[0])?;
        let key = string(env, a[1], "key")?;
        f(g, key, a)
    })
}

/// `f`'s answer, or its error (or a panic) thrown with its code.
fn answered(env: sys::napi_env, f: impl FnOnce() -> Result<sys::napi_value>) -> sys::napi_value {
    guarded(f).unwrap_or_else(|e| {
        throw(env, &e);
        null_mut()
    })
}

/// The call's first `N` arguments, those not passed as null: the facade leaves out
/// trailing options it does not have, so they need no type check.
unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> [sys::napi_value; N] {
    let mut argc = N;
    let mut argv = [null_mut(); N];
    // SAFETY: `info` is this call's; `argv` holds `argc` values.
    unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            null_mut(),
            null_mut(),
        )
    };
    for a in argv.iter_mut().skip(argc) {
        *a = null_mut();
    }
    argv
}

fn is_nullish(env: sys::napi_env, v: sys::napi_value) -> bool {
    if v.is_null() {
        return true; // not passed
    }
    let mut t = 0;
    // SAFETY: a value of the current call.
    unsafe { sys::napi_typeof(env, v, &mut t) };
    t == sys::ValueType::napi_undefined || t == sys::ValueType::napi_null
}

/// A JS string as UTF-8, read once into a stack buffer when it fits (keys, owners
/// and run ids do), else measured and read.
fn string(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<String> {
    // Not zeroed: N-API writes what is read back (zeroing it was 1.5% of a pair).
    let mut buf = std::mem::MaybeUninit::<[u8; 512]>::uninit();
    let mut len = 0usize;
    // SAFETY: `buf` holds 512 bytes; N-API writes at most that, NUL included, and says how many.
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast::<c_char>(), 512, &mut len)
    };
    if status != sys::Status::napi_ok {
        return Err(invalid(format!("{name} must be a string")));
    }
    if len + 1 < 512 {
        // SAFETY: N-API wrote `len` bytes (and a NUL after them).
        let written = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
        // SAFETY: N-API writes UTF-8 with lone surrogates replaced and never cuts a
        // character (checking it again was 1.5% of a pair, measured).
        return Ok(unsafe { String::from_utf8_unchecked(written.to_vec()) });
    }
    // SAFETY: with no buffer, N-API only measures.
    unsafe { sys::napi_get_value_string_utf8(env, v, null_mut(), 0, &mut len) };
    let mut long = vec![0u8; len + 1];
    // SAFETY: `long` holds `len + 1` bytes.
    unsafe {
        sys::napi_get_value_string_utf8(
            env,
            v,
            long.as_mut_ptr().cast::<c_char>(),
            long.len(),
            &mut len,
        )
    };
    long.truncate(len);
    String::from_utf8(long).map_err(|_| invalid(format!("{name} is not UTF-8")))
}

fn optional_string(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<Option<String>> {
    if is_nullish(env, v) {
        return Ok(None);
    }
    string(env, v, name).map(Some)
}

fn optional_number(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<Option<f64>> {
    if is_nullish(env, v) {
        return Ok(None);
    }
    let mut n = 0.0;
    // SAFETY: a value of the current call; a non-number is refused by the status.
    if unsafe { sys::napi_get_value_double(env, v, &mut n) } != sys::Status::napi_ok {
        return Err(invalid(format!("{name} must be a number")));
    }
    Ok(Some(n))
}

/// The answer's string (null: none; undefined: the last one's).
fn text_value(env: sys::napi_env, text: Text<'_>) -> sys::napi_value {
    let mut value = null_mut();
    match text {
        // ASCII (most answers: run ids, owners) is Latin-1 too, which V8 copies
        // without decoding UTF-8: a sixth of a pair's native time, measured.
        // SAFETY: creating values in the current call's env.
        Text::New(s) if s.is_ascii() => unsafe {
            latin1_value(env, s.as_bytes(), &mut value);
        },
        // SAFETY: as above.
        Text::New(s) => unsafe {
            sys::napi_create_string_utf8(
                env,
                s.as_ptr().cast::<c_char>(),
                s.len() as isize,
                &mut value,
            );
        },
        // SAFETY: as above.
        Text::None => unsafe {
            sys::napi_get_null(env, &mut value);
        },
        // SAFETY: as above.
        Text::Same => unsafe {
            sys::napi_get_undefined(env, &mut value);
        },
    }
    value
}

fn throw(env: sys::napi_env, e: &Error) {
    let text = |s: &str| CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default();
    let (code, message) = (text(e.status.as_ref()), text(&e.reason));
    // SAFETY: two NUL-terminated strings; a pending exception is what the call answers.
    unsafe { sys::napi_throw_error(env, code.as_ptr(), message.as_ptr()) };
}
