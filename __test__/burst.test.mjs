import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'

test('a burst of calls yields to the event loop instead of blocking it', async () => {
  const g = new TaskGuard()
  let settled = 0
  let settledWhenLoopRan = -1
  const loopRan = new Promise((resolve) => setImmediate(() => { settledWhenLoopRan = settled; resolve() }))
  const calls = Array.from({ length: 50_000 }, (_, i) => g.acquire(`k${i}`).then((r) => { settled++; return r }))
  await loopRan
  const answers = await Promise.all(calls)
  assert.ok(settledWhenLoopRan >= 0 && settledWhenLoopRan < 50_000, `the loop ran after ${settledWhenLoopRan} of 50000`)
  assert.ok(answers.every((a) => a.status === 'acquired'))
})

test('calls queued in a burst keep the order they were made in', async () => {
  const g = new TaskGuard()
  const filler = Array.from({ length: 30_000 }, (_, i) => g.acquire(`f${i}`))
  const first = g.acquire('k')
  const second = g.acquire('k')
  const inspected = g.inspect({ prefix: 'k' })
  const [a, b, seen] = await Promise.all([first, second, inspected])
  await Promise.all(filler)
  assert.equal(a.status, 'acquired')
  assert.equal(b.status, 'already_running')
  assert.equal(b.runId, a.runId)
  assert.equal(seen.guards[0].runId, a.runId)
})

test('calls queued in a burst reject with ERR_TASK_GUARD_CLOSED when the guard closes', async () => {
  const g = new TaskGuard()
  const calls = Array.from({ length: 30_000 }, (_, i) => g.acquire(`k${i}`))
  await g.close()
  const results = await Promise.allSettled(calls)
  const rejected = results.filter((r) => r.status === 'rejected')
  assert.ok(rejected.length > 0, 'some calls were still queued at close')
  assert.ok(rejected.every((r) => r.reason.code === 'ERR_TASK_GUARD_CLOSED'))
})
