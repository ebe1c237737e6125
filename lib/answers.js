'use strict'
// The one decoder of answers to commands, for every method and every store:
// the native layer hands over an answer's strings joined into one string and
// its numbers in slots (src/answer.rs, the one encoder), and this builds the
// public objects. Statuses and slots are listed in contract.json.

const { contract } = require('./contract')
const { Lease, Refusal } = require('./lease')

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
} = SLOT

/** How many numbers an answer's slots hold. */
const SLOTS = contract.answerSlots.length

/** The strings of an answer, in the encoder's order, cut from `text` by their lengths (-1: null). */
function strings(text, n) {
  let at = 0
  const cut = (slot) => {
    const len = n[slot]
    if (len < 0) return null
    const s = len === text.length && at === 0 ? text : text.slice(at, at + len)
    at += len
    return s
  }
  // Each cut in the order the encoder joined them.
  return { runId: cut(RUN_ID_LENGTH), owner: cut(OWNER_LENGTH), healedRunId: cut(HEALED_RUN_ID_LENGTH), healedOwner: cut(HEALED_OWNER_LENGTH), error: cut(ERROR_LENGTH) }
}

/**
 * The public answer to a call on `key` (`runId`: the one it named, for release
 * and heartbeat), from `text` and the numbers `n`. Granted acquires are leases
 * of `guard`.
 */
function decode(key, runId, text, n, guard) {
  const status = STATUSES[n[STATUS]]
  switch (status) {
    case 'acquired': {
      const s = strings(text, n)
      const healedFrom =
        s.healedRunId === null
          ? null
          : { runId: s.healedRunId, fencingToken: n[HEALED_FENCING_TOKEN], startedAt: n[HEALED_STARTED_AT], expiresAt: n[HEALED_EXPIRES_AT], attempt: n[HEALED_ATTEMPT], owner: s.healedOwner }
      return new Lease(guard, key, s.runId, n[FENCING_TOKEN], n[STARTED_AT], n[EXPIRES_AT], n[ATTEMPT], s.owner, healedFrom)
    }
    case 'already_running': {
      const s = strings(text, n)
      const r = new Refusal(n[RETRY_IN_MS])
      r.status = status
      r.key = key
      r.runId = s.runId
      r.fencingToken = n[FENCING_TOKEN]
      r.startedAt = n[STARTED_AT]
      r.expiresAt = n[EXPIRES_AT]
      r.attempt = n[ATTEMPT]
      r.owner = s.owner
      return r
    }
    case 'awaiting_approval': {
      const s = strings(text, n)
      return Object.assign(new Refusal(), { status, key, failedRunId: s.runId, failedAt: n[AT], error: s.error, attempt: n[ATTEMPT] })
    }
    case 'released':
      return { status, key, runId: strings(text, n).runId, endedAt: n[AT] }
    case 'extended':
      return { status, key, runId, expiresAt: n[EXPIRES_AT] }
    case 'approved':
      return { status, key, failedRunId: strings(text, n).runId, approvedAt: n[AT], nextAttempt: n[NEXT_ATTEMPT] }
    case 'not_failed':
      return { status, key }
    case 'not_running':
      // forceRelease names no run.
      return runId === undefined ? { status, key } : { status, key, runId }
    default:
      // lost, not_owner, already_released: about the run the call named.
      return { status, key, runId }
  }
}

/** Whether the engine lets the key's waiting acquires in after this answer. */
const letsWaitersIn = (n) => n[LETS_WAITERS_IN] === 1

module.exports = { decode, letsWaitersIn, SLOTS }
