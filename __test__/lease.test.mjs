// Every acquire answer works with `await using`: a granted one is a lease (release,
// heartbeat, released as cancelled when the scope ends while still held), a conflict
// disposes to nothing. On the memory and the SQLite store. Node 20 has no `await using`
// syntax, so this calls what it calls (Symbol.asyncDispose at the scope's end); the
// syntax itself runs in the Jest project (TypeScript, lease.test.ts).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createRequire } from 'node:module'
import { TaskGuard } from '../index.mjs'

const require = createRequire(import.meta.url)
const { tempDir } = require('./sqlite-helpers.cjs')

const stores = [
  ['memory', () => new TaskGuard()],
  ['sqlite', () => TaskGuard.open({ store: `sqlite:${path.join(tempDir(), 'guards.db')}` })],
]

for (const [name, open] of stores) {
  test(`${name}: a granted answer is a lease; await using releases it as cancelled`, async () => {
    const g = await open()
    const r = await g.acquire('k')
    try {
      assert.equal(r.status, 'acquired')
      assert.equal(r.held, true)
      assert.equal((await r.heartbeat({ ttlMs: 5000 })).status, 'extended')
      assert.equal((await g.acquire('k')).status, 'already_running')
    } finally {
      await r[Symbol.asyncDispose]()
    }
    const runId = r.runId
    assert.equal((await g.release('k', runId)).status, 'already_released', 'released when the scope ended')
    const next = await g.acquire('k')
    assert.equal(next.status, 'acquired', 'cancelled frees the key')
    assert.equal((await next.release('failed', { error: 'boom' })).status, 'released')
    assert.equal(next.held, false)
    await next[Symbol.asyncDispose]() // released already: nothing more
    const blocked = await g.acquire('k')
    assert.deepEqual([blocked.status, blocked.error], ['awaiting_approval', 'boom'])
    await g.close()
  })

  test(`${name}: every answer disposes, whatever it is`, async () => {
    const g = await open()
    const held = await g.acquire('k')
    const dup = await g.acquire('k')
    assert.equal(dup.status, 'already_running')
    await dup[Symbol.asyncDispose]()
    assert.equal(held.held, true, 'disposing a conflict touches nothing')
    await held.release('failed')
    const blocked = await g.acquire('k')
    assert.equal(blocked.status, 'awaiting_approval')
    await blocked[Symbol.asyncDispose]()
    assert.equal((await g.acquire('k')).status, 'awaiting_approval')
    // Plain data as before: JSON and spreading see the run's fields only.
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(held))), ['status', 'key', 'runId', 'fencingToken', 'startedAt', 'expiresAt', 'attempt', 'owner', 'healedFrom'])
    await g.close()
  })
}

for (const [name, open] of stores) {
  test(`${name}: a heartbeat naming a key with nothing running answers not_running`, async () => {
    const g = await open()
    const someRun = '019ab2c4-0000-7000-8000-000000000000'
    assert.deepEqual(await g.heartbeat('idle', someRun), { status: 'not_running', key: 'idle', runId: someRun })
    const r = await g.acquire('busy')
    assert.equal((await g.heartbeat('busy', someRun)).status, 'not_owner', 'another run holds it')
    await r.release('failed')
    assert.equal((await g.heartbeat('busy', someRun)).status, 'not_running', 'failed: nothing runs')
    assert.equal((await g.heartbeat('busy', r.runId)).status, 'lost', 'the ended run answers by how it ended')
    await g.close()
  })
}
