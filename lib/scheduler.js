'use strict'
// Keeps a burst of calls from blocking the event loop. Calls run synchronously
// (an already-settled promise: the cheapest path) until this turn of the loop
// has spent BUDGET_MS on them; later calls queue, in order, and run in slices
// of BUDGET_MS between turns. Every mutating call goes through one scheduler,
// so the store sees calls in the order the caller made them.
//
// "Between turns" must be a turn of the event loop that no fake timer controls:
// test runners' fake timers (Jest's, @sinonjs/fake-timers) replace the global
// setImmediate, setTimeout, nextTick and queueMicrotask, and a call must settle
// whatever a test does to timers. It is `node:timers`' setImmediate as it was
// when this module loaded (Jest fakes the globals of its sandbox, not that
// module), unless that one is already a fake; then a message on a
// MessageChannel, which no fake timer replaces. The immediate is preferred:
// Node delivers up to 1000 messages posted from message handlers before it lets
// timers and I/O run, so a chain of slices on a channel would block the loop
// for as long as the whole chain (measured: 1,000 slices of 1 ms, 1 s).

const { performance } = require('node:perf_hooks')
const { MessageChannel } = require('node:worker_threads')
const { immediate } = require('./real-immediate')

// 1 ms, not 2: queued acquires of one key with the same options cost a store call a run of
// them (see queueAcquire), so a burst of duplicates settles sooner the more of it
// queues, and the loop is blocked half as long (the 10k same-key race, A/B over
// 4 alternating processes of 25 races: settled in 2.1-2.2 ms instead of
// 2.7-3.8 ms, loop delay p99 0.6 ms nearer the JS Map guard's).
const BUDGET_MS = 1
// Reading the clock costs about as much as a call; look at it every 32 calls.
const CHECK_EVERY = 32
// Queued acquires of one key that go to the store as one call, at most.
const MAX_REPEAT = 256

class Scheduler {
  /**
   * The store queued acquires go to (the memory backend): a run of them on one
   * key with the same options is one `acquireRepeated(key, times, ...options)`,
   * whose answer answers `repeated` of them; `again(key, owner)` makes that
   * answer again, as a new object, for each of the others.
   */
  #store
  #queue = []
  #head = 0
  #calls = 0
  #turnStart = -1
  #draining = false
  #channel = null
  #messageDue = false
  #resetDue = false

  constructor(store) {
    this.#store = store
  }

  /**
   * Runs `work()` on a later turn of the event loop, in order with calls queued
   * before it, as the only heavy work of its turn: for work that takes a slice's
   * budget itself (a step of a memory-store inspection).
   */
  later(work) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ work, resolve, reject, heavy: true })
      if (!this.#draining) {
        this.#draining = true
        this.#nextTurn()
      }
    })
  }

  /** Whether a call may run now: nothing is queued and this turn is within budget. (It counts as a call.) */
  free() {
    return this.#head === this.#queue.length && !this.#overBudget()
  }

  /** Runs `work()` now if within budget, else later; returns its result as a promise-compatible value. */
  run(work) {
    return this.free() ? work() : this.queue(work)
  }

  /** Runs `work()` later, in order (for a call that `free()` refused). */
  queue(work) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ work, resolve, reject })
      if (!this.#draining) {
        this.#draining = true
        this.#nextTurn()
      }
    })
  }

  /**
   * An acquire of `key` that `free()` refused, with its options (undefined when
   * not given): queued, in order, and made as one store call with the acquires
   * of `key` with the same options queued right after it. A burst of duplicates
   * is what queues, and a store call costs about as much as every other step of
   * a queued call together.
   */
  queueAcquire(key, owner, ttlMs, meta, fingerprint) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ work: null, key, owner, ttlMs, meta, fingerprint, resolve, reject })
      if (!this.#draining) {
        this.#draining = true
        this.#nextTurn()
      }
    })
  }

  #overBudget() {
    if (++this.#calls % CHECK_EVERY !== 0) return false
    const now = performance.now()
    if (this.#turnStart < 0) {
      this.#turnStart = now
      this.#resetDue = true
      this.#nextTurn()
      return false
    }
    return now - this.#turnStart > BUDGET_MS
  }

  /** Asks for one message on the next turn; it resets the turn's budget and drains what queued. */
  #nextTurn() {
    if (this.#messageDue) return
    this.#messageDue = true
    if (immediate !== null) {
      immediate(() => this.#onTurn())
      return
    }
    if (this.#channel === null) {
      this.#channel = new MessageChannel()
      this.#channel.port1.onmessage = () => this.#onTurn()
    }
    // Referenced only while a message is due: pending calls keep the process alive, an idle guard does not.
    this.#channel.port1.ref()
    this.#channel.port2.postMessage(null)
  }

  #onTurn() {
    this.#messageDue = false
    if (this.#resetDue) {
      this.#resetDue = false
      this.#turnStart = -1
      this.#calls = 0
    }
    if (this.#draining) this.#runSlice()
    if (!this.#messageDue) this.#channel?.port1.unref()
  }

  #runSlice() {
    const start = performance.now()
    const q = this.#queue
    let n = 0
    let check = CHECK_EVERY
    while (this.#head < q.length) {
      const job = q[this.#head]
      // Heavy work starts a turn of its own, unless nothing ran in this one yet.
      if (job.heavy && n > 0) break
      if (job.work === null) {
        n += this.#runAcquires(job)
      } else {
        q[this.#head++] = undefined
        try {
          job.resolve(job.work())
        } catch (err) {
          job.reject(err)
        }
        n++
      }
      if (job.heavy) break
      if (n >= check) {
        if (performance.now() - start > BUDGET_MS) break
        check = n + CHECK_EVERY
      }
    }
    if (this.#head < q.length) {
      this.#nextTurn()
      return
    }
    this.#queue = []
    this.#head = 0
    this.#draining = false
  }

  /** Runs the acquires queued from the head on with its key and options as one store call, as far as its answer goes; returns how many ran. */
  #runAcquires(first) {
    const q = this.#queue
    const from = this.#head
    const { key, owner, ttlMs, meta, fingerprint } = first
    let end = from + 1
    while (end < q.length && end - from < MAX_REPEAT) {
      const next = q[end]
      if (next.work !== null || next.key !== key || next.owner !== owner || next.ttlMs !== ttlMs || next.meta !== meta || next.fingerprint !== fingerprint) break
      end++
    }
    q[this.#head++] = undefined
    let answer
    try {
      answer = this.#store.acquireRepeated(key, end - from, owner, ttlMs, meta, fingerprint)
    } catch (err) {
      first.reject(err)
      return 1
    }
    first.resolve(answer)
    const answered = this.#store.repeated
    for (let i = 1; i < answered; i++) {
      const job = q[this.#head]
      q[this.#head++] = undefined
      try {
        job.resolve(this.#store.again(key, owner))
      } catch (err) {
        job.reject(err)
      }
    }
    return answered
  }

  /** Rejects everything still queued (the guard closed) and lets go of the channel. */
  rejectAll(makeError) {
    const q = this.#queue
    for (let i = this.#head; i < q.length; i++) q[i].reject(makeError())
    this.#queue = []
    this.#head = 0
    this.#draining = false
    if (this.#channel !== null) {
      this.#channel.port1.close()
      this.#channel = null
      this.#messageDue = false
    }
  }
}

module.exports = { Scheduler }
