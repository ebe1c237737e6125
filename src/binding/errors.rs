use crate::engine::InvalidArg;
use crate::store::StoreError;

/// Stable `error.code` values thrown to JS.
pub enum Code {
    InvalidArg,
    Closed,
    StoreUnavailable,
    StoreCorrupt,
    StoreVersion,
    Internal,
}

/// The strings come from `lib/contract.json`, as the facade's `codes` do.
impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        crate::contract::code(match self {
            Code::InvalidArg => "INVALID_ARG",
            Code::Closed => "CLOSED",
            Code::StoreUnavailable => "STORE_UNAVAILABLE",
            Code::StoreCorrupt => "STORE_CORRUPT",
            Code::StoreVersion => "STORE_VERSION",
            Code::Internal => "INTERNAL",
        })
    }
}

pub type Error = napi::Error<Code>;
pub type Result<T> = std::result::Result<T, Error>;

pub fn invalid(msg: impl Into<String>) -> Error {
    napi::Error::new(Code::InvalidArg, msg.into())
}

impl From<InvalidArg> for Error {
    fn from(e: InvalidArg) -> Self {
        invalid(e.0)
    }
}

pub fn closed() -> Error {
    napi::Error::new(Code::Closed, "the guard is closed".to_owned())
}

pub fn store_error(e: StoreError) -> Error {
    let code = match &e {
        StoreError::Unavailable(_) => Code::StoreUnavailable,
        StoreError::Corrupt(_) => Code::StoreCorrupt,
        StoreError::Version(_) => Code::StoreVersion,
        StoreError::Internal(_) => Code::Internal,
    };
    napi::Error::new(code, e.to_string())
}

/// Runs a binding call; a panic in it becomes an `ERR_TASK_GUARD_INTERNAL`
/// error for this call instead of unwinding into Node (which aborts).
pub fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(napi::Error::new(
            Code::Internal,
            crate::store::panic_message(p.as_ref()),
        ))
    })
}
