'use strict'

const os = require('node:os')
const v = require('./validate')
const { contract, optionNames, optionDefault, heartbeatEvery } = require('./contract')
const results = require('./results')
const { closedError, abortError, invalidArg } = require('./errors')
const { Waiters } = require('./waiters')
const { Outcomes } = require('./outcomes')
const { Refusal } = require('./lease')
const { Scheduler } = require('./scheduler')
const { MemoryBackend } = require('./memory-backend')
const { DurableBackend } = require('./durable-backend')

const OPEN_OPTIONS = optionNames('open')
const TLS_OPTIONS = optionNames('tls')
const ACQUIRE_OPTIONS = optionNames('acquire')
const RELEASE_OPTIONS = optionNames('release')
const OUTCOME_OPTIONS = optionNames('outcome')
const HEARTBEAT_OPTIONS = optionNames('heartbeat')
const APPROVE_OPTIONS = optionNames('approveRetry')
const FORCE_OPTIONS = optionNames('forceRelease')
const INSPECT_OPTIONS = optionNames('inspect')
const GUARDS_OPTIONS = optionNames('guards')
const STATES = new Set(['running', 'stale', 'failed', 'approved'])
// Guards per page when guards() walks them: the largest page inspect() gives.
const WALK_PAGE = contract.options.inspect.limit.max
const RUN_OPTIONS = optionNames('run')

/** The status's position in the engine's `ReleaseStatus::ALL`, or -1 (compared, not looked up: every release asks). */
function releaseStatusIndex(status) {
  return status === 'succeeded' ? 0 : status === 'failed' ? 1 : status === 'cancelled' ? 2 : -1
}

// How often a waiting acquire looks again on a store other processes share:
// their releases raise no event here.
const DEFAULT_POLL_MS = optionDefault('open', 'pollMs')

const INTERNAL = Symbol('task-guard internal')

// Owners are at most 256 bytes; a hostname may be 253.
const defaultOwner = () => `${os.hostname().slice(0, 200)}:${process.pid}`

function isMemory(store) {
  return store === undefined || store === 'memory:'
}

/** Checks options and returns what the native layer takes. */
function parseOptions(options) {
  const o = v.options('TaskGuard options', options, OPEN_OPTIONS) ?? {}
  if (o.store !== undefined) v.string('store', o.store)
  if (o.namespace !== undefined) v.string('namespace', o.namespace)
  if (o.onStale !== undefined) v.string('onStale', o.onStale)
  if (o.durability !== undefined) v.string('durability', o.durability)
  if (o.groupCommit !== undefined && typeof o.groupCommit !== 'boolean') {
    throw invalidArg(`groupCommit must be a boolean, not ${typeof o.groupCommit}`)
  }
  v.duration('defaultTtlMs', o.defaultTtlMs, 1)
  v.duration('maxKeyBytes', o.maxKeyBytes, 1)
  v.duration('pollMs', o.pollMs, 1)
  v.duration('connectTimeoutMs', o.connectTimeoutMs, 1)
  v.duration('commandTimeoutMs', o.commandTimeoutMs, 1)
  for (const name of ['retentionMs', 'replayMs', 'maxResultBytes']) {
    const x = o[name]
    if (x !== undefined && (typeof x !== 'number' || !Number.isInteger(x) || x < 0)) {
      throw invalidArg(`${name} must be a non-negative integer, not ${v.describe(x)}`)
    }
  }
  v.optionalString('owner', o.owner)
  if (o.clock !== undefined) {
    v.func('clock', o.clock)
    if (!isMemory(o.store)) {
      throw invalidArg("clock is for the memory store; a durable store keeps its store's clock (SQLite: the host's, Redis: the server's)")
    }
  }
  const tls = parseTls(o.tls)
  const nativeOptions = {
    store: o.store,
    namespace: o.namespace,
    // Runs acquired without an owner are this one's: the native layer keeps it, so
    // acquires need not send it each time.
    owner: o.owner ?? defaultOwner(),
    maxKeyBytes: o.maxKeyBytes,
    defaultTtlMs: o.defaultTtlMs,
    onStale: o.onStale,
    retentionMs: o.retentionMs,
    replayMs: o.replayMs,
    maxResultBytes: o.maxResultBytes,
    durability: o.durability,
    groupCommit: o.groupCommit,
    connectTimeoutMs: o.connectTimeoutMs,
    commandTimeoutMs: o.commandTimeoutMs,
    tls,
  }
  return { o, nativeOptions }
}

