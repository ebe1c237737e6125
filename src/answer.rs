//! The one encoding of an answer crossing to JS, for every method and every
//! store: its numbers in a `Float64Array` (slots below) and its strings joined
//! into one string (lengths in the slots). Setting properties on a JS object
//! from native code costs about as much per property as a whole JS-side guard
//! call, so the facade builds the objects itself (`lib/answers.js`, the one
//! decoder). Statuses and slots are listed in `lib/contract.json`; a test holds
//! these constants to it.

use crate::engine::{
    AcquireReply, ApproveReply, ForceReleaseReply, HeartbeatReply, OutcomeReply, ReleaseReply,
    Reply, RunId, RunInfo,
};

/// Status indexes, in `contract.json`'s `statuses` order.
pub const ACQUIRED: f64 = 0.0;
pub const ALREADY_RUNNING: f64 = 1.0;
pub const AWAITING_APPROVAL: f64 = 2.0;
pub const RELEASED: f64 = 3.0;
pub const LOST: f64 = 4.0;
pub const NOT_OWNER: f64 = 5.0;
pub const ALREADY_RELEASED: f64 = 6.0;
pub const NOT_RUNNING: f64 = 7.0;
pub const EXTENDED: f64 = 8.0;
pub const APPROVED: f64 = 9.0;
pub const NOT_FAILED: f64 = 10.0;
pub const PAYLOAD_MISMATCH: f64 = 11.0;
pub const ALREADY_COMPLETED: f64 = 12.0;
/// An outcome's answers.
pub const RUNNING: f64 = 13.0;
pub const SUCCEEDED: f64 = 14.0;
pub const FAILED: f64 = 15.0;
pub const CANCELLED: f64 = 16.0;
pub const UNKNOWN: f64 = 17.0;

/// Slots, in `contract.json`'s `answerSlots` order.
pub const STATUS: usize = 0;
pub const LETS_WAITERS_IN: usize = 1;
pub const RETRY_IN_MS: usize = 2;
pub const FENCING_TOKEN: usize = 3;
pub const STARTED_AT: usize = 4;
pub const EXPIRES_AT: usize = 5;
pub const ATTEMPT: usize = 6;
/// endedAt, failedAt or approvedAt: an answer has at most one.
pub const AT: usize = 7;
pub const NEXT_ATTEMPT: usize = 8;
pub const HEALED_FENCING_TOKEN: usize = 9;
pub const HEALED_STARTED_AT: usize = 10;
pub const HEALED_EXPIRES_AT: usize = 11;
pub const HEALED_ATTEMPT: usize = 12;
/// Lengths (UTF-16 code units; -1: absent) of the strings, in this order.
pub const RUN_ID_LENGTH: usize = 13;
pub const OWNER_LENGTH: usize = 14;
pub const HEALED_RUN_ID_LENGTH: usize = 15;
pub const HEALED_OWNER_LENGTH: usize = 16;
pub const ERROR_LENGTH: usize = 17;
pub const FINGERPRINT_LENGTH: usize = 18;
pub const EXPECTED_LENGTH: usize = 19;
pub const RESULT_LENGTH: usize = 20;
pub const ENDS_A_RUN: usize = 21;
pub const SLOTS: usize = 22;

/// The strings of an answer, joined, with their lengths written to `out`.
struct Text<'a> {
    text: &'a mut String,
    out: &'a mut [f64],
}

impl Text<'_> {
    fn put(&mut self, slot: usize, s: Option<&str>) {
        self.out[slot] = match s {
            Some(s) => {
                self.text.push_str(s);
                // JS slices by UTF-16 code unit; run ids are ASCII, so only
                // owners and errors ever need counting.
                if s.is_ascii() {
                    s.len() as f64
                } else {
                    s.encode_utf16().count() as f64
                }
            }
            None => -1.0,
        };
    }

    fn run_id(&mut self, slot: usize, id: &RunId) {
        let mut buf = [0; 36];
        let s = id.as_str(&mut buf);
        self.put(slot, Some(s));
    }

    fn run(&mut self, run: &RunInfo, with_owner: bool) {
        self.out[FENCING_TOKEN] = run.fencing_token as f64;
        self.out[STARTED_AT] = run.started_at as f64;
        self.out[EXPIRES_AT] = run.expires_at as f64;
        self.out[ATTEMPT] = f64::from(run.attempt);
        self.run_id(RUN_ID_LENGTH, &run.run_id);
        if with_owner {
            self.put(OWNER_LENGTH, run.owner.as_ref().map(|o| o.as_str()));
        }
    }
}

/// What the caller already holds, so its answer need not carry it back: every
/// string crossing to JS costs an allocation on each side.
#[derive(Clone, Copy, Default)]
pub struct Known {
    /// The run its release named.
    pub run_id: bool,
    /// The owner its acquire named (a granted run is that owner's).
    pub owner: bool,
}

