'use strict'

// Runs the plugin holds on behalf of OpenClaw work (a spawned child, a tool call,
// a dispatched turn, a backgrounded command), each by its lease (lib/lease.js, the
// one lease run() hands its task too). OpenClaw gives no lease of its own, so one
// timer heartbeats every held lease; a lease the store answers `lost` for (healed
// away, force-released) is dropped so it is never released over its successor.
// Work whose end OpenClaw records but announces to no hook (a backgrounded exec)
// carries a `probe`: asked at each round, and at once when OpenClaw hints that it
// may have ended, it answers the release `{ status, error }` once the work is over.

const { Lease } = require('../lib/lease')

class HeldRuns {
  #getGuard
  #byId = new Map()
  #timer = null
  #heartbeatMs
  #onError

  /** `getGuard()` returns (a promise of) the TaskGuard. */
  constructor(getGuard, { heartbeatMs, onError = () => {} }) {
    this.#getGuard = getGuard
    this.#heartbeatMs = heartbeatMs
    this.#onError = onError
  }

  get size() {
    return this.#byId.size
  }

  /**
   * Holds `run` (an acquire answer) under `id` until {@link take}; `holdForMs`: give up
   * on hearing how it ended after that long, measured on the monotonic clock (a
   * wall-clock step must not end every held run at once).
   */
  hold(id, run, info = {}) {
    const { holdForMs, ...rest } = info
    // Its lease: the acquire's answer itself, or the one an earlier hold made (see #leaseOf).
    const lease = run instanceof Lease ? run : (run.lease ?? null)
    const entry = { key: run.key, runId: run.runId, startedAt: run.startedAt, ...rest, lease }
    // A run adopted from the store (as inspect lists it) gets its lease when first needed.
    if (lease === null) entry.adopted = run.adopted ?? run
    if (holdForMs !== undefined) entry.holdUntil = performance.now() + holdForMs
    this.#byId.set(id, entry)
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.beat(), this.#heartbeatMs)
      this.#timer.unref()
    }
  }

  get(id) {
    return this.#byId.get(id)
  }

  /**
   * The run held under `id` for tool call `toolCallId`. OpenClaw reports the end of a
   * call it blocked too (after_tool_call, with the block reason as error): that call
   * must not end the run held for the call that did start.
   */
  forCall(id, toolCallId) {
    const held = this.#byId.get(id)
    if (held === undefined || (held.toolCallId != null && toolCallId != null && held.toolCallId !== toolCallId)) return undefined
    return held
  }

  /** Stops holding `id`; the caller releases what it returns. */
  take(id) {
    const held = this.#byId.get(id)
    if (held === undefined) return undefined
    this.#byId.delete(id)
    if (this.#byId.size === 0) this.stop()
    return held
  }

  /** Re-files a held run under a new id (a tool call's id, then the child's session key). */
  rename(from, to, info = {}) {
    const held = this.take(from)
    if (held !== undefined) this.hold(to, held, { ...held, ...info })
    return held
  }

  entries() {
    return [...this.#byId.entries()]
  }

  /** Stops holding `runId` of `key` under whatever id (another path released it). */
  forget(key, runId) {
    for (const [id, held] of this.#byId) if (held.key === key && held.runId === runId) this.take(id)
  }

  /** Ends the held runs `which(held, id)` selects (default all) with `status`. */
  async endAll(status, error, which = () => true) {
    await Promise.all(this.entries().map(([id, held]) => (which(held, id) ? this.release(id, status, error) : undefined)))
  }

  stop() {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /**
   * Ends a held run by outcome (`result`: a success's value, kept for duplicates). If
   * the store cannot be reached the run stays held and the release is retried each
   * heartbeat round, so an outcome is never dropped.
   */
  async release(id, status, error, result) {
    const held = this.take(id)
    if (held === undefined) return undefined
    const options = { ...(error ? { error } : {}), ...(result !== undefined && status === 'succeeded' ? { result } : {}) }
    try {
      return await (await this.#leaseOf(held)).release(status, Object.keys(options).length > 0 ? options : undefined)
    } catch (err) {
      this.#onError(err, held)
      this.hold(id, held, { releasing: { status, error, result }, holdUntil: undefined })
      return undefined
    }
  }

  /** The held run's lease; for a run this process did not acquire (adopted after a restart), one made for it. */
  async #leaseOf(held) {
    held.lease ??= Lease.adopt(await this.#getGuard(), held.adopted)
    return held.lease
  }

  /** Asks the probes of the held runs `which` selects now; releases those whose work is over. */
  async probe(which) {
    await Promise.all(this.entries().map(([id, held]) => (held.probe !== undefined && which(held) ? this.#probeOne(id, held) : undefined)))
  }

  /** True when the probe found the work over (and its run was released or handed to the retry loop). */
  async #probeOne(id, held) {
    let end
    try {
      end = await held.probe()
    } catch (err) {
      this.#onError(err, held)
      return false
    }
    if (end === undefined || this.#byId.get(id) !== held) return false
    await this.release(id, end.status, end.error)
    return true
  }

  /** One heartbeat round (the timer's; public for hosts and tests that drive time themselves). */
  async beat() {
    const now = performance.now()
    await Promise.all(
      this.entries().map(async ([id, held]) => {
        if (held.probe !== undefined && held.releasing === undefined && (await this.#probeOne(id, held))) return
        if (held.releasing !== undefined) {
          await this.release(id, held.releasing.status, held.releasing.error, held.releasing.result)
          return
        }
        if (held.holdUntil !== undefined && now > held.holdUntil) {
          // Never told how this work ended: `onExpire` knows what that means for it
          // (a spawn never accepted did not run); otherwise staleness decides.
          if (held.onExpire !== undefined) await this.release(id, held.onExpire, 'no outcome reported')
          else this.take(id)
          return
        }
        try {
          const lease = await this.#leaseOf(held)
          await lease.heartbeat()
          if (!lease.held && this.#byId.get(id) === held) this.take(id)
        } catch (err) {
          this.#onError(err, held)
        }
      }),
    )
  }
}

module.exports = { HeldRuns }
