'use strict'
// FIFO queues of acquires that asked to wait (`waitMs`) for a key's running
// run to end. A key's queue is woken when this guard sees the run end
// (release, approval), when the running run reaches its expiry (it may then be
// healed) and, on a store other processes share, every `pollMs`.

const { abortError } = require('./errors')
const { Refusal } = require('./lease')
const { arm, settleOnce } = require('./pending')

class Waiters {
  /**
   * @param attempt  one non-waiting acquire for a waiter: an answer, or a promise of one
   * @param options.release  gives back a run acquired for a waiter that has already gone
   * @param options.pollMs  look again this often (stores shared with other processes)
   */
  constructor(attempt, { release, pollMs } = {}) {
    this.attempt = attempt
    this.release = release
    this.pollMs = pollMs
    this.queues = new Map()
  }

  /** Queues a waiter whose first try answered `conflict`; resolves with a later answer. */
  wait(key, args, waitMs, signal, conflict) {
    return new Promise((resolve, reject) => {
      // Aborted while its first try was in flight (a durable store answers later).
      if (signal?.aborted) return reject(abortError(signal))
      const w = { key, args, last: conflict, resolve, reject }
      let q = this.queues.get(key)
      if (!q) {
        q = { key, list: [], expiry: null, poll: null, busy: false, again: false }
        this.queues.set(key, q)
        if (this.pollMs) q.poll = setInterval(() => this.wake(key), this.pollMs)
      }
      q.list.push(w)
      arm(w, waitMs, signal, (x) => this.timeout(x), (x) => this.settle(x, null, abortError(signal)))
      this.armExpiry(q, conflict)
    })
  }

  /** Lets queued waiters try again, head first, until one holds the key. */
  wake(key) {
    // Every release calls this; nobody waits, usually.
    if (this.queues.size === 0) return
    const q = this.queues.get(key)
    if (!q) return
    if (q.busy) {
      q.again = true
      return
    }
    q.busy = true
    this.step(q)
  }

  step(q) {
    while (q.list.length > 0) {
      const w = q.list[0]
      let r
      try {
        r = this.attempt(w)
      } catch (err) {
        this.settle(w, null, err)
        continue
      }
      if (r instanceof Promise) {
        r.then(
          (answer) => (this.handle(q, w, answer) ? this.step(q) : this.idle(q)),
          (err) => {
            this.settle(w, null, err)
            this.step(q)
          },
        )
        return
      }
      if (!this.handle(q, w, r)) break
    }
    this.idle(q)
  }

  /** Records one answer for the head waiter; true if the next waiter should try too. */
  handle(q, w, r) {
    if (w.done) {
      // The waiter gave up (abort, deadline, close) while its attempt was in flight.
      if (r.status === 'acquired') this.giveBack(r)
      return r.status !== 'acquired' && q.list.length > 0
    }
    if (r.status === 'already_running') {
      w.last = r
      this.armExpiry(q, r)
      return false
    }
    this.settle(w, r, null)
    // Everyone else now waits for the run the head just started; a failed
    // guard answers every waiter the same, so they all go on being answered.
    return r.status !== 'acquired'
  }

  idle(q) {
    q.busy = false
    if (q.again) {
      q.again = false
      this.wake(q.key)
    }
  }

  giveBack(r) {
    Promise.resolve()
      .then(() => this.release(r))
      .catch(() => {
        // Unreachable store or closed guard: the run ends at its ttl instead.
      })
  }

  /** The deadline: one last look, answered whatever it says. */
  timeout(w) {
    this.unqueue(w)
    let r
    try {
      r = this.attempt(w)
    } catch (err) {
      return this.finish(w, null, err)
    }
    if (r instanceof Promise) {
      r.then(
        (answer) => this.finish(w, answer, null),
        (err) => this.finish(w, null, err),
      )
    } else {
      this.finish(w, r, null)
    }
  }

  /**
   * A running run past its expiry may be healed: look again when the engine
   * says (its store's clock, not this process's).
   */
  armExpiry(q, conflict) {
    if (q.expiry) clearTimeout(q.expiry)
    const delay = Math.max(1, Math.min(Refusal.retryInMs(conflict) + 1, 2_147_483_647))
    q.expiry = setTimeout(() => {
      q.expiry = null
      this.wake(q.key)
    }, delay)
  }

  unqueue(w) {
    const q = this.queues.get(w.key)
    if (!q) return
    const i = q.list.indexOf(w)
    if (i !== -1) q.list.splice(i, 1)
    if (q.list.length === 0) {
      if (q.expiry) clearTimeout(q.expiry)
      if (q.poll) clearInterval(q.poll)
      this.queues.delete(w.key)
    }
  }

  settle(w, result, err) {
    if (w.done) return
    this.unqueue(w)
    this.finish(w, result, err)
  }

  finish(w, result, err) {
    // A run acquired for a waiter that has gone is given back.
    if (!settleOnce(w, result, err) && result?.status === 'acquired') this.giveBack(result)
  }

  /** Rejects every waiter (the guard closed). */
  rejectAll(makeError) {
    for (const q of [...this.queues.values()]) {
      for (const w of [...q.list]) this.settle(w, null, makeError())
    }
  }
}

module.exports = { Waiters }
