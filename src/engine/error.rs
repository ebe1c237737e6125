use std::fmt;

/// Input the engine refuses before anything changes. The binding maps it to
/// `ERR_TASK_GUARD_INVALID_ARG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArg(pub String);

impl InvalidArg {
    pub fn new(msg: impl Into<String>) -> Self {
        InvalidArg(msg.into())
    }
}

impl fmt::Display for InvalidArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidArg {}
