'use strict'

const { codedError, codes } = require('./errors')

/**
 * A granted run as `run()` hands it to its task. `signal` aborts when the
 * guard reports the run lost (healed away after missing its expiry), so the
 * task can stop work another run now owns.
 */
class Lease {
  #guard
  #controller = new AbortController()
  #held = true

  constructor(guard, acquired) {
    this.#guard = guard
    this.key = acquired.key
    this.runId = acquired.runId
    this.fencingToken = acquired.fencingToken
    this.startedAt = acquired.startedAt
    this.expiresAt = acquired.expiresAt
    this.attempt = acquired.attempt
    this.signal = this.#controller.signal
  }

  /** True until the run is released or lost. */
  get held() {
    return this.#held
  }

  /** Extends the run; on `lost`/`not_owner` the lease is marked lost and `signal` aborts. */
  async heartbeat(options) {
    const r = await this.#guard.heartbeat(this.key, this.runId, options)
    if (r.status === 'extended') this.expiresAt = r.expiresAt
    else this.markLost(r.status)
    return r
  }

  /** Releases the run with `status` (default 'succeeded'). */
  async release(status = 'succeeded', options) {
    const r = await this.#guard.release(this.key, this.runId, status, options)
    this.#held = false
    return r
  }

  markLost(status) {
    if (!this.#held) return
    this.#held = false
    this.#controller.abort(codedError(codes.LOST, `run ${this.runId} of ${JSON.stringify(this.key)} was lost (${status})`))
  }

  /** `await using lease = …`: releases as cancelled if still held. */
  async [Symbol.asyncDispose]() {
    if (this.#held) await this.release('cancelled')
  }
}

module.exports = { Lease }
