'use strict'
// A caller waiting for something (a waiting acquire, a waiting outcome): its
// deadline and its AbortSignal, armed together and disarmed together, and its
// promise settled once.

/**
 * Arms waiter `w` (which holds its promise's `resolve` and `reject`): `onDeadline(w)`
 * runs after `waitMs`, `onAbort(w)` when `signal` aborts.
 */
function arm(w, waitMs, signal, onDeadline, onAbort) {
  w.done = false
  w.signal = signal
  w.deadline = setTimeout(() => onDeadline(w), waitMs)
  w.onAbort = null
  if (signal) {
    w.onAbort = () => onAbort(w)
    signal.addEventListener('abort', w.onAbort, { once: true })
  }
}

/** Disarms `w` and settles its promise; false (and nothing done) if it was settled already. */
function settleOnce(w, result, err) {
  if (w.done) return false
  w.done = true
  clearTimeout(w.deadline)
  if (w.onAbort) w.signal.removeEventListener('abort', w.onAbort)
  if (err) w.reject(err)
  else w.resolve(result)
  return true
}

module.exports = { arm, settleOnce }
