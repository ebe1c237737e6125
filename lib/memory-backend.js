'use strict'
// The memory store: synchronous native calls on the JS thread. A grant or a
// conflict comes back as a string plus numbers in `out` (see
// src/binding/replies.rs); everything else as a reply object.

const native = require('./native')
const results = require('./results')

const RELEASE_ANSWERS = ['released', 'lost', 'not_owner', 'already_released']
const HEARTBEAT_ANSWERS = ['extended', 'lost', 'not_owner']

class MemoryBackend {
  sync = true
  #h
  #out = new Float64Array(6)
  #emit
  #eventsOn = false

  constructor(nativeOptions, emit) {
    this.#h = native.guardOpen(nativeOptions, this.#out)
    this.#emit = emit
  }

  setEventsEnabled(on) {
    this.#eventsOn = on
    native.guardSetEventsEnabled(this.#h, on)
  }

  #flushEvents() {
    if (this.#eventsOn) this.#emit(native.guardTakeEvents(this.#h))
  }

  acquire(key, owner, ttlMs, meta) {
    const h = native.guardAcquire(this.#h, key, owner, ttlMs, meta)
    const out = this.#out
    let r
    if (typeof h !== 'string') {
      r = results.acquire(key, h)
    } else if (out[4] === 0) {
      r = {
        status: 'acquired',
        key,
        runId: h,
        fencingToken: out[0],
        startedAt: out[1],
        expiresAt: out[2],
        attempt: out[3],
        owner: owner ?? null,
        healedFrom: null,
      }
    } else {
      r = {
        status: 'already_running',
        key,
        runId: h.length === 36 ? h : h.slice(0, 36),
        fencingToken: out[0],
        startedAt: out[1],
        expiresAt: out[2],
        attempt: out[3],
        owner: out[5] === 1 ? h.slice(36) : null,
      }
    }
    this.#flushEvents()
    return r
  }

  release(key, runId, statusIndex, error) {
    const answer = RELEASE_ANSWERS[native.guardRelease(this.#h, key, runId, statusIndex, error)]
    this.#flushEvents()
    if (answer === 'released') return { status: 'released', key, runId, endedAt: this.#out[0] }
    return { status: answer, key, runId }
  }

  heartbeat(key, runId, ttlMs) {
    const answer = HEARTBEAT_ANSWERS[native.guardHeartbeat(this.#h, key, runId, ttlMs)]
    if (answer === 'extended') return { status: 'extended', key, runId, expiresAt: this.#out[0] }
    return { status: answer, key, runId }
  }

  approveRetry(key, approvedBy, reason) {
    const r = results.approve(key, native.guardApproveRetry(this.#h, key, approvedBy, reason))
    this.#flushEvents()
    return r
  }

  forceRelease(key, by, reason) {
    const r = results.force(key, native.guardForceRelease(this.#h, key, by, reason))
    this.#flushEvents()
    return r
  }

  inspect(prefix, state, limit) {
    return results.inspection(native.guardInspect(this.#h, prefix, state, limit))
  }

  async close() {
    native.guardClose(this.#h)
  }

  advanceClock(ms) {
    native.guardAdvanceClock(this.#h, ms)
  }
}

module.exports = { MemoryBackend }
