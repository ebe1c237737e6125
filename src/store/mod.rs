//! Stores make one key's read-apply-write atomic and scan keys; they never
//! decide what a command means (that is `engine::apply`).
//!
//! There is no `Store` trait: the memory store answers on the caller's thread,
//! while SQLite and Redis take jobs on threads of their own and answer through
//! a callback (`job`). Two shapes; a trait would pretend they were one.

mod clock;
pub mod codec;
#[cfg(test)]
mod conformance_tests;
mod cursor;
mod error;
mod inspect;
pub mod job;
mod memory;
pub mod redis;
pub mod sqlite;

pub use self::redis::RedisStore;
pub use clock::{Clock, Reading};
pub use cursor::After;
pub use error::{panic_message, StoreError};
pub use inspect::{count, matching, InspectFilter, Inspection, DEFAULT_PAGE, MAX_PAGE};
pub use memory::{MemoryInspect, MemoryStore};
pub use sqlite::SqliteStore;

use crate::engine::{Reply, RunId};

pub struct Executed {
    /// Times in it are on the wall clock, as callers see them.
    pub reply: Reply,
    /// When the command was applied, on the wall clock (for events).
    pub now: i64,
}

impl Executed {
    /// The answer as callers see it: the engine's times, taken on the store's
    /// clock, shown on the wall clock.
    pub fn shown(mut reply: Reply, at: Reading) -> Executed {
        reply.shift_times(at.to_wall);
        Executed {
            reply,
            now: at.now + at.to_wall,
        }
    }
}

/// A UUID v7 for a run starting at `now_ms`: unique, and sortable by start
/// time in logs. Built from the clock reading the store already took and a
/// thread-local RNG; `Uuid::now_v7` reads the clock again and locks a shared
/// context, which cost more than the rest of an acquire.
#[cfg(test)]
#[test]
fn run_ids_are_uuid_v7_with_the_given_time() {
    let id = new_run_id(0x0123_4567_89ab).to_string();
    let u = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(u.get_version_num(), 7);
    assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
    assert!(id.starts_with("01234567-89ab-7"));
    for now in [0, 1, 1_700_000_000_000, 0xffff_ffff_ffff] {
        let id = new_run_id(now).to_string();
        assert!(crate::engine::validate_run_id(&id).is_ok(), "{id}");
    }
    assert_ne!(new_run_id(1), new_run_id(1));
}

pub fn new_run_id(now_ms: i64) -> RunId {
    let random: u128 = rand::random();
    let mut bytes = random.to_be_bytes();
    bytes[..6].copy_from_slice(&(now_ms.max(0) as u64).to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    RunId::from_bytes(bytes)
}
