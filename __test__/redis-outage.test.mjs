import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import redis from './redis-helpers.cjs'

const opts = redis.redisTest()
const UNAVAILABLE = 'ERR_TASK_GUARD_STORE_UNAVAILABLE'

/** Calls `fn` until it resolves (the guard reconnecting by itself); each try is an awaited call. */
async function eventually(fn, ms = 10_000) {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

test('redis down: open fails closed with ERR_TASK_GUARD_STORE_UNAVAILABLE', opts, async () => {
  const server = await redis.startRedis()
  await server.stop()
  await assert.rejects(TaskGuard.open({ store: server.url, connectTimeoutMs: 500 }), { code: UNAVAILABLE })
})

test('redis stops: calls reject with ERR_TASK_GUARD_STORE_UNAVAILABLE; back up, the guard reconnects by itself', opts, async () => {
  const server = await redis.startRedis()
  const g = await TaskGuard.open({ store: server.url, connectTimeoutMs: 500, commandTimeoutMs: 500 })
  assert.equal((await g.acquire('k')).status, 'acquired')
  await server.stop()
  for (let i = 0; i < 3; i++) await assert.rejects(g.acquire(`other-${i}`), { code: UNAVAILABLE })
  await assert.rejects(g.inspect(), { code: UNAVAILABLE })
  const again = await redis.startRedis({ port: server.port })
  const r = await eventually(() => g.acquire('fresh'))
  assert.equal(r.status, 'acquired')
  await g.close()
  await again.stop()
})

test('redis killed mid-load, restarted from its AOF: no false grant, no lost failure, no double grant', { ...opts, timeout: 60_000 }, async (t) => {
  const server = await redis.startRedis({ aof: true })
  const g = await TaskGuard.open({ store: server.url, connectTimeoutMs: 500, commandTimeoutMs: 1000 })
  let restarted
  let stop = false
  // Whether the test passes or fails, nothing it started outlives it (a failed
  // assertion must not leave the workers looping and the process running).
  t.after(async () => {
    stop = true
    await g.close().catch(() => {})
    await server.stop('SIGKILL')
    await restarted?.stop()
  })
  const grants = new Map() // runId -> { key, released: 'confirmed' | 'unknown' | null }
  const failedConfirmed = new Map() // key -> runId
  const otherErrors = []
  let unavailable = 0
  let onUnavailable
  const enoughErrors = new Promise((resolve) => (onUnavailable = () => ++unavailable === 50 && resolve()))
  let n = 0
  const worker = async (w) => {
    while (!stop) {
      const key = `k${(w + n++) % 400}`
      try {
        const r = await g.acquire(key, { ttlMs: 600_000 })
        if (r.status !== 'acquired') continue
        const run = { key, released: null }
        grants.set(r.runId, run)
        const as = n % 10 === 0 ? 'failed' : 'succeeded'
        run.released = 'unknown'
        const rel = await g.release(key, r.runId, as)
        if (rel.status === 'released') {
          run.released = 'confirmed'
          if (as === 'failed') failedConfirmed.set(key, r.runId)
        }
      } catch (err) {
        if (err.code === UNAVAILABLE) onUnavailable()
        else otherErrors.push(err)
      }
    }
  }
  const workers = Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)))
  // Kill once there is history to lose.
  await eventually(async () => {
    if (failedConfirmed.size < 5) throw new Error('not yet')
  })
  assert.equal(await server.stop('SIGKILL'), 'SIGKILL')
  await enoughErrors
  stop = true
  await workers
  assert.deepEqual(otherErrors, [])

  restarted = await redis.startRedis({ aof: true, port: server.port, dir: server.dir })
  // Every failure the guard confirmed is still a failure, awaiting approval.
  for (const [key, runId] of failedConfirmed) {
    const r = await eventually(() => g.acquire(key))
    assert.equal(r.status, 'awaiting_approval', key)
    assert.equal(r.failedRunId, runId)
  }
  // Every run answered 'acquired' was recorded: where its release was never
  // confirmed, the store still holds it (or the release landed unanswered).
  const byKey = new Map()
  for await (const x of g.guards()) byKey.set(x.key, x)
  let held = 0
  let unanswered = 0
  for (const [runId, run] of grants) {
    if (run.released === 'confirmed') continue
    const cur = byKey.get(run.key)
    if (cur?.runId === runId) {
      held++
      if (cur.state === 'running') {
        // No double grant after the restart.
        const again = await g.acquire(run.key)
        assert.equal(again.status, 'already_running')
        assert.equal(again.runId, runId)
      }
      continue
    }
    // Its release landed but was not answered: the run must be in the key's stored history.
    const raw = spawnSync('redis-cli', ['-p', String(restarted.port), 'GET', `tg:{${run.key}}`], { encoding: 'utf8' }).stdout
    assert.ok(raw.includes(runId), `run ${runId} of ${run.key} was answered acquired but is not recorded`)
    unanswered++
  }
  assert.ok(grants.size > 50, `${grants.size} grants`)
  assert.ok(held + unanswered > 0, 'the kill caught runs in flight')
})
