import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import helpers from './helpers.cjs'

test('run: calls fn with a lease, releases succeeded and returns its value', async () => {
  const g = new TaskGuard()
  let seen
  const r = await g.run('k', async (lease) => {
    seen = lease
    assert.equal((await g.inspect()).guards[0].runId, lease.runId)
    return 42
  })
  assert.deepEqual(r, { status: 'completed', key: 'k', runId: seen.runId, value: 42, release: 'released', releasedAs: 'succeeded' })
  assert.equal(seen.held, false)
  assert.equal((await g.inspect()).guards.length, 0)
})

test('run: a throwing fn releases failed with its message and rethrows; the key then awaits approval', async () => {
  const g = new TaskGuard()
  const boom = new Error('model timed out')
  await assert.rejects(g.run('k', async () => { throw boom }), (e) => e === boom)
  const a = await g.acquire('k')
  assert.equal(a.status, 'awaiting_approval')
  assert.equal(a.error, 'model timed out')
  let called = false
  assert.equal((await g.run('k', () => { called = true })).status, 'awaiting_approval')
  assert.equal(called, false)
})

test('run: a conflict returns the answer without calling fn', async () => {
  const g = new TaskGuard()
  const held = await g.acquire('k')
  let called = false
  const r = await g.run('k', () => { called = true })
  assert.equal(called, false)
  assert.equal(r.status, 'already_running')
  assert.equal(r.runId, held.runId)
})

test('run: heartbeats every heartbeatMs while fn runs', async () => {
  const g = new TaskGuard()
  const beats = []
  await g.run('k', async (lease) => {
    const first = lease.expiresAt
    await new Promise((resolve) => {
      const t = setInterval(() => {
        if (lease.expiresAt > first) { beats.push(lease.expiresAt); clearInterval(t); resolve() }
      }, 5)
    })
  }, { ttlMs: 60_000, heartbeatMs: 10 })
  assert.equal(beats.length, 1)
})

test('run: a lease healed away is reported lost and its signal aborts', async () => {
  const { guard: g, advance } = helpers.onClock()
  const r = await g.run('k', async (lease) => {
    advance(61_000)
    const thief = await g.acquire('k')
    assert.equal(thief.healedFrom.runId, lease.runId)
    const hb = await lease.heartbeat()
    assert.equal(hb.status, 'lost')
    assert.equal(lease.signal.aborted, true)
    assert.equal(lease.signal.reason.code, 'ERR_TASK_GUARD_LOST')
    return 'done'
  }, { ttlMs: 60_000 })
  assert.equal(r.release, 'lost')
})

test('a lease with await using releases as cancelled if still held', async () => {
  const g = new TaskGuard()
  let runId
  await g.run('k', async (lease) => {
    runId = lease.runId
    await lease[Symbol.asyncDispose]()
    assert.equal(lease.held, false)
  })
  assert.equal((await g.release('k', runId)).status, 'already_released')
  assert.equal((await g.acquire('k')).status, 'acquired')
})

test('run() reports how the task released its own lease, not "lost"', async () => {
  const g = new TaskGuard()
  const disposed = await g.run('k', async (lease) => {
    await lease[Symbol.asyncDispose]()
    return 'done'
  })
  assert.deepEqual([disposed.release, disposed.releasedAs], ['released', 'cancelled'])
  const released = await g.run('k', (lease) => lease.release('failed', { error: 'gave up' }))
  assert.deepEqual([released.release, released.releasedAs], ['released', 'failed'])
  assert.equal((await g.acquire('k')).status, 'awaiting_approval', 'recorded as the task released it')
})

test('a thrown value of any kind fails the run and is rethrown as it is', async () => {
  const g = new TaskGuard()
  const odd = [Object.create(null), { toString() { throw new Error('no') } }, null, undefined, 42, 'text', Symbol('s')]
  for (const [i, thrown] of odd.entries()) {
    const key = `odd${i}`
    await assert.rejects(g.run(key, () => { throw thrown }), (e) => e === thrown)
    const a = await g.acquire(key)
    assert.equal(a.status, 'awaiting_approval', `${key}: the failure was recorded`)
    assert.equal(typeof a.error, 'string')
  }
})
