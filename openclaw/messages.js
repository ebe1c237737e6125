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
  throw new TypeError(`not a conflict: ${conflict.status}`)
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

module.exports = { describeConflict, describeUnavailable, acquireOrRefuse, callId }
