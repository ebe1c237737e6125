'use strict'
// Durable stores: each call submits a job and returns a promise; answers
// arrive in batches through one callback. SQLite's jobs run on the store's own
// thread (a batch per commit); Redis's calls go on a socket of the JS thread
// (redis-socket.js, a batch per read) and its inspections on the store's
// thread. The native callback is held weakly, so an idle guard never keeps the
// process alive; it is held strongly while answers are outstanding.

const native = require('./native')
const results = require('./results')
const { decode, letsWaitersIn, endsARun, SLOTS } = require('./answers')
const { codedError, fromNative } = require('./errors')
const { AnswerWait } = require('./answer-wait')
const { RedisSocket } = require('./redis-socket')

/** Numbers per answer in a batch (replies.rs, STRIDE): its call's id, its strings' length, its SLOTS. */
const STRIDE = 2 + SLOTS

const OPEN_ID = 0
const CLOSED_ID = 0xffff_ffff
const MAX_ID = 0xffff_fffe

class DurableBackend {
  sync = false
  /** The TaskGuard this backend serves: granted answers are its leases. */
  guard = null
  /** Called with a key when the engine says its waiting acquires may try now. */
  letWaitersIn = () => {}
  /** Called with a key when the engine says an answer ended one of its runs. */
  runEnded = () => {}
  #handle
  #pending = new Map()
  #next = 1
  #emit
  #held = false
  #wait = new AnswerWait(() => this.#inFlight())
  /** Redis: the socket its commands go on (see redis-socket.js); inspections use the store's thread. */
  #wire = null

  /** Resolves once the store's file is open and checked (Redis: both connections made). */
  static async open(nativeOptions, emit) {
    const b = new DurableBackend(nativeOptions, emit)
    try {
      await b.#opened
      if (/^rediss?:\/\//.test(nativeOptions.store)) {
        b.#wire = new RedisSocket(b.#handle, nativeOptions.tls, (batch) => b.#complete(batch), (err) => b.#failWireCalls(err))
        await b.#wire.open()
      }
    } catch (err) {
      await b.close()
      throw err
    }
    return b
  }

  #opened
  #closed

  constructor(nativeOptions, emit) {
    this.#emit = emit
    this.#opened = this.#expect(OPEN_ID)
    this.#closed = this.#expect(CLOSED_ID)
    try {
      this.#handle = native.guardOpen(nativeOptions, undefined, (batch) => this.#complete(batch))
    } catch (err) {
      this.#pending.clear()
      throw fromNative(err)
    }
    this.#hold()
  }

