import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'
import helpers from './helpers.cjs'

test('onEvent reports acquired, conflict, released, failed, approved and healed', async () => {
  const { guard: g, advance } = helpers.onClock()
  const events = []
  const off = g.onEvent((e) => events.push(e))
  const a = await g.acquire('k', { ttlMs: 1000 })
  await g.acquire('k')
  await g.release('k', a.runId)
  const b = await g.acquire('k', { ttlMs: 1000 })
  await g.release('k', b.runId, 'failed', { error: 'x' })
  await g.acquire('k')
  await g.approveRetry('k')
  const c = await g.acquire('k', { ttlMs: 1000 })
  advance(1000)
  const d = await g.acquire('k')
  off()
  await g.release('k', d.runId)
  const seen = events.map((e) => [e.type, e.runId, e.status ?? e.releaseStatus ?? e.cause ?? e.healedBy])
  assert.deepEqual(seen, [
    ['acquired', a.runId, undefined],
    ['conflict', a.runId, 'already_running'],
    ['released', a.runId, 'succeeded'],
    ['acquired', b.runId, undefined],
    ['failed', b.runId, 'released'],
    ['conflict', b.runId, 'awaiting_approval'],
    ['approved', b.runId, undefined],
    ['acquired', c.runId, undefined],
    ['healed', c.runId, d.runId],
    ['acquired', d.runId, undefined],
  ])
  for (const e of events) {
    assert.equal(e.key, 'k')
    assert.equal(typeof e.at, 'number')
  }
})

test('a throwing listener does not change the answer; it becomes a process warning', async () => {
  const g = new TaskGuard()
  g.onEvent(() => { throw new Error('listener bug') })
  const warned = new Promise((resolve) => process.once('warning', resolve))
  const r = await g.acquire('k')
  assert.equal(r.status, 'acquired')
  const w = await warned
  assert.equal(w.name, 'TaskGuardWarning')
  assert.match(w.message, /listener bug/)
})

test('listeners do not keep the process alive', async () => {
  const { spawnSync } = await import('node:child_process')
  const script = `
    const { TaskGuard } = require(${JSON.stringify(new URL('../index.js', import.meta.url).pathname)})
    const g = new TaskGuard(); g.onEvent(() => {}); g.acquire('k').then(() => console.log('done'))`
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), 'done')
})
