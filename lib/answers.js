'use strict'
// The one decoder of answers to commands, for every method and every store:
// the native layer hands over an answer's strings joined into one string and
// its numbers in slots (src/answer.rs, the one encoder), and this builds the
// public objects. Statuses and slots are listed in contract.json.

const { contract } = require('./contract')
const { Lease, Refusal } = require('./lease')
const { codedError, codes } = require('./errors')

const STATUSES = contract.statuses
const SLOT = Object.fromEntries(contract.answerSlots.map((name, i) => [name, i]))
const {
  status: STATUS,
  letsWaitersIn: LETS_WAITERS_IN,
  retryInMs: RETRY_IN_MS,
  fencingToken: FENCING_TOKEN,
  startedAt: STARTED_AT,
  expiresAt: EXPIRES_AT,
  attempt: ATTEMPT,
  at: AT,
  nextAttempt: NEXT_ATTEMPT,
  healedFencingToken: HEALED_FENCING_TOKEN,
  healedStartedAt: HEALED_STARTED_AT,
  healedExpiresAt: HEALED_EXPIRES_AT,
  healedAttempt: HEALED_ATTEMPT,
  runIdLength: RUN_ID_LENGTH,
  ownerLength: OWNER_LENGTH,
  healedRunIdLength: HEALED_RUN_ID_LENGTH,
  healedOwnerLength: HEALED_OWNER_LENGTH,
  errorLength: ERROR_LENGTH,
  fingerprintLength: FINGERPRINT_LENGTH,
  expectedLength: EXPECTED_LENGTH,
  resultLength: RESULT_LENGTH,
  endsARun: ENDS_A_RUN,
} = SLOT

/** How many numbers an answer's slots hold. */
const SLOTS = contract.answerSlots.length

// Status indexes, as contract.json lists them.
const [ACQUIRED, ALREADY_RUNNING, AWAITING_APPROVAL, RELEASED, , , , NOT_RUNNING, EXTENDED, APPROVED, NOT_FAILED, PAYLOAD_MISMATCH, ALREADY_COMPLETED, RUNNING, SUCCEEDED, FAILED, CANCELLED, UNKNOWN] =
  STATUSES.map((_, i) => i)

/**
 * The string of `slot` in `text`, the strings before it being `skip` long; null
 * if absent. (No object or closure per call: this is every acquire's path.)
 */
function cut(text, n, skip, slot) {
  const len = n[slot]
  if (len < 0) return null
  return skip === 0 && len === text.length ? text : text.slice(skip, skip + len)
}

/** Length of the string in `slot`, 0 when absent. */
const len = (n, slot) => (n[slot] < 0 ? 0 : n[slot])

/** Where the error's string starts: after the run id, owner and healed run's strings. */
const errorStart = (n) => len(n, RUN_ID_LENGTH) + len(n, OWNER_LENGTH) + len(n, HEALED_RUN_ID_LENGTH) + len(n, HEALED_OWNER_LENGTH)

/** A stored result (JSON text, checked when it was stored) as its value; undefined when none was stored. */
function result(text, n) {
  const json = cut(text, n, errorStart(n) + len(n, ERROR_LENGTH) + len(n, FINGERPRINT_LENGTH) + len(n, EXPECTED_LENGTH), RESULT_LENGTH)
  if (json === null) return undefined
  try {
    return JSON.parse(json)
  } catch (err) {
    throw codedError(codes.STORE_CORRUPT, `a stored result is not JSON: ${err.message}`, { cause: err })
  }
}

// The run id and owner cut from the last conflict's text: a burst of duplicates
// answers the same run each time, and its strings need not be cut again each time.
let conflictText = null
let conflictRunIdLength = 0
let conflictOwnerLength = 0
let conflictRunId = null
let conflictOwner = null

/**
 * The public answer to a call on `key` from `text` and the numbers `n`: `runId`
 * is the run the call named (release, heartbeat), `owner` the owner it named
 * (acquire); what the call named is not sent back. Granted acquires are leases
 * of `guard`.
 */