  #expect(id) {
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, build: () => undefined }))
  }

  /** How many answers are awaited, the store's own exit aside (until closing). */
  #inFlight() {
    return this.#pending.size - (this.#pending.has(CLOSED_ID) && !this.#closing ? 1 : 0)
  }

  /** How many calls await answers (the open and the store's exit aside). */
  #callsInFlight() {
    return this.#pending.size - (this.#pending.has(CLOSED_ID) ? 1 : 0) - (this.#pending.has(OPEN_ID) ? 1 : 0)
  }

  /** Held while anything but the store's own exit is awaited. */
  #hold() {
    const want = this.#inFlight() > 0
    if (want !== this.#held) {
      this.#held = want
      native.guardHold(this.#handle, want)
    }
  }

  /**
   * A batch of answers (src/binding/replies.rs, BatchOut): per answer STRIDE
   * numbers (its call's id, the length of its strings in `texts` or -1, its
   * SLOTS numbers), the strings one after another, and `extras` for the
   * answers that carry an error, events or an inspection, in order.
   */
  #complete(batch) {
    const { numbers, texts, extras } = batch
    const n = numbers.length / STRIDE
    let at = 0
    let e = 0
    for (let i = 0; i < n; i++) {
      const base = i * STRIDE
      const length = numbers[base + 1]
      let text
      if (length >= 0) {
        text = length === texts.length ? texts : texts.slice(at, at + length)
        at += length
      }
      const extra = extras !== undefined && e < extras.length && extras[e].index === i ? extras[e++] : undefined
      const id = numbers[base]
      const p = this.#pending.get(id)
      if (p === undefined) continue
      this.#pending.delete(id)
      if (extra?.errorCode !== undefined) {
        p.reject(codedError(extra.errorCode, extra.errorMessage))
        continue
      }
      if (extra?.events !== undefined) this.#emit(p.quiet ? extra.events.filter((ev) => ev.type !== 'conflict') : extra.events)
      p.resolve(p.build(text, numbers.subarray(base + 2, base + STRIDE), extra))
    }
    this.#hold()
    if (this.#wire === null) this.#wait.poke()
    if (this.#drained !== null && this.#callsInFlight() === 0) {
      this.#drained()
      this.#drained = null
    }
  }

  /** Every call on the wire still awaiting its answer rejects with `err`. */
  #failWireCalls(err) {
    for (const [id, p] of this.#pending) {
      if (id === OPEN_ID || id === CLOSED_ID || p.onThread) continue
      this.#pending.delete(id)
      p.reject(err)
    }
    this.#hold()
  }

  /**
   * `quiet`: the call's conflict events are not reported (a waiting acquire's later looks);
   * `onThread`: an inspection, which the store's thread answers even on Redis.
   */
  #submit(build, send, quiet = false, onThread = false) {
    const id = this.#next
    this.#next = id >= MAX_ID ? 1 : id + 1
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, build, quiet, onThread })
      try {
        send(id)
      } catch (err) {
        this.#pending.delete(id)
        reject(fromNative(err))
      }
      this.#wire?.kick(this.#callsInFlight() === 1)
      this.#hold()
      if (this.#wire === null) this.#wait.poke()
    })
  }

  setEventsEnabled(on) {
    native.guardSetEventsEnabled(this.#handle, on)
  }

  acquire(key, owner, ttlMs, meta, fingerprint, quiet) {
    return this.#submit((text, numbers) => this.#answer(key, undefined, text, numbers), (id) => native.guardAcquire(this.#handle, id, key, owner, ttlMs, meta, fingerprint), quiet)
  }

  release(key, runId, statusIndex, error, result) {
    return this.#submit((text, numbers) => this.#answer(key, runId, text, numbers), (id) => native.guardRelease(this.#handle, id, key, runId, statusIndex, error, result))
  }

  outcome(key, runId) {
    return this.#submit((text, numbers) => this.#answer(key, runId, text, numbers), (id) => native.guardOutcome(this.#handle, id, key, runId))
  }

  heartbeat(key, runId, ttlMs) {
    return this.#submit((text, numbers) => this.#answer(key, runId, text, numbers), (id) => native.guardHeartbeat(this.#handle, id, key, runId, ttlMs))
  }

  approveRetry(key, approvedBy, reason) {
    return this.#submit((text, numbers) => this.#answer(key, undefined, text, numbers), (id) => native.guardApproveRetry(this.#handle, id, key, approvedBy, reason))
  }

  forceRelease(key, by, reason) {
    return this.#submit((text, numbers) => this.#answer(key, undefined, text, numbers), (id) => native.guardForceRelease(this.#handle, id, key, by, reason))
  }

  /** A completion's answer (see lib/answers.js), after letting the key's waiting acquires in if the engine says they may try now. */
  #answer(key, runId, text, numbers) {
    const answer = decode(key, runId, undefined, text ?? '', numbers, this.guard)
    if (letsWaitersIn(numbers)) this.letWaitersIn(key)
    if (endsARun(numbers)) this.runEnded(key)
    return answer
  }

  inspect(prefix, state, limit, after, counts = true) {
    return this.#submit((text, numbers, extra) => results.inspection(extra.inspection), (id) => native.guardInspect(this.#handle, id, prefix, state, limit, after, counts), false, true)
  }

  metrics(counts) {
    try {
      return native.guardMetrics(this.#handle, counts)
    } catch (err) {
      throw fromNative(err)
    }
  }

  #closing = false

  /** Stops taking calls; resolves once every call already made is answered and the file is closed. */
  close() {
    if (this.#disposed !== null) return this.#disposed
    this.#closing = true
    // Redis: the wire's calls are answered on the socket, which then goes; the store's thread after.
    const wireDone = this.#wire === null || this.#callsInFlight() === 0 ? Promise.resolve() : new Promise((resolve) => (this.#drained = resolve))
    this.#disposed = wireDone.then(() => {
      this.#wire?.destroy()
      native.guardClose(this.#handle)
      this.#hold()
      // The close is the store thread's last answer: then the callback can go.
      return this.#closed.finally(() => native.guardDispose(this.#handle))
    })
    return this.#disposed
  }

  #drained = null

  #disposed = null
}

module.exports = { DurableBackend }
