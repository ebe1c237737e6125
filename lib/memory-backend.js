'use strict'
// The memory store: synchronous native calls on the JS thread. Every answer
// comes back as a string plus numbers in `out`, decoded by lib/answers.js.

const native = require('./native')
const results = require('./results')
const { decode, letsWaitersIn, endsARun, SLOTS } = require('./answers')
const { fromNative, invalidArg } = require('./errors')

// How long one step of an inspection may take; the scheduler gives it a turn of its own.
const STEP_MS = 1


class MemoryBackend {
  sync = true
  /** Runs work on a later turn of the event loop, in order with queued calls (set by TaskGuard). */
  later = null
  /** The TaskGuard this backend serves: granted answers are its leases. */
  guard = null
  /** The owner the native layer records for an acquire that names none (set by TaskGuard). */
  defaultOwner = null
  /** Called with a key when the engine says its waiting acquires may try now. */
  letWaitersIn = () => {}
  /** Called with a key when the engine says an answer ended one of its runs. */
  runEnded = () => {}
  /** How many calls the last `acquireRepeated` answer answers. */
  repeated = 0
  #handle
  /** An answer's numbers; the slot after them: how many calls it answers (acquireRepeated). */
  #out = new Float64Array(SLOTS + 1)
  #emit
  #eventsOn = false
  #clock
  /**
   * The last answer text the native layer handed over: acquire and release answer
   * `undefined` when their strings are the same as the last answer's
   * (src/binding/fast.rs). Every answer passes through `#answer`, which keeps it.
   */
  #lastText = null
  /**
   * The key and run id of the last grant, as the native layer also keeps them:
   * a plain release of that run is sent without its strings (guardReleaseLast).
   * Cleared before each acquire, set once its grant is decoded, so an acquire
   * that throws halfway leaves none rather than a stale one.
   */
  #grantedKey = null
  #grantedRunId = null

  /** `clock()`: the caller's time in ms (tests); the store reads it before each call. */
  constructor(nativeOptions, emit, clock) {
    this.#clock = clock
    try {
      this.#handle = native.guardOpen(nativeOptions, this.#out, undefined)
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

  /** Before each call: the caller's clock, if it gave one. */
  #before() {
    if (this.#clock !== undefined) this.#tick()
  }

  /** The answer in `text` and `out` (see lib/answers.js); `runId`, `owner`: what the call named. */
  #answer(key, runId, owner, text) {
    if (text === undefined) text = this.#lastText
    else this.#lastText = text
    this.#flushEvents()
    // Decoded before waiters are let in: their calls write the same `out`.
    const out = this.#out
    const answer = decode(key, runId, owner, text, out, this.guard)
    if (letsWaitersIn(out)) this.letWaitersIn(key)
    if (endsARun(out)) this.runEnded(key)
    return answer
  }

  // Each command calls native directly, not through a shared helper taking a
  // closure: one closure per call cost measurably on this path (A/B, issue 14).
  // Acquire and release, the hot pair, take the plain N-API versions (src/binding/fast.rs).
  acquire(key, owner, ttlMs, meta, fingerprint) {
    this.#before()
    this.#grantedRunId = null
    let text
    try {
      // Options not given are not passed: the native side then checks no types for them.
      text =
        owner === undefined && ttlMs === undefined && meta === undefined && fingerprint === undefined
          ? native.guardAcquireFast(this.#handle, key)
          : native.guardAcquireFast(this.#handle, key, owner, ttlMs, meta, fingerprint)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#acquired(key, owner, text)
  }

  /**
   * `times` acquires of `key` with these options in a row, as one native call
   * (see Scheduler.queueAcquire): the answer to the first, and in `repeated` how
   * many of them it answers. The store answers them all when the first changed
   * nothing (a conflict), else only the first.
   */
  acquireRepeated(key, times, owner, ttlMs, meta, fingerprint) {
    this.#before()
    this.#grantedRunId = null
    let text
    try {
      text = native.guardAcquireFast(this.#handle, key, owner, ttlMs, meta, fingerprint, times)
    } catch (err) {
      throw fromNative(err)
    }
    // Read first: letting waiters in (a first answer that changed something) makes calls that write `out`.
    this.repeated = this.#out[SLOTS]
    return this.#acquired(key, owner, text)
  }

  /** An acquire's answer; a grant is the last one, as the native side also keeps it (see #grantedKey). */
  #acquired(key, owner, text) {
    // A grant's owner is not sent back: it is the one named, or the default.
    const answer = this.#answer(key, undefined, owner ?? this.defaultOwner, text)
    if (answer.status === 'acquired') {
      this.#grantedKey = key
      this.#grantedRunId = answer.runId
    }
    return answer
  }

  /** The last `acquireRepeated` answer again, a new object, for another call it answers. */
  again(key, owner) {
    return decode(key, undefined, owner ?? this.defaultOwner, this.#lastText, this.#out, this.guard)
  }

  release(key, runId, statusIndex, error, result) {
    this.#before()
    let text
    try {
      text =
        error !== undefined || result !== undefined
          ? native.guardReleaseFast(this.#handle, key, runId, statusIndex, error, result)
          : runId === this.#grantedRunId && key === this.#grantedKey
            ? native.guardReleaseLast(this.#handle, statusIndex)
            : native.guardReleaseFast(this.#handle, key, runId, statusIndex)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#answer(key, runId, undefined, text)
  }

  heartbeat(key, runId, ttlMs) {
    this.#before()
    let text
    try {
      text = native.guardHeartbeat(this.#handle, 0, key, runId, ttlMs)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#answer(key, runId, undefined, text)
  }

  outcome(key, runId) {
    this.#before()
    let text
    try {
      text = native.guardOutcome(this.#handle, 0, key, runId)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#answer(key, runId, undefined, text)
  }

  approveRetry(key, approvedBy, reason) {
    this.#before()
    let text
    try {
      text = native.guardApproveRetry(this.#handle, 0, key, approvedBy, reason)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#answer(key, undefined, undefined, text)
  }

  forceRelease(key, by, reason) {
    this.#before()
    let text
    try {
      text = native.guardForceRelease(this.#handle, 0, key, by, reason)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#answer(key, undefined, undefined, text)
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

  metrics(counts) {
    try {
      return native.guardMetrics(this.#handle, counts)
    } catch (err) {
      throw fromNative(err)
    }
  }

  async close() {
    native.guardClose(this.#handle)
  }
}

module.exports = { MemoryBackend }
