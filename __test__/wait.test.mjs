import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import path from 'node:path'
import { createRequire } from 'node:module'
const helpers = createRequire(import.meta.url)('./sqlite-helpers.cjs')

test('waitMs: waiters are served FIFO as each run is released', async () => {
  const g = new TaskGuard()
  const first = await g.acquire('k')
  const order = []
  const waiters = [1, 2, 3].map((n) =>
    g.acquire('k', { waitMs: 10_000, owner: `w${n}` }).then((r) => {
      order.push(n)
      return r
    }),
  )
  await g.release('k', first.runId)
  const w1 = await waiters[0]
  assert.equal(w1.status, 'acquired')
  assert.equal(w1.owner, 'w1')
  assert.deepEqual(order, [1])
  await g.release('k', w1.runId)
  const w2 = await waiters[1]
  assert.equal(w2.owner, 'w2')
  await g.release('k', w2.runId)
  assert.equal((await waiters[2]).owner, 'w3')
  assert.deepEqual(order, [1, 2, 3])
})

test('waitMs: when the wait runs out the answer is already_running', async () => {
  const g = new TaskGuard()
  const first = await g.acquire('k')
  const r = await g.acquire('k', { waitMs: 20 })
  assert.equal(r.status, 'already_running')
  assert.equal(r.runId, first.runId)
})

test('waitMs: a run that fails answers every waiter awaiting_approval', async () => {
  const g = new TaskGuard()
  const first = await g.acquire('k')
  const waiting = [g.acquire('k', { waitMs: 10_000 }), g.acquire('k', { waitMs: 10_000 })]
  await g.release('k', first.runId, 'failed', { error: 'boom' })
  for (const r of await Promise.all(waiting)) {
    assert.equal(r.status, 'awaiting_approval')
    assert.equal(r.failedRunId, first.runId)
  }
})

test('waitMs: a waiter heals a run that reaches its expiry', async () => {
  const g = new TaskGuard()
  const first = await g.acquire('k', { ttlMs: 30 })
  const r = await g.acquire('k', { waitMs: 10_000 })
  assert.equal(r.status, 'acquired')
  assert.equal(r.healedFrom.runId, first.runId)
})

test('an AbortSignal rejects a waiting acquire with AbortError and leaves the run alone', async () => {
  const g = new TaskGuard()
  const first = await g.acquire('k')
  const ac = new AbortController()
  const waiting = g.acquire('k', { waitMs: 10_000, signal: ac.signal })
  ac.abort(new Error('user gave up'))
  await assert.rejects(waiting, (err) => err.name === 'AbortError' && err.code === 'ABORT_ERR' && err.cause.message === 'user gave up')
  assert.equal((await g.inspect()).guards[0].runId, first.runId)
  await g.release('k', first.runId)
  assert.equal((await g.acquire('k')).status, 'acquired', 'the aborted waiter took nothing')
})

test('an already aborted signal rejects before anything changes', async () => {
  const g = new TaskGuard()
  await assert.rejects(g.acquire('k', { signal: AbortSignal.abort() }), { name: 'AbortError' })
  assert.equal((await g.inspect()).guards.length, 0)
})

test('close rejects pending waiters with ERR_TASK_GUARD_CLOSED', async () => {
  const g = new TaskGuard()
  await g.acquire('k')
  const waiting = g.acquire('k', { waitMs: 10_000 })
  await g.close()
  await assert.rejects(waiting, { code: 'ERR_TASK_GUARD_CLOSED' })
})

test('a durable store: an abort while the first try is in flight rejects at once, not at waitMs', async () => {
  const g = await TaskGuard.open({ store: `sqlite:${path.join(helpers.tempDir(), 'guards.db')}` })
  await g.acquire('k')
  const ac = new AbortController()
  const t0 = performance.now()
  const waiting = g.acquire('k', { waitMs: 30_000, signal: ac.signal })
  ac.abort()
  await assert.rejects(waiting, { name: 'AbortError' })
  assert.ok(performance.now() - t0 < 5_000, 'rejected by the abort, not by the deadline')
  await g.close()
})
