'use strict'

// What a user or the model reads when a duplicate is turned away: enough to find
// the run that holds the task (its id, when it started, who owns it) and what to do.

const iso = (ms) => new Date(ms).toISOString()

/** A one-paragraph answer for a conflict from `acquire`. `what` names the task for people. */
function describeConflict(conflict, what) {
  if (conflict.status === 'already_running') {
    return (
      `${what} is already running: run ${conflict.runId}, started ${iso(conflict.startedAt)}` +
      `${conflict.owner ? `, owner ${conflict.owner}` : ''}. ` +
      'Not starting it again; its result will arrive when that run ends.'
    )
  }
  if (conflict.status === 'awaiting_approval') {
    return (
      `${what} failed (run ${conflict.failedRunId}, ${iso(conflict.failedAt)}` +
      `${conflict.error ? `: ${conflict.error}` : ''}) and needs approval before it runs again. ` +
      `An operator can approve it with "/taskguard approve ${conflict.key}" or ` +
      `"task-guard approve ${conflict.key}".`
    )
  }
  if (conflict.status === 'already_completed') return describeReplay(conflict, what)
  if (conflict.status === 'payload_mismatch') {
    return `${what} is already running (run ${conflict.runId}) with other arguments. Not starting it again until that run ends.`
  }
  throw new TypeError(`not a conflict: ${conflict.status}`)
}

/** The stored result as text: a string as is, anything else as JSON. */
function resultText(result) {
  if (result === undefined || result === null || result === '') return null
  return typeof result === 'string' ? result : JSON.stringify(result)
}

/**
 * A duplicate within `replayMs` of a success (`acquire` answered `already_completed`):
 * not run again, answered with what that run left.
 */
function describeReplay(done, what) {
  const text = resultText(done.result)
  return (
    `${what} already completed (run ${done.runId}, ${iso(done.endedAt)}); not running it again so soon. ` +
    (text === null ? 'It left no result.' : `Its result:\n\n${text}`)
  )
}

/**
 * A duplicate that waited for the running run (`onDuplicate: 'join'`): `outcome` is
 * `guard.outcome()`'s answer for that run, `waitedMs` how long it waited.
 */
function describeJoined(outcome, what, { key, waitedMs }) {
  switch (outcome.status) {
    case 'succeeded': {
      const text = resultText(outcome.result)
      return `${what} was already running (run ${outcome.runId}); it has finished. ${text === null ? 'It left no result.' : `Its result:\n\n${text}`}`
    }
    case 'failed':
      return (
        `${what} was already running (run ${outcome.runId}) and failed${outcome.error ? `: ${outcome.error}` : ''}. ` +
        `It needs approval before it runs again: "/taskguard approve ${key}".`
      )
    case 'cancelled':
      return `${what} was already running (run ${outcome.runId}) and was cancelled${outcome.reason ? ` (${outcome.reason})` : ''}. Send it again to start it.`
    case 'running':
      return (
        `${what} is still running (run ${outcome.runId}) after waiting ${Math.round(waitedMs / 1000)}s for it. ` +
        'Not starting it again; its result will arrive when that run ends.'
      )
    default:
      return `${what} was already running (run ${outcome.runId}); it has ended, but how is no longer known.`
  }
}

/** Why a guard could not be consulted; the work is refused, never run unguarded. */
function describeUnavailable(err, what) {
  return `${what} was not started: the task guard could not be consulted (${err.code ?? 'error'}: ${err.message}).`
}

/**
 * Acquires `key` for OpenClaw work: `{ run }` when it may start, else `{ refusal, conflict }`,
 * the text to block or answer with (`describe(conflict)` adds to it) and the guard's
 * answer. A store that cannot be reached refuses (fails closed).
 */
async function acquireOrRefuse(getGuard, key, what, options, describe = () => '') {
  let res
  try {
    res = await (await getGuard()).acquire(key, options)
  } catch (err) {
    return { refusal: describeUnavailable(err, what) }
  }
  if (res.status === 'acquired') return { run: res }
  const more = describe(res)
  return { refusal: `${describeConflict(res, what)}${more ? ` ${more}` : ''}`, conflict: res }
}

/** The id OpenClaw gives a tool call, or null. */
function callId(event, ctx) {
  return event.toolCallId ?? ctx?.toolCallId ?? null
}

module.exports = { describeConflict, describeReplay, describeJoined, describeUnavailable, acquireOrRefuse, callId }
