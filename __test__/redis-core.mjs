// The Redis store's core cases, run unchanged over plain TCP (redis.test.mjs)
// and over TLS (redis-tls.test.mjs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import sqliteHelpers from './sqlite-helpers.cjs'
import { checkHistory } from './history-check.mjs'

const { runFixture } = sqliteHelpers

/**
 * `server()`: the running redis-server; `extra`: options every guard opens with
 * (e.g. tls); `env`: for the worker processes.
 */
export function coreTests(label, opts, server, { extra = {}, env = {} } = {}) {
  /** A guard in a namespace of its own, so tests sharing the server do not meet. */
  let n = 0
  const open = (more = {}) => TaskGuard.open({ store: server().url, namespace: `t${n++}`, ...extra, ...more })

  test(`${label}: every answer of the state machine, with the server clock`, opts, async () => {
    const g = await open()
    const before = Date.now()
    const a = await g.acquire('k', { owner: 'alice', ttlMs: 60_000, meta: { n: 1 } })
    assert.equal(a.status, 'acquired')
    assert.ok(Math.abs(a.startedAt - before) < 1000)
    assert.equal((await g.acquire('k')).runId, a.runId)
    assert.equal((await g.heartbeat('k', a.runId)).status, 'extended')
    assert.equal((await g.release('k', a.runId, 'failed', { error: 'boom' })).status, 'released')
    assert.equal((await g.release('k', a.runId)).status, 'already_released')
    const blocked = await g.acquire('k')
    assert.equal(blocked.status, 'awaiting_approval')
    assert.equal(blocked.error, 'boom')
    const { guards } = await g.inspect()
    assert.deepEqual(guards.map((x) => [x.key, x.state, x.meta]), [['k', 'failed', { n: 1 }]])
    assert.equal((await g.approveRetry('k', { approvedBy: 'ops' })).status, 'approved')
    const b = await g.acquire('k', { ttlMs: 60_000 })
    assert.equal(b.attempt, 2)
    assert.ok(b.fencingToken > a.fencingToken)
    assert.equal((await g.forceRelease('k', { by: 'ops' })).status, 'released')
    assert.equal((await g.release('k', b.runId)).status, 'lost')
    await g.close()
  })

  test(`${label}: a stale run is healed by a waiter at its expiry`, opts, async () => {
    const g = await open()
    const old = await g.acquire('k', { ttlMs: 50 })
    const r = await g.acquire('k', { waitMs: 10_000 })
    assert.equal(r.status, 'acquired')
    assert.equal(r.healedFrom.runId, old.runId)
    await g.close()
  })

  test(`${label}: 10,000 concurrent acquires of one key from one process: one winner`, opts, async () => {
    const g = await open()
    const answers = await Promise.all(Array.from({ length: 10_000 }, () => g.acquire('hot')))
    const won = answers.filter((a) => a.status === 'acquired')
    assert.equal(won.length, 1)
    assert.ok(answers.every((a) => a.runId === won[0].runId))
    await g.close()
  })

  test(`${label}: 10,000 concurrent acquires of one key from 4 processes: one winner`, opts, async () => {
    const store = server().url
    await (await TaskGuard.open({ store, ...extra })).close()
    const outs = await Promise.all([0, 1, 2, 3].map(() => runFixture('race-worker.cjs', [store, '2500'], env)))
    const results = outs.map((o) => JSON.parse(o))
    assert.equal(results.flatMap((r) => r.won).length, 1)
    assert.equal(results.reduce((s, r) => s + r.conflicts, 0), 9_999)
  })

  test(`${label}: 4 processes x 1,500 random ops: no overlapping runs, fences strictly increasing`, opts, async () => {
    const store = `${server().url.replace(/\/0$/, '/3')}`
    const outs = await Promise.all([0, 1, 2, 3].map((w) => runFixture('history-worker.cjs', [store, String(w), '1500', '8', '6'], env)))
    const entries = outs.flatMap((o) => o.trim().split('\n').map((l) => JSON.parse(l)))
    const result = checkHistory(entries)
    assert.ok(result.grants > 300, `only ${result.grants} grants`)
    assert.ok(entries.filter((e) => e.status === 'already_running').length > 100, 'the processes did not contend')
    assert.equal(result.overlaps, 0)
    assert.equal(result.misordered, 0)
  })

  test(`${label}: a guard whose last view of a key is out of date still answers from the server`, opts, async () => {
    const store = server().url.replace(/\/0$/, '/5')
    const a = await TaskGuard.open({ store, ...extra })
    const b = await TaskGuard.open({ store, ...extra })
    // a last saw the key free; b takes it: a must not grant it again.
    const first = await a.acquire('k')
    await a.release('k', first.runId)
    const bRun = await b.acquire('k')
    const dup = await a.acquire('k')
    assert.equal(dup.status, 'already_running')
    assert.equal(dup.runId, bRun.runId)
    // a last saw b's run; b releases: a must grant, not answer a conflict.
    await b.release('k', bRun.runId)
    const mine = await a.acquire('k')
    assert.equal(mine.status, 'acquired')
    assert.ok(mine.fencingToken > bRun.fencingToken)
    // and a release by a naming a run b has since replaced is refused.
    await b.forceRelease('k')
    assert.equal((await a.release('k', mine.runId)).status, 'lost')
    await a.close()
    await b.close()
  })
}