function decode(key, runId, owner, text, n, guard) {
  const code = n[STATUS]
  if (code === ACQUIRED) {
    const runLen = len(n, RUN_ID_LENGTH)
    const ownerLen = len(n, OWNER_LENGTH)
    const grantedTo = n[OWNER_LENGTH] < 0 ? (owner ?? null) : cut(text, n, runLen, OWNER_LENGTH)
    const healedFrom =
      n[HEALED_RUN_ID_LENGTH] < 0
        ? null
        : {
            runId: cut(text, n, runLen + ownerLen, HEALED_RUN_ID_LENGTH),
            fencingToken: n[HEALED_FENCING_TOKEN],
            startedAt: n[HEALED_STARTED_AT],
            expiresAt: n[HEALED_EXPIRES_AT],
            attempt: n[HEALED_ATTEMPT],
            owner: cut(text, n, runLen + ownerLen + len(n, HEALED_RUN_ID_LENGTH), HEALED_OWNER_LENGTH),
          }
    return new Lease(guard, key, cut(text, n, 0, RUN_ID_LENGTH), n[FENCING_TOKEN], n[STARTED_AT], n[EXPIRES_AT], n[ATTEMPT], grantedTo, healedFrom)
  }
  const status = STATUSES[code]
  switch (code) {
    case ALREADY_RUNNING: {
      const r = new Refusal(n[RETRY_IN_MS])
      r.status = status
      r.key = key
      if (text !== conflictText || n[RUN_ID_LENGTH] !== conflictRunIdLength || n[OWNER_LENGTH] !== conflictOwnerLength) {
        conflictRunId = cut(text, n, 0, RUN_ID_LENGTH)
        conflictOwner = cut(text, n, len(n, RUN_ID_LENGTH), OWNER_LENGTH)
        conflictText = text
        conflictRunIdLength = n[RUN_ID_LENGTH]
        conflictOwnerLength = n[OWNER_LENGTH]
      }
      r.runId = conflictRunId
      r.fencingToken = n[FENCING_TOKEN]
      r.startedAt = n[STARTED_AT]
      r.expiresAt = n[EXPIRES_AT]
      r.attempt = n[ATTEMPT]
      r.owner = conflictOwner
      return r
    }
    case AWAITING_APPROVAL:
      return Object.assign(new Refusal(), {
        status,
        key,
        failedRunId: cut(text, n, 0, RUN_ID_LENGTH),
        failedAt: n[AT],
        error: cut(text, n, errorStart(n), ERROR_LENGTH),
        attempt: n[ATTEMPT],
      })
    case ALREADY_COMPLETED:
      return Object.assign(new Refusal(), { status, key, runId: cut(text, n, 0, RUN_ID_LENGTH), endedAt: n[AT], result: result(text, n) })
    // An outcome's answers: about the run the call named.
    case RUNNING:
      return { status, key, runId, expiresAt: n[EXPIRES_AT] }
    case SUCCEEDED:
      return { status, key, runId, endedAt: n[AT], result: result(text, n) }
    case FAILED:
      return { status, key, runId, endedAt: n[AT], error: cut(text, n, errorStart(n), ERROR_LENGTH) }
    case CANCELLED:
      return { status, key, runId, endedAt: n[AT], reason: cut(text, n, errorStart(n), ERROR_LENGTH) }
    case UNKNOWN:
      return { status, key, runId }
    case PAYLOAD_MISMATCH: {
      // Strings in the encoder's order: the run id, then (no owner, heal or error) the two fingerprints.
      const skip = errorStart(n) + len(n, ERROR_LENGTH)
      return Object.assign(new Refusal(), {
        status,
        key,
        runId: cut(text, n, 0, RUN_ID_LENGTH),
        fingerprint: cut(text, n, skip, FINGERPRINT_LENGTH),
        expected: cut(text, n, skip + len(n, FINGERPRINT_LENGTH), EXPECTED_LENGTH),
      })
    }
    case RELEASED:
      return { status, key, runId: runId ?? cut(text, n, 0, RUN_ID_LENGTH), endedAt: n[AT] }
    case EXTENDED:
      return { status, key, runId, expiresAt: n[EXPIRES_AT] }
    case APPROVED:
      return { status, key, failedRunId: cut(text, n, 0, RUN_ID_LENGTH), approvedAt: n[AT], nextAttempt: n[NEXT_ATTEMPT] }
    case NOT_FAILED:
      return { status, key }
    case NOT_RUNNING:
      // forceRelease names no run.
      return runId === undefined ? { status, key } : { status, key, runId }
    default:
      // lost, not_owner, already_released: about the run the call named.
      return { status, key, runId }
  }
}

/** Whether the engine lets the key's waiting acquires in after this answer. */
const letsWaitersIn = (n) => n[LETS_WAITERS_IN] === 1

/** Whether the engine says this answer ended a run (callers waiting for its outcome may look). */
const endsARun = (n) => n[ENDS_A_RUN] === 1

module.exports = { decode, letsWaitersIn, endsARun, SLOTS }
