'use strict'
// Keeps a burst of calls from blocking the event loop. Calls run synchronously
// (an already-settled promise: the cheapest path) until this turn of the loop
// has spent BUDGET_MS on them; later calls queue, in order, and run in slices
// of BUDGET_MS between turns. Every mutating call goes through one scheduler,
// so the store sees calls in the order the caller made them.

const { performance } = require('node:perf_hooks')

const BUDGET_MS = 2
// Reading the clock costs about as much as a call; look at it every 32 calls.
const CHECK_EVERY = 32

class Scheduler {
  #queue = []
  #head = 0
  #calls = 0
  #turnStart = -1
  #draining = false
  #resetTurn = () => {
    this.#turnStart = -1
    this.#calls = 0
  }
  #drain = () => this.#runSlice()

  /** Runs `work()` now if within budget, else later; returns its result as a promise-compatible value. */
  run(work) {
    if (this.#head === this.#queue.length && !this.#overBudget()) return work()
    return new Promise((resolve, reject) => {
      this.#queue.push({ work, resolve, reject })
      if (!this.#draining) {
        this.#draining = true
        setImmediate(this.#drain)
      }
    })
  }

  #overBudget() {
    if (++this.#calls % CHECK_EVERY !== 0) return false
    const now = performance.now()
    if (this.#turnStart < 0) {
      this.#turnStart = now
      setImmediate(this.#resetTurn)
      return false
    }
    return now - this.#turnStart > BUDGET_MS
  }

  #runSlice() {
    const start = performance.now()
    const q = this.#queue
    let n = 0
    while (this.#head < q.length) {
      const job = q[this.#head]
      q[this.#head++] = undefined
      try {
        job.resolve(job.work())
      } catch (err) {
        job.reject(err)
      }
      if (++n % CHECK_EVERY === 0 && performance.now() - start > BUDGET_MS) break
    }
    if (this.#head < q.length) {
      setImmediate(this.#drain)
      return
    }
    this.#queue = []
    this.#head = 0
    this.#draining = false
  }

  /** Rejects everything still queued (the guard closed). */
  rejectAll(makeError) {
    const q = this.#queue
    for (let i = this.#head; i < q.length; i++) q[i].reject(makeError())
    this.#queue = []
    this.#head = 0
  }
}

module.exports = { Scheduler }
