use std::fmt;

/// The memory store cannot fail; the durable stores (SQLite, Redis) raise these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The store cannot be reached or did not answer: nothing was recorded.
    Unavailable(String),
    /// The store's data is not a task-guard store or is damaged.
    Corrupt(String),
    /// The store was written by a newer task-guard.
    Version(String),
    /// A bug: native code panicked while answering this call.
    Internal(String),
}

impl StoreError {
    /// The error a panic becomes, with its message.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> StoreError {
        StoreError::Internal(panic_message(payload))
    }
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    format!("task-guard internal error (a bug; please report it): {text}")
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(m) => write!(f, "store unavailable: {m}"),
            Self::Corrupt(m) => write!(f, "store corrupt: {m}"),
            Self::Version(m) => write!(f, "store version: {m}"),
            Self::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}
