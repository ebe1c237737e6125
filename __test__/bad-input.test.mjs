import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import helpers from './helpers.cjs'

const { rejectsWith, snapshot } = helpers
const INVALID = 'ERR_TASK_GUARD_INVALID_ARG'

async function setup() {
  const g = new TaskGuard({ maxKeyBytes: 16 })
  const run = await g.acquire('held')
  const failed = await g.acquire('failed')
  await g.release('failed', failed.runId, 'failed')
  return { g, run }
}

const cases = [
  ['key not a string', (g) => g.acquire(42)],
  ['key undefined', (g) => g.acquire()],
  ['empty key', (g) => g.acquire('')],
  ['key over maxKeyBytes', (g) => g.acquire('x'.repeat(17))],
  ['key over maxKeyBytes in bytes, not chars', (g) => g.acquire('é'.repeat(9))],
  ['NaN ttl', (g) => g.acquire('k', { ttlMs: NaN })],
  ['negative ttl', (g) => g.acquire('k', { ttlMs: -1 })],
  ['zero ttl', (g) => g.acquire('k', { ttlMs: 0 })],
  ['fractional ttl', (g) => g.acquire('k', { ttlMs: 1.5 })],
  ['Infinity ttl', (g) => g.acquire('k', { ttlMs: Infinity })],
  ['ttl as string', (g) => g.acquire('k', { ttlMs: '100' })],
  ['negative waitMs', (g) => g.acquire('k', { waitMs: -5 })],
  ['NaN waitMs', (g) => g.acquire('k', { waitMs: NaN })],
  ['unknown acquire option', (g) => g.acquire('k', { ttl: 100 })],
  ['options not an object', (g) => g.acquire('k', 'fast')],
  ['owner not a string', (g) => g.acquire('k', { owner: 7 })],
  ['owner too long', (g) => g.acquire('k', { owner: 'o'.repeat(300) })],
  ['signal not an AbortSignal', (g) => g.acquire('k', { signal: {} })],
  ['meta not serialisable', (g) => g.acquire('k', { meta: { n: 1n } })],
  ['meta too large', (g) => g.acquire('k', { meta: 'm'.repeat(20_000) })],
  ['unknown release status', (g, run) => g.release('held', run.runId, 'done')],
  ['release runId not a string', (g) => g.release('held', 12)],
  ['release runId not a run id (forgotten: the status in its place)', (g) => g.release('held', 'succeeded')],
  ['release status a BigInt', (g, run) => g.release('held', run.runId, 1n)],
  ['release options with a throwing getter', (g, run) => g.release('held', run.runId, 'failed', { get error() { throw new Error('x') } })],
  ['key with a lone surrogate', (g) => g.acquire('held\uD800')],
  ['heartbeat runId not a run id', (g) => g.heartbeat('held', 'not-a-run')],
  ['heartbeat negative ttl', (g, run) => g.heartbeat('held', run.runId, { ttlMs: -1 })],
  ['heartbeat unknown option', (g, run) => g.heartbeat('held', run.runId, { extend: 1 })],
  ['approveRetry reason not a string', (g) => g.approveRetry('failed', { reason: 1 })],
  ['approveRetry unknown option', (g) => g.approveRetry('failed', { by: 'x' })],
  ['inspect unknown state', (g) => g.inspect({ state: 'idle' })],
  ['inspect negative limit', (g) => g.inspect({ limit: -1 })],
  ['run fn not a function', (g) => g.run('k', 'go')],
  ['run heartbeatMs NaN', (g) => g.run('k', async () => {}, { heartbeatMs: NaN })],
]

for (const [name, call] of cases) {
  test(`bad input is refused with ${INVALID} and changes nothing: ${name}`, async () => {
    const { g, run } = await setup()
    const before = await snapshot(g)
    await rejectsWith(Promise.resolve().then(() => call(g, run)), INVALID)
    assert.equal(await snapshot(g), before)
  })
}

const badOptions = [
  ['unknown option', { stor: 'memory:' }],
  ['malformed store URL', { store: 'not a url' }],
  ['unknown store scheme', { store: 'postgres://x' }],
  ['store not a string', { store: 5 }],
  ['unknown onStale', { onStale: 'ignore' }],
  ['NaN defaultTtlMs', { defaultTtlMs: NaN }],
  ['negative defaultTtlMs', { defaultTtlMs: -10 }],
  ['maxKeyBytes zero', { maxKeyBytes: 0 }],
  ['namespace with a slash', { namespace: 'a/b' }],
  ['negative retentionMs', { retentionMs: -1 }],
  ['empty namespace', { namespace: '' }],
  ['owner over the owner limit', { owner: 'o'.repeat(257) }],
  ['owner with a lone surrogate', { owner: 'gw\uDC00' }],
  ['SQLite in-memory URI', { store: 'sqlite:file::memory:?cache=shared' }],
]

for (const [name, options] of badOptions) {
  test(`bad guard options are refused with ${INVALID}: ${name}`, async () => {
    assert.throws(() => new TaskGuard(options), { code: INVALID })
    await rejectsWith(TaskGuard.open(options), INVALID)
  })
}

test('every method rejects with ERR_TASK_GUARD_CLOSED after close', async () => {
  const g = new TaskGuard()
  const r = await g.acquire('k')
  await g.close()
  await g.close() // idempotent
  assert.equal(g.closed, true)
  for (const call of [
    () => g.acquire('k'),
    () => g.release('k', r.runId),
    () => g.heartbeat('k', r.runId),
    () => g.approveRetry('k'),
    () => g.inspect(),
    () => g.run('k', async () => {}),
  ]) {
    await rejectsWith(call(), 'ERR_TASK_GUARD_CLOSED')
  }
})