/** `tls: { ca, cert, key }`, each PEM text as a string or bytes (as `fs.readFileSync` gives). */
function parseTls(tls) {
  const t = v.options('tls', tls, TLS_OPTIONS)
  if (t === undefined) return undefined
  const pem = (name) => {
    const x = t[name]
    if (x === undefined) return undefined
    if (typeof x === 'string') return v.string(`tls.${name}`, x)
    if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1')
    throw invalidArg(`tls.${name} must be PEM text (a string or a Buffer), not ${v.describe(x)}`)
  }
  return { ca: pem('ca'), cert: pem('cert'), key: pem('key') }
}

/**
 * The guard. Every method returns a promise. On the memory store the work is
 * done on the JS thread and, outside bursts, the promise is already settled: a
 * native async call would cost 60–100 µs of thread hand-off for ~1 µs of work.
 * A burst is cut into slices so it cannot block the event loop (see Scheduler).
 * Durable stores do their I/O on their own thread (see DurableBackend).
 */
class TaskGuard {
  #backend
  #closed = false
  #owner
  #listeners = new Set()
  #waiters
  #schedule
  /** Whether a call may run now, not queued behind others (see Scheduler); if not, `#queue` it. */
  #runsNow
  #queue
  /** An acquire without waitMs that must wait its turn (see Scheduler.queueAcquire). */
  #queueAcquire
  #timers
  #quiet = false
  #outcomes
  #maxResultBytes

