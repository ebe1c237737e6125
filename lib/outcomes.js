'use strict'
// Callers waiting (`outcome(key, runId, { waitMs })`) for a run to end. Unlike
// waiting acquires they take nothing, so every watcher of a key looks again
// whenever the key may have changed: when this guard sees a run of the key end
// or be replaced, and, on a store other processes share (whose changes raise no
// event here), every `pollMs`. The answer is the engine's outcome; a watcher is
// answered as soon as it is not `running`, or with whatever it is at its deadline.

const { abortError } = require('./errors')
const { arm, settleOnce } = require('./pending')

class Outcomes {
  /**
   * @param look  one outcome query: an answer, or a promise of one
   * @param options.pollMs  look again this often (stores shared with other processes)
   */
  constructor(look, { pollMs } = {}) {
    this.look = look
    this.pollMs = pollMs
    this.byKey = new Map()
  }

  /**
   * Whether anyone may wait on `key`: checked on every acquire, so the common
   * answer (nobody waits on anything) costs a field read, not a lookup.
   */
  has(key) {
    return this.byKey.size !== 0 && this.byKey.has(key)
  }

  /** Waits for run `runId`, whose last answer was `running`, to end; at most `waitMs`. */
  wait(key, runId, waitMs, signal) {
    return new Promise((resolve, reject) => {
      // Aborted while its first look was in flight (a durable store answers later).
      if (signal?.aborted) return reject(abortError(signal))
      const w = { key, runId, resolve, reject, looking: false, lastLook: false }
      let watchers = this.byKey.get(key)
      if (watchers === undefined) {
        watchers = { list: new Set(), poll: null }
        this.byKey.set(key, watchers)
        if (this.pollMs) watchers.poll = setInterval(() => this.wake(key), this.pollMs)
      }
      watchers.list.add(w)
      arm(w, waitMs, signal, (x) => this.check(x, true), (x) => this.settle(x, null, abortError(signal)))
    })
  }

  /** Every watcher of `key` looks again. */
  wake(key) {
    const watchers = this.byKey.get(key)
    if (watchers === undefined) return
    for (const w of [...watchers.list]) this.check(w, false)
  }

  /** One look for `w`; `last`: its deadline came, so it is answered whatever the look says. */
  check(w, last) {
    if (w.done) return
    if (last) w.lastLook = true
    if (w.looking) return // the look in flight answers for this one too
    w.looking = true
    let r
    try {
      r = this.look(w.key, w.runId)
    } catch (err) {
      this.settle(w, null, err)
      return
    }
    const handle = (answer) => {
      w.looking = false
      if (answer.status !== 'running' || w.lastLook) this.settle(w, answer, null)
    }
    if (r instanceof Promise) r.then(handle, (err) => this.settle(w, null, err))
    else handle(r)
  }

  settle(w, answer, err) {
    if (w.done) return
    const watchers = this.byKey.get(w.key)
    watchers.list.delete(w)
    if (watchers.list.size === 0) {
      if (watchers.poll) clearInterval(watchers.poll)
      this.byKey.delete(w.key)
    }
    settleOnce(w, answer, err)
  }

  /** Rejects every watcher (the guard closed). */
  rejectAll(makeError) {
    for (const watchers of [...this.byKey.values()]) {
      for (const w of [...watchers.list]) this.settle(w, null, makeError())
    }
  }
}

module.exports = { Outcomes }
