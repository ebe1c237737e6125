'use strict'
// FIFO queues of acquires that asked to wait (`waitMs`) for a key's running
// run to end. The guard wakes a key's queue when it sees the run end (release,
// approval) and when the running run reaches its expiry (it may then be healed).

const { abortError } = require('./errors')

class Waiters {
  /** @param {(w: object) => object} attempt  one non-waiting acquire for waiter `w` */
  constructor(attempt) {
    this.attempt = attempt
    /** @type {Map<string, {list: object[], expiry: NodeJS.Timeout | null}>} */
    this.queues = new Map()
  }

  /** Queues a waiter whose first try answered `conflict`; resolves with a later answer. */
  wait(key, args, waitMs, signal, conflict) {
    return new Promise((resolve, reject) => {
      const w = { key, args, signal, last: conflict, resolve, reject, deadline: null, onAbort: null }
      let q = this.queues.get(key)
      if (!q) this.queues.set(key, (q = { list: [], expiry: null }))
      q.list.push(w)
      w.deadline = setTimeout(() => this.timeout(w), waitMs)
      if (signal) {
        w.onAbort = () => this.settle(w, null, abortError(signal))
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.armExpiry(q, conflict)
    })
  }

  /** Lets queued waiters try again, head first, until one holds the key. */
  wake(key) {
    const q = this.queues.get(key)
    if (!q) return
    while (q.list.length > 0) {
      const w = q.list[0]
      let r
      try {
        r = this.attempt(w)
      } catch (err) {
        this.settle(w, null, err)
        continue
      }
      if (r.status === 'already_running') {
        w.last = r
        this.armExpiry(q, r)
        return
      }
      this.settle(w, r, null)
      // Everyone else now waits for the run the head just started; a failed
      // guard answers every waiter the same, so they all go on being answered.
      if (r.status === 'acquired') return
    }
  }

  timeout(w) {
    let r = w.last
    try {
      r = this.attempt(w)
    } catch (err) {
      return this.settle(w, null, err)
    }
    this.settle(w, r, null)
  }

  /** A running run past its expiry may be healed: look again then. */
  armExpiry(q, conflict) {
    if (q.expiry) clearTimeout(q.expiry)
    const delay = Math.max(1, Math.min(conflict.expiresAt - Date.now() + 1, 2_147_483_647))
    const key = conflict.key
    q.expiry = setTimeout(() => {
      q.expiry = null
      this.wake(key)
    }, delay)
  }

  settle(w, result, err) {
    const q = this.queues.get(w.key)
    if (q) {
      const i = q.list.indexOf(w)
      if (i === -1) return // already settled
      q.list.splice(i, 1)
      if (q.list.length === 0) {
        if (q.expiry) clearTimeout(q.expiry)
        this.queues.delete(w.key)
      }
    }
    clearTimeout(w.deadline)
    if (w.onAbort) w.signal.removeEventListener('abort', w.onAbort)
    if (err) w.reject(err)
    else w.resolve(result)
  }

  /** Rejects every waiter (the guard closed). */
  rejectAll(makeError) {
    for (const q of [...this.queues.values()]) {
      for (const w of [...q.list]) this.settle(w, null, makeError())
    }
  }
}

module.exports = { Waiters }
