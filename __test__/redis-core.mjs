// The Redis store's core cases (the store-conformance suite, then what only a
// shared server has), run unchanged over plain TCP (redis.test.mjs)
// and over TLS (redis-tls.test.mjs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import sqliteHelpers from './sqlite-helpers.cjs'
import { checkHistory } from './history-check.mjs'
import { conformance } from './conformance.mjs'

const { runFixture } = sqliteHelpers

/**
 * `server()`: the running redis-server; `extra`: options every guard opens with
 * (e.g. tls); `env`: for the worker processes.
 */
export function coreTests(label, opts, server, { extra = {}, env = {} } = {}) {
  /** A guard in a namespace of its own, so tests sharing the server do not meet. */
  let n = 0
  const open = (more = {}) => TaskGuard.open({ store: server().url, namespace: `core-${label}-${n++}`, ...extra, ...more })

  conformance(label, opts, open)

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
