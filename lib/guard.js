'use strict'

const os = require('node:os')
const native = require('../binding.js')
const v = require('./validate')
const { closedError, abortError, invalidArg } = require('./errors')
const { Waiters } = require('./waiters')
const { Lease } = require('./lease')
const { Scheduler } = require('./scheduler')

const OPEN_OPTIONS = new Set(['store', 'namespace', 'maxKeyBytes', 'defaultTtlMs', 'onStale', 'retentionMs', 'owner'])
const ACQUIRE_OPTIONS = new Set(['owner', 'ttlMs', 'waitMs', 'signal', 'meta'])
const RELEASE_OPTIONS = new Set(['error'])
const HEARTBEAT_OPTIONS = new Set(['ttlMs'])
const APPROVE_OPTIONS = new Set(['approvedBy', 'reason'])
const INSPECT_OPTIONS = new Set(['prefix', 'state', 'limit'])
const RUN_OPTIONS = new Set(['owner', 'ttlMs', 'heartbeatMs', 'waitMs', 'signal', 'meta'])

// Index = the status's position in the engine's `ReleaseStatus::ALL`.
const RELEASE_STATUS = new Map([['succeeded', 0], ['failed', 1], ['cancelled', 2]])
const RELEASE_ANSWERS = ['released', 'lost', 'not_owner', 'already_released']
const HEARTBEAT_ANSWERS = ['extended', 'lost', 'not_owner']

const handles = new WeakMap()

/**
 * The guard. Every method returns a promise. On the memory store the work is
 * done on the JS thread and, outside bursts, the promise is already settled: a
 * native async call would cost 60–100 µs of thread hand-off for ~1 µs of work.
 * A burst is cut into slices so it cannot block the event loop (see Scheduler).
 */
class TaskGuard {
  #h
  #out = new Float64Array(6)
  #closed = false
  #owner
  #listeners = new Set()
  #waiters
  #scheduler = new Scheduler()

  constructor(options) {
    const o = v.options('TaskGuard options', options, OPEN_OPTIONS) ?? {}
    if (o.store !== undefined) v.string('store', o.store)
    if (o.namespace !== undefined) v.string('namespace', o.namespace)
    if (o.onStale !== undefined) v.string('onStale', o.onStale)
    v.duration('defaultTtlMs', o.defaultTtlMs, 1)
    v.duration('maxKeyBytes', o.maxKeyBytes, 1)
    if (o.retentionMs !== undefined && (typeof o.retentionMs !== 'number' || !Number.isInteger(o.retentionMs) || o.retentionMs < 0)) {
      throw invalidArg(`retentionMs must be a non-negative integer (ms), not ${String(o.retentionMs)}`)
    }
    this.#owner = v.optionalString('owner', o.owner) ?? `${os.hostname()}:${process.pid}`
    this.#h = native.guardOpen(
      {
        store: o.store,
        namespace: o.namespace,
        maxKeyBytes: o.maxKeyBytes,
        defaultTtlMs: o.defaultTtlMs,
        onStale: o.onStale,
        retentionMs: o.retentionMs,
      },
      this.#out,
    )
    handles.set(this, this.#h)
    this.#waiters = new Waiters((w) => this.#tryAcquire(w.key, w.args))
  }

  /** Opens a guard on `options.store` (default `'memory:'`). */
  static async open(options) {
    return new TaskGuard(options)
  }

  /** The owner recorded for runs acquired without an explicit `owner`. */
  get owner() {
    return this.#owner
  }

  get closed() {
    return this.#closed
  }

