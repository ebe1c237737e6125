'use strict'

// What a guarded run leaves for its duplicates: a turn's final assistant text, cut to
// what the store keeps (a success's result is refused whole when too big, and a run
// must never stay held over its result), and the wait of a duplicate that joins it.

const { describeConflict, describeJoined } = require('./messages')

/** What the plugin opens its guard with (the engine's default): the largest result kept, in bytes of JSON. */
const MAX_RESULT_BYTES = 65_536
const CUT = '\n… [cut to fit the task guard store]'

function textOf(content) {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part) => (part?.type === undefined || part.type === 'text' ? (part?.text ?? '') : '')).join('')
  return ''
}

// OpenClaw's silent answer: the turn chose to say nothing.
const SILENT = 'NO_REPLY'

/**
 * The text a turn ended with: its last assistant message's text parts (OpenClaw's
 * `agent_end` carries the session's whole transcript; the turn's answer is last).
 * Null when there is none, or the turn answered silently.
 */
function finalText(messages) {
  if (!Array.isArray(messages)) return null
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m?.role !== 'assistant') continue
    const text = textOf(m.content).trim()
    return text === '' || text === SILENT ? null : text
  }
  return null
}

const jsonBytes = (text) => Buffer.byteLength(JSON.stringify(text))

/**
 * Why a turn failed, or null. OpenClaw reports `success` false only for an aborted
 * turn or a prompt error; a model call that failed (a provider's 4xx, say) ends the
 * turn "successfully" with an assistant message whose `stopReason` is `error`.
 */
function turnFailure(event) {
  if (!event.success) return event.error ?? 'turn failed'
  const messages = Array.isArray(event.messages) ? event.messages : []
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m?.role !== 'assistant') continue
    return m.stopReason === 'error' ? String(m.errorMessage ?? 'the model call failed') : null
  }
  return null
}

/** `text`, cut (on a code point) so that it stores as JSON within `maxBytes`. */
function fitResult(text, maxBytes = MAX_RESULT_BYTES) {
  if (jsonBytes(text) <= maxBytes) return text
  const chars = Array.from(text)
  let lo = 0
  let hi = chars.length
  // The longest prefix that fits with the marker (escapes make bytes per char vary).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (jsonBytes(chars.slice(0, mid).join('') + CUT) <= maxBytes) lo = mid
    else hi = mid - 1
  }
  return chars.slice(0, lo).join('') + CUT
}

/**
 * A duplicate's wait for the run that holds its key (`conflict`, an `already_running`
 * answer), at most `waitMs`; resolves with the text to answer it with. A store that
 * fails meanwhile is answered as without join: the run still holds the key.
 */
async function joinRun(getGuard, conflict, what, { waitMs, signal }) {
  const t0 = performance.now()
  let outcome
  try {
    outcome = await (await getGuard()).outcome(conflict.key, conflict.runId, { waitMs, signal })
  } catch {
    return describeConflict(conflict, what)
  }
  return describeJoined(outcome, what, { key: conflict.key, waitedMs: performance.now() - t0 })
}

module.exports = { MAX_RESULT_BYTES, finalText, fitResult, joinRun, turnFailure }
