// The other common choice: one async-mutex per key, refusing when it is locked.
import { Mutex } from 'async-mutex'

export class AsyncMutexGuard {
  #mutexes = new Map()
  #releases = new Map()
  #n = 0

  async acquire(key) {
    let m = this.#mutexes.get(key)
    if (m === undefined) this.#mutexes.set(key, (m = new Mutex()))
    if (m.isLocked()) return { status: 'already_running', key }
    const release = await m.acquire()
    const runId = String(++this.#n)
    this.#releases.set(key, { runId, release })
    return { status: 'acquired', key, runId }
  }

  async release(key, runId) {
    const held = this.#releases.get(key)
    if (held === undefined || held.runId !== runId) return { status: 'not_owner', key, runId }
    this.#releases.delete(key)
    held.release()
    return { status: 'released', key, runId }
  }
}
