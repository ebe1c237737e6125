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

const BUDGET_MS = 2
// Reading the clock costs about as much as a call; look at it every 32 calls.
const CHECK_EVERY = 32

class Scheduler {
  #queue = []
  #head = 0
  #calls = 0
  #turnStart = -1
  #draining = false
  #channel = null
  #messageDue = false
  #resetDue = false

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
    while (this.#head < q.length) {
      const job = q[this.#head]
      // Heavy work starts a turn of its own, unless nothing ran in this one yet.
      if (job.heavy && n > 0) break
      q[this.#head++] = undefined
      try {
        job.resolve(job.work())
      } catch (err) {
        job.reject(err)
      }
      if (job.heavy || (++n % CHECK_EVERY === 0 && performance.now() - start > BUDGET_MS)) break
    }
    if (this.#head < q.length) {
      this.#nextTurn()
      return
    }
    this.#queue = []
    this.#head = 0
    this.#draining = false
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
