'use strict'

const { codedError, codes } = require('./errors')

/**
 * What `acquire` answers with when it grants a run, and what `run()` hands its task:
 * the run's fields, plus `release`, `heartbeat` and `await using` (released as
 * `cancelled` if still held when the scope ends). `signal` aborts when the guard
 * reports the run lost (healed away after missing its expiry), so the task can stop
 * work another run now owns. Made on every grant, so what only some leases need
 * (an AbortController, how it ended) is made when first needed.
 */
class Lease {
  #guard
  /** null while held and untouched; then { ended, released, releasedAs, controller }. */
  #state = null

  constructor(guard, key, runId, fencingToken, startedAt, expiresAt, attempt, owner, healedFrom) {
    this.#guard = guard
    this.status = 'acquired'
    this.key = key
    this.runId = runId
    this.fencingToken = fencingToken
    this.startedAt = startedAt
    this.expiresAt = expiresAt
    this.attempt = attempt
    this.owner = owner
    this.healedFrom = healedFrom
  }

  /**
   * The lease of a run this process holds but did not acquire through `guard`
   * (one adopted after a restart, as `inspect` lists it).
   */
  static adopt(guard, run) {
    return new Lease(guard, run.key, run.runId, run.fencingToken, run.startedAt, run.expiresAt, run.attempt, run.owner ?? null, null)
  }

  #st() {
    this.#state ??= { ended: false, released: null, releasedAs: null, controller: null }
    return this.#state
  }

  /** True until the run is released or lost. */
  get held() {
    return this.#state === null || !this.#state.ended
  }

  /** Aborts (reason code `ERR_TASK_GUARD_LOST`) when the run was healed away. */
  get signal() {
    const st = this.#st()
    if (st.controller === null) {
      st.controller = new AbortController()
      if (st.ended && st.released === null) this.#abort('lost')
    }
    return st.controller.signal
  }

  /** The answer of the release made through this lease, or null. */
  get releaseAnswer() {
    return this.#state?.released ?? null
  }

  /** The status the run was released with through this lease, or null. */
  get releasedAs() {
    return this.#state?.releasedAs ?? null
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
    const st = this.#st()
    st.ended = true
    if (st.released === null) {
      st.released = r
      st.releasedAs = status
    }
    return r
  }

  markLost(status) {
    const st = this.#st()
    if (st.ended) return
    st.ended = true
    if (st.controller !== null) this.#abort(status)
  }

  #abort(status) {
    this.#state.controller.abort(codedError(codes.LOST, `run ${this.runId} of ${JSON.stringify(this.key)} was lost (${status})`))
  }

  /** `await using lease = …`: releases as cancelled if still held. */
  async [Symbol.asyncDispose]() {
    if (this.held) await this.release('cancelled')
  }
}

/** A conflict answer (fields set by who makes it): nothing to release, so leaving an `await using` scope does nothing. */
class Refusal {
  /** For a conflict with a running run: the engine's ms until a waiting acquire tries again. */
  #retryInMs

  constructor(retryInMs) {
    this.#retryInMs = retryInMs
  }

  /** `conflict`'s retry time, as the engine gave it (undefined for other answers). */
  static retryInMs(conflict) {
    return #retryInMs in conflict ? conflict.#retryInMs : undefined
  }

  async [Symbol.asyncDispose]() {}
}

module.exports = { Lease, Refusal }
