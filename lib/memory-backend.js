'use strict'
// The memory store: synchronous native calls on the JS thread. A grant or a
// conflict comes back as a string plus numbers in `out` (see
// src/binding/replies.rs); everything else as a reply object.

const native = require('./native')
const results = require('./results')
const { Lease, Refusal } = require('./lease')
const { fromNative, invalidArg } = require('./errors')

// How long one step of an inspection may take; the scheduler gives it a turn of its own.
const STEP_MS = 1

const RELEASE_ANSWERS = ['released', 'lost', 'not_owner', 'already_released', 'not_running']
// Indexed by the binding's reply codes (replies.rs): 3 is a release's already_released.
const HEARTBEAT_ANSWERS = ['extended', 'lost', 'not_owner', undefined, 'not_running']

class MemoryBackend {
  sync = true
  /** Runs work on a later turn of the event loop, in order with queued calls (set by TaskGuard). */
  later = null
  /** The TaskGuard this backend serves: granted answers are its leases. */
  guard = null
  /** Called with a key when the engine says its waiting acquires may try now. */
  letWaitersIn = () => {}
  #handle
  #out = new Float64Array(7)
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

  acquire(key, owner, ttlMs, meta) {
    if (this.#clock !== undefined) this.#tick()
    let h
    try {
      h = native.guardAcquire(this.#handle, key, owner, ttlMs, meta)
    } catch (err) {
      throw fromNative(err)
    }
    const out = this.#out
    let r
    if (typeof h !== 'string') {
      r = results.acquire(key, h, this.guard)
    } else if (out[4] === 0) {
      r = new Lease(this.guard, key, h, out[0], out[1], out[2], out[3], owner ?? null, null)
    } else {
      r = new Refusal(out[6])
      r.status = 'already_running'
      r.key = key
      r.runId = h.length === 36 ? h : h.slice(0, 36)
      r.fencingToken = out[0]
      r.startedAt = out[1]
      r.expiresAt = out[2]
      r.attempt = out[3]
      r.owner = out[5] === 1 ? h.slice(36) : null
    }
    this.#flushEvents()
    return r
  }

  release(key, runId, statusIndex, error) {
    if (this.#clock !== undefined) this.#tick()
    let answer
    try {
      answer = RELEASE_ANSWERS[native.guardRelease(this.#handle, key, runId, statusIndex, error)]
    } catch (err) {
      throw fromNative(err)
    }
    this.#flushEvents()
    if (this.#out[1] === 1) this.letWaitersIn(key)
    if (answer === 'released') return { status: 'released', key, runId, endedAt: this.#out[0] }
    return { status: answer, key, runId }
  }

  heartbeat(key, runId, ttlMs) {
    if (this.#clock !== undefined) this.#tick()
    let answer
    try {
      answer = HEARTBEAT_ANSWERS[native.guardHeartbeat(this.#handle, key, runId, ttlMs)]
    } catch (err) {
      throw fromNative(err)
    }
    if (answer === 'extended') return { status: 'extended', key, runId, expiresAt: this.#out[0] }
    return { status: answer, key, runId }
  }

  approveRetry(key, approvedBy, reason) {
    if (this.#clock !== undefined) this.#tick()
    let reply
    try {
      reply = native.guardApproveRetry(this.#handle, key, approvedBy, reason)
    } catch (err) {
      throw fromNative(err)
    }
    this.#flushEvents()
    if (reply.letsWaitersIn) this.letWaitersIn(key)
    return results.approve(key, reply)
  }

  forceRelease(key, by, reason) {
    if (this.#clock !== undefined) this.#tick()
    let reply
    try {
      reply = native.guardForceRelease(this.#handle, key, by, reason)
    } catch (err) {
      throw fromNative(err)
    }
    this.#flushEvents()
    if (reply.letsWaitersIn) this.letWaitersIn(key)
    return results.force(key, reply)
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
