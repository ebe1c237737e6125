import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard, taskKey } from '../index.mjs'

const KEY = taskKey('agent:main:telegram:direct:123456', 'report')
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('taskKey joins with :: and rejects empty parts', () => {
  assert.equal(KEY, 'agent:main:telegram:direct:123456::report')
  for (const [s, t] of [['', 'x'], ['s', ''], [1, 'x'], ['s', null], ['s', 'a::b']]) {
    assert.throws(() => taskKey(s, t), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  }
})

test('acquire grants a run with a v7 id, expiry from ttl and the owner', async () => {
  const g = new TaskGuard({ owner: 'gateway-1' })
  const r = await g.acquire(KEY, { ttlMs: 5000 })
  assert.equal(r.status, 'acquired')
  assert.equal(r.key, KEY)
  assert.match(r.runId, UUID_V7)
  assert.equal(r.expiresAt - r.startedAt, 5000)
  assert.equal(r.attempt, 1)
  assert.equal(r.owner, 'gateway-1')
  assert.equal(r.healedFrom, null)
  assert.ok(Number.isSafeInteger(r.fencingToken) && r.fencingToken > 0)
})

test('defaultTtlMs applies when acquire names no ttl, and the default owner is host:pid', async () => {
  const g = await TaskGuard.open({ store: 'memory:', defaultTtlMs: 1234 })
  const r = await g.acquire(KEY)
  assert.equal(r.expiresAt - r.startedAt, 1234)
  assert.match(r.owner, new RegExp(`:${process.pid}$`))
})

test('a duplicate is answered already_running with the running run', async () => {
  const g = new TaskGuard()
  const first = await g.acquire(KEY, { owner: 'alice' })
  const dup = await g.acquire(KEY, { owner: 'bob' })
  // An answer's fields (it is also disposable: see the lease tests).
  assert.deepEqual({ ...dup }, {
    status: 'already_running',
    key: KEY,
    runId: first.runId,
    fencingToken: first.fencingToken,
    startedAt: first.startedAt,
    expiresAt: first.expiresAt,
    attempt: 1,
    owner: 'alice',
  })
})

test('release by outcome: succeeded and cancelled free the key; releasing twice is idempotent', async () => {
  for (const status of ['succeeded', 'cancelled']) {
    const g = new TaskGuard()
    const r = await g.acquire(KEY)
    const rel = await g.release(KEY, r.runId, status)
    assert.equal(rel.status, 'released')
    assert.equal(typeof rel.endedAt, 'number')
    assert.deepEqual(await g.release(KEY, r.runId, status), { status: 'already_released', key: KEY, runId: r.runId })
    const again = await g.acquire(KEY)
    assert.equal(again.status, 'acquired')
    assert.equal(again.attempt, 1)
    assert.ok(again.fencingToken > r.fencingToken)
  }
})

test('release defaults to succeeded', async () => {
  const g = new TaskGuard()
  const r = await g.acquire(KEY)
  assert.equal((await g.release(KEY, r.runId)).status, 'released')
  assert.equal((await g.inspect()).guards.length, 0)
})

test('release and heartbeat naming another run answer not_owner and change nothing', async () => {
  const g = new TaskGuard()
  const r = await g.acquire(KEY)
  // A well-formed run id (UUID v7) of no run here; a key with nothing running
  // answers not_running instead (caller-values.test.mjs).
  const foreign = '0189f7a2-3b4c-7d5e-8f60-123456789abc'
  assert.equal((await g.release(KEY, foreign)).status, 'not_owner')
  assert.equal((await g.heartbeat(KEY, foreign)).status, 'not_owner')
  const [guard] = (await g.inspect()).guards
  assert.equal(guard.runId, r.runId)
  assert.equal(guard.state, 'running')
})

test('heartbeat extends by the run ttl or the given ttl; after release it is lost', async () => {
  const g = new TaskGuard()
  const r = await g.acquire(KEY, { ttlMs: 1000 })
  const hb = await g.heartbeat(KEY, r.runId, { ttlMs: 60_000 })
  assert.equal(hb.status, 'extended')
  assert.ok(hb.expiresAt >= r.startedAt + 60_000)
  const [guard] = (await g.inspect()).guards
  assert.equal(guard.expiresAt, hb.expiresAt)
  await g.release(KEY, r.runId)
  assert.equal((await g.heartbeat(KEY, r.runId)).status, 'lost')
})

test('a failed run blocks the key until approveRetry, then the next attempt runs', async () => {
  const g = new TaskGuard()
  const r = await g.acquire(KEY)
  assert.equal((await g.release(KEY, r.runId, 'failed', { error: new Error('disk full') })).status, 'released')
  for (let i = 0; i < 3; i++) {
    assert.deepEqual({ ...(await g.acquire(KEY)) }, {
      status: 'awaiting_approval',
      key: KEY,
      failedRunId: r.runId,
      failedAt: (await g.inspect()).guards[0].failedAt,
      error: 'disk full',
      attempt: 1,
    })
  }
  assert.equal((await g.release(KEY, r.runId, 'failed')).status, 'already_released')
  const ok = await g.approveRetry(KEY, { approvedBy: 'ops', reason: 'disk cleaned' })
  assert.equal(ok.status, 'approved')
  assert.equal(ok.failedRunId, r.runId)
  assert.equal(ok.nextAttempt, 2)
  const [approved] = (await g.inspect()).guards
  assert.equal(approved.state, 'approved')
  assert.equal(approved.approvedBy, 'ops')
  assert.equal(approved.reason, 'disk cleaned')
  const retry = await g.acquire(KEY)
  assert.equal(retry.status, 'acquired')
  assert.equal(retry.attempt, 2)
  assert.ok(retry.fencingToken > r.fencingToken)
})

test('approveRetry on a key that has not failed answers not_failed', async () => {
  const g = new TaskGuard()
  assert.deepEqual(await g.approveRetry(KEY), { status: 'not_failed', key: KEY })
  await g.acquire(KEY)
  assert.equal((await g.approveRetry(KEY)).status, 'not_failed')
})

test('namespaces separate guards sharing a store and are hidden from keys', async () => {
  const g = new TaskGuard({ namespace: 'tenant-a' })
  await g.acquire(KEY)
  const { guards } = await g.inspect({ prefix: 'agent:main' })
  assert.equal(guards[0].key, KEY)
})

test('meta is stored as JSON and returned by inspect', async () => {
  const g = new TaskGuard()
  await g.acquire(KEY, { meta: { channel: 'telegram', n: 3 } })
  assert.deepEqual((await g.inspect()).guards[0].meta, { channel: 'telegram', n: 3 })
})

test('fencing tokens strictly increase across many runs of a key', async () => {
  const g = new TaskGuard()
  let last = 0
  for (let i = 0; i < 2000; i++) {
    const r = await g.acquire(KEY)
    assert.ok(r.fencingToken > last)
    last = r.fencingToken
    await g.release(KEY, r.runId, i % 3 === 0 ? 'cancelled' : 'succeeded')
  }
})

test('a release answers for the run it names whichever run the guard granted last', async () => {
  const g = new TaskGuard()
  const a1 = await g.acquire('a')
  const b1 = await g.acquire('b')
  assert.equal((await g.release('a', a1.runId)).status, 'released', 'not the last grant')
  assert.equal((await g.release('b', b1.runId, 'failed')).status, 'released', 'the last grant')
  assert.equal((await g.inspect({ prefix: 'b' })).guards[0].state, 'failed', 'released as failed, as asked')
  assert.equal((await g.release('b', b1.runId)).status, 'already_released')
  const a2 = await g.acquire('a')
  assert.equal((await g.release('a', a1.runId)).status, 'already_released', 'the key of the last grant, an older run')
  assert.equal((await g.release('b', a2.runId)).status, 'not_running', 'the run id of the last grant, another key')
  // An acquire refused halfway (a key over maxKeyBytes) leaves the last grant as it was, or none.
  await assert.rejects(g.acquire('x'.repeat(2000)), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.equal((await g.release('a', a2.runId)).status, 'released')
  const conflict = await g.acquire('c', { owner: 'one' })
  assert.equal((await g.acquire('c')).status, 'already_running')
  assert.equal((await g.release('c', conflict.runId, 'cancelled')).status, 'released')
})
