'use strict'
// `task-guard/testing`: a clock for tests. `new TaskGuard({ clock })` reads it before
// every call (memory store only), and `run()` heartbeats on its timers, so a test
// moves the guard's time and its heartbeats together with `clock.advance(ms)`.
// Under Jest's fake timers, `clock: () => Date.now()` does the same with
// `jest.advanceTimersByTime` and `jest.setSystemTime`.

const { invalidArg } = require('./lib/errors')

/**
 * A clock that stands still until told: `clock()` is the time (ms since the epoch),
 * `advance(ms)` moves it forward, firing its timers in order as their times come,
 * `set(ms)` jumps to a time (forward or back; timers due by then fire).
 */
function manualClock(startMs = Date.now()) {
  if (typeof startMs !== 'number' || !Number.isFinite(startMs) || startMs < 0) {
    throw invalidArg(`manualClock(startMs): startMs must be a time in ms since the epoch, not ${String(startMs)}`)
  }
  let now = Math.floor(startMs)
  let nextId = 1
  const timers = new Map()

  const clock = () => now

  function fireUntil(target) {
    for (;;) {
      let due = null
      for (const t of timers.values()) if (t.at <= target && (due === null || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t
      if (due === null) break
      now = Math.max(now, due.at)
      if (due.every === null) timers.delete(due.id)
      else due.at += due.every
      due.fn()
    }
    now = target
  }

  clock.advance = (ms) => {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw invalidArg(`advance(ms): ms must be a non-negative number, not ${String(ms)}`)
    fireUntil(now + ms)
    return now
  }
  clock.set = (ms) => {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw invalidArg(`set(ms): ms must be a time in ms since the epoch, not ${String(ms)}`)
    if (ms >= now) fireUntil(Math.floor(ms))
    else now = Math.floor(ms)
    return now
  }
  clock.setInterval = (fn, ms) => {
    const id = nextId++
    const every = Math.max(1, Math.floor(ms))
    timers.set(id, { id, fn, at: now + every, every })
    return id
  }
  clock.clearInterval = (id) => {
    timers.delete(id)
  }
  /** Timers waiting on this clock (run() heartbeats). */
  Object.defineProperty(clock, 'pending', { get: () => timers.size })
  return clock
}

module.exports = { manualClock }
