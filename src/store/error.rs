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
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(m) => write!(f, "store unavailable: {m}"),
            Self::Corrupt(m) => write!(f, "store corrupt: {m}"),
            Self::Version(m) => write!(f, "store version: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}
