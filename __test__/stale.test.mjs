import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import helpers from './helpers.cjs'

test('a run past its ttl shows as stale and is healed by the next acquire', async () => {
  const { guard: g, advance } = helpers.onClock()
  const old = await g.acquire('k', { ttlMs: 1000, owner: 'dead-worker' })
  advance(999)
  assert.equal((await g.acquire('k')).status, 'already_running')
  advance(1)
  const insp = await g.inspect()
  assert.equal(insp.guards[0].state, 'stale')
  assert.deepEqual(insp.counts, { running: 0, stale: 1, failed: 0, approved: 0 })
  const healed = await g.acquire('k', { owner: 'new-worker' })
  assert.equal(healed.status, 'acquired')
  assert.equal(healed.attempt, 2)
  assert.equal(healed.owner, 'new-worker')
  assert.deepEqual(healed.healedFrom, {
    runId: old.runId,
    fencingToken: old.fencingToken,
    startedAt: old.startedAt,
    expiresAt: old.expiresAt,
    owner: 'dead-worker',
    attempt: 1,
  })
  assert.ok(healed.fencingToken > old.fencingToken)
  assert.equal((await g.release('k', old.runId)).status, 'lost')
  assert.equal((await g.heartbeat('k', old.runId)).status, 'lost')
})

test('heartbeats keep a run from going stale', async () => {
  const { guard: g, advance } = helpers.onClock()
  const r = await g.acquire('k', { ttlMs: 1000 })
  for (let i = 0; i < 5; i++) {
    advance(999)
    assert.equal((await g.heartbeat('k', r.runId)).status, 'extended')
  }
  assert.equal((await g.acquire('k')).status, 'already_running')
})

test("onStale 'fail' turns a stale run into a failure awaiting approval", async () => {
  const { guard: g, advance } = helpers.onClock({ onStale: 'fail' })
  const old = await g.acquire('k', { ttlMs: 100 })
  advance(100)
  const a = await g.acquire('k')
  assert.equal(a.status, 'awaiting_approval')
  assert.equal(a.failedRunId, old.runId)
  assert.match(a.error, /stale/)
  assert.equal((await g.inspect()).guards[0].state, 'failed')
  assert.equal((await g.release('k', old.runId)).status, 'lost')
  assert.equal((await g.approveRetry('k', { approvedBy: 'ops' })).status, 'approved')
  const next = await g.acquire('k')
  assert.equal(next.status, 'acquired')
  assert.equal(next.attempt, 2)
})