  async acquire(key, options) {
    this.#open()
    v.string('key', key)
    const o = v.options('acquire options', options, ACQUIRE_OPTIONS)
    let args = [this.#owner, undefined, undefined]
    let waitMs = 0
    let signal
    if (o !== undefined) {
      args = [
        v.optionalString('owner', o.owner) ?? this.#owner,
        v.duration('ttlMs', o.ttlMs, 1),
        v.meta(o.meta),
      ]
      waitMs = v.duration('waitMs', o.waitMs, 0) ?? 0
      signal = v.signal('signal', o.signal)
      if (signal?.aborted) throw abortError(signal)
    }
    return this.#scheduler.run(() => {
      const r = this.#tryAcquire(key, args)
      if (r.status !== 'already_running' || waitMs === 0) return r
      return this.#waiters.wait(key, args, waitMs, signal, r)
    })
  }

  #tryAcquire(key, args) {
    const h = native.guardAcquire(this.#h, key, args[0], args[1], args[2])
    let r
    const out = this.#out
    if (typeof h === 'string' && out[4] === 0) {
      r = {
        status: 'acquired',
        key,
        runId: h,
        fencingToken: out[0],
        startedAt: out[1],
        expiresAt: out[2],
        attempt: out[3],
        owner: args[0] ?? null,
        healedFrom: null,
      }
    } else if (typeof h === 'string') {
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
    } else if (h.status === 'acquired') {
      r = { status: 'acquired', key, ...h.run, owner: h.run.owner ?? null, healedFrom: { ...h.healedFrom, owner: h.healedFrom.owner ?? null } }
    } else {
      r = {
        status: 'awaiting_approval',
        key,
        failedRunId: h.failedRunId,
        failedAt: h.failedAt,
        error: h.error ?? null,
        attempt: h.attempt,
      }
    }
    if (this.#listeners.size > 0) this.#emit()
    return r
  }

  async release(key, runId, status = 'succeeded', options) {
    this.#open()
    v.string('key', key)
    v.string('runId', runId)
    const code = RELEASE_STATUS.get(status)
    if (code === undefined) {
      throw invalidArg(`status must be 'succeeded', 'failed' or 'cancelled', not ${JSON.stringify(status)}`)
    }
    const o = v.options('release options', options, RELEASE_OPTIONS)
    const error = o === undefined ? undefined : v.errorText(o.error)
    return this.#scheduler.run(() => {
      const answer = RELEASE_ANSWERS[native.guardRelease(this.#h, key, runId, code, error)]
      if (this.#listeners.size > 0) this.#emit()
      if (answer !== 'released') return { status: answer, key, runId }
      const r = { status: 'released', key, runId, endedAt: this.#out[0] }
      this.#waiters.wake(key)
      return r
    })
  }

  async heartbeat(key, runId, options) {
    this.#open()
    v.string('key', key)
    v.string('runId', runId)
    const o = v.options('heartbeat options', options, HEARTBEAT_OPTIONS)
    const ttlMs = o === undefined ? undefined : v.duration('ttlMs', o.ttlMs, 1)
    return this.#scheduler.run(() => {
      const answer = HEARTBEAT_ANSWERS[native.guardHeartbeat(this.#h, key, runId, ttlMs)]
      if (answer === 'extended') return { status: 'extended', key, runId, expiresAt: this.#out[0] }
      return { status: answer, key, runId }
    })
  }

  async approveRetry(key, options) {
    this.#open()
    v.string('key', key)
    const o = v.options('approveRetry options', options, APPROVE_OPTIONS) ?? {}
    const approvedBy = v.optionalString('approvedBy', o.approvedBy)
    const reason = v.optionalString('reason', o.reason)
    return this.#scheduler.run(() => {
      const r = native.guardApproveRetry(this.#h, key, approvedBy, reason)
      if (this.#listeners.size > 0) this.#emit()
      if (r.status !== 'approved') return { status: 'not_failed', key }
      this.#waiters.wake(key)
      return { status: 'approved', key, failedRunId: r.failedRunId, approvedAt: r.approvedAt, nextAttempt: r.nextAttempt }
    })
  }

  async inspect(options) {
    this.#open()
    const o = v.options('inspect options', options, INSPECT_OPTIONS) ?? {}
    const prefix = v.optionalString('prefix', o.prefix)
    const state = v.optionalString('state', o.state)
    const limit = o.limit === undefined ? undefined : v.duration('limit', o.limit, 0)
    return this.#scheduler.run(() => this.#inspectNow(prefix, state, limit))
  }

  #inspectNow(prefix, state, limit) {
    const r = native.guardInspect(this.#h, prefix, state, limit)
    const guards = r.guards.map((g) => ({
      key: g.key,
      state: g.state,
      runId: g.runId,
      fencingToken: g.fencingToken,
      owner: g.owner ?? null,
      startedAt: g.startedAt,
      expiresAt: g.expiresAt,
      attempt: g.attempt,
      meta: g.meta === undefined ? null : JSON.parse(g.meta),
      failedAt: g.failedAt ?? null,
      error: g.error ?? null,
      approvedAt: g.approvedAt ?? null,
      approvedBy: g.approvedBy ?? null,
      reason: g.reason ?? null,
    }))
    return { now: r.now, guards, counts: r.counts }
  }

  /**
   * Acquires `key`, runs `fn(lease)` while heartbeating, and releases by
   * outcome. A conflict is returned without calling `fn`.
   */
  async run(key, fn, options) {
    this.#open()
    v.string('key', key)
    v.func('fn', fn)
    const o = v.options('run options', options, RUN_OPTIONS) ?? {}
    const heartbeatMs = v.duration('heartbeatMs', o.heartbeatMs, 1)
    const acquireOptions = {}
    for (const k of ['owner', 'ttlMs', 'waitMs', 'signal', 'meta']) {
      if (o[k] !== undefined) acquireOptions[k] = o[k]
    }
    const r = await this.acquire(key, acquireOptions)
    if (r.status !== 'acquired') return r
    const lease = new Lease(this, r)
    const every = heartbeatMs ?? Math.max(1, Math.floor((r.expiresAt - r.startedAt) / 3))
    const timer = setInterval(() => {
      lease.heartbeat().catch(() => {
        // A failed heartbeat (closed guard, unreachable store) is retried at the
        // next tick; the run stays bounded by its ttl.
      })
    }, every)
    timer.unref()
    let value
    try {
      value = await fn(lease)
    } catch (err) {
      clearInterval(timer)
      if (lease.held) await lease.release('failed', { error: errorOf(err) })
      throw err
    }
    clearInterval(timer)
    const released = lease.held ? await lease.release('succeeded') : { status: 'lost' }
    return { status: 'completed', key, runId: r.runId, value, release: released.status }
  }

  /** Calls `listener(event)` for acquired, conflict, released, failed, approved and healed. Returns an unsubscribe function. */
  onEvent(listener) {
    v.func('listener', listener)
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) native.guardSetEventsEnabled(this.#h, true)
    return () => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0 && !this.#closed) {
        native.guardSetEventsEnabled(this.#h, false)
      }
    }
  }

  #emit() {
    for (const e of native.guardTakeEvents(this.#h)) {
      const event = { type: e.type, key: e.key, runId: e.runId, at: e.at }
      if (e.status !== undefined) event.status = e.status
      if (e.releaseStatus !== undefined) event.releaseStatus = e.releaseStatus
      if (e.healedBy !== undefined) event.healedBy = e.healedBy
      if (e.cause !== undefined) event.cause = e.cause
      for (const l of this.#listeners) {
        try {
          l(event)
        } catch (err) {
          // A listener's bug must not change what the guard answered.
          process.emitWarning(`task-guard event listener threw: ${err?.stack ?? err}`, 'TaskGuardWarning')
        }
      }
    }
  }

  /** Closes the guard: later calls reject with ERR_TASK_GUARD_CLOSED, and so do pending waits. */
  async close() {
    if (this.#closed) return
    this.#closed = true
    native.guardClose(this.#h)
    this.#scheduler.rejectAll(closedError)
    this.#waiters.rejectAll(closedError)
  }

  #open() {
    if (this.#closed) throw closedError()
  }
}

function errorOf(err) {
  if (err instanceof Error) return err.message || err.name
  return String(err)
}

/** Test support: the native handle of a guard. */
function handleOf(guard) {
  return handles.get(guard)
}

module.exports = { TaskGuard, handleOf }
