// What a user would otherwise write: a Map of running runs behind async methods.
import { randomUUID } from 'node:crypto'

export class JsMapGuard {
  #running = new Map()
  #fence = 0

  async acquire(key, { ttlMs = 600_000, owner = null } = {}) {
    const now = Date.now()
    const cur = this.#running.get(key)
    if (cur !== undefined && cur.expiresAt > now) {
      return { status: 'already_running', key, runId: cur.runId, startedAt: cur.startedAt, expiresAt: cur.expiresAt, owner: cur.owner }
    }
    const run = { runId: randomUUID(), fencingToken: ++this.#fence, startedAt: now, expiresAt: now + ttlMs, owner }
    this.#running.set(key, run)
    return { status: 'acquired', key, ...run }
  }

  async release(key, runId) {
    const cur = this.#running.get(key)
    if (cur === undefined || cur.runId !== runId) return { status: 'not_owner', key, runId }
    this.#running.delete(key)
    return { status: 'released', key, runId, endedAt: Date.now() }
  }
}
