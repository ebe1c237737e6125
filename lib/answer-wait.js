'use strict'
// While a durable store's answer is due, the JS thread keeps turning the event
// loop (an immediate per turn) instead of sleeping in it. The store's thread
// hands an answer over by waking the JS thread, and on this project's 2-core VM
// that wake-up was about half of a call that writes nothing (SQLite conflict
// answers ~21 → ~12 µs, measured). A turning loop still runs timers and I/O on
// every turn, so nothing waits behind it. It turns for at most TURN_MS after the
// last call or answer, then sleeps as before: a commit that waits for an fsync
// is not spun through. The store's thread does the same on its side.
//
// Only while at most MAX_DUE answers are due: a caller awaiting its calls one at
// a time waits out every wake-up, while with many in flight answers come in
// batches, one wake-up each, and a turning loop would only take CPU from the
// store (on a 2-core host with Redis on it, 64 in flight went 0.7x → 0.4x redlock).

const { performance } = require('node:perf_hooks')
const { immediate } = require('./real-immediate')

const TURN_MS = 0.3
const MAX_DUE = 2

class AnswerWait {
  #due
  #turnMs
  #since = 0
  #turning = false

  /** `due()`: how many answers are outstanding; `turnMs`: the bound (tests widen it). */
  constructor(due, turnMs = TURN_MS) {
    this.#due = due
    this.#turnMs = turnMs
  }

  #turn = () => {
    const due = this.#due()
    if (due === 0 || due > MAX_DUE || performance.now() - this.#since > this.#turnMs) {
      this.#turning = false
      return
    }
    immediate(this.#turn)
  }

  /** A call was sent or answered: turn for `turnMs` more while an answer is due. */
  poke() {
    this.#since = performance.now()
    // With only a fake immediate, the loop sleeps as it would anyway; with no
    // answer due (the last one just came) there is nothing to turn for.
    if (this.#turning || immediate === null || this.#due() === 0) return
    this.#turning = true
    immediate(this.#turn)
  }
}

module.exports = { AnswerWait, TURN_MS }
