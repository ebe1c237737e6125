//! Bounds on caller-supplied values. They exist so one bad caller cannot make a
//! record (and so every store row / Redis value) unboundedly large, and so
//! durations stay representable by JS timers (`setTimeout` caps at 2^31-1 ms).

pub const DEFAULT_MAX_KEY_BYTES: usize = 1024;
pub const MAX_MAX_KEY_BYTES: usize = 64 * 1024;
pub const MAX_NAMESPACE_BYTES: usize = 128;
pub const MAX_TTL_MS: u64 = 2_147_483_647;
pub const DEFAULT_TTL_MS: u64 = 600_000;
pub const DEFAULT_RETENTION_MS: u64 = 7 * 24 * 3_600_000;
pub const MAX_OWNER_BYTES: usize = 256;
pub const MAX_META_BYTES: usize = 16 * 1024;
/// A payload's fingerprint: a hash, not the payload (`fingerprint()` gives 71 bytes).
pub const MAX_FINGERPRINT_BYTES: usize = 256;
/// Error texts come from thrown exceptions of arbitrary size; they are cut, not refused,
/// because refusing would lose the failure itself.
pub const MAX_ERROR_BYTES: usize = 4 * 1024;
pub const MAX_REASON_BYTES: usize = 4 * 1024;
/// Ended runs remembered per key, so a late `release`/`heartbeat` can be told
/// `already_released` or `lost` instead of `not_owner`.
pub const HISTORY_LEN: usize = 4;
/// A success's stored result (its JSON): every later command on the key reads
/// the record it is in, so it is kept small by default.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 64 * 1024;
pub const MAX_MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;
