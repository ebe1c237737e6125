// The plugin's held runs (openclaw/held-runs.mjs): heartbeats keep them alive, a run
// healed away is dropped, a release the store refused is retried, and work never
// reported ended is released by its onExpire status or left to staleness.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import helpers from './helpers.cjs'
import redis from './redis-helpers.cjs'
import { HeldRuns } from '../openclaw/index.mjs'

const state = async (g, key) => (await g.inspect({ prefix: key })).guards.find((x) => x.key === key)

test('a heartbeat round extends every held run; a run healed away is dropped, not released', async () => {
  const { guard: g, advance } = helpers.onClock()
  const held = new HeldRuns(() => g, { heartbeatMs: 60_000 })
  const a = await g.acquire('s::a', { ttlMs: 1000 })
  const b = await g.acquire('s::b', { ttlMs: 1000 })
  held.hold('a', a)
  held.hold('b', b)
  advance(900)
  await held.beat()
  advance(900)
  assert.equal((await state(g, 's::a')).state, 'running', 'alive past its first ttl')
  // No round for longer than b's ttl: it goes stale and another acquire heals it.
  advance(2000)
  const healer = await g.acquire('s::b')
  assert.equal(healer.status, 'acquired')
  await held.beat()
  assert.equal(held.get('b'), undefined, 'lost run dropped')
  assert.equal((await state(g, 's::b')).runId, healer.runId, 'the successor is untouched')
  held.stop()
  await g.close()
})

test('a release the store refused stays held and is retried on the next round', redis.redisTest(), async (t) => {
  // A real outage: the Redis server stops, and comes back from its AOF.
  const server = await redis.startRedis({ aof: true })
  let restarted
  t.after(async () => {
    await server.stop()
    await restarted?.stop()
  })
  const g = await TaskGuard.open({ store: server.url, connectTimeoutMs: 300, commandTimeoutMs: 300 })
  t.after(() => g.close())
  const errors = []
  const held = new HeldRuns(() => g, { heartbeatMs: 60_000, onError: (err) => errors.push(err.code) })
  const run = await g.acquire('s::x')
  held.hold('x', run)
  await server.stop()
  assert.equal(await held.release('x', 'failed', 'boom'), undefined)
  assert.deepEqual(errors, ['ERR_TASK_GUARD_STORE_UNAVAILABLE'])
  assert.equal(held.size, 1)
  restarted = await redis.startRedis({ aof: true, port: server.port, dir: server.dir })
  assert.equal((await state(g, 's::x')).state, 'running')
  await held.beat()
  assert.equal(held.size, 0)
  const after = await state(g, 's::x')
  assert.equal(after.state, 'failed')
  assert.equal(after.error, 'boom')
})

test('work never reported ended: released by onExpire, or left to go stale', async () => {
  const { guard: g, advance } = helpers.onClock()
  const held = new HeldRuns(() => g, { heartbeatMs: 60_000 })
  const spawn = await g.acquire('s::spawn')
  const turn = await g.acquire('s::turn', { ttlMs: 1000 })
  held.hold('spawn', spawn, { holdForMs: -1, onExpire: 'cancelled' })
  held.hold('turn', turn, { holdForMs: -1 })
  await held.beat()
  assert.equal(held.size, 0)
  assert.equal(await state(g, 's::spawn'), undefined, 'cancelled: the key is free')
  advance(2000)
  assert.equal((await state(g, 's::turn')).state, 'stale', 'no longer heartbeated')
  await g.close()
})

test('a wall-clock step does not end held runs: their hold is measured on the monotonic clock', async (t) => {
  const g = new TaskGuard()
  const held = new HeldRuns(() => g, { heartbeatMs: 60_000 })
  const spawn = await g.acquire('s::spawn', { ttlMs: 60_000 })
  held.hold('spawn', spawn, { holdForMs: 60_000, onExpire: 'cancelled' })
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 3_600_000 })
  await held.beat()
  t.mock.timers.reset()
  assert.equal(held.size, 1, 'still held an hour of wall clock later')
  assert.equal((await state(g, 's::spawn')).state, 'running')
  await g.close()
})
