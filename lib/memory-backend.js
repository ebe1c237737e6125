'use strict'
// The memory store: synchronous native calls on the JS thread. Every answer
// comes back as a string plus numbers in `out`, decoded by lib/answers.js.

const native = require('./native')
const results = require('./results')
const { decode, letsWaitersIn, SLOTS } = require('./answers')
const { fromNative, invalidArg } = require('./errors')

// How long one step of an inspection may take; the scheduler gives it a turn of its own.
const STEP_MS = 1


class MemoryBackend {
  sync = true
  /** Runs work on a later turn of the event loop, in order with queued calls (set by TaskGuard). */
  later = null
  /** The TaskGuard this backend serves: granted answers are its leases. */
  guard = null
  /** Called with a key when the engine says its waiting acquires may try now. */
  letWaitersIn = () => {}
  #handle
  #out = new Float64Array(SLOTS)
  #emit
  #eventsOn = false
  #clock

  /** `clock()`: the caller's time in ms (tests); the store reads it before each call. */
  constructor(nativeOptions, emit, clock) {
    this.#clock = clock
    try {
      this.#handle = native.guardOpen(nativeOptions, this.#out)
    } catch (err) {
      throw fromNative(err)
    }
    this.#emit = emit
  }

  /** Hands the store the caller's time, when the caller gave a clock. */
  #tick() {
    let ms
    try {
      ms = this.#clock()
    } catch (err) {
      const e = invalidArg(`clock() threw: ${err?.message ?? String(err)}`)
      e.cause = err
      throw e
    }
    try {
      native.guardSetNow(this.#handle, typeof ms === 'number' ? ms : Number.NaN)
    } catch (err) {
      throw fromNative(err)
    }
  }

  setEventsEnabled(on) {
    this.#eventsOn = on
    native.guardSetEventsEnabled(this.#handle, on)
  }

  #flushEvents() {
    if (this.#eventsOn) this.#emit(native.guardTakeEvents(this.#handle))
  }

  /**
   * One command: `call(handle)` makes the native call, which answers in the
   * shared `out` (see lib/answers.js); `runId` is the run the call named.
   */
  #command(key, runId, call) {
    if (this.#clock !== undefined) this.#tick()
    let text
    try {
      text = call(this.#handle)
    } catch (err) {
      throw fromNative(err)
    }
    this.#flushEvents()
    // Decoded before waiters are let in: their calls write the same `out`.
    const out = this.#out
    const answer = decode(key, runId, text, out, this.guard)
    if (letsWaitersIn(out)) this.letWaitersIn(key)
    return answer
  }

  acquire(key, owner, ttlMs, meta) {
    return this.#command(key, undefined, (h) => native.guardAcquire(h, key, owner, ttlMs, meta))
  }

  release(key, runId, statusIndex, error) {
    return this.#command(key, runId, (h) => native.guardRelease(h, key, runId, statusIndex, error))
  }

  heartbeat(key, runId, ttlMs) {
    return this.#command(key, runId, (h) => native.guardHeartbeat(h, key, runId, ttlMs))
  }

  approveRetry(key, approvedBy, reason) {
    return this.#command(key, undefined, (h) => native.guardApproveRetry(h, key, approvedBy, reason))
  }

  forceRelease(key, by, reason) {
    return this.#command(key, undefined, (h) => native.guardForceRelease(h, key, by, reason))
  }

  /**
   * One page (and the counts, with `counts`), built in bounded steps, each on a
   * turn of its own through `later` (the guard's scheduler): at a million guards
   * a state filter, a prefix's counts or the stale count may need more than one
   * step, and no step may block the event loop. Bad input throws at once.
   */
  inspect(prefix, state, limit, after, counts = true) {
    if (this.#clock !== undefined) this.#tick()
    let job
    try {
      job = native.guardInspectBegin(this.#handle, prefix, state, limit, after, counts)
    } catch (err) {
      throw fromNative(err)
    }
    const h = this.#handle
    const step = () => {
      try {
        return native.guardInspectStep(h, job, STEP_MS) ? results.inspection(native.guardInspectResult(job)) : undefined
      } catch (err) {
        throw fromNative(err)
      }
    }
    const loop = (answer) => (answer === undefined ? this.later(step).then(loop) : answer)
    return this.later(step).then(loop)
  }

  async close() {
    native.guardClose(this.#handle)
  }
}

module.exports = { MemoryBackend }