/// Writes `reply` (answered at `now`, on its times' clock) into `out`, which
/// holds at least `SLOTS` numbers, and its strings, joined, into `text`
/// (cleared first; empty if it has none): callers answer from buffers they
/// reuse, allocating nothing. What the caller `known`s is left out (length
/// -1): the decoder takes the caller's.
pub fn encode_into(reply: &Reply, now: i64, out: &mut [f64], known: Known, text: &mut String) {
    text.clear();
    out[LETS_WAITERS_IN] = f64::from(u8::from(reply.lets_waiters_in()));
    out[ENDS_A_RUN] = f64::from(u8::from(reply.ends_a_run()));
    out[RETRY_IN_MS] = reply.retry_in_ms(now).map_or(-1.0, |ms| ms as f64);
    for slot in [
        RUN_ID_LENGTH,
        OWNER_LENGTH,
        HEALED_RUN_ID_LENGTH,
        HEALED_OWNER_LENGTH,
        ERROR_LENGTH,
        FINGERPRINT_LENGTH,
        EXPECTED_LENGTH,
        RESULT_LENGTH,
    ] {
        out[slot] = -1.0;
    }
    let mut t = Text { text, out };
    let status = match reply {
        Reply::Acquire(AcquireReply::Acquired { run, healed_from }) => {
            // A grant's owner is the one its acquire named.
            t.run(run, !known.owner);
            if let Some(h) = healed_from {
                t.out[HEALED_FENCING_TOKEN] = h.fencing_token as f64;
                t.out[HEALED_STARTED_AT] = h.started_at as f64;
                t.out[HEALED_EXPIRES_AT] = h.expires_at as f64;
                t.out[HEALED_ATTEMPT] = f64::from(h.attempt);
                t.run_id(HEALED_RUN_ID_LENGTH, &h.run_id);
                t.put(HEALED_OWNER_LENGTH, h.owner.as_ref().map(|o| o.as_str()));
            }
            ACQUIRED
        }
        Reply::Acquire(AcquireReply::AlreadyRunning(run)) => {
            t.run(run, true);
            ALREADY_RUNNING
        }
        Reply::Acquire(AcquireReply::AwaitingApproval {
            failed_run_id,
            failed_at,
            error,
            attempt,
            ..
        }) => {
            t.run_id(RUN_ID_LENGTH, failed_run_id);
            t.out[AT] = *failed_at as f64;
            t.out[ATTEMPT] = f64::from(*attempt);
            t.put(ERROR_LENGTH, error.as_deref());
            AWAITING_APPROVAL
        }
        Reply::Release(ReleaseReply::Released {
            run_id, ended_at, ..
        })
        | Reply::ForceRelease(ForceReleaseReply::Released { run_id, ended_at }) => {
            if !known.run_id {
                t.run_id(RUN_ID_LENGTH, run_id);
            }
            t.out[AT] = *ended_at as f64;
            RELEASED
        }
        Reply::Release(ReleaseReply::Lost) | Reply::Heartbeat(HeartbeatReply::Lost) => LOST,
        Reply::Release(ReleaseReply::NotOwner) | Reply::Heartbeat(HeartbeatReply::NotOwner) => {
            NOT_OWNER
        }
        Reply::Release(ReleaseReply::AlreadyReleased) => ALREADY_RELEASED,
        Reply::Release(ReleaseReply::NotRunning)
        | Reply::Heartbeat(HeartbeatReply::NotRunning)
        | Reply::ForceRelease(ForceReleaseReply::NotRunning) => NOT_RUNNING,
        Reply::Heartbeat(HeartbeatReply::Extended { expires_at }) => {
            t.out[EXPIRES_AT] = *expires_at as f64;
            EXTENDED
        }
        Reply::ApproveRetry(ApproveReply::Approved {
            failed_run_id,
            approved_at,
            next_attempt,
            ..
        }) => {
            t.run_id(RUN_ID_LENGTH, failed_run_id);
            t.out[AT] = *approved_at as f64;
            t.out[NEXT_ATTEMPT] = f64::from(*next_attempt);
            APPROVED
        }
        Reply::ApproveRetry(ApproveReply::NotFailed) => NOT_FAILED,
        Reply::Acquire(AcquireReply::PayloadMismatch {
            run_id,
            fingerprint,
            expected,
        }) => {
            t.run_id(RUN_ID_LENGTH, run_id);
            t.put(FINGERPRINT_LENGTH, Some(fingerprint));
            t.put(EXPECTED_LENGTH, Some(expected));
            PAYLOAD_MISMATCH
        }
        Reply::Acquire(AcquireReply::AlreadyCompleted {
            run_id,
            ended_at,
            result,
        }) => {
            t.run_id(RUN_ID_LENGTH, run_id);
            t.out[AT] = *ended_at as f64;
            t.put(RESULT_LENGTH, result.as_deref());
            ALREADY_COMPLETED
        }
        // The caller named the run: it is not sent back.
        Reply::Outcome(OutcomeReply::Running { expires_at }) => {
            t.out[EXPIRES_AT] = *expires_at as f64;
            RUNNING
        }
        Reply::Outcome(OutcomeReply::Succeeded { ended_at, result }) => {
            t.out[AT] = *ended_at as f64;
            t.put(RESULT_LENGTH, result.as_deref());
            SUCCEEDED
        }
        Reply::Outcome(OutcomeReply::Failed { ended_at, error }) => {
            t.out[AT] = *ended_at as f64;
            t.put(ERROR_LENGTH, error.as_deref());
            FAILED
        }
        Reply::Outcome(OutcomeReply::Cancelled { ended_at, note }) => {
            t.out[AT] = *ended_at as f64;
            t.put(ERROR_LENGTH, note.as_deref());
            CANCELLED
        }
        Reply::Outcome(OutcomeReply::Unknown) => UNKNOWN,
    };
    t.out[STATUS] = status;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract_list(name: &str) -> Vec<String> {
        let c: serde_json::Value =
            serde_json::from_str(include_str!("../lib/contract.json")).unwrap();
        c[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn statuses_and_slots_are_the_contracts() {
        let statuses = contract_list("statuses");
        for (i, name) in [
            (ACQUIRED, "acquired"),
            (ALREADY_RUNNING, "already_running"),
            (AWAITING_APPROVAL, "awaiting_approval"),
            (RELEASED, "released"),
            (LOST, "lost"),
            (NOT_OWNER, "not_owner"),
            (ALREADY_RELEASED, "already_released"),
            (NOT_RUNNING, "not_running"),
            (EXTENDED, "extended"),
            (APPROVED, "approved"),
            (NOT_FAILED, "not_failed"),
            (PAYLOAD_MISMATCH, "payload_mismatch"),
            (ALREADY_COMPLETED, "already_completed"),
            (RUNNING, "running"),
            (SUCCEEDED, "succeeded"),
            (FAILED, "failed"),
            (CANCELLED, "cancelled"),
            (UNKNOWN, "unknown"),
        ] {
            assert_eq!(statuses[i as usize], name);
        }
        assert_eq!(statuses.len(), 18);
        let slots = contract_list("answerSlots");
        for (i, name) in [
            (STATUS, "status"),
            (LETS_WAITERS_IN, "letsWaitersIn"),
            (RETRY_IN_MS, "retryInMs"),
            (FENCING_TOKEN, "fencingToken"),
            (STARTED_AT, "startedAt"),
            (EXPIRES_AT, "expiresAt"),
            (ATTEMPT, "attempt"),
            (AT, "at"),
            (NEXT_ATTEMPT, "nextAttempt"),
            (HEALED_FENCING_TOKEN, "healedFencingToken"),
            (HEALED_STARTED_AT, "healedStartedAt"),
            (HEALED_EXPIRES_AT, "healedExpiresAt"),
            (HEALED_ATTEMPT, "healedAttempt"),
            (RUN_ID_LENGTH, "runIdLength"),
            (OWNER_LENGTH, "ownerLength"),
            (HEALED_RUN_ID_LENGTH, "healedRunIdLength"),
            (HEALED_OWNER_LENGTH, "healedOwnerLength"),
            (ERROR_LENGTH, "errorLength"),
            (FINGERPRINT_LENGTH, "fingerprintLength"),
            (EXPECTED_LENGTH, "expectedLength"),
            (RESULT_LENGTH, "resultLength"),
            (ENDS_A_RUN, "endsARun"),
        ] {
            assert_eq!(slots[i], name);
        }
        assert_eq!(slots.len(), SLOTS);
    }

    #[test]
    fn strings_are_measured_in_utf16_code_units() {
        let mut out = [0.0; SLOTS];
        let run = RunInfo {
            run_id: RunId::parse("0189f7a2-3b4c-7d5e-8f60-123456789abc"),
            fencing_token: 7,
            started_at: 1,
            expires_at: 2,
            owner: Some("gäteway-😀".into()),
            attempt: 1,
        };
        let mut text = String::new();
        encode_into(
            &Reply::Acquire(AcquireReply::AlreadyRunning(run)),
            0,
            &mut out,
            Known::default(),
            &mut text,
        );
        assert_eq!(text, "0189f7a2-3b4c-7d5e-8f60-123456789abcgäteway-😀");
        // As JS counts it: "gäteway-😀".length is 10.
        assert_eq!((out[RUN_ID_LENGTH], out[OWNER_LENGTH]), (36.0, 10.0));
        assert_eq!((out[STATUS], out[RETRY_IN_MS]), (ALREADY_RUNNING, 2.0));
        assert_eq!(out[HEALED_RUN_ID_LENGTH], -1.0);
    }
}