  constructor(options, internal, backend) {
    // From open(), `options` arrives parsed: each option is read once.
    const { o, nativeOptions } = internal === INTERNAL ? options : parseOptions(options)
    if (internal !== INTERNAL && !isMemory(o.store)) {
      throw invalidArg(`store ${JSON.stringify(o.store)} opens asynchronously: use await TaskGuard.open(options)`)
    }
    this.#owner = nativeOptions.owner
    this.#maxResultBytes = o.maxResultBytes ?? optionDefault('open', 'maxResultBytes')
    this.#backend = backend ?? new MemoryBackend(nativeOptions, (events) => this.#dispatch(this.#quiet ? events.filter(notConflict) : events), o.clock)
    // run()'s heartbeats keep time with the guard's clock: a clock with timers of its
    // own (task-guard/testing's manual clock) drives them; otherwise the event loop's.
    this.#timers = typeof o.clock?.setInterval === 'function' ? o.clock : globalThis
    this.#backend.guard = this
    this.#backend.defaultOwner = this.#owner
    // The engine says when a key's waiting acquires may try again; this guard only schedules it.
    this.#backend.letWaitersIn = (key) => this.#waiters.wake(key)
    // And when a run ended, callers waiting for its outcome look.
    this.#backend.runEnded = (key) => this.#outcomes.has(key) && this.#outcomes.wake(key)
    const look = (key, runId) => this.#backend.outcome(key, runId)
    if (this.#backend.sync) {
      const scheduler = new Scheduler(this.#backend)
      this.#schedule = (work) => scheduler.run(work)
      this.#runsNow = () => scheduler.free()
      this.#queue = (work) => scheduler.queue(work)
      this.#queueAcquire = (key, owner, ttlMs, meta, fingerprint) => scheduler.queueAcquire(key, owner, ttlMs, meta, fingerprint)
      this.#schedule.rejectAll = (e) => scheduler.rejectAll(e)
      this.#backend.later = (work) => scheduler.later(work)
      this.#waiters = new Waiters((w) => this.#retry(w), { release: (r) => this.#backend.release(r.key, r.runId, 2) })
      this.#outcomes = new Outcomes(look)
    } else {
      this.#schedule = (work) => work()
      this.#runsNow = () => true
      this.#queue = (work) => work()
      this.#queueAcquire = (key, owner, ttlMs, meta, fingerprint) => this.#backend.acquire(key, owner, ttlMs, meta, fingerprint)
      this.#schedule.rejectAll = () => {}
      this.#waiters = new Waiters((w) => this.#retry(w), {
        release: (r) => this.#backend.release(r.key, r.runId, 2),
        pollMs: o.pollMs ?? DEFAULT_POLL_MS,
      })
      this.#outcomes = new Outcomes(look, { pollMs: o.pollMs ?? DEFAULT_POLL_MS })
    }
  }

  /**
   * A waiting acquire's later looks. Its conflict event was its first answer's:
   * the looks that answer a conflict again report none (the memory store emits
   * while `#quiet`; a durable store drops them by the flag).
   */
  #retry(w) {
    this.#quiet = true
    try {
      return this.#backend.acquire(w.key, ...w.args, true)
    } finally {
      this.#quiet = false
    }
  }

  /** Opens a guard on `options.store`: `'memory:'` (default), `'sqlite:<path>'` or `'redis://host:port/db'`. */
  static async open(options) {
    const parsed = parseOptions(options)
    if (isMemory(parsed.o.store)) return new TaskGuard(parsed, INTERNAL)
    let guard
    const backend = await DurableBackend.open(parsed.nativeOptions, (events) => guard.#dispatch(events))
    guard = new TaskGuard(parsed, INTERNAL, backend)
    return guard
  }

  /** The owner recorded for runs acquired without an explicit `owner`. */
  get owner() {
    return this.#owner
  }

  get closed() {
    return this.#closed
  }

  // acquire and release are the hot pair, so they are not async functions: a
  // call that waits its turn in a burst then returns the scheduler's promise
  // itself, which an async function's promise would take two more microtask
  // turns to adopt (half of a queued call's cost, measured). Bad input still
  // rejects, it does not throw.
  acquire(key, options) {
    try {
      return this.#acquire(key, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #acquire(key, options) {
    this.#open()
    v.string('key', key)
    // The plain call, the common one, allocates no option list, nor a closure
    // when it runs at once (a closure per call cost ~4% of a pair, measured).
    if (options === undefined) {
      if (this.#runsNow()) return Promise.resolve(this.#backend.acquire(key, undefined, undefined, undefined, undefined))
      return this.#queueAcquire(key, undefined, undefined, undefined, undefined)
    }
    // Options are read now, once: a caller may change its options object after the call.
    const o = v.options('acquire options', options, ACQUIRE_OPTIONS)
    const owner = v.optionalString('owner', o.owner)
    const ttlMs = v.duration('ttlMs', o.ttlMs, 1)
    const meta = v.meta(o.meta)
    const fingerprint = v.optionalString('fingerprint', o.fingerprint)
    const waitMs = v.duration('waitMs', o.waitMs, 0) ?? 0
    const signal = v.signal('signal', o.signal)
    if (signal?.aborted) throw abortError(signal)
    // Without waitMs, as the plain call: no closure, and queued duplicates share a store call.
    if (waitMs === 0) {
      if (this.#runsNow()) return Promise.resolve(this.#backend.acquire(key, owner, ttlMs, meta, fingerprint))
      return this.#queueAcquire(key, owner, ttlMs, meta, fingerprint)
    }
    return Promise.resolve(
      this.#schedule(() => {
        const answer = this.#backend.acquire(key, owner, ttlMs, meta, fingerprint)
        const args = [owner, ttlMs, meta, fingerprint]
        return thenOrNow(answer, (r) => (r.status === 'already_running' ? this.#waiters.wait(key, args, waitMs, signal, r) : r))
      }),
    )
  }

  release(key, runId, status = 'succeeded', options) {
    try {
      return this.#release(key, runId, status, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #release(key, runId, status, options) {
    this.#open()
    v.string('key', key)
    v.string('runId', runId)
    const code = releaseStatusIndex(status)
    if (code === -1) {
      throw invalidArg(`status must be 'succeeded', 'failed' or 'cancelled', not ${v.describe(status)}`)
    }
    const o = v.options('release options', options, RELEASE_OPTIONS)
    const error = o === undefined ? undefined : v.errorText(o.error)
    const result = o === undefined ? undefined : v.json('result', o.result)
    if (this.#runsNow()) return Promise.resolve(this.#backend.release(key, runId, code, error, result))
    return this.#queue(() => this.#backend.release(key, runId, code, error, result))
  }

  /**
   * How run `runId` of `key` ended: `succeeded` (with its result), `failed` (with
   * its error), `cancelled`, or `unknown`; `running` if it has not ended when
   * `waitMs` (default 0) runs out.
   */
  async outcome(key, runId, options) {
    this.#open()
    v.string('key', key)
    v.string('runId', runId)
    const o = v.options('outcome options', options, OUTCOME_OPTIONS) ?? {}
    const waitMs = v.duration('waitMs', o.waitMs, 0) ?? 0
    const signal = v.signal('signal', o.signal)
    if (signal?.aborted) throw abortError(signal)
    return this.#schedule(() => {
      const answer = this.#backend.outcome(key, runId)
      if (waitMs === 0) return answer
      return thenOrNow(answer, (r) => (r.status === 'running' ? this.#outcomes.wait(key, runId, waitMs, signal) : r))
    })
  }

  async heartbeat(key, runId, options) {
    this.#open()
    v.string('key', key)
    v.string('runId', runId)
    const o = v.options('heartbeat options', options, HEARTBEAT_OPTIONS)
    const ttlMs = o === undefined ? undefined : v.duration('ttlMs', o.ttlMs, 1)
    return this.#schedule(() => this.#backend.heartbeat(key, runId, ttlMs))
  }

  async approveRetry(key, options) {
    return this.#operator('approveRetry', key, options, APPROVE_OPTIONS, 'approvedBy')
  }

  /** Operator action: ends a running (or stale) run whose owner is gone. Its owner later gets `lost`. */
  async forceRelease(key, options) {
    return this.#operator('forceRelease', key, options, FORCE_OPTIONS, 'by')
  }

  /** An operator action `{ <who>, reason }`; it may free the key for waiters. */
  #operator(method, key, options, allowed, who) {
    this.#open()
    v.string('key', key)
    const o = v.options(`${method} options`, options, allowed) ?? {}
    const by = v.optionalString(who, o[who])
    const reason = v.optionalString('reason', o.reason)
    return this.#schedule(() => this.#backend[method](key, by, reason))
  }

  /**
   * One page of guards in key order (Redis: SCAN order, sorted within the page)
   * with counts per state; `next` is the cursor of the next page, to pass as
   * `after`, or null.
   */
  async inspect(options) {
    this.#open()
    const o = v.options('inspect options', options, INSPECT_OPTIONS) ?? {}
    const prefix = v.optionalString('prefix', o.prefix)
    const state = v.optionalString('state', o.state)
    const limit = o.limit === undefined ? undefined : v.duration('limit', o.limit, 0)
    const after = o.after === undefined || o.after === null ? undefined : v.string('after', o.after)
    return this.#schedule(() => this.#backend.inspect(prefix, state, limit, after))
  }

  /**
   * Every guard matching `{ prefix, state }`, page by page (no counts), for
   * `for await`. Bad options throw here, before the first page is read.
   */
  guards(options) {
    this.#open()
    const o = v.options('guards options', options, GUARDS_OPTIONS) ?? {}
    const prefix = v.optionalString('prefix', o.prefix)
    const state = v.optionalString('state', o.state)
    // Checked here too: the native layer would see it only at the first page.
    if (state !== undefined && !STATES.has(state)) {
      throw invalidArg(`state must be 'running', 'stale', 'failed' or 'approved', not ${JSON.stringify(state)}`)
    }
    return this.#walk(prefix, state)
  }

  async *#walk(prefix, state) {
    let after
    do {
      this.#open()
      const page = await this.#schedule(() => this.#backend.inspect(prefix, state, WALK_PAGE, after, false))
      yield* page.guards
      after = page.next ?? undefined
    } while (after !== undefined)
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
    const join = v.boolean('join', o.join) ?? false
    const acquireOptions = {}
    // Joining waits for the running run's outcome, not for the key: waitMs bounds that.
    for (const k of ['owner', 'ttlMs', 'signal', 'meta', 'fingerprint', ...(join ? [] : ['waitMs'])]) {
      if (o[k] !== undefined) acquireOptions[k] = o[k]
    }
    let r = await this.acquire(key, acquireOptions)
    if (join) r = await this.#join(key, r, acquireOptions, v.duration('waitMs', o.waitMs, 0), o.signal)
    if (r.status === 'already_completed') return { status: r.status, key, runId: r.runId, endedAt: r.endedAt, value: r.result }
    if (r.status !== 'acquired') return r
    // The granted answer is the task's lease; run() releases it by outcome unless the task did.
    const lease = r
    const every = heartbeatMs ?? heartbeatEvery(r.expiresAt - r.startedAt)
    const timers = this.#timers
    const timer = timers.setInterval(() => {
      lease.heartbeat().catch(() => {
        // A failed heartbeat (closed guard, unreachable store) is retried at the
        // next tick; the run stays bounded by its ttl.
      })
    }, every)
    timer?.unref?.()
    let value
    try {
      value = await fn(lease)
    } catch (err) {
      timers.clearInterval(timer)
      // Whatever was thrown fails the run and is rethrown as it is; a store that cannot
      // take the failure now leaves the run to go stale (onStale decides), never lost silently.
      if (lease.held) await lease.release('failed', { error: v.thrownText(err) }).catch(() => {})
      throw err
    }
    timers.clearInterval(timer)
    // The task may have released its lease itself: report that release, not 'lost'.
    const released = lease.held ? await lease.release('succeeded', this.#resultOf(value)) : (lease.releaseAnswer ?? { status: 'lost' })
    return { status: 'completed', key, runId: r.runId, value, release: released.status, releasedAs: lease.releasedAs }
  }

  /**
   * A duplicate that joins: waits for the running run's outcome and answers it
   * (`joined`). At the run's expiry it asks for the key again: a run whose owner
   * died is then healed, and this caller runs the task itself. Gives up with the
   * last conflict when `waitMs` (default: no limit) runs out.
   */
  async #join(key, r, acquireOptions, waitMs, signal) {
    const deadline = waitMs === undefined ? Infinity : performance.now() + waitMs
    while (r.status === 'already_running') {
      const left = deadline - performance.now()
      if (left <= 0) return r
      const untilExpiry = Refusal.retryInMs(r) + 1
      const o = await this.outcome(key, r.runId, { waitMs: Math.ceil(Math.max(1, Math.min(left, untilExpiry, v.MAX_DURATION_MS))), signal })
      switch (o.status) {
        case 'succeeded':
          return { status: 'joined', key, runId: r.runId, outcome: o.status, endedAt: o.endedAt, value: o.result }
        case 'failed':
          return { status: 'joined', key, runId: r.runId, outcome: o.status, endedAt: o.endedAt, error: o.error }
        case 'cancelled':
          return { status: 'joined', key, runId: r.runId, outcome: o.status, endedAt: o.endedAt, reason: o.reason }
        default:
          // Still running at its expiry (heartbeated, or stale and to be healed), or forgotten.
          r = await this.acquire(key, acquireOptions)
      }
    }
    return r
  }

  /** Release options storing a task's value as its result when JSON can carry it within maxResultBytes; otherwise none. */
  #resultOf(value) {
    const text = v.attempt(() => JSON.stringify(value))
    if (typeof text !== 'string' || Buffer.byteLength(text) > this.#maxResultBytes) return undefined
    return { result: new v.JsonText(text) }
  }

  /**
   * This guard's metrics as Prometheus text exposition: counters of the answers its
   * store gave (acquires by answer, releases by status, heals, approvals, failures by
   * cause), a histogram of how long released runs ran, and gauges of the store's guards
   * by state (read now).
   */
  async metrics() {
    this.#open()
    const { counts } = await this.inspect({ limit: 0 })
    return this.#backend.metrics(counts)
  }

  /** Calls `listener(event)` for acquired, conflict, released, failed, approved and healed. Returns an unsubscribe function. */
  onEvent(listener) {
    v.func('listener', listener)
    this.#listeners.add(listener)
    if (this.#listeners.size === 1 && !this.#closed) this.#backend.setEventsEnabled(true)
    return () => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0 && !this.#closed) {
        this.#backend.setEventsEnabled(false)
      }
    }
  }

  #dispatch(events) {
    if (this.#listeners.size === 0) return
    for (const e of events) {
      const event = results.event(e)
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

  /**
   * Closes the guard: later calls reject with ERR_TASK_GUARD_CLOSED, and so do
   * pending waits. Calls already made to a durable store are still answered.
   */
  async close() {
    if (this.#closed) return
    this.#closed = true
    this.#schedule.rejectAll(closedError)
    this.#waiters.rejectAll(closedError)
    this.#outcomes.rejectAll(closedError)
    await this.#backend.close()
  }

  #open() {
    if (this.#closed) throw closedError()
  }
}

const notConflict = (e) => e.type !== 'conflict'

/** `f(x)`, after `x` settles if it is a promise (durable stores), at once if not (memory). */
function thenOrNow(x, f) {
  return x instanceof Promise ? x.then(f) : f(x)
}

module.exports = { TaskGuard }
