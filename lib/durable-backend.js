'use strict'
// Durable stores: each call submits a job to the store's own thread and
// returns a promise; answers arrive in batches (one per commit) through one
// callback. The native callback is held weakly, so an idle guard never keeps
// the process alive; it is held strongly while answers are outstanding.

const native = require('../binding.js')
const results = require('./results')
const { codedError } = require('./errors')

const OPEN_ID = 0
const MAX_ID = 0xffff_fffe

class DurableBackend {
  sync = false
  #h
  #pending = new Map()
  #next = 1
  #emit
  #held = false
  #idle = []

  /** Resolves once the store's file is open and checked. */
  static async open(nativeOptions, emit) {
    const b = new DurableBackend(nativeOptions, emit)
    try {
      await b.#opened
    } catch (err) {
      native.durableClose(b.#h)
      throw err
    }
    return b
  }

  #opened

  constructor(nativeOptions, emit) {
    this.#emit = emit
    this.#opened = new Promise((resolve, reject) => this.#pending.set(OPEN_ID, { resolve, reject, build: () => undefined }))
    this.#h = native.durableOpen(nativeOptions, (batch) => this.#complete(batch))
    this.#hold()
  }

  #hold() {
    const want = this.#pending.size > 0
    if (want !== this.#held) {
      this.#held = want
      native.durableRef(this.#h, want)
    }
    if (!want) for (const resolve of this.#idle.splice(0)) resolve()
  }

  #complete(batch) {
    for (const c of batch) {
      const p = this.#pending.get(c.id)
      if (p === undefined) continue
      this.#pending.delete(c.id)
      if (c.errorCode !== undefined) {
        p.reject(codedError(c.errorCode, c.errorMessage))
        continue
      }
      if (c.events.length > 0) this.#emit(c.events)
      p.resolve(p.build(c.reply))
    }
    this.#hold()
  }

  #submit(build, send) {
    const id = this.#next
    this.#next = id >= MAX_ID ? 1 : id + 1
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, build })
      try {
        send(id)
      } catch (err) {
        this.#pending.delete(id)
        reject(err)
      }
      this.#hold()
    })
  }

  setEventsEnabled() {}

  acquire(key, owner, ttlMs, meta) {
    return this.#submit((r) => results.acquire(key, r), (id) => native.durableAcquire(this.#h, id, key, owner, ttlMs, meta))
  }

  release(key, runId, statusIndex, error) {
    return this.#submit((r) => results.release(key, runId, r), (id) => native.durableRelease(this.#h, id, key, runId, statusIndex, error))
  }

  heartbeat(key, runId, ttlMs) {
    return this.#submit((r) => results.heartbeat(key, runId, r), (id) => native.durableHeartbeat(this.#h, id, key, runId, ttlMs))
  }

  approveRetry(key, approvedBy, reason) {
    return this.#submit((r) => results.approve(key, r), (id) => native.durableApproveRetry(this.#h, id, key, approvedBy, reason))
  }

  forceRelease(key, by, reason) {
    return this.#submit((r) => results.force(key, r), (id) => native.durableForceRelease(this.#h, id, key, by, reason))
  }

  inspect(prefix, state, limit) {
    return this.#submit((r) => results.inspection(r.inspection), (id) => native.durableInspect(this.#h, id, prefix, state, limit))
  }

  /** Stops taking calls; resolves once every call already made is answered. */
  close() {
    native.durableClose(this.#h)
    if (this.#pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  advanceClock(ms) {
    native.durableAdvanceClock(this.#h, ms)
  }
}

module.exports = { DurableBackend }
