import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
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

// Queued acquires of one key go to the store as one native call (guardAcquireFast
// with a count), which the store answers as far as its answer goes
// (src/store/memory: execute_repeated). Counted here by wrapping that call; the
// answers must be what one call each gives.
const native = createRequire(import.meta.url)('../lib/native.js')

/** `fn()`, counting the native repeated-acquire calls it makes on `key` and the acquires they carry. */
async function countingRepeats(key, fn) {
  const real = native.guardAcquireFast
  const seen = { calls: 0, acquires: 0 }
  native.guardAcquireFast = (...args) => {
    const times = args[6]
    if (args[1] === key && times !== undefined) {
      seen.calls++
      seen.acquires += times
    }
    return real(...args)
  }
  try {
    return { result: await fn(), seen }
  } finally {
    native.guardAcquireFast = real
  }
}

const metric = (text, answer) => Number(text.match(new RegExp(`task_guard_acquires_total\\{answer="${answer}"\\} (\\d+)`))[1])

test('queued duplicates of one key: a store call per run of them, an answer of its own for each, in order', async () => {
  const g = new TaskGuard()
  const conflicts = []
  g.onEvent((e) => e.type === 'conflict' && conflicts.push(e.runId))
  const held = await g.acquire('hot')
  const { result, seen } = await countingRepeats('hot', async () => {
    // Enough calls on other keys first that what follows queues.
    const filler = Array.from({ length: 30_000 }, (_, i) => g.acquire(`f${i}`))
    const before = Array.from({ length: 2000 }, () => g.acquire('hot'))
    const forced = g.forceRelease('hot', { by: 'test' })
    const after = Array.from({ length: 2000 }, () => g.acquire('hot'))
    await Promise.all(filler)
    return { before: await Promise.all(before), forced: await forced, after: await Promise.all(after) }
  })
  assert.ok(seen.acquires >= 3000, `the duplicates queued (${seen.acquires} went as repeats)`)
  assert.ok(seen.calls * 20 < seen.acquires, `${seen.calls} store calls for ${seen.acquires} queued acquires`)
  for (const a of result.before) {
    assert.equal(a.status, 'already_running')
    assert.equal(a.runId, held.runId)
    assert.equal(a.fencingToken, held.fencingToken)
  }
  assert.equal(result.forced.status, 'released')
  // The first acquire after the forced release is granted; every later one conflicts with that run.
  const [granted, ...rest] = result.after
  assert.equal(granted.status, 'acquired')
  assert.notEqual(granted.runId, held.runId)
  assert.equal(typeof granted.release, 'function')
  for (const a of rest) {
    assert.equal(a.status, 'already_running')
    assert.equal(a.runId, granted.runId)
  }
  // Each caller has an object of its own: one caller changing its answer changes no other's.
  assert.equal(new Set([...result.before, ...result.after]).size, 4000)
  result.before[0].owner = 'changed by one caller'
  assert.notEqual(result.before[1].owner, 'changed by one caller')
  // Each acquire counted, and reported, as its own.
  const text = await g.metrics()
  assert.equal(metric(text, 'already_running'), 3999)
  assert.equal(conflicts.length, 3999)
  assert.equal(conflicts.filter((id) => id === held.runId).length, 2000)
  await g.close()
})

// A call left unsettled would hang the test: the timeout makes that a failure.
test('queued duplicates of a key whose store call fails: each of them rejects with the error, other keys go on', { timeout: 30_000 }, async () => {
  const g = new TaskGuard()
  const filler = Array.from({ length: 30_000 }, (_, i) => g.acquire(`f${i}`))
  // A key over the size limit is refused by the store call, not when queued.
  const long = 'k'.repeat(5000)
  const dups = Array.from({ length: 500 }, () => g.acquire(long))
  const other = g.acquire('other')
  const settled = await Promise.allSettled(dups)
  assert.ok(settled.every((s) => s.status === 'rejected' && s.reason instanceof Error && s.reason.code === 'ERR_TASK_GUARD_INVALID_ARG'))
  assert.equal((await other).status, 'acquired')
  await Promise.all(filler)
  await g.close()
})

test('queued acquires with options: the same options share a store call, other options are calls of their own', async () => {
  const g = new TaskGuard()
  const held = await g.acquire('job', { fingerprint: 'fp-1', owner: 'w1' })
  const { result, seen } = await countingRepeats('job', async () => {
    const filler = Array.from({ length: 30_000 }, (_, i) => g.acquire(`f${i}`))
    const same = Array.from({ length: 1000 }, () => g.acquire('job', { fingerprint: 'fp-1' }))
    const other = Array.from({ length: 3 }, () => g.acquire('job', { fingerprint: 'fp-2' }))
    const sameAgain = Array.from({ length: 1000 }, () => g.acquire('job', { fingerprint: 'fp-1', owner: 'w2' }))
    const owned = Array.from({ length: 500 }, () => g.acquire('owned', { owner: 'w3', ttlMs: 5000 }))
    await Promise.all(filler)
    return {
      same: await Promise.all(same),
      other: await Promise.all(other),
      sameAgain: await Promise.all(sameAgain),
      owned: await Promise.all(owned),
    }
  })
  assert.ok(seen.acquires >= 1500 && seen.calls * 20 < seen.acquires, `${seen.calls} store calls for ${seen.acquires} queued acquires`)
  for (const a of [...result.same, ...result.sameAgain]) {
    assert.equal(a.status, 'already_running')
    assert.equal(a.runId, held.runId)
    assert.equal(a.owner, 'w1', "the holder's owner, not the caller's")
  }
  for (const a of result.other) {
    assert.equal(a.status, 'payload_mismatch')
    assert.equal(a.fingerprint, 'fp-2')
    assert.equal(a.expected, 'fp-1')
  }
  const [granted, ...rest] = result.owned
  assert.equal(granted.status, 'acquired')
  assert.equal(granted.owner, 'w3')
  assert.equal(granted.expiresAt - granted.startedAt, 5000)
  for (const a of rest) {
    assert.equal(a.status, 'already_running')
    assert.equal(a.runId, granted.runId)
    assert.equal(a.owner, 'w3')
  }
  await g.close()
})
